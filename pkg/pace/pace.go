// Package pace spaces requests so that Gong never sees more than its limit
// within one second, whatever way it counts: in clock-aligned 1-second
// windows, in a rolling second, or as a token bucket (GCRA); and learns from
// Gong's answers how much the delays on the way vary, and when something else
// takes part of the quota.
//
// A Pacer spaces sends evenly from the first (1/rate apart: no burst at the
// start, after a pause or after a 429), and holds back any send that could
// reach Gong within one second of the limit's worth before it. "Could" is
// judged per request: a send is taken to reach Gong up to its measured extra
// delay after it left (how much later than the fastest request of its kind
// its answer came), or up to the largest extra delay seen lately while its
// answer is still out. On a quiet network that is a few milliseconds; with
// jitter on the way it is what the jitter is, request by request, not its
// worst case for all.
//
// One Pacer is shared by everything that spends the company's quota in a
// process: a run's assigns, read-backs and listings, undo, verify, and the
// console's runs and pickers (which wait behind the rest: WaitBackground).
// Keep carries the last sends over to the next process through a small file.
package pace

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// Limiter is what the submitter needs of a pacer: a turn before every
// attempt, and every answer back, so that it can learn. *Pacer implements
// it. The gateway takes its turns through Turn and reports each answer
// through Heard, which name the send, so that the pacer learns the delay on
// the way; Wait, RateLimited and Answered are the same for callers that
// cannot name it.
type Limiter interface {
	// Wait blocks until a request may be sent, or ctx ends.
	Wait(ctx context.Context) error
	// RateLimited reports a 429 whose Retry-After the run will sleep
	// through: every waiter holds off that long and the pacing adapts.
	RateLimited(retryAfter time.Duration)
	// Answered reports an answer other than 429 (an error status included;
	// a transport error is no answer).
	Answered()
	// Turn blocks until a request of kind op ("assign", "read-back", ...)
	// may be sent, or ctx ends.
	Turn(ctx context.Context, op string) (Turn, error)
	// Heard reports the answer to the request sent on turn t, as soon as it
	// came (a 429 one whose Retry-After the run will sleep through); a
	// transport error is no answer and is not reported.
	Heard(t Turn, a Answer)
}

// Turn identifies one send the pacer let go.
type Turn struct {
	seq uint64
	at  time.Time
}

// Answer is what Gong answered to one request.
type Answer struct {
	// Op is the kind of request ("assign", "read-back", ...): the delay of
	// the answers is learnt per kind, since Gong takes longer over some.
	Op string
	// Limited is a 429, with its Retry-After.
	Limited    bool
	RetryAfter time.Duration
}

// DefaultMargin is the least time a send is held back beyond one second
// after the limit's worth before it: 3 ms covers the delays of an idle
// loopback (1 to 2 ms between the pacer and the server's counting), and
// three of them are less than the shortest answer time a client sees, so
// that pacing is never slower than sleeping 1/rate after each answer.
// Measured delays add to it, request by request.
const DefaultMargin = 3 * time.Millisecond

// Learning from answers and 429s.
//
// Until a kind of request has minSamples answers, its sends are taken to
// reach Gong up to startSpread late (or the spread seen so far, if larger).
// The spread is the largest extra delay among the last spreadOf answers,
// scaled by (n+1)/(n-1) for the n seen (a sample's range falls short of
// the true one by about that much), at most maxSpread.
//
// A 429 that the pacer's own sends explain (the limit's worth of them could
// have reached Gong within the second before the refused one, given what is
// known of their delays), or that they may explain (the limit's worth were
// sent within two seconds before it) when no other 429 came in the last
// strikeAnswers answers, means
// the delays spread more than it allowed: every send is then held back
// widen longer (doubled, by widenStep at least, to maxWiden at most);
// after narrowAfter calm answers it halves, back to none. Any other 429
// means the server takes fewer than the rate (another integration shares
// the company's quota, or its limit is lower): the sends per window drop
// to what the server took, one fewer at most per 429 (or the spacing slows
// by slowDown when it took none); after every CalmAnswers calm answers the spacing creeps back by
// creepUp, and after probeAfter calm answers the pacer tries one more send
// per window. A shared quota then costs two 429s to learn and one per
// probe, a third of a percent of requests. Either way everyone sits out the Retry-After.
const (
	startSpread   = 30 * time.Millisecond
	answerWait    = 50 * time.Millisecond
	strikeAnswers = 20
	maxSpread     = 250 * time.Millisecond
	spreadOf      = 30
	baselineOf    = 64
	minSamples    = 4
	widenStep     = 15 * time.Millisecond
	maxWiden      = 250 * time.Millisecond
	slowDown      = 0.85
	creepUp       = 1.03
	floorShare    = 0.1
	CalmAnswers   = 20
	probeAfter    = 300
	narrowAfter   = probeAfter
	keepSends     = 8 // sends kept beyond the limit's worth
)

// Pacer paces requests; it is safe for concurrent use and shared by all
// workers of a process.
type Pacer struct {
	max       int     // sends allowed per second at the configured rate; 0: no pacing
	perSecond float64 // the configured rate
	guard     time.Duration
	now       func() time.Time

	mu        sync.Mutex
	cap       int           // sends allowed per second now: max, or fewer after a 429
	slow      float64       // the spacing's share of the rate, below 1 after 429s
	next      time.Time     // no send before this: the even spacing
	pausedTil time.Time     // after a 429: nobody sends before this
	log       []send        // the last sends, oldest first
	seq       uint64        // turns given
	fg        int           // waiters that are not background
	wake      chan struct{} // closed and replaced when waiters should look again
	ops       map[string]*opTimes
	widen     time.Duration
	calm      int    // answers without a 429 since the spacing last slowed or crept
	calmCap   int    // answers without a 429 since cap last changed
	calmWide  int    // answers without a 429 since widen last changed
	since429  int    // answers since the last 429
	store     *store // the state file, if Keep was called
}

// send is one turn given: when, and once answered how much later than the
// fastest of its kind the answer came.
type send struct {
	seq uint64
	at  time.Time
	op  string
	rtt time.Duration // from the turn to the answer, once answered
}

// New returns a Pacer for perSecond requests per second that holds every
// send back at least margin beyond the second (a negative margin means
// DefaultMargin); perSecond of +Inf (or 0 and below) means no pacing.
func New(perSecond float64, margin time.Duration) *Pacer {
	if margin < 0 {
		margin = DefaultMargin
	}
	p := &Pacer{now: time.Now, wake: make(chan struct{}), ops: map[string]*opTimes{}, guard: margin, slow: 1}
	if perSecond <= 0 || math.IsInf(perSecond, 1) || math.IsNaN(perSecond) {
		return p
	}
	p.max = max(1, int(math.Floor(perSecond)))
	p.perSecond = perSecond
	p.cap = p.max
	p.since429 = strikeAnswers + 1
	return p
}

// Wait blocks until a request may be sent, or ctx ends.
func (p *Pacer) Wait(ctx context.Context) error {
	_, err := p.take(ctx, "", false)
	return err
}

// WaitBackground is Wait for a request that can wait: it goes only when no
// other request waits its turn, so that the console's pickers never delay a
// run's sends. It counts against the limit like any other.
func (p *Pacer) WaitBackground(ctx context.Context) error {
	_, err := p.take(ctx, "", true)
	return err
}

// Turn blocks until a request of kind op may be sent, or ctx ends.
func (p *Pacer) Turn(ctx context.Context, op string) (Turn, error) {
	return p.take(ctx, op, false)
}

// take gives a turn to a request of kind op; a background request waits
// until no other does.
func (p *Pacer) take(ctx context.Context, op string, background bool) (Turn, error) {
	if p.max == 0 {
		return Turn{at: p.now()}, ctx.Err()
	}
	if !background {
		p.mu.Lock()
		p.fg++
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			if p.fg--; p.fg == 0 {
				p.signal()
			}
			p.mu.Unlock()
		}()
	}
	for {
		p.mu.Lock()
		now := p.now()
		at := p.earliest(now)
		blocked := background && p.fg > 0
		if !blocked && !now.Before(at) {
			t, state := p.grant(now, op)
			st := p.store
			p.mu.Unlock()
			st.save(t.seq, state)
			return t, nil
		}
		wake := p.wake
		p.mu.Unlock()
		// Never sleep holding the lock: the others would queue on it, not
		// on the clock. Whoever finds a free turn after waking takes it.
		if err := p.sleep(ctx, blocked, at.Sub(now), wake); err != nil {
			return Turn{}, err
		}
	}
}

// sleep waits for d (forever if blocked), or until woken, or ctx ends.
func (p *Pacer) sleep(ctx context.Context, blocked bool, d time.Duration, wake <-chan struct{}) error {
	var timer <-chan time.Time
	if !blocked {
		tm := time.NewTimer(d)
		defer tm.Stop()
		timer = tm.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer:
	case <-wake:
	}
	return nil
}

// signal wakes every waiter to look again; the caller holds p.mu.
func (p *Pacer) signal() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// interval is the even spacing between sends; the caller holds p.mu.
func (p *Pacer) interval() time.Duration {
	r := min(p.perSecond, float64(p.cap)) * p.slow
	return time.Duration(float64(time.Second) / r)
}

// earliest is when the next send may go: after the pause, at the even
// spacing, and a second after the latest moment at which the cap-th latest
// send could reach Gong. The caller holds p.mu.
func (p *Pacer) earliest(now time.Time) time.Time {
	at := p.next
	if p.pausedTil.After(at) {
		at = p.pausedTil
	}
	if len(p.log) < p.cap {
		return at
	}
	reach := make([]time.Time, len(p.log))
	for i, s := range p.log {
		reach[i] = s.at.Add(p.late(s, now))
	}
	slices.SortFunc(reach, func(a, b time.Time) int { return b.Compare(a) })
	if w := reach[p.cap-1].Add(time.Second); w.After(at) {
		at = w
	}
	return at
}

// grant gives the turn at now and returns the state to keep; the caller
// holds p.mu.
func (p *Pacer) grant(now time.Time, op string) (Turn, []send) {
	p.seq++
	t := Turn{seq: p.seq, at: now}
	// The spacing counts from when this send was due, not from when its
	// waiter woke, so that timer delays do not add up; never from further
	// back than one interval (an idle pacer gives no burst).
	step := p.interval()
	due := p.next
	if now.Sub(due) > step || due.IsZero() {
		due = now
	}
	p.next = due.Add(step)
	p.log = append(p.log, send{seq: t.seq, at: now, op: op})
	if over := len(p.log) - (p.max + keepSends); over > 0 {
		p.log = slices.Delete(p.log, 0, over)
	}
	if p.store == nil {
		return t, nil
	}
	// Sends more than two seconds old no longer count in any window.
	i := 0
	for i < len(p.log)-1 && now.Sub(p.log[i].at) > 2*time.Second {
		i++
	}
	return t, slices.Clone(p.log[i:])
}

// late is how late after it left a send may reach Gong, by what the pacer
// knows of it at now. Answered: how much later its answer came than the
// fastest of its kind (of any kind, while its own has too few answers: the
// first request of a process also opens the connection). Not yet: the
// spread, or, once its answer is later than the fastest by more, that much
// (a late answer may be a late arrival); and where answers come about a
// second after the send (the latency is near the window), long enough to
// wait for its answer. Never more than maxSpread beyond its answer's due
// time: an answer that never comes must not stop the run. Plus the guard;
// for an answered send, never more than its answer took (it reached Gong
// before its answer left). Then what 429s added. The caller holds p.mu.
func (p *Pacer) late(s send, now time.Time) time.Duration {
	spread := p.spread()
	d := spread
	fastest, n := p.fastest(s.op)
	switch {
	case n == 0:
	case s.rtt > 0:
		d = min(max(0, s.rtt-fastest), maxSpread)
		if n < minSamples {
			d = max(d, spread)
		}
	default:
		d = max(d, min(now.Sub(s.at)-fastest, maxSpread))
		if fastest <= time.Second+answerWait {
			d = max(d, min(now.Sub(s.at)-time.Second+time.Nanosecond, fastest+maxSpread-time.Second))
		}
	}
	d += p.guardFor(n)
	// An answered send reached Gong before its answer left: never later
	// than its answer came, whatever the spread or the guard say. This is
	// what lets the first sends of a run, whose kind has too few answers
	// for a spread, go as soon as their quick answers show they can. What
	// 429s added still comes on top: a server that counts a second as
	// something longer is what it learns.
	if s.rtt > 0 && d > s.rtt {
		d = s.rtt
	}
	return d + p.widen
}

// fastest is the fastest recent answer to a request of kind op, or of any
// kind while op has fewer than minSamples, and how many answers it is the
// fastest of; the caller holds p.mu.
func (p *Pacer) fastest(op string) (time.Duration, int) {
	if o := p.ops[op]; o != nil && o.n >= minSamples {
		return o.fastest(), len(o.rtts)
	}
	d, n := time.Duration(0), 0
	for _, o := range p.ops {
		if f := o.fastest(); n == 0 || f < d {
			d, n = f, len(o.rtts)
		}
	}
	return d, n
}

// Limit is the current even spacing in requests per second.
func (p *Pacer) Limit() float64 {
	if p.max == 0 {
		return math.Inf(1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return float64(time.Second) / float64(p.interval())
}

// Margin is how late after it left a send whose answer is still out is
// taken to reach Gong now: the spread of the delays, the guard, and what
// 429s added.
func (p *Pacer) Margin() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.late(send{}, time.Time{})
}

// PerWindow is how many sends the pacer lets reach Gong within one second
// now: the configured rate's, or fewer after 429s it took for a limit.
func (p *Pacer) PerWindow() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cap
}

// Background makes l's waits those of requests that can wait (the
// console's pickers): with a *Pacer, they go only when no other request
// waits its turn; any other Limiter is returned as it is.
func Background(l Limiter) Limiter {
	if p, ok := l.(*Pacer); ok {
		return background{p}
	}
	return l
}

// background is a Pacer seen by requests that wait behind the rest.
type background struct{ p *Pacer }

func (b background) Wait(ctx context.Context) error { return b.p.WaitBackground(ctx) }
func (b background) RateLimited(d time.Duration)    { b.p.RateLimited(d) }
func (b background) Answered()                      { b.p.Answered() }
func (b background) Turn(ctx context.Context, op string) (Turn, error) {
	return b.p.take(ctx, op, true)
}
func (b background) Heard(t Turn, a Answer) { b.p.Heard(t, a) }
