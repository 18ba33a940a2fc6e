package pace

import (
	"context"
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

func TestRateLimitedPausesEveryoneThenCreepsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		full := p.Limit()
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		p.RateLimited(5 * time.Second)
		if got := p.Limit(); got >= full {
			t.Errorf("limit %.2f after a 429, want below %.2f", got, full)
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
		if got := p.Limit(); got != full {
			t.Errorf("limit %.2f after calm answers, want back at %.2f", got, full)
		}
		for range 50 {
			p.RateLimited(0)
		}
		if got := p.Limit(); got < full*floorShare*0.999 {
			t.Errorf("limit %.3f after many 429s, want no lower than %.3f", got, full*floorShare)
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
	// the third send of a window. From then on at most 2 go in any window,
	// until a long calm lets the pacer try 3 again.
	synctest.Test(t, func(t *testing.T) {
		p := New(3, DefaultMargin)
		grants(t, p, 1, 3)
		p.RateLimited(0)
		at := grants(t, p, 3, 20)
		if got := maxInWindow(at, time.Second+DefaultMargin); got != 2 {
			t.Errorf("%d sends within a window after the 429, want 2", got)
		}
		for range probeAfter {
			p.Answered()
		}
		at = grants(t, p, 3, 20)
		if got := maxInWindow(at, time.Second+DefaultMargin); got != 3 {
			t.Errorf("%d sends within a window after a long calm, want 3 again", got)
		}
	})
}
