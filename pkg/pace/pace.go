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
	target rate.Limit    // the spacing rate when nothing goes wrong
	now    func() time.Time

	mu        sync.Mutex
	sends     []time.Time // the last max send times, oldest first
	pausedTil time.Time   // after a 429: nobody sends before this
	calm      int         // answers without a 429 since the last slow-down
	cap       int         // sends allowed per window now: max, or fewer after a 429
	calmCap   int         // answers without a 429 since cap last changed
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
	target := rate.Limit(perSecond * float64(time.Second) / float64(window))
	most := max(1, int(math.Floor(perSecond)))
	return &Pacer{
		lim:    rate.NewLimiter(target, 1),
		max:    most,
		cap:    most,
		window: window,
		target: target,
		now:    time.Now,
	}
}

// Slow-down and recovery: after a 429 that pacing did not prevent (another
// client sharing the company's quota, a lower custom limit), the rate drops
// by 15% at once; after every CalmAnswers answers without one, it creeps
// back up by 3%, to the target at most. A quota shared with another client
// then settles near its share, with a 429 every hundred-odd requests, instead
// of a retry storm. (make bench measures the shared case.)
const (
	slowDown    = 0.85
	creepUp     = 1.03
	floorShare  = 0.1
	CalmAnswers = 20
	probeAfter  = 5 * CalmAnswers
)

// RateLimited tells the pacer that Gong answered 429 asking to wait
// retryAfter: every worker holds off that long, and the rate slows down.
func (p *Pacer) RateLimited(retryAfter time.Duration) {
	if p.max == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := p.now().Add(retryAfter); until.After(p.pausedTil) {
		p.pausedTil = until
	}
	p.calm, p.calmCap = 0, 0
	p.lim.SetLimit(max(p.lim.Limit()*slowDown, p.target*floorShare))
	// The server refused the n-th send of a window: it takes n-1 now
	// (another client has the rest of the quota, or the limit is lower).
	now := p.now()
	n := 0
	for _, t := range p.sends {
		if now.Sub(t) < p.window {
			n++
		}
	}
	if n-1 >= 1 && n-1 < p.cap {
		p.cap = n - 1
	}
}

// Answered tells the pacer that a request got an answer other than 429.
func (p *Pacer) Answered() {
	if p.max == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calm++
	p.calmCap++
	if p.calm >= CalmAnswers && p.lim.Limit() < p.target {
		p.calm = 0
		p.lim.SetLimit(min(p.lim.Limit()*creepUp, p.target))
	}
	// After a long calm, try one more send per window: the other client
	// may have finished.
	if p.calmCap >= probeAfter && p.cap < p.max {
		p.calmCap = 0
		p.cap++
	}
}

// Limit is the current spacing rate in requests per second.
func (p *Pacer) Limit() float64 { return float64(p.lim.Limit()) }

// Wait blocks until a request may be sent, or ctx ends.
func (p *Pacer) Wait(ctx context.Context) error {
	// Sit out a pause before taking a token, so that when it ends the
	// waiters leave one by one at the limiter's spacing, not together.
	p.mu.Lock()
	pause := p.pausedTil.Sub(p.now())
	p.mu.Unlock()
	if pause > 0 {
		if err := sleep(ctx, pause); err != nil {
			return err
		}
	}
	if err := p.lim.Wait(ctx); err != nil {
		return err
	}
	if p.max == 0 {
		return nil
	}
	// Never sleep holding the lock: the others would queue on it, not on
	// the clock. Whoever finds a free turn after waking takes it.
	for {
		p.mu.Lock()
		now := p.now()
		wait := p.pausedTil.Sub(now)
		if k := len(p.sends); k >= p.cap {
			// The cap-th latest send must be a window ago.
			wait = max(wait, p.sends[k-p.cap].Add(p.window).Sub(now))
		}
		if wait <= 0 {
			if len(p.sends) == p.max {
				copy(p.sends, p.sends[1:])
				p.sends = p.sends[:p.max-1]
			}
			p.sends = append(p.sends, now)
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
