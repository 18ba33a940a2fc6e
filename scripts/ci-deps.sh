#!/usr/bin/env bash
# ci-deps.sh: install the Debian packages that `make test` and CI need, as
# root, idempotently: when all are installed it asks no mirror and takes well
# under a second.
#
#   scripts/ci-deps.sh
#
#   chromium                the console's browser tests (chromedp) run
#                           /usr/bin/chromium (FLOWENROLL_CHROMIUM)
#   buildah                 scripts/image.sh builds the image offline with it
#   ca-certificates         the image's CA bundle
#   prometheus-pushgateway  pkg/metrics' test (scripts/pushgateway.sh starts it;
#                           installed here so that apt-get update runs once)
#   curl                    scripts/pushgateway.sh waits on /-/ready with it
#   prometheus              its promtool checks and unit-tests the alerts of
#                           jobs/prometheusrule.yaml (the server is not started)
#
# Only missing packages are installed, with --no-install-recommends; apt-get
# update runs once, and only when something is missing. dpkg's lock is waited
# for (another apt-get on the machine) instead of failing at once.
set -euo pipefail

say() { echo "ci-deps.sh: $*" >&2; }

packages=(chromium buildah ca-certificates prometheus-pushgateway curl prometheus)

missing=()
for p in "${packages[@]}"; do
	if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} == 0)); then
	say "all installed: ${packages[*]}"
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || { say "missing ${missing[*]} and this is not root: install them"; exit 1; }
	sudo=(sudo)
fi

say "installing ${missing[*]}"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt=("${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
"${apt[@]}" update -qq >&2
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >&2
say "installed in $((SECONDS - start)) s"
