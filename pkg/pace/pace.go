// Package pace spaces requests so that a server counting them in fixed
// 1-second windows never sees more than its limit in one window, and learns
// from the server's answers when it does.
//
// A Pacer does two things: a rate.Limiter with a burst of 1 spaces requests
// evenly at the limit per window, and a log of the last sends holds back any
// request that would put more than the limit within one window, whatever the
// spacing did. The window starts at 1 s plus a small margin, so the job runs
// at the configured rate: sends 1/3 s apart never put four in one of the
// server's seconds unless something between this process and the server
// delays the first of four more than the fourth. Only a 429 says that
// happened, so only a 429 widens the window.
package pace

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is what the submitter needs of a pacer: a turn before every
// attempt, and every answer back, so that it can learn. *Pacer implements it.
type Limiter interface {
	// Wait blocks until a request may be sent, or ctx ends.
	Wait(ctx context.Context) error
	// RateLimited reports a 429 whose Retry-After the run will sleep
	// through: every waiter holds off that long and the pacing adapts.
	RateLimited(retryAfter time.Duration)
	// Answered reports an answer other than 429 (an error status included;
	// a transport error is no answer).
	Answered()
}

// DefaultMargin is how much longer than 1 s the window of the send log
// starts: 3 per 1.003 s is 0.997 of a limit of 3/s. It is below three times
// the shortest answer time a client sees on loopback, so that pacing is
// never slower than sleeping 1/rate after each answer, and it covers the
// delays of an idle loopback (1 to 2 ms between the pacer and the server's
// counting). Longer delays, on a loaded machine or a real network, show as a
// 429 now and then, which widens it (see RateLimited).
const DefaultMargin = 3 * time.Millisecond

// Learning from 429s.
//
// A lone 429 while the pacer runs at its configured rate most likely means
// the delays on the way spread more than the margin: a send reached the
// server in the same second as the limit's worth before it. The margin
// widens (doubled, by widenStep at least, up to maxMargin) and nothing else
// changes; after narrowAfter answers without a 429 it halves, down to where
// it started, so that a passing cause (a burst of another client's, a slow
// minute of the network) does not slow the rest of a long run. A second 429
// within strikeAnswers answers of the first (a lower
// limit refuses again within a second or two of the pause), or any 429
// once one was taken for a limit, means the server takes fewer than the
// rate (another client shares the company's quota, or the limit is lower):
// the rate drops by slowDown at once and the sends per window drop to one
// fewer than the pacer's log held when the 429 came. After every
// CalmAnswers answers without one, the rate creeps back by creepUp, to the
// target at most; after probeAfter calm answers the pacer tries one more
// send per window. A shared quota then settles near its share, with a 429
// every hundred-odd requests, instead of a retry storm. (make bench
// measures both cases.)
const (
	widenStep     = 15 * time.Millisecond
	strikeAnswers = 6
	maxMargin     = 250 * time.Millisecond
	narrowAfter   = 2 * probeAfter
	slowDown      = 0.85
	creepUp       = 1.03
	floorShare    = 0.1
	CalmAnswers   = 20
	probeAfter    = 5 * CalmAnswers
)

// Pacer paces requests; it is safe for concurrent use and shared by all
// workers of a run.
type Pacer struct {
	lim       *rate.Limiter
	max       int     // sends allowed per window at the configured rate; 0: no pacing
	perSecond float64 // the configured rate
	now       func() time.Time

	mu        sync.Mutex
	start     time.Duration // the margin New was given
	margin    time.Duration // the window of the send log is 1 s + margin
	target    rate.Limit    // the spacing rate when nothing goes wrong: max per window
	sends     []time.Time   // the last max send times, oldest first
	pausedTil time.Time     // after a 429: nobody sends before this
	calm      int           // answers without a 429 since the last slow-down
	cap       int           // sends allowed per window now: max, or fewer after a 429
	calmCap   int           // answers without a 429 since cap last changed
	since429  int           // answers since the last 429
	calmWide  int           // answers without a 429 since the margin last changed
	limited   bool          // a 429 was taken for a limit below the rate
}

// New returns a Pacer for perSecond requests per second, starting with a
// window of 1 s + margin. A negative margin means DefaultMargin; perSecond
// of +Inf (or 0 and below) means no pacing.
func New(perSecond float64, margin time.Duration) *Pacer {
	if margin < 0 {
		margin = DefaultMargin
	}
	if perSecond <= 0 || math.IsInf(perSecond, 1) {
		return &Pacer{lim: rate.NewLimiter(rate.Inf, 1), now: time.Now}
	}
	most := max(1, int(math.Floor(perSecond)))
	target := spacing(perSecond, margin)
	return &Pacer{
		lim:       rate.NewLimiter(target, 1),
		max:       most,
		perSecond: perSecond,
		now:       time.Now,
		start:     margin,
		margin:    margin,
		target:    target,
		cap:       most,
		since429:  strikeAnswers + 1,
	}
}

// spacing is the rate that puts perSecond sends in each window of 1 s +
// margin.
func spacing(perSecond float64, margin time.Duration) rate.Limit {
	return rate.Limit(perSecond * float64(time.Second) / float64(time.Second+margin))
}

// RateLimited tells the pacer that Gong answered 429 asking to wait
// retryAfter: every worker holds off that long, and the pacing learns (see
// the constants above).
func (p *Pacer) RateLimited(retryAfter time.Duration) {
	if p.max == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if until := now.Add(retryAfter); until.After(p.pausedTil) {
		p.pausedTil = until
	}
	lone := !p.limited && p.since429 > strikeAnswers
	p.since429, p.calmWide = 0, 0
	if lone {
		p.setMargin(min(max(2*p.margin, p.margin+widenStep), maxMargin))
		return
	}
	p.limited = true
	p.calm, p.calmCap = 0, 0
	p.lim.SetLimit(max(p.lim.Limit()*slowDown, p.target*floorShare))
	// The server refused the n-th send of a window: it takes n-1 now.
	n := 0
	for _, t := range p.sends {
		if now.Sub(t) < p.window() {
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
	p.since429++
	p.calmWide++
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
	if p.calmWide >= narrowAfter && p.margin > p.start {
		p.calmWide = 0
		p.setMargin(max(p.start, p.margin/2))
	}
}

// setMargin makes the window 1 s + m and the target rate follow it; a rate
// slowed down below the target stays, and creeps back to the new target.
// The caller holds p.mu.
func (p *Pacer) setMargin(m time.Duration) {
	was := p.target
	p.margin = m
	p.target = spacing(p.perSecond, m)
	if l := p.lim.Limit(); l > p.target || l == was {
		p.lim.SetLimit(p.target)
	}
}

// Limit is the current spacing rate in requests per second.
func (p *Pacer) Limit() float64 { return float64(p.lim.Limit()) }

// Margin is how much longer than 1 s the window of the send log is now.
func (p *Pacer) Margin() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.margin
}

// window is the span the send log holds the sends per window over; the
// caller holds p.mu.
func (p *Pacer) window() time.Duration { return time.Second + p.margin }

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
			wait = max(wait, p.sends[k-p.cap].Add(p.window()).Sub(now))
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
