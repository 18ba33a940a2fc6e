package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/enroll"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	oc "github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/outdir"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// The tests of issue #13: each case of the issue, with the real binary,
// asserting the contract's outcome (exit code, every row in exactly one
// file, nothing sent twice, no secret printed). RELIABILITY.md ("Guards")
// lists them with what the binary did before and after.

// TestGuardTwoRunsOneOut: the same command started twice on one --out. The
// first holds --out and is held at its first request until the second has
// ended; the second (and a plan --out) must exit 1 at once, naming the
// holder, send nothing and touch nothing; the first then finishes whole.
func TestGuardTwoRunsOneOut(t *testing.T) {
	t.Parallel()
	t.Run("second started while the first holds", secondWhileHeld)
	t.Run("both started at once", bothAtOnce)
}

func secondWhileHeld(t *testing.T) {
	gate := &pairGate{}
	gate.round(0)
	sc := newScenarioOf(t, newProspects(), gongConfig(nil), func(h http.Handler) http.Handler {
		gate.next = h
		return gate.side(0)
	})
	door := newDoor(t, gate.side(1)) // the second run's address of the same emulator
	args := runFlags(sc.in, sc.out)
	a := startProc(t, gongEnv(sc.gong.srv.URL), nil, args...)
	gate.started(0, a.cmd.Process)
	go func() { a.wait(t); gate.ended(0) }()
	select {
	case <-gate.firstRequest(0):
	case <-a.done:
		t.Fatalf("the first run ended before its first request: %v\n%s", a.rec, a.rec.stderr)
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("process %d on %s", a.cmd.Process.Pid, host)

	b := runOnce(t, nil, gongEnv(door.srv.URL), nil, args...)
	plan := runOnce(t, nil, gongEnv(door.srv.URL), nil, "plan", "--input", sc.in, "--out", sc.out)
	for _, r := range []runRecord{b, plan} {
		if r.exit != 1 {
			t.Errorf("flowenroll %s on a held --out: %v; want exit 1\n%s", r.args[0], r, r.output())
		}
		if !strings.Contains(r.stderr, "held by") || !strings.Contains(r.stderr, holder) || !strings.Contains(r.stderr, "since 20") {
			t.Errorf("flowenroll %s on a held --out: the message does not name the holder (%s, since when): %q", r.args[0], holder, r.lastLine())
		}
	}
	if n := gate.requests()[1]; n != 0 {
		t.Errorf("the refused runs sent %d requests; want none", n)
	}
	var h outdir.Holder
	lock, _ := os.ReadFile(filepath.Join(sc.out, outdir.LockFile))
	if err := json.Unmarshal(lock, &h); err != nil || h.PID != a.cmd.Process.Pid {
		t.Errorf("the lock file names %q after the refused runs; want the holder, process %d", lock, a.cmd.Process.Pid)
	}
	for _, name := range report.Files() {
		if _, err := os.Lstat(filepath.Join(sc.out, name)); err == nil {
			t.Errorf("%s exists while the first run is held at its first request: written by a refused run", name)
		}
	}

	gate.ended(1)
	<-a.done
	sc.runs = append(sc.runs, a.rec, b, plan)
	if a.rec.exit != 3 {
		t.Fatalf("the holding run: %v; want exit 3\n%s", a.rec, a.rec.lastLine())
	}
	sc.summary(t, a.rec)
	sc.check(t, true)
}

// bothAtOnce starts the same command twice at once on a fresh --out, thirty
// times: the one refused must name the other, which holds --out, whatever
// the moment the two meet (the holder writes its name into the lock file
// just after it takes the lock).
func bothAtOnce(t *testing.T) {
	gate := &pairGate{}
	sc := newScenarioOf(t, newProspects(), gongConfig(nil), func(h http.Handler) http.Handler {
		gate.next = h
		return gate.side(0)
	})
	door := newDoor(t, gate.side(1))
	for i := range 30 {
		out := filepath.Join(t.TempDir(), "out")
		gate.round(0)
		recs, pids := startPair(t, gate, [2]string{sc.gong.srv.URL, door.srv.URL}, runFlags(sc.in, out))
		sc.gong.quiesce()
		door.quiesce()
		sent := gate.requests()
		sc.runs = append(sc.runs, recs[0], recs[1])
		loser := slices.IndexFunc(recs[:], func(r runRecord) bool { return r.exit == 1 })
		if loser < 0 || recs[1-loser].exit != 3 {
			t.Errorf("pair %d: %v and %v; want one exit 1 and one exit 3", i, recs[0], recs[1])
			continue
		}
		if sent[loser] != 0 {
			t.Errorf("pair %d: the refused run sent %d requests", i, sent[loser])
		}
		if holder := fmt.Sprintf("process %d", pids[1-loser]); !strings.Contains(recs[loser].stderr, holder) {
			t.Errorf("pair %d: the refused run does not name the holder, %s: %q", i, holder, recs[loser].lastLine())
		}
	}
}

// TestGuardInputIsAResultFile: an input that is a result file of its own
// --out would be overwritten while it is read: refused, exit 1, with a
// message, and nothing in --out changes (not the input, not the journal).
func TestGuardInputIsAResultFile(t *testing.T) {
	t.Parallel()
	for _, name := range []string{report.UnprocessedFile, report.AssignedFile, report.FailedFile} {
		t.Run(name, func(t *testing.T) {
			sc := newScenario(t, nil, nil)
			out := filepath.Join(t.TempDir(), "retry")
			copyFile(t, sc.in, filepath.Join(out, name))
			refused(t, sc, out, filepath.Join(out, name), name)
		})
	}
	t.Run("failed.csv with --restart", func(t *testing.T) {
		sc := newScenario(t, nil, nil)
		if r := sc.run(t, trigger{}); r.exit != 3 {
			t.Fatalf("the first run: %v; want exit 3", r)
		}
		refused(t, sc, sc.out, filepath.Join(sc.out, report.FailedFile), report.FailedFile, "--restart")
	})
	t.Run("symlink to failed.csv", func(t *testing.T) {
		sc := newScenario(t, nil, nil)
		if r := sc.run(t, trigger{}); r.exit != 3 {
			t.Fatalf("the first run: %v; want exit 3", r)
		}
		link := filepath.Join(t.TempDir(), "retry.csv")
		if err := os.Symlink(filepath.Join(sc.out, report.FailedFile), link); err != nil {
			t.Fatal(err)
		}
		refused(t, sc, sc.out, link, report.FailedFile, "--restart")
	})
}

// refused runs --input in --out out (with extra flags) and checks that the
// run is refused naming name, sending nothing and changing nothing in out.
func refused(t *testing.T, sc *scenario, out, in, name string, extra ...string) {
	t.Helper()
	before, sent := snapshot(t, out), sc.gong.emu.Stats().Requests
	r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, runFlags(in, out, extra...)...)
	if r.exit != 1 {
		t.Errorf("%v; want exit 1", r)
	}
	if !strings.Contains(r.stderr, name) || !strings.Contains(r.stderr, "--out") {
		t.Errorf("the message does not say that --input is %s of --out: %q", name, r.lastLine())
	}
	if n := sc.gong.emu.Stats().Requests - sent; n != 0 {
		t.Errorf("%d requests sent; want none", n)
	}
	untouched(t, out, before)
}

// TestGuardInboxFileNamedLikeAResult: inbox files named failed.csv,
// assigned.csv and unprocessed.csv are run like any other; each settled
// input is kept under results/<base>/input/, and does not overwrite (nor is
// overwritten by) its run's result file of the same name.
func TestGuardInboxFileNamedLikeAResult(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(gongConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	dir := t.TempDir()
	incoming := filepath.Join(dir, "incoming")
	inputs := map[string]string{}
	var want []string
	for f, name := range []string{report.FailedFile, report.AssignedFile, report.UnprocessedFile} {
		var b strings.Builder
		b.WriteString("crmProspectId,flowId,flowInstanceOwnerEmail\n")
		for i := range 15 {
			id := fmt.Sprintf("INBOX%d%03d", f, i)
			fmt.Fprintf(&b, "%s,%s,%s\n", id, flowSDR, ava)
			want = append(want, id)
		}
		inputs[name] = b.String()
		writeFile(t, filepath.Join(incoming, name), b.String(), 0o600)
	}
	r := runOnce(t, nil, gongEnv(srv.URL), nil, "run", "--inbox", dir, "--rate", "1000", "--chunk-size", "7", "--log-format", "json")
	if r.exit != 0 {
		t.Fatalf("%v; want exit 0\n%s", r, r.output())
	}
	for name, content := range inputs {
		base := strings.TrimSuffix(name, ".csv")
		res := filepath.Join(dir, "results", base)
		if b, err := os.ReadFile(filepath.Join(res, "input", name)); err != nil || string(b) != content {
			t.Errorf("%s: the settled input is not kept whole under results/%s/input/ (err %v)", name, base, err)
		}
		b, err := os.ReadFile(filepath.Join(res, name))
		header, _, _ := strings.Cut(string(b), "\n")
		if wantHeader := strings.Join(report.Columns(name), ","); err != nil || header != wantHeader {
			t.Errorf("results/%s/%s starts %q (err %v); want the result file's header %q", base, name, header, err, wantHeader)
		}
		got := readResults(t, res)
		for line := 2; line <= 16; line++ {
			if o := got.byLine[line]; o.file != "assigned" || len(got.twice[line]) > 0 {
				t.Errorf("%s: line %d is %s %v; want assigned, once", name, line, o.key(), got.twice[line])
			}
		}
	}
	var created []string
	for _, c := range emu.Created() {
		created = append(created, c.CRMProspectID)
	}
	slices.Sort(created)
	slices.Sort(want)
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("prospects created (-want +got):\n%s", diff)
	}
}

// TestGuardRedirect: Gong's address answers every request 307 to another
// port of the same host. The client must not follow it (the other port
// gets no request, so no Authorization), and must report it: exit 1, a
// message naming the status and where it pointed, the rows unprocessed.
func TestGuardRedirect(t *testing.T) {
	t.Parallel()
	for _, preflight := range []bool{true, false} {
		t.Run("preflight="+strconv.FormatBool(preflight), func(t *testing.T) {
			other := &counter{}
			ts := httptest.NewServer(other)
			defer ts.Close()
			cfg := gongConfig(nil)
			cfg.RedirectTo = ts.URL
			sc := newScenarioOf(t, newProspects(), cfg, nil)
			r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil,
				runFlags(sc.in, sc.out, "--max-retry-time", "10m", "--preflight="+strconv.FormatBool(preflight))...)
			if sc.gong.emu.Stats().Redirected == 0 {
				t.Fatalf("the emulator redirected no request: %v", r)
			}
			if n := other.authorized.Load(); n != 0 {
				t.Errorf("%d requests with an Authorization header reached the port the redirect pointed to", n)
			}
			if n := other.requests.Load(); n != 0 {
				t.Errorf("the redirect was followed: %d requests reached the other port", n)
			}
			if r.exit != 1 {
				t.Errorf("%v; want exit 1 (a wrong base URL)", r)
			}
			if target := strings.TrimPrefix(ts.URL, "http://"); !strings.Contains(r.stderr, "307") || !strings.Contains(r.stderr, target) {
				t.Errorf("no message names the status 307 and where it pointed (%s):\n%s", target, r.stderr)
			}
			sc.summary(t, r)
			sc.check(t, false)
			onlyInputFailures(t, sc.out)
		})
	}
}

// TestGuardBadSettings: settings that cannot work fail at start, before
// anything is sent or written, with a message saying what to fix.
func TestGuardBadSettings(t *testing.T) {
	t.Parallel()
	const token = "e2e-bearer\x01token"
	for _, tc := range []struct {
		name  string
		base  func(emu string) string // GONG_BASE_URL from the emulator's
		creds []string                // nil: the suite's key and secret
		flags []string
		exit  int
		says  []string // in the message, all of them
	}{
		{name: "bearer token with a control character", creds: []string{"GONG_BEARER_TOKEN=" + token},
			exit: 1, says: []string{"GONG_BEARER_TOKEN", "control character"}},
		{name: "base URL with a path", base: func(u string) string { return u + "/v2" },
			exit: 1, says: []string{"GONG_BASE_URL", "/v2"}},
		{name: "base URL with a query", base: func(u string) string { return u + "/?region=us" },
			exit: 1, says: []string{"GONG_BASE_URL", "query"}},
		{name: "base URL with a bad port", base: func(string) string { return "http://127.0.0.1:99999" },
			exit: 1, says: []string{"GONG_BASE_URL", "99999"}},
		{name: "rate NaN", flags: []string{"--rate", "NaN"}, exit: 2, says: []string{"--rate"}},
		{name: "rate Inf", flags: []string{"--rate", "Inf"}, exit: 2, says: []string{"--rate"}},
		{name: "concurrency 100000000", flags: []string{"--concurrency", "100000000"}, exit: 2, says: []string{"--concurrency"}},
		{name: "secret file /dev/zero", creds: []string{"GONG_ACCESS_KEY=" + accessKey, "GONG_ACCESS_KEY_SECRET_FILE=/dev/zero"},
			exit: 1, says: []string{"GONG_ACCESS_KEY_SECRET_FILE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScenario(t, nil, nil)
			base := sc.gong.srv.URL
			if tc.base != nil {
				base = tc.base(base)
			}
			r := runOnce(t, sc, gongEnv(base, tc.creds...), nil, runFlags(sc.in, sc.out, tc.flags...)...)
			if r.exit != tc.exit {
				t.Errorf("%v; want exit %d\n%s", r, tc.exit, r.output())
			}
			for _, s := range tc.says {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("the message does not say %q: %q", s, r.lastLine())
				}
			}
			if n := sc.gong.emu.Stats().Requests; n != 0 {
				t.Errorf("%d requests sent; want none", n)
			}
			noResults(t, sc.out)
			noSecret(t, "e2e-bearer", r)
		})
	}
}

// TestGuardUnreachable: a host that does not resolve and a port that
// refuses end the run at first contact, though --max-retry-time allows ten
// minutes of retries: exit 1, a message saying what to fix, every row that
// was to be sent unprocessed (not failed). A run that retried instead
// would outlast the go test -timeout.
func TestGuardUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, tc := range []struct{ name, base, says string }{
		{"host does not resolve", "https://flowenroll-e2e.invalid", "does not resolve"},
		{"port refuses", "http://" + closed, "refused"},
	} {
		for _, preflight := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/preflight=%v", tc.name, preflight), func(t *testing.T) {
				sc := newScenario(t, nil, nil)
				r := runOnce(t, sc, gongEnv(tc.base), nil,
					runFlags(sc.in, sc.out, "--max-retry-time", "10m", "--preflight="+strconv.FormatBool(preflight))...)
				if r.exit != 1 {
					t.Fatalf("%v; want exit 1\n%s", r, r.output())
				}
				if !strings.Contains(r.stderr, tc.says) || !strings.Contains(r.stderr, "GONG_BASE_URL") {
					t.Errorf("no message says %q and names GONG_BASE_URL:\n%s", tc.says, r.stderr)
				}
				sc.summary(t, r)
				sc.check(t, false)
				onlyInputFailures(t, sc.out)
				for reason, n := range reasons(t, sc.out) {
					if reason != oc.ReasonUnreachable {
						t.Errorf("%d rows unprocessed as %s; want %s", n, reason, oc.ReasonUnreachable)
					}
				}
			})
		}
	}
}

// TestGuardFilesAndSecrets: files planted in --out and secrets in the
// settings or the input.
func TestGuardFilesAndSecrets(t *testing.T) {
	t.Parallel()
	t.Run("symlink at failed.csv", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			before []string // flags of a run before the link is planted (nil: none)
			flags  []string
			exit   int
		}{
			// No journal: failed.csv is someone else's file.
			{name: "fresh --out", exit: 1},
			{name: "fresh --out with --restart", flags: []string{"--restart"}, exit: 3},
			{name: "resumed run", before: []string{"--max-requests", "3"}, exit: 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sc := newScenario(t, nil, nil)
				if tc.before != nil {
					if r := sc.run(t, trigger{}, tc.before...); r.exit != 4 {
						t.Fatalf("the first run: %v; want exit 4", r)
					}
				}
				elsewhere := t.TempDir()
				target := filepath.Join(elsewhere, "precious.txt")
				writeFile(t, target, "not flowenroll's\n", 0o640)
				link := filepath.Join(sc.out, report.FailedFile)
				os.Remove(link)
				if err := os.MkdirAll(sc.out, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				was := snapshot(t, elsewhere)
				r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, runFlags(sc.in, sc.out, tc.flags...)...)
				untouched(t, elsewhere, was)
				if r.exit != tc.exit {
					t.Fatalf("%v; want exit %d\n%s", r, tc.exit, r.lastLine())
				}
				if r.exit == 1 {
					if !strings.Contains(r.stderr, report.FailedFile) {
						t.Errorf("the message does not name failed.csv: %q", r.lastLine())
					}
					return
				}
				if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
					t.Errorf("failed.csv is not a regular file after the run (%v, %v)", fi.Mode(), err)
				}
				sc.summary(t, r)
				sc.check(t, true)
			})
		}
	})
	for _, name := range []string{report.AssignedFile, report.SummaryFile} {
		t.Run("foreign "+name, func(t *testing.T) {
			sc := newScenario(t, nil, nil)
			writeFile(t, filepath.Join(sc.out, name), "someone else's\n", 0o644)
			before := snapshot(t, sc.out)
			r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, runFlags(sc.in, sc.out)...)
			if r.exit != 1 {
				t.Errorf("%v; want exit 1", r)
			}
			if !strings.Contains(r.stderr, name) {
				t.Errorf("the message does not name %s: %q", name, r.lastLine())
			}
			if n := sc.gong.emu.Stats().Requests; n != 0 {
				t.Errorf("%d requests sent; want none", n)
			}
			untouched(t, sc.out, before)
		})
	}
	for _, tc := range []struct{ name, secret, base string }{
		{"token in the base URL's query", "TokInQuery7f3a", "%s/?token=TokInQuery7f3a"},
		{"password in the base URL", "PwInUserInfo9c1d", "http://e2e:PwInUserInfo9c1d@%s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScenario(t, nil, nil)
			u := sc.gong.srv.URL
			if strings.Contains(tc.base, "@") {
				u = strings.TrimPrefix(u, "http://")
			}
			r := runOnce(t, sc, gongEnv(fmt.Sprintf(tc.base, u)), nil, runFlags(sc.in, sc.out)...)
			if r.exit != 1 {
				t.Errorf("%v; want exit 1", r)
			}
			if !strings.Contains(r.stderr, "GONG_BASE_URL") {
				t.Errorf("the message does not name GONG_BASE_URL: %q", r.lastLine())
			}
			if n := sc.gong.emu.Stats().Requests; n != 0 {
				t.Errorf("%d requests sent; want none", n)
			}
			noSecret(t, tc.secret, r, sc.out)
		})
	}
	for _, cmd := range []string{"run", "plan"} {
		t.Run("--input is the secret file/"+cmd, func(t *testing.T) {
			const secret = "Zq9-e2e-Secret-Value-42"
			sc := newScenario(t, nil, nil)
			file := filepath.Join(t.TempDir(), "gong-secret")
			writeFile(t, file, secret+"\n", 0o600)
			env := gongEnv(sc.gong.srv.URL, "GONG_ACCESS_KEY="+accessKey, "GONG_ACCESS_KEY_SECRET_FILE="+file)
			args := runFlags(file, sc.out)
			if cmd == "plan" {
				args = []string{"plan", "--input", file, "--out", sc.out, "--log-format", "json"}
			}
			r := runOnce(t, sc, env, nil, args...)
			if r.exit != 1 {
				t.Errorf("%v; want exit 1 (not a prospects file)", r)
			}
			noSecret(t, secret, r, sc.out)
		})
	}
}

// TestGuardLyingServer: every 200 answer of assign lies (Modes.AssignLie),
// though Gong applies each request truthfully. The rows of a lying answer
// are in doubt: read back, claimed from what Gong holds, never assigned to
// the wrong flow, failed or sent again once created; at the end every row
// has its one right outcome.
func TestGuardLyingServer(t *testing.T) {
	t.Parallel()
	for _, lie := range []string{emulator.LieWrongFlowID, emulator.LieBothLists, emulator.LieUnsentID, emulator.LieNullBody} {
		t.Run(lie, func(t *testing.T) {
			cfg := gongConfig(nil)
			cfg.AssignLie = lie
			watch := &settleWatch{resent: map[string]string{}}
			sc := newScenarioOf(t, newProspects(), cfg, func(h http.Handler) http.Handler { watch.next = h; return watch })
			watch.emu, watch.journal, watch.sig = sc.gong.emu, filepath.Join(sc.out, ledger.FileName), sc.faults
			flags := []string{"--max-retry-time", "20s"}
			r := sc.run(t, trigger{}, flags...)
			sum := sc.summary(t, r)
			if sum.ReadBacks == 0 {
				t.Errorf("run 1: %v with no read-back: the lying answers were taken at their word", r)
			}
			switch r.exit {
			case 3:
			case 4:
				sc.inspect(t, false, true)
				sc.resume(t, 3, flags...)
			default:
				t.Fatalf("run 1: %v; want exit 3, or 4 with rows in doubt\n%s", r, r.lastLine())
			}
			sc.check(t, true)
			for _, why := range watch.report() {
				t.Errorf("sent again after it had settled: %s", why)
			}
			st := sc.gong.emu.Stats()
			t.Logf("%d runs (run 1: %v); %d assigns, %d read-backs, %d instances created", len(sc.runs), sc.runs[0], st.Assign, st.ReadBack, st.Created)
		})
	}
}

// TestGuardEndlessInput: an input that never ends. Reading /dev/zero, or a
// standard input that keeps coming, must stop at the first SIGTERM (exit 4
// or 1 with a message), and standard input must be bounded; no copy of it
// may be left in --out.
//
// No clock decides: a watchdog reads how many bytes the process has read
// (/proc/PID/io) or the test has written, and a process that takes
// stdinCap bytes more after the SIGTERM is stuck. The bound on standard
// input is --max-input-bytes (default enroll.DefaultMaxSpoolBytes).
func TestGuardEndlessInput(t *testing.T) {
	t.Parallel()
	if bytesRead(os.Getpid()) < 0 {
		t.Skip("no /proc/PID/io here")
	}
	t.Run("dev-zero", func(t *testing.T) {
		sc := newScenario(t, nil, nil)
		p := startProc(t, gongEnv(sc.gong.srv.URL), nil, runFlags("/dev/zero", sc.out)...)
		go p.wait(t)
		termed, stuck := watchReads(p, 16<<20, 16<<20+stdinCap)
		<-p.done
		sc.runs = append(sc.runs, p.rec)
		stopped(t, sc, p.rec, termed, stuck)
	})
	for _, tc := range []struct {
		name  string
		in    string   // --input
		flags []string // the bound, if not the default
		limit int64    // bytes fed (standard input) before the process is called unbounded
	}{
		{"stdin bounded by --max-input-bytes", "-", []string{"--max-input-bytes", strconv.Itoa(4 << 20)}, stdinCap},
		{"stdin bounded by default", "-", nil, enroll.DefaultMaxSpoolBytes + 64<<20},
		{"dev-zero bounded by --max-input-bytes", "/dev/zero", []string{"--max-input-bytes", strconv.Itoa(4 << 20)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScenario(t, nil, nil)
			args := runFlags(tc.in, sc.out, tc.flags...)
			var p *proc
			if tc.in == "-" {
				p = startPiped(t, gongEnv(sc.gong.srv.URL), args...)
				go p.wait(t)
				if n := feed(p, tc.limit, nil); n >= tc.limit {
					t.Errorf("flowenroll took %d MiB of standard input and kept reading: no bound", n>>20)
					p.cmd.Process.Kill()
				}
				p.stdin.Close()
				<-p.done
			} else {
				p = startProc(t, gongEnv(sc.gong.srv.URL), nil, args...)
				go p.wait(t)
				if _, stuck := watchReads(p, 0, stdinCap); stuck {
					t.Errorf("flowenroll read %d MiB of /dev/zero and kept reading: no bound", stdinCap>>20)
				}
			}
			sc.runs = append(sc.runs, p.rec)
			if p.rec.signal == syscall.SIGKILL {
				return
			}
			if p.rec.exit != 1 || !strings.Contains(p.rec.stderr, "--max-input-bytes") {
				t.Errorf("%v; want exit 1 and a message naming --max-input-bytes: %q", p.rec, p.rec.lastLine())
			}
			if left := leftSpool(t, sc.out); len(left) > 0 {
				t.Errorf("copies of the input left in --out: %v", left)
			}
			noResults(t, sc.out)
			if n := sc.gong.emu.Stats().Requests; n != 0 {
				t.Errorf("%d requests sent; want none", n)
			}
		})
	}
	t.Run("stdin SIGTERM", func(t *testing.T) {
		sc := newScenario(t, nil, nil)
		p := startPiped(t, gongEnv(sc.gong.srv.URL), runFlags("-", sc.out)...)
		go p.wait(t)
		termed, stuck := false, false
		feed(p, stdinCap+8<<20, func(n int64) bool {
			if !termed && n >= 8<<20 {
				termed = p.cmd.Process.Signal(syscall.SIGTERM) == nil
			}
			if n >= stdinCap+8<<20 {
				stuck = true
				p.cmd.Process.Kill()
			}
			return true
		})
		p.stdin.Close()
		<-p.done
		sc.runs = append(sc.runs, p.rec)
		stopped(t, sc, p.rec, termed, stuck)
	})
	t.Run("stdin SIGKILL, then the same command", func(t *testing.T) {
		sc := newScenario(t, nil, nil)
		p := startPiped(t, gongEnv(sc.gong.srv.URL), runFlags("-", sc.out)...)
		go p.wait(t)
		feed(p, 4<<20, nil)
		p.cmd.Process.Kill()
		p.stdin.Close()
		<-p.done
		sc.runs = append(sc.runs, p.rec)
		left := leftSpool(t, sc.out)
		t.Logf("the killed run left %v", left)
		in, err := os.Open(sc.in)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), in, runFlags("-", sc.out)...)
		if r.exit != 3 {
			t.Fatalf("the run after the kill: %v; want exit 3\n%s", r, r.lastLine())
		}
		if again := leftSpool(t, sc.out); len(again) > 0 {
			t.Errorf("the partial copy of standard input the killed run left (%v) is still in --out after the next run: %v", left, again)
		}
		sc.summary(t, r)
		sc.check(t, true)
	})
}

// stdinCap is how much of an endless standard input the tests feed before
// they call the process stuck: a bound on standard input must be below it.
const stdinCap = 256 << 20

// watchReads sends SIGTERM once the process has read termAt bytes (if
// termAt > 0), and SIGKILL once it has read killAt: it reports whether it
// sent the SIGTERM and whether the process was stuck (killed).
func watchReads(p *proc, termAt, killAt int64) (termed, stuck bool) {
	tick := time.NewTicker(20 * time.Millisecond) // a watchdog's pace, not a wait for an event
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return termed, stuck
		case <-tick.C:
		}
		n := bytesRead(p.cmd.Process.Pid)
		if termAt > 0 && !termed && n >= termAt {
			termed = p.cmd.Process.Signal(syscall.SIGTERM) == nil
		}
		if !stuck && n >= killAt {
			stuck = p.cmd.Process.Kill() == nil
		}
	}
}

// stopped checks a run of an endless input after its SIGTERM: it ended by
// itself, with exit 4 or 1 and a message, leaving no copy of its input.
func stopped(t *testing.T, sc *scenario, r runRecord, termed, stuck bool) {
	t.Helper()
	switch {
	case stuck:
		t.Errorf("still reading after SIGTERM: killed (%v)", r)
	case r.signal != 0:
		t.Errorf("%v; want it to end by itself", r)
	case r.exit != 4 && r.exit != 1:
		t.Errorf("%v; want exit 4 or 1", r)
	case !termed && r.exit != 1:
		t.Errorf("%v before the SIGTERM; want exit 1 with a message", r)
	case r.exit == 4 && !strings.Contains(r.output(), "stopped"):
		t.Errorf("%v with no message that the run stopped:\n%s", r, r.output())
	case r.exit == 1 && !strings.Contains(r.stderr, "flowenroll: "):
		t.Errorf("%v with no message:\n%s", r, r.stderr)
	}
	if left := leftSpool(t, sc.out); len(left) > 0 {
		t.Errorf("copies of the input left in --out: %v", left)
	}
	_ = filepath.WalkDir(sc.out, func(path string, d fs.DirEntry, err error) error {
		if info, ierr := os.Lstat(path); err == nil && ierr == nil && info.Size() > 16<<20 {
			t.Errorf("%s holds %d MiB", path, info.Size()>>20)
		}
		return nil
	})
	t.Logf("%v", r)
}

// feed writes an endless CSV of prospects to p's standard input until the
// process stops reading or limit bytes are written, calling each (if set)
// after every block with the bytes so far. It returns the bytes written.
func feed(p *proc, limit int64, each func(n int64) bool) int64 {
	row := fmt.Sprintf("ENDLESS0001,%s,%s\n", flowSDR, ava)
	block := bytes.Repeat([]byte(row), (1<<20)/len(row))
	n := int64(0)
	if k, err := p.stdin.Write([]byte("crmProspectId,flowId,flowInstanceOwnerEmail\n")); err != nil {
		return int64(k)
	}
	for n < limit {
		k, err := p.stdin.Write(block)
		n += int64(k)
		if err != nil || (each != nil && !each(n)) {
			break
		}
	}
	return n
}

// TestGuardSoakTwoRunsAtOnce: rounds of the same command started twice at
// once on one --out, through two addresses of one emulator, with faults
// and, in the first rounds, a SIGKILL of the winner at a random assign.
// In every round one run exits 1 naming the holder and sends nothing; the
// other resumes the job; at the end every row has its one right outcome,
// and no row was sent again after it settled.
func TestGuardSoakTwoRunsAtOnce(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			soakTwoRuns(t, seed)
		})
	}
}

func soakTwoRuns(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6775617264))
	faults := soakFaults(rng)
	// No storms or slow answers: a 429 storm may rightly fail a row
	// RetriesExhausted, which the final check does not expect.
	faults.StormRate, faults.SlowAnswerRate = 0, 0
	gate := &pairGate{}
	watch := &settleWatch{resent: map[string]string{}}
	sc := newScenarioOf(t, newProspects(), gongConfig(nil), func(h http.Handler) http.Handler {
		watch.next, gate.next = h, watch
		return gate.side(0)
	})
	watch.emu, watch.journal, watch.sig = sc.gong.emu, filepath.Join(sc.out, ledger.FileName), sc.faults
	door := newDoor(t, gate.side(1))
	flags := []string{"--timeout", "2s", "--max-retry-time", "8s", "--max-wait", "30s", "--drain-timeout", "5s"}
	t.Logf("faults: %s", describeFaults(faults))
	var story []string
	defer func() { t.Logf("rounds: %s", strings.Join(story, "; ")) }()
	for n := 1; ; n++ {
		if n > soakMaxRuns {
			t.Fatalf("not finished after %d rounds", soakMaxRuns)
		}
		f, killAt := emulator.Faults{}, 0
		if n <= 3 {
			f = faults
			f.Seed = int64(seed)*16 + int64(n)
			if rng.IntN(2) == 0 {
				killAt = 1 + rng.IntN(15)
			}
		}
		if err := sc.gong.emu.SetFaults(f); err != nil {
			t.Fatal(err)
		}
		sc.gong.quiesce()
		door.quiesce()
		gate.round(killAt)
		recs, pids := startPair(t, gate, [2]string{sc.gong.srv.URL, door.srv.URL}, runFlags(sc.in, sc.out, flags...))
		sc.gong.quiesce()
		door.quiesce()
		sent := gate.requests()
		recs[0].requests, recs[1].requests = int64(sent[0]), int64(sent[1])
		sc.runs = append(sc.runs, recs[0], recs[1])
		loser := -1
		for i, r := range recs {
			if r.exit == 1 && strings.Contains(r.stderr, "held by") {
				loser = i
			}
		}
		if loser < 0 {
			t.Fatalf("round %d: neither run was refused: %v and %v", n, recs[0], recs[1])
		}
		if sent[loser] != 0 {
			t.Errorf("round %d: the refused run sent %d requests", n, sent[loser])
		}
		if holder := fmt.Sprintf("process %d", pids[1-loser]); !strings.Contains(recs[loser].stderr, holder) {
			t.Errorf("round %d: the refused run does not name the holder, %s: %q", n, holder, recs[loser].lastLine())
		}
		w := recs[1-loser]
		story = append(story, fmt.Sprintf("%d: kill at assign %d: winner %v, loser exit %d", n, killAt, w, recs[loser].exit))
		switch {
		case w.signal == syscall.SIGKILL:
			continue
		case w.exit == 4:
			sc.summary(t, w)
			sc.inspect(t, false, true)
			continue
		case w.exit != 3:
			t.Fatalf("round %d: the holding run: %v; want exit 3 or 4\n%s", n, w, w.lastLine())
		}
		sc.summary(t, w)
		break
	}
	sc.check(t, true)
	for _, why := range watch.report() {
		t.Errorf("sent again after it had settled: %s", why)
	}
}

// startPair starts the same command twice at once, run i against bases[i],
// and waits for both; it returns their records and process IDs.
func startPair(t *testing.T, gate *pairGate, bases [2]string, args []string) ([2]runRecord, [2]int) {
	t.Helper()
	var procs [2]*proc
	for i := range 2 {
		procs[i] = startProc(t, gongEnv(bases[i]), nil, args...)
		gate.started(i, procs[i].cmd.Process)
	}
	var recs [2]runRecord
	done := make(chan int, 2)
	for i := range 2 {
		go func() {
			recs[i] = procs[i].wait(t)
			gate.ended(i)
			done <- i
		}()
	}
	<-done
	<-done
	return recs, [2]int{procs[0].cmd.Process.Pid, procs[1].cmd.Process.Pid}
}

// copyFile copies src to dst, creating dst's folder.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, string(b), 0o600)
}

// writeFile writes content to path with mode, creating the folder.
func writeFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}
