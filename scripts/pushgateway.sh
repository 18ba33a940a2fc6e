#!/usr/bin/env bash
# pushgateway.sh: a throwaway Prometheus Pushgateway on loopback, for the
# pkg/metrics test that pushes a run's metrics and reads them back.
#
#   scripts/pushgateway.sh [start]   install it if missing (Debian's
#                                    prometheus-pushgateway), start it on
#                                    127.0.0.1, wait until /-/ready answers,
#                                    print PUSHGATEWAY_URL=http://127.0.0.1:PORT
#   scripts/pushgateway.sh stop      stop the one this script started
#
# Typical use:
#   export "$(scripts/pushgateway.sh)"
#   go test -race -count=1 ./pkg/metrics
#   scripts/pushgateway.sh stop
#
# Only the PUSHGATEWAY_URL line goes to stdout; messages go to stderr.
# Starting twice prints the URL of the one already running.
#
# Environment:
#   PUSHGATEWAY_PORT  first port to try (default 19091; the next 20 are tried
#                     if it is taken)
#   PUSHGATEWAY_DIR   where the pid, url and log files live
#                     (default ${TMPDIR:-/tmp}/flowenroll-pushgateway)
#   PUSHGATEWAY_BIN   the binary (default: prometheus-pushgateway on PATH)
#
# Persistence is off (--persistence.file set empty: Debian's build defaults it
# to /var/lib/prometheus/pushgateway.data): every start is empty, the test
# never reads series left by an earlier one, and nothing is written to disk.
set -euo pipefail

dir=${PUSHGATEWAY_DIR:-${TMPDIR:-/tmp}/flowenroll-pushgateway}
pidfile=$dir/pid
urlfile=$dir/url
logfile=$dir/log
first_port=${PUSHGATEWAY_PORT:-19091}

say() { echo "pushgateway.sh: $*" >&2; }

running() {
	[[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

ready() {
	curl -fsS --max-time 2 -o /dev/null "$1/-/ready" 2>/dev/null
}

find_bin() {
	if [[ -n ${PUSHGATEWAY_BIN:-} ]]; then
		echo "$PUSHGATEWAY_BIN"
	elif command -v prometheus-pushgateway >/dev/null; then
		command -v prometheus-pushgateway
	elif [[ -x /usr/bin/prometheus-pushgateway ]]; then
		echo /usr/bin/prometheus-pushgateway
	fi
}

install() {
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || { say "prometheus-pushgateway is not installed and this is not root: install it, or set PUSHGATEWAY_BIN"; exit 1; }
		sudo=(sudo)
	fi
	say "installing prometheus-pushgateway"
	export DEBIAN_FRONTEND=noninteractive
	if ! "${sudo[@]}" apt-get install -y --no-install-recommends prometheus-pushgateway >&2; then
		"${sudo[@]}" apt-get update >&2
		"${sudo[@]}" apt-get install -y --no-install-recommends prometheus-pushgateway >&2
	fi
}

# port_taken: something already accepts connections there.
port_taken() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
	mkdir -p "$dir"
	if running; then
		local url
		url=$(cat "$urlfile")
		if ready "$url"; then
			say "already running (pid $(cat "$pidfile"))"
			echo "PUSHGATEWAY_URL=$url"
			return
		fi
		say "pid $(cat "$pidfile") is alive but $url is not ready; stopping it"
		stop
	fi

	local bin
	bin=$(find_bin)
	if [[ -z $bin ]]; then
		install
		bin=$(find_bin)
		[[ -n $bin ]] || { say "prometheus-pushgateway not found after installing it"; exit 1; }
	fi

	local port=$first_port
	while port_taken "$port"; do
		port=$((port + 1))
		if ((port > first_port + 20)); then
			say "no free port in $first_port..$((first_port + 20))"
			exit 1
		fi
	done
	local url=http://127.0.0.1:$port

	# setsid: the gateway outlives this script and is not in its process
	# group, so a Ctrl-C in the calling shell does not take it down midway.
	setsid "$bin" --web.listen-address="127.0.0.1:$port" --persistence.file= >"$logfile" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$pidfile"
	echo "$url" >"$urlfile"

	local i
	for ((i = 0; i < 100; i++)); do # 100 x 0.1 s: at most about 10 s
		if ! kill -0 "$pid" 2>/dev/null; then
			say "it exited at start; its log:"
			cat "$logfile" >&2
			rm -f "$pidfile" "$urlfile"
			exit 1
		fi
		if ready "$url"; then
			say "ready at $url (pid $pid, log $logfile)"
			echo "PUSHGATEWAY_URL=$url"
			return
		fi
		sleep 0.1
	done
	say "not ready after 10 s; its log:"
	cat "$logfile" >&2
	stop
	exit 1
}

stop() {
	if ! [[ -f $pidfile ]]; then
		say "not running"
		return
	fi
	local pid
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		local i
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -9 "$pid" 2>/dev/null || true
		fi
		say "stopped (pid $pid)"
	fi
	rm -f "$pidfile" "$urlfile"
}

case ${1:-start} in
start) start ;;
stop) stop ;;
*)
	say "usage: $0 [start|stop]"
	exit 2
	;;
esac
