package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"

	oc "github.com/flowenroll/flowenroll/pkg/outcome"
)

// TestSIGKILLThenResume kills the process at seeded requests, once or several
// times in a row, resumes with the same command, and audits the files.
func TestSIGKILLThenResume(t *testing.T) {
	t.Parallel()
	var ty tally
	ty.logAtEnd(t, "kills")
	for seed := uint64(1); seed <= 24; seed++ {
		t.Run(fmt.Sprintf("seed=%02d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x6b696c6c))
			sc := newScenario(t, nil, nil)
			kills := 1 + rng.IntN(3)
			var plan []string
			for k := range kills {
				// The first kill lands anywhere before the last two requests of
				// a whole run; later ones early in the resumed run, which may
				// end before it.
				trig := trigger{at: 1 + rng.Int64N(int64(sc.input.minRequests-2)), point: point(rng.IntN(int(points))), sig: syscall.SIGKILL}
				if k > 0 {
					trig.at = 1 + rng.Int64N(8)
				}
				plan = append(plan, fmt.Sprintf("%v@%d", trig.point, trig.at))
				r := sc.run(t, trig)
				if r.fired && r.signal != syscall.SIGKILL && k > 0 && (r.exit == 0 || r.exit == 3) {
					// The resumed run's last answer was its kill point, and
					// it exited before the signal landed.
					sc.runs[len(sc.runs)-1].fired = false
					r.fired = false
				}
				if !r.fired {
					if k == 0 {
						t.Fatalf("run 1: the kill at request %d never came: %v", trig.at, r)
					}
					// The resumed run finished before its kill point.
					if !sc.summary(t, r).Resumed {
						t.Errorf("run %d: summary.json says resumed: false after a kill", len(sc.runs))
					}
					break
				}
				if r.signal != syscall.SIGKILL {
					t.Fatalf("run %d: %v; want it ended by SIGKILL", len(sc.runs), r)
				}
			}
			t.Logf("kills: %s", strings.Join(plan, ", "))
			if last := sc.runs[len(sc.runs)-1]; last.fired {
				sum := sc.resume(t, 3)
				if sum.ExitCode != 3 {
					t.Errorf("resumed run: exit %d, want 3 (the input has rows that fail)", sum.ExitCode)
				}
			}
			ty.add(sc, sc.check(t, true))
		})
	}
}

// TestSIGTERMThenResume signals SIGTERM at seeded requests: the run drains,
// exits 4 with the rest Interrupted, and the same command finishes the job.
func TestSIGTERMThenResume(t *testing.T) {
	t.Parallel()
	var ty tally
	ty.logAtEnd(t, "SIGTERMs")
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprintf("seed=%02d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x7465726d))
			sc := newScenario(t, nil, nil)
			// Early enough that rows are left to interrupt. Each seed's point
			// is fixed so that all three are covered.
			trig := trigger{at: 1 + rng.Int64N(int64(sc.input.minRequests/2)), point: point(seed % uint64(points)), sig: syscall.SIGTERM}
			t.Logf("SIGTERM: %v@%d", trig.point, trig.at)
			r := sc.run(t, trig)
			if !r.fired {
				t.Fatalf("run 1: the SIGTERM at request %d never came: %v", trig.at, r)
			}
			if r.exit != 4 {
				t.Fatalf("run 1: %v; want exit 4", r)
			}
			sum := sc.summary(t, r)
			if sum.StopReason != oc.ReasonInterrupted {
				t.Errorf("run 1: summary.json stopReason %q, want %q", sum.StopReason, oc.ReasonInterrupted)
			}
			checkStopped(t, sc, oc.ReasonInterrupted)

			sum = sc.resume(t, 3)
			if sum.ExitCode != 3 {
				t.Errorf("resumed run: exit %d, want 3", sum.ExitCode)
			}
			ty.add(sc, sc.check(t, true))
		})
	}
}

// TestMaxRequestsThenResume runs the same command with a request cap until
// it finishes: each run stops at the cap with exit 4 and the rest
// RequestBudget, and the next one continues.
func TestMaxRequestsThenResume(t *testing.T) {
	t.Parallel()
	var ty tally
	ty.logAtEnd(t, "signals")
	for _, limit := range []int64{9, 17, 40} {
		t.Run("max-requests="+strconv.FormatInt(limit, 10), func(t *testing.T) {
			sc := newScenario(t, nil, nil)
			capFlag := []string{"--max-requests", strconv.FormatInt(limit, 10)}
			maxRuns := 3*(sc.input.minRequests/int(limit)+1) + 2
			assigned := -1
			for i := 1; ; i++ {
				r := sc.run(t, trigger{}, capFlag...)
				sum := sc.summary(t, r)
				if r.requests > limit {
					t.Errorf("run %d: the emulator saw %d requests; the cap is %d", i, r.requests, limit)
				}
				if i > 1 && !sum.Resumed {
					t.Errorf("run %d: summary.json says resumed: false", i)
				}
				if r.exit == 3 {
					break
				}
				if r.exit != 4 {
					t.Fatalf("run %d: %v; want exit 4 (cap reached) or 3 (finished)", i, r)
				}
				if sum.StopReason != oc.ReasonRequestBudget {
					t.Errorf("run %d: summary.json stopReason %q, want %q", i, sum.StopReason, oc.ReasonRequestBudget)
				}
				checkStopped(t, sc, oc.ReasonRequestBudget)
				if sum.Assigned <= assigned {
					t.Fatalf("run %d: %d rows assigned, as many as after the run before: no progress", i, sum.Assigned)
				}
				assigned = sum.Assigned
				if i == maxRuns {
					t.Fatalf("not finished after %d runs", i)
				}
			}
			if len(sc.runs) == 1 {
				t.Errorf("the first run finished under a cap of %d requests; want exit 4", limit)
			}
			t.Logf("%d runs; %d requests in all", len(sc.runs), totalRequests(sc))
			ty.add(sc, sc.check(t, true))
		})
	}
}

// TestDroppedAnswersAreReadBack has Gong apply a tenth of the assign requests
// and then lose the answer. The client must read those rows back instead of
// reporting them "already in flow" when it sends them again.
func TestDroppedAnswersAreReadBack(t *testing.T) {
	t.Parallel()
	var ty tally
	ty.logAtEnd(t, "signals")
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprintf("seed=%02d", seed), func(t *testing.T) {
			d := &dropper{share: 0.10, rng: rand.New(rand.NewPCG(seed, 0x64726f70))}
			sc := newScenario(t, func(h http.Handler) http.Handler { d.next = h; return d }, nil)
			r := sc.run(t, trigger{})
			sum := sc.summary(t, r)
			switch r.exit {
			case 3:
			case 4:
				t.Logf("run 1 left rows unprocessed: %v", reasons(t, sc.out))
				sum = sc.resume(t, 3)
			default:
				t.Fatalf("run 1: %v; want exit 3", r)
			}
			assigns, dropped := d.counts()
			if dropped == 0 {
				t.Fatalf("no answer was dropped in %d assign requests; pick another seed", assigns)
			}
			t.Logf("%d of %d assign answers dropped; %d read-backs, %d retries", dropped, assigns, sum.ReadBacks, sum.Retries)
			if sum.ExitCode != 3 {
				t.Errorf("last run: exit %d, want 3", sum.ExitCode)
			}
			ty.add(sc, sc.check(t, true))
		})
	}
}

// checkStopped audits a run that stopped early: every row accounted for,
// assigned.csv as Gong holds it, and the unsent rows unprocessed for reason.
func checkStopped(t *testing.T, sc *scenario, reason string) {
	t.Helper()
	sc.check(t, false)
	got := reasons(t, sc.out)
	if got[reason] == 0 {
		t.Errorf("run %d: no row in unprocessed.csv with reason %s: %v", len(sc.runs), reason, got)
	}
	for r, n := range got {
		// A row whose request may have reached Gong without an answer is
		// InDoubt, whatever stopped the run: the next run reads it back.
		if r != reason && r != oc.ReasonInDoubt {
			t.Errorf("run %d: %d rows in unprocessed.csv with reason %s; want only %s (or %s)", len(sc.runs), n, r, reason, oc.ReasonInDoubt)
		}
	}
}

func totalRequests(sc *scenario) int64 {
	var n int64
	for _, r := range sc.runs {
		n += r.requests
	}
	return n
}
