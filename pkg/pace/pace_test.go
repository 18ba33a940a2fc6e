package pace

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// grants runs workers that each take n turns and returns the times of all
// turns, on the bubble's fake clock.
func grants(t *testing.T, p *Pacer, workers, n int) []time.Time {
	t.Helper()
	var mu sync.Mutex
	var at []time.Time
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range n {
				if err := p.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				at = append(at, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return at
}

// maxInWindow is the most times in any interval [s, s+window): a rolling
// window, which bounds what any clock-aligned window of that length sees.
func maxInWindow(at []time.Time, window time.Duration) int {
	most := 0
	for i := range at {
		n := 0
		for j := range at {
			if !at[j].Before(at[i]) && at[j].Sub(at[i]) < window {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

func TestPacingHoldsTheLimitInEveryRollingSecond(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate float64
		most int
	}{
		{"3 per second", 3, 3},
		{"10 per second", 10, 10},
		{"2.5 per second", 2.5, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				at := grants(t, New(tc.rate, DefaultMargin), 4, 30)
				elapsed := time.Since(start)
				if got := maxInWindow(at, time.Second+DefaultMargin); got > tc.most {
					t.Errorf("%d turns within %v, want at most %d", got, time.Second+DefaultMargin, tc.most)
				}
				achieved := float64(len(at)-1) / elapsed.Seconds()
				if floor := float64(tc.most) * 0.95; achieved < floor {
					t.Errorf("%.2f turns per second, want at least %.2f", achieved, floor)
				}
			})
		})
	}
}

// Even spacing from the first turn: no two turns closer than the spacing,
// at the start as later.
func TestNoBurstAtTheStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		at := grants(t, New(3, DefaultMargin), 4, 5)
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < time.Second/3 {
				t.Errorf("turns %d and %d %v apart, want at least %v", i-1, i, gap, time.Second/3)
			}
		}
	})
}

func TestPacerIsALearner(t *testing.T) {
	var _ Limiter = New(3, DefaultMargin)
	var _ Limiter = Background(New(3, DefaultMargin))
}

func TestWaitHonoursTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		p.RateLimited(time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := p.Wait(ctx); err == nil {
			t.Error("Wait returned nil during an hour's pause with a 1s context")
		}
		if err := p.WaitBackground(ctx); err == nil {
			t.Error("WaitBackground returned nil during an hour's pause with a 1s context")
		}
	})
}

// A background request waits while runs wait, and goes in a free turn.
func TestBackgroundWaitsBehindTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for range 3 {
					if err := p.Wait(context.Background()); err != nil {
						t.Error(err)
					}
					mu.Lock()
					order = append(order, "run")
					mu.Unlock()
				}
			})
		}
		synctest.Wait() // the runs' first turn taken, the others waiting
		wg.Go(func() {
			if err := p.WaitBackground(context.Background()); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, "picker")
			mu.Unlock()
		})
		wg.Wait()
		if got := order[len(order)-1]; got != "picker" {
			t.Errorf("turns in order %v, want the picker's last", order)
		}
		if len(order) != 7 {
			t.Errorf("%d turns, want 7", len(order))
		}
	})
}

// A second process keeping the same file does not send into the second of
// the first one's last sends.
func TestKeepCarriesTheLastSendsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), StateFile)
		first := New(3, DefaultMargin)
		first.Keep(path)
		at := grants(t, first, 2, 5)
		second := New(3, DefaultMargin)
		second.Keep(path)
		at = append(at, grants(t, second, 2, 5)...)
		if got := maxInWindow(at, time.Second); got > 3 {
			t.Errorf("%d sends of the two pacers within one second, want at most 3", got)
		}
	})
}

// A file torn by a crash is taken for the worst: the limit's worth of
// sends when it last changed.
func TestKeepTakesATornFileForAFullSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), StateFile)
		if err := os.WriteFile(path, []byte("flowenroll pa"), 0o600); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := os.Chtimes(path, now, now); err != nil {
			t.Fatal(err)
		}
		p := New(3, DefaultMargin)
		p.Keep(path)
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(now); waited < time.Second {
			t.Errorf("first turn after %v, want a second at least", waited)
		}
	})
}

// A symlink left where the file goes is neither followed nor written
// through: the pacer takes it for a torn file, and its target stays as it
// was.
func TestKeepNeverWritesThroughASymlink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "elsewhere")
		if err := os.WriteFile(target, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, StateFile)
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		p := New(3, DefaultMargin)
		p.Keep(path)
		grants(t, p, 1, 2)
		if b, err := os.ReadFile(target); err != nil || string(b) != "keep me" {
			t.Errorf("the symlink's target holds %q (%v), want it untouched", b, err)
		}
	})
}

func TestNoFileNoWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		p.Keep(filepath.Join(t.TempDir(), StateFile))
		start := time.Now()
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("first turn after %v, want at once", waited)
		}
	})
}

// window is a server's way of counting: admit decides on one call arriving
// at now and returns the Retry-After of a refusal.
type window interface {
	admit(now time.Time) (bool, time.Duration)
}

// aligned counts calls per clock-aligned second.
type aligned struct {
	limit int
	start time.Time
	n     int
}

func (w *aligned) admit(now time.Time) (bool, time.Duration) {
	if s := now.Truncate(time.Second); !s.Equal(w.start) {
		w.start, w.n = s, 0
	}
	if w.n >= w.limit {
		return false, time.Second
	}
	w.n++
	return true, 0
}

// rolling refuses a call when limit were admitted within the second before.
type rolling struct {
	limit int
	at    []time.Time
}

func (w *rolling) admit(now time.Time) (bool, time.Duration) {
	n := 0
	for _, a := range w.at {
		if now.Sub(a) < time.Second {
			n++
		}
	}
	if n >= w.limit {
		return false, time.Second
	}
	w.at = append(w.at, now)
	return true, 0
}

// gcra is a token bucket of limit calls refilled at limit a second.
type gcra struct {
	limit int
	tat   time.Time
}

func (w *gcra) admit(now time.Time) (bool, time.Duration) {
	step := time.Second / time.Duration(w.limit)
	tat := w.tat
	if tat.Before(now) {
		tat = now
	}
	if tat.Sub(now) > step*time.Duration(w.limit-1) {
		return false, time.Second
	}
	w.tat = tat.Add(step)
	return true, 0
}

// serverRun is what a simulated server saw of a run.
type serverRun struct {
	admitted []time.Time
	limited  []int // request numbers answered 429
}

// link is the way to and from the server: the delay of request i on the
// way in (before the server counts it) and back.
type link struct {
	in, back func(i int) time.Duration
}

// simulate runs workers through p against w; a refused request is
// answered 429 and not retried: the figures are about the pacing. It runs
// in a synctest bubble, whose clock starts on a whole second; foreign calls
// (another integration) arrive every foreign, from phase on.
func simulate(p *Pacer, workers, requests int, w window, l link, foreign, phase time.Duration) serverRun {
	var mu sync.Mutex
	var run serverRun
	next := 0
	start := time.Now()
	nextForeign := start.Add(phase)
	count := func(now time.Time) bool {
		for foreign > 0 && !nextForeign.After(now) {
			w.admit(nextForeign)
			nextForeign = nextForeign.Add(foreign)
		}
		ok, _ := w.admit(now)
		return ok
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= requests {
					return
				}
				turn, err := p.Turn(context.Background(), "assign")
				if err != nil {
					panic(err)
				}
				time.Sleep(l.in(i))
				mu.Lock()
				now := time.Now()
				ok := count(now)
				if ok {
					run.admitted = append(run.admitted, now)
				} else {
					run.limited = append(run.limited, i)
				}
				mu.Unlock()
				time.Sleep(l.back(i))
				p.Heard(turn, Answer{Op: "assign", Limited: !ok, RetryAfter: time.Second})
			}
		})
	}
	wg.Wait()
	return run
}

// admittedRate is the admissions per second from the first to the last.
func admittedRate(at []time.Time) float64 {
	return float64(len(at)-1) / at[len(at)-1].Sub(at[0]).Seconds()
}

// jittered is a delay of base ± spread, uniform, drawn from a seeded source.
func jittered(seed uint64, base, spread time.Duration) func(int) time.Duration {
	rng := rand.New(rand.NewPCG(seed, 7))
	var mu sync.Mutex
	return func(int) time.Duration {
		if spread == 0 {
			return base
		}
		mu.Lock()
		defer mu.Unlock()
		return max(0, base+time.Duration(rng.Int64N(int64(2*spread)))-spread)
	}
}

func TestAgainstEachWindowShape(t *testing.T) {
	shapes := []struct {
		name string
		make func() window
	}{
		{"aligned", func() window { return &aligned{limit: 3} }},
		{"rolling", func() window { return &rolling{limit: 3} }},
		{"gcra", func() window { return &gcra{limit: 3} }},
	}
	for _, shape := range shapes {
		for _, tc := range []struct {
			name     string
			latency  time.Duration
			jitter   time.Duration
			most429s int
			minShare float64 // admissions per second over the limit
		}{
			{"0ms", time.Millisecond, 500 * time.Microsecond, 0, 0.98},
			{"300ms", 300 * time.Millisecond, time.Millisecond, 0, 0.98},
			{"1s", time.Second, time.Millisecond, 0, 0.98},
			{"1s, jitter 20ms", time.Second, 20 * time.Millisecond, 1, 0.96},
			{"0ms, jitter 20ms", 20 * time.Millisecond, 20 * time.Millisecond, 1, 0.96},
		} {
			t.Run(shape.name+", "+tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					const requests = 270
					l := link{in: jittered(1, tc.latency, tc.jitter), back: jittered(2, 2*time.Millisecond, time.Millisecond)}
					run := simulate(New(3, DefaultMargin), 4, requests, shape.make(), l, 0, 0)
					if got := len(run.limited); got > tc.most429s {
						t.Errorf("%d 429s (requests %v), want at most %d", got, run.limited, tc.most429s)
					}
					share := admittedRate(run.admitted) / 3
					t.Logf("429s on %v; %.3f of the limit", run.limited, share)
					if share < tc.minShare {
						t.Errorf("%.3f of the limit, want at least %.3f", share, tc.minShare)
					}
					if got := maxInWindow(run.admitted, time.Second); got > 3 {
						t.Errorf("%d admitted within one second, want at most 3", got)
					}
				})
			})
		}
	}
}

// Another integration sends one call a second: a 429 or two teach the
// pacer that two a second are left, and it keeps to them.
func TestASharedQuotaCostsAFew429s(t *testing.T) {
	for _, shape := range []struct {
		name string
		make func() window
	}{
		{"aligned", func() window { return &aligned{limit: 3} }},
		{"rolling", func() window { return &rolling{limit: 3} }},
	} {
		t.Run(shape.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := link{in: jittered(3, time.Millisecond, 500*time.Microsecond), back: jittered(4, 2*time.Millisecond, time.Millisecond)}
				p := New(3, DefaultMargin)
				run := simulate(p, 4, 180, shape.make(), l, time.Second, 170*time.Millisecond)
				if got := len(run.limited); got < 1 || got > 2 {
					t.Errorf("%d 429s (requests %v), want 1 or 2", got, run.limited)
				}
				if got := p.PerWindow(); got != 2 {
					t.Errorf("%d sends per window after the 429, want 2", got)
				}
				share := admittedRate(run.admitted) / 2
				t.Logf("429s on %v; %.3f of what is left", run.limited, share)
				if share < 0.96 {
					t.Errorf("%.3f of the 2 a second left, want at least 0.96", share)
				}
			})
		})
	}
}

// A 429 the pacer's own sends explain (by their measured delays they could
// have reached the server within the second before the refused one) widens
// how late every send is taken to arrive; the sends per window stay.
func TestA429OurSendsExplainWidens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		t0 := time.Now()
		// Three sends a third of a second apart; the first was answered
		// 20 ms later than the fastest of its kind: it reached the server
		// up to 23 ms after it left.
		ms := time.Millisecond
		p.ops["assign"] = &opTimes{rtts: []time.Duration{100 * ms, 100 * ms, 100 * ms, 120 * ms, 100 * ms, 100 * ms, 100 * ms, 100 * ms}, n: 8}
		p.log = []send{
			{seq: 1, at: t0, op: "assign", rtt: 120 * ms},
			{seq: 2, at: t0.Add(time.Second / 3), op: "assign", rtt: 100 * ms},
			{seq: 3, at: t0.Add(2 * time.Second / 3), op: "assign", rtt: 100 * ms},
		}
		before := p.Margin()
		// The fourth left 1 s + 10 ms after the first.
		p.Heard(Turn{seq: 4, at: t0.Add(time.Second + 10*time.Millisecond)}, Answer{Op: "assign", Limited: true, RetryAfter: time.Second})
		if got := p.Margin(); got != before+widenStep {
			t.Errorf("margin %v after a 429 the sends explain, want %v", got, before+widenStep)
		}
		if got := p.PerWindow(); got != 3 {
			t.Errorf("%d sends per window, want 3", got)
		}
		start := time.Now()
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < time.Second {
			t.Errorf("next turn after %v, want the Retry-After of 1s", waited)
		}
	})
}

// A 429 the pacer's sends cannot explain lowers the sends per window to
// what the server took; a long calm tries one more.
func TestA429OurSendsCannotExplainLowersTheCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		var turns []Turn
		for range 3 {
			turn, err := p.Turn(context.Background(), "assign")
			if err != nil {
				t.Fatal(err)
			}
			p.Heard(turn, Answer{Op: "assign"})
			turns = append(turns, turn)
		}
		// The third send, 667 ms after the first: two in the second.
		p.Heard(turns[2], Answer{Op: "assign", Limited: true, RetryAfter: time.Second})
		if got := p.PerWindow(); got != 2 {
			t.Errorf("%d sends per window, want 2", got)
		}
		for range probeAfter {
			p.Answered()
		}
		if got := p.PerWindow(); got != 3 {
			t.Errorf("%d sends per window after a long calm, want 3 again", got)
		}
	})
}

// Unpaced, Wait never waits.
func TestUnpaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(0, DefaultMargin)
		p.Keep(filepath.Join(t.TempDir(), StateFile))
		start := time.Now()
		grants(t, p, 4, 100)
		if waited := time.Since(start); waited != 0 {
			t.Errorf("unpaced turns took %v, want none", waited)
		}
	})
}

// An answered send reached the server before its answer came: a run's
// first sends, answered quickly, hold the next back no longer than their
// answers took, though their kind has too few answers for a spread.
func TestAQuickAnswerBoundsTheFirstSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		ctx := context.Background()
		t0 := time.Now()
		for range 3 {
			turn, err := p.Turn(ctx, "assign")
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
			p.Heard(turn, Answer{Op: "assign"})
		}
		if _, err := p.Turn(ctx, "assign"); err != nil {
			t.Fatal(err)
		}
		// The first left at t0 and was answered 2 ms later.
		if got, most := time.Since(t0), time.Second+2*time.Millisecond; got > most {
			t.Errorf("fourth turn %v after the first, want at most %v", got, most)
		}
	})
}
