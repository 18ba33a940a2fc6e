package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/ledger"
	oc "github.com/flowenroll/flowenroll/pkg/outcome"
)

// The tests of issue #20 items 5 to 8 and 11 (an incomplete listing, a
// silent server, --out deleted mid-run, a damaged ledger, settings the
// binary ignored): each case with the real binary against the emulator,
// asserting the contract's outcome. RELIABILITY.md ("Guards") lists them
// with what the binary did before and after.

// rowsFor is n valid rows for flow and owner, the IDs prefixed.
func rowsFor(prefix, flow, owner string, n int, want string) []inputRow {
	rows := make([]inputRow, n)
	for i := range rows {
		rows[i] = inputRow{id: fmt.Sprintf("%s%04d", prefix, i), flow: flow, owner: owner, want: want}
	}
	return rows
}

// TestTruthIncompleteListing (#20.5): GET /v2/flows answers its first page
// and the same cursor for ever. The listing ends (the cursor repeats), and
// the 30 rows whose flow is on page 2 are not failed FlowNotVisible (a
// claim nothing supports): they are unprocessed ListingIncomplete, exit 4,
// with a warning. The same command lists again, and once Gong lists to the
// end it sends those 30 rows, and only those.
func TestTruthIncompleteListing(t *testing.T) {
	t.Parallel()
	rows := append(rowsFor("P1A", flowSDR, ava, 20, wantAssigned),
		rowsFor("P2A", flowWebinar, ava, 30, wantAssigned)...)
	cfg := gongConfig(nil)
	cfg.PageSize = 2 // ava's page 1: SDR Outbound Q3, Enterprise Nurture; Webinar Follow-up on page 2
	cfg.RepeatCursor = true
	sc := newScenarioOf(t, prospectsFile{rows: rows}, cfg, nil)
	args := runFlags(sc.in, sc.out)

	r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, args...)
	if r.exit != 4 {
		t.Fatalf("run 1: %v; want exit 4\n%s", r, r.lastLine())
	}
	sc.summary(t, r)
	sc.check(t, false)
	if got := reasons(t, sc.out); got[oc.ReasonListingIncomplete] != 30 || len(got) != 1 {
		t.Errorf("run 1: unprocessed %v; want the 30 rows of page 2's flow as %s", got, oc.ReasonListingIncomplete)
	}
	if !strings.Contains(r.stderr, "ended before its last page") {
		t.Errorf("run 1: no warning that the listing ended early:\n%s", r.stderr)
	}
	listed := sc.gong.emu.Stats().ListFlows

	// The same command, the same server: listed again (not from the pages
	// kept in --out), still left, never failed.
	r = runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, args...)
	if r.exit != 4 || reasons(t, sc.out)[oc.ReasonListingIncomplete] != 30 {
		t.Fatalf("run 2: %v, unprocessed %v; want exit 4 and the 30 rows left", r, reasons(t, sc.out))
	}
	if n := sc.gong.emu.Stats().ListFlows; n == listed {
		t.Errorf("run 2 did not list the flows again: the kept pages ended it at the same place")
	}

	// Gong's listing works again (another server, the same --out): the 30
	// rows are sent, and nothing else.
	fixed := newGong(t, gongConfig(nil), nil)
	r = runOnce(t, nil, gongEnv(fixed.srv.URL), nil, args...)
	if r.exit != 0 {
		t.Fatalf("run 3: %v; want exit 0\n%s", r, r.lastLine())
	}
	sc.runs = append(sc.runs, r)
	sc.summary(t, r)
	created := fixed.emu.Created()
	if len(created) != 30 {
		t.Errorf("run 3 created %d instances; want the 30 rows left", len(created))
	}
	for _, c := range created {
		if c.FlowID != flowWebinar || !strings.HasPrefix(c.CRMProspectID, "P2A") {
			t.Errorf("run 3 sent %s to %s, a row an earlier run settled", c.CRMProspectID, c.FlowID)
		}
	}
}

// TestTruthSilentServer (#20.6): a server that accepts connections and
// never answers. If nothing has answered since the run began, it is a wrong
// base URL: exit 1 at the first timeout, naming GONG_BASE_URL, with no
// retries (the run used to retry for --max-retry-time and exit 4). A
// server that answered and then went silent is an outage: retried, then
// exit 4 with the rows left for the next run.
func TestTruthSilentServer(t *testing.T) {
	t.Parallel()
	t.Run("never answered", func(t *testing.T) {
		cfg := gongConfig(nil)
		cfg.Silent = true
		sc := newScenarioOf(t, newProspects(), cfg, nil)
		start := time.Now()
		r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil,
			runFlags(sc.in, sc.out, "--timeout", "2s", "--max-retry-time", "30s")...)
		t.Logf("silent server: %v in %v (--timeout 2s)", r, time.Since(start).Round(100*time.Millisecond))
		if r.exit != 1 {
			t.Fatalf("%v; want exit 1\n%s", r, r.lastLine())
		}
		if !strings.Contains(r.stderr, "GONG_BASE_URL") || !strings.Contains(r.stderr, "no answer") {
			t.Errorf("no message says the address never answered and names GONG_BASE_URL:\n%s", r.stderr)
		}
		// One attempt per request in flight, none retried.
		if r.requests > concurrency {
			t.Errorf("%d requests reached the silent server; want at most %d (no retries)", r.requests, concurrency)
		}
		sc.summary(t, r)
		sc.inspect(t, false, true)
		onlyInputFailures(t, sc.out)
		for reason, n := range reasons(t, sc.out) {
			if reason != oc.ReasonUnreachable && reason != oc.ReasonInDoubt {
				t.Errorf("%d rows unprocessed as %s; want %s (or %s)", n, reason, oc.ReasonUnreachable, oc.ReasonInDoubt)
			}
		}
	})
	t.Run("answered, then silent", func(t *testing.T) {
		cfg := gongConfig(nil)
		cfg.Silent, cfg.SilentAfter = true, 2 // ava's listing and one assign
		rows := append(rowsFor("S1A", flowSDR, ava, 20, wantAssigned), rowsFor("S2A", flowWebinar, ava, 20, wantAssigned)...)
		sc := newScenarioOf(t, prospectsFile{rows: rows}, cfg, nil)
		r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil,
			runFlags(sc.in, sc.out, "--timeout", "1s", "--max-retry-time", "3s")...)
		if r.exit != 4 {
			t.Fatalf("%v; want exit 4 (an outage, not a setup error)\n%s", r, r.lastLine())
		}
		sc.summary(t, r)
		sc.inspect(t, false, true)
		if n := reasons(t, sc.out)[oc.ReasonUnreachable]; n != 0 {
			t.Errorf("%d rows unprocessed as %s after Gong had answered", n, oc.ReasonUnreachable)
		}
	})
}

// TestTruthDamagedLedger (#20.8): a run finishes; then its ledger is
// emptied, or cut short, by hand. The same command must not take that for
// a fresh run and send the settled rows again: exit 1, nothing sent,
// nothing touched, a message naming --restart and --read-back-first.
func TestTruthDamagedLedger(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		keep int // lines of the ledger kept: 0 empties it
	}{
		{"emptied", 0},
		{"header only", 1},
		{"cut short", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScenario(t, nil, nil)
			if r := sc.run(t, trigger{}); r.exit != 3 {
				t.Fatalf("run 1: %v; want exit 3 (the unknown flow's rows fail)", r)
			}
			path := filepath.Join(sc.out, ledger.FileName)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(string(b), "\n")
			if err := os.WriteFile(path, []byte(strings.Join(lines[:min(tc.keep, len(lines))], "")), 0o600); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, sc.out)
			created := len(sc.gong.emu.Created())

			r := sc.run(t, trigger{})
			if r.exit != 1 {
				t.Errorf("run 2: %v; want exit 1", r)
			}
			if r.requests != 0 || len(sc.gong.emu.Created()) != created {
				t.Errorf("run 2 sent %d requests (%d instances created); want none", r.requests, len(sc.gong.emu.Created())-created)
			}
			for _, flag := range []string{"--restart", "--read-back-first"} {
				if !strings.Contains(r.lastLine(), flag) {
					t.Errorf("the message does not name %s: %s", flag, r.lastLine())
				}
			}
			untouched(t, sc.out, before)
		})
	}
}

// outRemover deletes --out just before the assign request numbered at
// reaches the emulator, and counts the assigns.
type outRemover struct {
	next    http.Handler
	out     string
	at      int64
	assigns atomic.Int64
	err     atomic.Value // the deletion's error, if any
}

func (o *outRemover) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/flows/prospects/assign" {
		if o.assigns.Add(1) == o.at {
			// Moved away in one step, then removed: a RemoveAll alone races
			// the run's own writes into the folder (a file created while it
			// empties the folder leaves the folder there, half empty).
			gone := o.out + ".deleted"
			if err := os.Rename(o.out, gone); err != nil {
				o.err.Store(err)
			}
			os.RemoveAll(gone)
		}
	}
	o.next.ServeHTTP(w, r)
}

// TestTruthOutDeleted (#20.7): --out is deleted during the run. The run
// notices at its next journal write and stops at once, exit 1, saying what
// happened, instead of sending every row into a folder that no longer
// exists (after which the same command sent them all again).
func TestTruthOutDeleted(t *testing.T) {
	t.Parallel()
	const at = 5
	var rm *outRemover
	sc := newScenarioOf(t, newProspects(), gongConfig(nil), func(h http.Handler) http.Handler {
		rm = &outRemover{next: h, at: at}
		return rm
	})
	rm.out = sc.out
	r := sc.run(t, trigger{})
	if err := rm.err.Load(); err != nil {
		t.Fatalf("deleting --out: %v", err)
	}
	if r.exit != 1 {
		t.Errorf("%v; want exit 1", r)
	}
	// The requests journaled before the deletion may still go out: at
	// most one per worker after the one that met it.
	if n := rm.assigns.Load(); n > at+concurrency {
		t.Errorf("%d assign requests; want at most %d: the run went on sending after --out was deleted", n, at+concurrency)
	}
	if !strings.Contains(r.lastLine(), "deleted or replaced") || !strings.Contains(r.lastLine(), "--read-back-first") {
		t.Errorf("the message does not say --out was deleted and what to do: %s", r.lastLine())
	}
	if _, err := os.Stat(sc.out); err == nil {
		entries, _ := os.ReadDir(sc.out)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s exists again, holding %v: the run recreated it", sc.out, names)
	}
	t.Logf("--out deleted before assign %d: %v, %d assigns in all", at, r, rm.assigns.Load())
}

// TestTruthIgnoredSettings (#20.11): settings the command does not read
// are named on stderr instead of being ignored in silence:
// FLOWENROLL_DRY_RUN is undo's (run sends), and a GONG_* variable with a
// typo, each with what was probably meant.
func TestTruthIgnoredSettings(t *testing.T) {
	t.Parallel()
	rows := rowsFor("ENV", flowSDR, ava, 3, wantAssigned)
	sc := newScenarioOf(t, prospectsFile{rows: rows}, gongConfig(nil), nil)
	env := append(gongEnv(sc.gong.srv.URL), "FLOWENROLL_DRY_RUN=true", "FLOWENROLL_CONCURENCY=2", "GONG_ACESS_KEY=x")
	r := runOnce(t, sc, env, nil, runFlags(sc.in, sc.out)...)
	if r.exit != 0 {
		t.Fatalf("%v; want exit 0\n%s", r, r.lastLine())
	}
	for _, want := range []string{
		"FLOWENROLL_DRY_RUN sets a flag of undo, not of run",
		"FLOWENROLL_CONCURENCY sets no flag of run and is ignored; did you mean FLOWENROLL_CONCURRENCY?",
		"GONG_ACESS_KEY is not a variable flowenroll reads and is ignored; did you mean GONG_ACCESS_KEY?",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
}

// TestTruthSecretFileFIFO (#20.11): a credentials _FILE that is a named
// pipe is refused at once (exit 1, saying what it is), instead of blocking
// the open, and SIGTERM with it, until a writer comes.
func TestTruthSecretFileFIFO(t *testing.T) {
	t.Parallel()
	sc := newScenario(t, nil, nil)
	fifo := filepath.Join(t.TempDir(), "key")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipe: %v", err)
	}
	env := gongEnv(sc.gong.srv.URL, "GONG_ACCESS_KEY_FILE="+fifo, "GONG_ACCESS_KEY_SECRET="+accessSecret)
	r := runOnce(t, sc, env, nil, runFlags(sc.in, sc.out)...)
	if r.exit != 1 || r.requests != 0 {
		t.Errorf("%v; want exit 1 and no request", r)
	}
	if !strings.Contains(r.lastLine(), "GONG_ACCESS_KEY_FILE") || !strings.Contains(r.lastLine(), "not a regular file") {
		t.Errorf("the message does not say GONG_ACCESS_KEY_FILE is not a regular file: %s", r.lastLine())
	}
}
