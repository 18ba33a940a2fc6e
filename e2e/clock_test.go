package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// Outcomes of the clock scenarios.
const (
	wantAlreadyInFlow = "failed:api/AlreadyInFlow"
	// Gong refused it directly; only possible where its answer was not lost.
	wantRefusedInFlow = "failed:api/InvalidState"
	// oldDate is when the instances from long before the run were made.
	oldDate = "2024-05-02T08:00:00.000Z"
)

// clockSetup is a run over prospects some of which are in their flow before
// it: old ones (made in 2024) and recent ones (made ExistingAge before the
// emulator starts, by someone else), against an emulator whose answers to
// assign are lost at the rate drop (after applying), in modes.
type clockSetup struct {
	rows, old, recent int
	modes             emulator.InstanceModes
	drop              float64
}

// newClockScenario builds the scenario and says what each ID must end as.
// Rows are C0000...; the first old rows have a 2024 instance in the flow
// and for the owner their row names, the next recent rows an undated one
// (modes.ExistingAge dates it).
func newClockScenario(t *testing.T, cs clockSetup, wrap func(http.Handler) http.Handler) *scenario {
	t.Helper()
	flows, owners := []string{flowSDR, flowWebinar, flowDemo}, []string{ava, ben, dan}
	cfg := gongConfig(nil)
	cfg.Modes.InstanceModes = cs.modes
	if cs.drop > 0 {
		cfg.Faults = emulator.Faults{Seed: 7, Ops: []string{emulator.OpAssign}, DropAfterApplyRate: cs.drop}
	}
	var rows []inputRow
	for i := range cs.rows {
		r := inputRow{id: fmt.Sprintf("C%04d", i), flow: flows[i%3], owner: owners[(i/3)%3], want: wantAssigned}
		if i < cs.old+cs.recent {
			in := emulator.AssignedFlow{FlowID: r.flow, CRMProspectID: r.id, FlowInstanceOwnerEmail: r.owner}
			if i < cs.old {
				in.FlowInstanceCreateDate = oldDate
			}
			cfg.Fixture.Existing = append(cfg.Fixture.Existing, in)
			r.want = wantAlreadyInFlow
			if cs.drop < 1 && !cs.modes.AnswerExistingAsAssigned {
				r.want += "|" + wantRefusedInFlow
			}
		}
		rows = append(rows, r)
	}
	return newScenarioOf(t, prospectsFile{rows: rows}, cfg, wrap)
}

// checkClaims checks that every row ended as it must, and that assigned.csv
// holds exactly the instances the run created, none from before it. It
// returns the count of each outcome.
func (sc *scenario) checkClaims(t *testing.T) map[string]int {
	t.Helper()
	res := readResults(t, sc.out)
	counts := map[string]int{}
	var claimed []string
	for i, r := range sc.input.rows {
		o, ok := res.byLine[i+2]
		if !ok {
			t.Errorf("line %d (%s) is in no result file", i+2, r.id)
			continue
		}
		counts[o.key()]++
		if !r.accepts(o.key()) {
			t.Errorf("line %d (%s): %s, want %s", i+2, r.id, o.key(), r.want)
		}
		if o.file == "assigned" {
			claimed = append(claimed, o.instanceID)
		}
	}
	slices.Sort(claimed)
	if diff := cmp.Diff(sc.created(), claimed); diff != "" {
		t.Errorf("assigned.csv's instances are not those the run created (-created +assigned.csv):\n%s", diff)
	}
	return counts
}

// undoLeavesOnlyTheOld undoes the run and checks that exactly the
// instances it created are gone: every one from before the run is held.
func (sc *scenario) undoLeavesOnlyTheOld(t *testing.T) {
	t.Helper()
	created := sc.created()
	if u := sc.undo(t, trigger{}, "--unassigned-by", ava); u.exit != 0 {
		t.Fatalf("undo: %v\n%s", u, u.stderr)
	}
	held := sc.held()
	for id, before := range held {
		if !before {
			t.Errorf("instance %s, created by the run, is still held after undo", id)
		}
	}
	if n := len(held); n != len(sc.gong.emu.Instances()) || n != countBefore(sc) {
		t.Errorf("%d instances held after undo, want the %d from before the run", n, countBefore(sc))
	}
	if diff := cmp.Diff(created, listed(t, sc.out, "undone.csv")); diff != "" {
		t.Errorf("undone.csv (-created +undone):\n%s", diff)
	}
}

func countBefore(sc *scenario) int {
	n := 0
	for _, r := range sc.input.rows {
		if strings.HasPrefix(r.want, wantAlreadyInFlow) {
			n++
		}
	}
	return n
}

// TestExistingInstanceAnsweredAsAssigned (issue 20, case 1): Gong answers
// prospects already in the flow with their existing 2024 instances in
// prospectsAssigned. They end AlreadyInFlow, not in assigned.csv, and undo
// leaves them.
func TestExistingInstanceAnsweredAsAssigned(t *testing.T) {
	t.Parallel()
	sc := newClockScenario(t, clockSetup{rows: 60, old: 20, modes: emulator.InstanceModes{AnswerExistingAsAssigned: true}}, nil)
	r := sc.run(t, trigger{})
	if r.exit != 3 {
		t.Fatalf("run: %v; want exit 3\n%s", r, r.stderr)
	}
	sc.summary(t, r)
	counts := sc.checkClaims(t)
	t.Logf("outcomes: %v", counts)
	sc.undoLeavesOnlyTheOld(t)
}

// TestRecentInstancesReadBackAreNotClaimed (issue 20, case 2): 20
// prospects were put in their flow by someone else 20 s before the run;
// every answer is lost, so every row is read back. Those 20 end
// AlreadyInFlow (the old fixed minute of tolerance claimed them), the rest
// are assigned.
func TestRecentInstancesReadBackAreNotClaimed(t *testing.T) {
	t.Parallel()
	sc := newClockScenario(t, clockSetup{rows: 60, recent: 20, drop: 1, modes: emulator.InstanceModes{ExistingAge: 20 * time.Second}}, nil)
	r := sc.run(t, trigger{})
	if r.exit != 3 {
		t.Fatalf("run: %v; want exit 3\n%s", r, r.stderr)
	}
	sc.summary(t, r)
	counts := sc.checkClaims(t)
	t.Logf("outcomes: %v", counts)
	if st := sc.gong.emu.Stats(); st.ReadBack == 0 {
		t.Error("no read-back: the answers were not lost")
	}
	sc.undoLeavesOnlyTheOld(t)
}

// TestGongClockBehindAnswersLost (issue 20, case 3): Gong's clock (its Date
// header and creation dates) is 3 minutes behind, and half the answers are
// lost, so rows are read back. Every row the run created is assigned: none
// InvalidState, none AlreadyInFlow.
func TestGongClockBehindAnswersLost(t *testing.T) {
	t.Parallel()
	sc := newClockScenario(t, clockSetup{rows: 400, drop: 0.5, modes: emulator.InstanceModes{ClockOffset: -3 * time.Minute}}, nil)
	r := sc.run(t, trigger{}, "--chunk-size", "20")
	if r.exit != 0 {
		t.Errorf("run: %v; want exit 0\n%s", r, r.stderr)
	}
	sc.summary(t, r)
	counts := sc.checkClaims(t)
	t.Logf("outcomes: %v, read-backs %d", counts, sc.gong.emu.Stats().ReadBack)
	if counts[wantAssigned] != 400 {
		t.Errorf("%d of 400 rows assigned", counts[wantAssigned])
	}
}

// TestUndoAfterOldAndRecentInstances: a run over prospects in their flow
// since 2024 and since 20 s before the run, with Gong's clock 3 minutes
// behind, existing instances answered as assigned and half the answers
// lost; undo removes exactly what the run created.
func TestUndoAfterOldAndRecentInstances(t *testing.T) {
	t.Parallel()
	sc := newClockScenario(t, clockSetup{rows: 90, old: 15, recent: 15, drop: 0.5, modes: emulator.InstanceModes{
		AnswerExistingAsAssigned: true, ExistingAge: 20 * time.Second, ClockOffset: -3 * time.Minute,
	}}, nil)
	r := sc.run(t, trigger{})
	if r.exit != 3 {
		t.Fatalf("run: %v; want exit 3\n%s", r, r.stderr)
	}
	sc.summary(t, r)
	counts := sc.checkClaims(t)
	t.Logf("outcomes: %v", counts)
	if counts[wantAlreadyInFlow] != 30 || counts[wantAssigned] != 60 {
		t.Errorf("outcomes %v, want 30 AlreadyInFlow and 60 assigned", counts)
	}
	sc.undoLeavesOnlyTheOld(t)
}

// assignLog records the CRM IDs of every assign request that reaches Gong.
type assignLog struct {
	next http.Handler
	mu   sync.Mutex
	ids  map[string]int
}

func (l *assignLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == emulator.PathAssign {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var req struct {
			IDs []string `json:"crmProspectsIds"`
		}
		_ = json.Unmarshal(b, &req)
		l.mu.Lock()
		for _, id := range req.IDs {
			l.ids[id]++
		}
		l.mu.Unlock()
	}
	l.next.ServeHTTP(w, r)
}

// TestReadBackFirst: --read-back-first (and FLOWENROLL_READ_BACK_FIRST) reads
// each request's prospects back before assigning: the 20 already in their
// flow end AlreadyInFlow and no assign carries them; the rest are assigned.
func TestReadBackFirst(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"flag", "env"} {
		t.Run(how, func(t *testing.T) {
			rec := &assignLog{ids: map[string]int{}}
			sc := newClockScenario(t, clockSetup{rows: 60, old: 10, recent: 10, modes: emulator.InstanceModes{ExistingAge: 20 * time.Second}},
				func(h http.Handler) http.Handler { rec.next = h; return rec })
			for i := range sc.input.rows {
				if sc.input.rows[i].want != wantAssigned {
					sc.input.rows[i].want = wantAlreadyInFlow
				}
			}
			var r runRecord
			if how == "flag" {
				r = sc.run(t, trigger{}, "--read-back-first")
			} else {
				r = sc.runEnv(t, "FLOWENROLL_READ_BACK_FIRST=true")
			}
			if r.exit != 3 {
				t.Fatalf("run: %v; want exit 3\n%s", r, r.stderr)
			}
			sc.summary(t, r)
			counts := sc.checkClaims(t)
			t.Logf("outcomes: %v", counts)
			for _, row := range sc.input.rows {
				if n := rec.ids[row.id]; row.want == wantAlreadyInFlow && n != 0 || row.want == wantAssigned && n != 1 {
					t.Errorf("%s (%s) was in %d assign requests", row.id, row.want, n)
				}
			}
			groups := map[[2]string]int{}
			for _, row := range sc.input.rows {
				groups[[2]string{row.flow, row.owner}]++
			}
			requests := 0
			for _, n := range groups {
				requests += (n + chunkSize - 1) / chunkSize
			}
			if st := sc.gong.emu.Stats(); st.ReadBack != requests {
				t.Errorf("%d read-backs, want one per request (%d)", st.ReadBack, requests)
			}
		})
	}
}

// runEnv is run with extra environment variables instead of flags.
func (sc *scenario) runEnv(t *testing.T, extra ...string) runRecord {
	t.Helper()
	sc.gong.quiesce()
	args := []string{"run", "--input", sc.in, "--out", sc.out, "--rate", "1000",
		"--chunk-size", fmt.Sprint(chunkSize), "--concurrency", fmt.Sprint(concurrency), "--log-format", "json"}
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GONG_BASE_URL=" + sc.gong.srv.URL, "GONG_ACCESS_KEY=" + accessKey, "GONG_ACCESS_KEY_SECRET=" + accessSecret,
	}, extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running flowenroll: %v", err)
	}
	sc.gong.quiesce()
	rec := runRecord{args: args, exit: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	sc.runs = append(sc.runs, rec)
	return rec
}

// soakInstanceModes draws the clock modes of a soak scenario, from a
// generator of their own so that each seed's plan stays what it was:
// Gong's clock up to 5 minutes either way in one scenario of two, and
// existing instances answered as assigned in one of three.
func soakInstanceModes(seed uint64) emulator.InstanceModes {
	rng := rand.New(rand.NewPCG(seed, 0x636c6f636b))
	var m emulator.InstanceModes
	if rng.IntN(2) == 0 {
		m.ClockOffset = time.Duration(rng.IntN(601)-300) * time.Second
	}
	m.AnswerExistingAsAssigned = rng.IntN(3) == 0
	return m
}

func describeInstanceModes(m emulator.InstanceModes) string {
	return fmt.Sprintf("Gong's clock %+v, existing instances answered as assigned: %v", m.ClockOffset, m.AnswerExistingAsAssigned)
}
