// Package pace spaces requests so that a server counting them in fixed
// 1-second windows never sees more than its limit in one window.
//
// A token bucket at exactly the limit is not enough: three requests spaced
// 333 ms apart put the fourth at the very edge of the next window, and the
// smallest delay on the way (scheduling, the network) lands it in the same
// window as the first. So a Pacer does two things: a rate.Limiter with a
// burst of 1 spaces requests evenly at the limit stretched by a margin, and a
// log of the last sends holds back any request that would make more than the
// limit fall within one window plus the margin, whatever the spacing did.
package pace

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMargin is how much longer than 1 s the window of the send log is:
// the delay spread between this process's clock and the server's counting
// that the pacing absorbs. 3 requests per 1.05 s is 0.95 of a limit of 3/s.
const DefaultMargin = 50 * time.Millisecond

// Pacer paces requests; it is safe for concurrent use and shared by all
// workers of a run.
type Pacer struct {
	lim    *rate.Limiter
	max    int           // sends allowed per window
	window time.Duration // 1 s + margin
	now    func() time.Time

	mu    sync.Mutex
	sends []time.Time // the last max send times, oldest first
}

// New returns a Pacer for perSecond requests per second. A negative margin
// means DefaultMargin; perSecond of +Inf (or 0 and below) means no pacing.
func New(perSecond float64, margin time.Duration) *Pacer {
	if margin < 0 {
		margin = DefaultMargin
	}
	if perSecond <= 0 || math.IsInf(perSecond, 1) {
		return &Pacer{lim: rate.NewLimiter(rate.Inf, 1), now: time.Now}
	}
	window := time.Second + margin
	return &Pacer{
		lim:    rate.NewLimiter(rate.Limit(perSecond*float64(time.Second)/float64(window)), 1),
		max:    max(1, int(math.Floor(perSecond))),
		window: window,
		now:    time.Now,
	}
}

// Limit is the current spacing rate in requests per second.
func (p *Pacer) Limit() float64 { return float64(p.lim.Limit()) }

// Wait blocks until a request may be sent, or ctx ends.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := p.lim.Wait(ctx); err != nil {
		return err
	}
	if p.max == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.sends) == p.max {
		wait := p.sends[0].Add(p.window).Sub(p.now())
		if wait <= 0 {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if len(p.sends) == p.max {
		copy(p.sends, p.sends[1:])
		p.sends = p.sends[:p.max-1]
	}
	p.sends = append(p.sends, p.now())
	return nil
}
