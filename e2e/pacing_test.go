package e2e

import (
	"fmt"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// TestNo429sBackToBackOnARollingWindow: against a Gong that refuses any
// fourth call within one second (a rolling window), at the default --rate 3,
// a run of 500 rows stopped by its request cap, the same run resumed the
// instant it ended, then undo and verify, each started the instant the one
// before ended, draw no 429: each process sends evenly from its first
// request, and knows the last one's sends from --out.
func TestNo429sBackToBackOnARollingWindow(t *testing.T) {
	t.Parallel()
	var rows []inputRow
	flows, owners := []string{flowSDR, flowWebinar, flowDemo}, []string{ava, ben, dan}
	for i := range 500 {
		rows = append(rows, inputRow{id: fmt.Sprintf("R%04d", i), flow: flows[i%3], owner: owners[(i/3)%3], want: wantAssigned})
	}
	cfg := gongConfig(nil)
	cfg.RatePerSecond = 3
	cfg.Window = emulator.WindowRolling
	sc := newScenarioOf(t, prospectsFile{rows: rows}, cfg, nil)
	run := []string{"run", "--input", sc.in, "--out", sc.out, "--chunk-size", "50", "--log-format", "json"}

	steps := []struct {
		name string
		args []string
		exit int
	}{
		{"run, stopped by --max-requests", append(run[:len(run):len(run)], "--max-requests", "6"), 4},
		{"the run resumed", run, 0},
		{"undo", []string{"undo", "--out", sc.out, "--batch-size", "50", "--log-format", "json"}, 0},
		{"verify", []string{"verify", "--out", sc.out, "--log-format", "json"}, 0},
	}
	for _, st := range steps {
		r := sc.exec(t, trigger{}, st.args...)
		if r.exit != st.exit {
			t.Fatalf("%s: %v, want exit %d\n%s", st.name, r, st.exit, r.stderr)
		}
		if got := sc.gong.emu.Stats().RateLimited; got != 0 {
			t.Fatalf("after %s: Gong answered %d requests 429, want none", st.name, got)
		}
	}
	st := sc.gong.emu.Stats()
	t.Logf("%d requests: %d assigns, %d read-backs, %d listings, %d unassigns; at most %d in one second",
		st.Requests, st.Assign, st.ReadBack, st.ListFlows+st.ListUsers, st.Unassign, st.MaxInWindow)
	if st.Assign < 10 || st.Unassign < 10 {
		t.Errorf("%d assigns and %d unassigns, want 10 of each at least: 500 rows, 50 a request", st.Assign, st.Unassign)
	}
	if sum := sc.summary(t, sc.runs[1]); sum.RateLimited != 0 || sum.Assigned != 500 {
		t.Errorf("summary.json: %d assigned, %d 429s; want 500 and none", sum.Assigned, sum.RateLimited)
	}
}
