package enroll

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// days is a clock the emulator's daily quota reads: the test moves it to
// the next day between runs, as a CronJob's next schedule would find it.
type days struct {
	mu  sync.Mutex
	day int
}

func (d *days) now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return time.Date(2026, 12, 1+d.day, 12, 0, 0, 0, time.UTC)
}

func (d *days) next() {
	d.mu.Lock()
	d.day++
	d.mu.Unlock()
}

// twoOwners is 2,000 rows, 1,000 for each of two owners of one flow,
// interleaved as exports are. The fewest requests it needs: 5 + 5
// assignments and one flow listing per owner.
func twoOwners() ([][3]string, int) {
	a, b := prospects(1000, sdr, ava, "A"), prospects(1000, sdr, ben, "B")
	var rows [][3]string
	for i := range a {
		rows = append(rows, a[i], b[i])
	}
	return rows, 10 + 2
}

// untilDone runs the same command until it exits 0, moving the emulator's
// day on between runs; it returns the runs it took.
func untilDone(t *testing.T, e *env, clock *days, most int) int {
	t.Helper()
	for run := 1; run <= most; run++ {
		sum, err := Run(context.Background(), e.cfg)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		t.Logf("run %d: exit %d, %s, assigned %d, unprocessed %v, requests %d", run, sum.ExitCode, sum.StopReason, sum.Assigned, sum.UnprocessedByReason, sum.RequestsThisRun)
		if sum.ExitCode == outcome.ExitOK {
			return run
		}
		if sum.ExitCode != outcome.ExitStoppedEarly {
			t.Fatalf("run %d: exit %d (%s), want 4 until done", run, sum.ExitCode, sum.StopReason)
		}
		clock.next()
	}
	t.Fatalf("not done after %d runs", most)
	return 0
}

func TestDailyQuotaFinishesInFewestRuns(t *testing.T) {
	rows, n := twoOwners()
	clock := &days{}
	e := newEnv(t, emulator.Config{DailyLimit: 6, Now: clock.now}, nil)
	e.cfg.Preflight = true
	e.cfg.InputPath = writeInput(t, rows)
	most := (n+5)/6 + 2
	runs := untilDone(t, e, clock, most)
	res := accountedFor(t, e.cfg.OutDir, len(rows))
	if c := count(res); c["assigned:"] != len(rows) {
		t.Errorf("outcomes %v, want every row assigned", c)
	}
	st := e.emu.Stats()
	t.Logf("%d runs (at most %d), %d requests: %d assign, %d listings, %d read-backs, %d over the quota",
		runs, most, st.Requests, st.Assign, st.ListFlows, st.ReadBack, st.QuotaExceeded)
	if st.ReadBack != 0 {
		t.Errorf("%d read-backs: a 429 or a request never sent leaves no doubt", st.ReadBack)
	}
	if st.ListFlows != 2 {
		t.Errorf("%d flow listings, want 2 (one per owner, kept with the run)", st.ListFlows)
	}
}

func TestOneRequestARunFinishes(t *testing.T) {
	rows, n := twoOwners()
	clock := &days{}
	e := newEnv(t, emulator.Config{Now: clock.now}, nil)
	e.cfg.Preflight = true
	e.cfg.InputPath = writeInput(t, rows)
	e.cfg.MaxRequests = 1
	runs := untilDone(t, e, clock, n+2)
	accountedFor(t, e.cfg.OutDir, len(rows))
	st := e.emu.Stats()
	t.Logf("%d runs (at most %d): %d assign, %d listings, %d read-backs", runs, n+2, st.Assign, st.ListFlows, st.ReadBack)
	if st.ReadBack != 0 || st.Assign != 10 || st.ListFlows != 2 {
		t.Errorf("requests: %d assign, %d listings, %d read-backs; want 10, 2, 0", st.Assign, st.ListFlows, st.ReadBack)
	}
}

func TestResumeSpendsNoListing(t *testing.T) {
	rows, _ := twoOwners()
	e := newEnv(t, emulator.Config{}, nil)
	e.cfg.Preflight = true
	e.cfg.InputPath = writeInput(t, rows)
	e.cfg.MaxRequests = 4
	if sum, err := Run(context.Background(), e.cfg); err != nil || sum.ExitCode != outcome.ExitStoppedEarly {
		t.Fatalf("first run: exit %d, %v; want 4", sum.ExitCode, err)
	}
	listed := e.emu.Stats().ListFlows
	e.cfg.MaxRequests = 0
	sum, err := Run(context.Background(), e.cfg)
	if err != nil || sum.ExitCode != outcome.ExitOK {
		t.Fatalf("resumed run: exit %d, %v; want 0", sum.ExitCode, err)
	}
	if got := e.emu.Stats().ListFlows - listed; got != 0 {
		t.Errorf("the resumed run listed flows %d times, want 0: the listings are kept with the run", got)
	}
}

func TestOwnerRefusedAsAWholeCostsFewRequests(t *testing.T) {
	// Gong lists the company's flows for an owner who is not a Gong user,
	// so the preflight passes, and then refuses every assign for them.
	stranger := "ex.employee@example.com"
	rows := append(prospects(200, sdr, stranger, "S"), prospects(50, sdr, stranger, "T")...)
	e := newEnv(t, emulator.Config{Modes: emulator.Modes{NonUserListsFlows: true}}, nil)
	e.cfg.InputPath = writeInput(t, rows)
	e.cfg.Concurrency = 1
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ExitCode != outcome.ExitSomeFailed {
		t.Errorf("exit %d, want 3", sum.ExitCode)
	}
	if c := count(accountedFor(t, e.cfg.OutDir, len(rows))); c["failed:request/"+outcome.CodeBadRequest] != len(rows) {
		t.Errorf("outcomes %v, want every row failed request/BadRequest", c)
	}
	st := e.emu.Stats()
	if st.Requests > 4 {
		t.Errorf("%d requests (%d assign, %d listings), want at most 4: the whole chunk, its two halves, one row alone, and no more for the owner", st.Requests, st.Assign, st.ListFlows)
	}
}

func TestRepeatingCursorEnds(t *testing.T) {
	e := newEnv(t, emulator.Config{Modes: emulator.Modes{RepeatCursor: true}, PageSize: 1}, nil)
	e.cfg.InputPath = writeInput(t, prospects(3, sdr, ava, "A"))
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	accountedFor(t, e.cfg.OutDir, 3)
	if n := e.emu.Stats().ListFlows; n > 50 {
		t.Errorf("%d listing requests, want at most the page cap (50)", n)
	}
	if strings.Contains(sum.StopReason, "Ambiguous") {
		t.Errorf("stop %q", sum.StopReason)
	}
}

// tickingClock moves on half a second at every reading, so that retries on
// a timer that fires at once still span seconds of the run's time.
type tickingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(500 * time.Millisecond)
	return c.t
}

// instantTimer fires at once.
type instantTimer struct{ c chan time.Time }

func (t *instantTimer) Start(time.Duration) { t.c <- time.Time{} }
func (t *instantTimer) Stop()               {}
func (t *instantTimer) C() <-chan time.Time { return t.c }

func TestDailyQuotaKnownByItsPattern(t *testing.T) {
	// The quota's 429 asks to wait one second, like the per-second
	// window's: only that it keeps coming tells it apart.
	rows, _ := twoOwners()
	e := newEnv(t, emulator.Config{DailyLimit: 6, Modes: emulator.Modes{QuotaRetryAfter: emulator.QuotaRetryAfterOne}}, nil)
	e.cfg.InputPath = writeInput(t, rows)
	clock := &tickingClock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	e.cfg.Now, e.cfg.Clock, e.cfg.Timer = clock.Now, clock, &instantTimer{c: make(chan time.Time, 1)}
	e.cfg.Concurrency = 1
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ExitCode != outcome.ExitStoppedEarly || sum.StopReason != outcome.ReasonDailyQuota {
		t.Errorf("exit %d, stop %q; want 4, %s", sum.ExitCode, sum.StopReason, outcome.ReasonDailyQuota)
	}
	c := count(accountedFor(t, e.cfg.OutDir, len(rows)))
	if c["assigned:"]+c["unprocessed:"+outcome.ReasonDailyQuota] != len(rows) {
		t.Errorf("outcomes %v, want every row assigned or unprocessed DailyQuota, none failed", c)
	}
	if st := e.emu.Stats(); st.QuotaExceeded > 6 {
		t.Errorf("%d requests over the quota, want the few that tell the pattern", st.QuotaExceeded)
	}
}
