package pace

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
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

// maxInWindow is the most turns in any interval [s, s+window) — which bounds
// what any server counting fixed windows of that length can see.
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

func TestPacingHoldsTheLimitInEveryWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rate   float64
		margin time.Duration
		most   int
	}{
		{"3 per second, default margin", 3, DefaultMargin, 3},
		{"3 per second, no margin", 3, 0, 3},
		{"10 per second", 10, DefaultMargin, 10},
		{"2.5 per second", 2.5, DefaultMargin, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				at := grants(t, New(tc.rate, tc.margin), 4, 30)
				elapsed := time.Since(start)
				// Any 1 s + margin window, so any fixed 1 s window too.
				if got := maxInWindow(at, time.Second+tc.margin); got > tc.most {
					t.Errorf("%d turns within %v, want at most %d", got, time.Second+tc.margin, tc.most)
				}
				achieved := float64(len(at)-1) / elapsed.Seconds()
				if floor := float64(tc.most) / (1 + tc.margin.Seconds()) * 0.95; achieved < floor {
					t.Errorf("%.2f turns per second, want at least %.2f", achieved, floor)
				}
			})
		})
	}
}

// The interface the submitter takes is the Pacer's.
func TestPacerIsALimiter(t *testing.T) {
	var _ Limiter = New(3, DefaultMargin)
}

// At the configured rate with no 429, the pacer uses the limit to within
// its starting margin: 0.98 of 3 per second at least.
func TestPacingStartsAtTheConfiguredRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		at := grants(t, New(3, DefaultMargin), 4, 50)
		got := float64(len(at)-1) / at[len(at)-1].Sub(start).Seconds()
		if got < 0.98*3 {
			t.Errorf("%.3f turns per second at --rate 3, want at least %.3f", got, 0.98*3)
		}
	})
}

func TestALone429WidensTheWindowAndPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		full := p.Limit()
		grants(t, p, 1, 3)
		p.RateLimited(time.Second)
		if got, want := p.Margin(), DefaultMargin+widenStep; got != want {
			t.Errorf("margin %v after a lone 429, want %v", got, want)
		}
		if got, want := p.Limit(), float64(spacing(3, DefaultMargin+widenStep)); got != want {
			t.Errorf("limit %.4f after a lone 429, want %.4f (3 per widened window, %.4f before)", got, want, full)
		}
		before := time.Now()
		at := grants(t, p, 4, 15)
		if waited := at[0].Sub(before); waited < time.Second {
			t.Errorf("the next turn came after %v, want at least the Retry-After of 1s", waited)
		}
		if got := maxInWindow(at, time.Second+p.Margin()); got != 3 {
			t.Errorf("%d sends within a widened window, want 3: a lone 429 keeps the sends per window", got)
		}
	})
}

func TestLone429sWidenUpToTheMaximum(t *testing.T) {
	p := New(3, DefaultMargin)
	var got []time.Duration
	for range 6 {
		for range strikeAnswers + 1 {
			p.Answered()
		}
		p.RateLimited(0)
		got = append(got, p.Margin())
	}
	want := []time.Duration{18 * time.Millisecond, 36 * time.Millisecond, 72 * time.Millisecond, 144 * time.Millisecond, maxMargin, maxMargin}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("margins after lone 429s (-want +got):\n%s", diff)
	}
}

func TestRateLimitedTwiceSlowsDownThenCreepsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		grants(t, p, 1, 1)
		p.RateLimited(5 * time.Second)
		widened := p.Limit()
		p.Answered()
		p.RateLimited(5 * time.Second)
		if got := p.Limit(); got >= widened {
			t.Errorf("limit %.2f after a second 429, want below %.2f", got, widened)
		}
		before := time.Now()
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(before); waited < 5*time.Second {
			t.Errorf("the next turn came after %v, want at least the Retry-After of 5s", waited)
		}
		for range 10 * CalmAnswers {
			p.Answered()
		}
		if got := p.Limit(); got < widened {
			t.Errorf("limit %.2f after calm answers, want back at %.2f at least", got, widened)
		}
		for range 50 {
			p.RateLimited(0)
		}
		if got := p.Limit(); got < widened*floorShare*0.999 {
			t.Errorf("limit %.3f after many 429s, want no lower than %.3f", got, widened*floorShare)
		}
	})
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
	})
}

func TestA429LowersTheSendsPerWindow(t *testing.T) {
	// Another client takes one of the company's 3 a second: Gong refuses
	// the third send of a window, twice in a row. From then on at most 2 go
	// in any window, until a long calm lets the pacer try 3 again; a 429 on
	// that probe is taken for the limit at once.
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		grants(t, p, 1, 3)
		p.RateLimited(0) // lone: taken for delays on the way
		grants(t, p, 1, 3)
		p.RateLimited(0) // again: a limit
		window := time.Second + p.Margin()
		at := grants(t, p, 3, 20)
		if got := maxInWindow(at, window); got != 2 {
			t.Errorf("%d sends within a window after the 429s, want 2", got)
		}
		for range probeAfter {
			p.Answered()
		}
		at = grants(t, p, 3, 20)
		if got := maxInWindow(at, window); got != 3 {
			t.Errorf("%d sends within a window after a long calm, want 3 again", got)
		}
		for range CalmAnswers {
			p.Answered()
		}
		p.RateLimited(0) // the probe failed
		if got := p.Margin(); got != window-time.Second {
			t.Errorf("margin %v after a 429 on a probe, want %v unchanged", got, window-time.Second)
		}
		at = grants(t, p, 3, 20)
		if got := maxInWindow(at, window); got != 2 {
			t.Errorf("%d sends within a window after the probe's 429, want 2", got)
		}
	})
}

// serverRun is what a simulated server saw of a run.
type serverRun struct {
	admitted []time.Time // in order of admission
	limited  []int       // the request numbers answered 429
}

// simulate runs workers through p against a server that admits limit
// requests per clock-aligned second, as Gong and the emulator do, each
// request reaching it after delay(i). A refused request is answered 429 with
// Retry-After until the next second, in whole seconds, and is not retried:
// the figures are about the pacing. It runs in a synctest bubble, whose
// clock starts on a whole second.
func simulate(p *Pacer, workers, requests, limit int, delay func(i int) time.Duration) serverRun {
	var mu sync.Mutex
	var run serverRun
	var window time.Time
	inWindow, next := 0, 0
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
				if err := p.Wait(context.Background()); err != nil {
					panic(err)
				}
				time.Sleep(delay(i)) // on the way to the server
				mu.Lock()
				now := time.Now()
				if w := now.Truncate(time.Second); !w.Equal(window) {
					window, inWindow = w, 0
				}
				ok := inWindow < limit
				if ok {
					inWindow++
					run.admitted = append(run.admitted, now)
				} else {
					run.limited = append(run.limited, i)
				}
				mu.Unlock()
				if ok {
					p.Answered()
				} else {
					p.RateLimited(max(time.Second, window.Add(time.Second).Sub(now).Truncate(time.Second)))
				}
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

func TestAgainstAFixedWindowServer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limit     int
		jitter    time.Duration // the delay on the way, uniform in [0, jitter)
		least429s int
		most429s  int
		minRate   float64 // admissions per second, over the run
		quiet429s int     // requests at the end that must see no 429
	}{
		// Delays that spread less than the starting margin never put 4 in
		// a second: no 429, and the limit used to 0.98 at least.
		{"alone, delays spread 2ms", 3, 2 * time.Millisecond, 0, 0, 0.98 * 3, 300},
		// Delays that spread more do, now and then; each lone 429 widens
		// the window, until it is wider than the spread after 4 at most.
		// (Seeded: this seed draws two.)
		{"alone, delays spread 100ms", 3, 100 * time.Millisecond, 1, 4, 0.95 * 3, 0},
		// Another client takes a third of the quota: two 429s to learn
		// it, then a failed probe every hundred-odd answers.
		{"shared, the server takes 2 a second", 2, time.Millisecond, 2, 4, 0.95 * 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, uint64(tc.jitter)))
				var mu sync.Mutex
				delay := func(int) time.Duration {
					mu.Lock()
					defer mu.Unlock()
					return time.Duration(rng.Int64N(int64(tc.jitter)))
				}
				const requests = 300
				run := simulate(New(3, DefaultMargin), 4, requests, tc.limit, delay)
				if got := len(run.limited); got < tc.least429s || got > tc.most429s {
					t.Errorf("%d 429s (requests %v), want %d to %d", got, run.limited, tc.least429s, tc.most429s)
				}
				for _, i := range run.limited {
					if i >= requests-tc.quiet429s {
						t.Errorf("a 429 on request %d, want none in the last %d", i, tc.quiet429s)
					}
				}
				t.Logf("429s on requests %v; %.3f admitted per second", run.limited, admittedRate(run.admitted))
				if got := admittedRate(run.admitted); got < tc.minRate {
					t.Errorf("%.3f admitted per second, want at least %.3f", got, tc.minRate)
				}
			})
		})
	}
}

// A passing cause of 429s does not slow the rest of a long run: after
// narrowAfter calm answers the margin halves, down to where it started.
func TestTheMarginNarrowsAfterALongCalm(t *testing.T) {
	p := New(3, DefaultMargin)
	p.RateLimited(0) // lone: widens to 18 ms
	var got []time.Duration
	for range 4 {
		got = append(got, p.Margin())
		for range narrowAfter {
			p.Answered()
		}
	}
	want := []time.Duration{18 * time.Millisecond, 9 * time.Millisecond, 4500 * time.Microsecond, DefaultMargin}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("margins after long calms (-want +got):\n%s", diff)
	}
	if got, want := p.Limit(), float64(spacing(3, DefaultMargin)); got != want {
		t.Errorf("limit %.4f after the calm, want %.4f, back at the start", got, want)
	}
}
