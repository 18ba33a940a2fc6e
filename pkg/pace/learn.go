package pace

import (
	"slices"
	"time"
)

// opTimes are the answer times of one kind of request: the fastest of the
// last baselineOf is taken for the delay with nothing extra on the way.
type opTimes struct {
	rtts []time.Duration // oldest first
	n    int             // answers heard in all
}

func (o *opTimes) add(rtt time.Duration) {
	o.n++
	o.rtts = append(o.rtts, rtt)
	if len(o.rtts) > baselineOf {
		o.rtts = slices.Delete(o.rtts, 0, len(o.rtts)-baselineOf)
	}
}

func (o *opTimes) fastest() time.Duration { return slices.Min(o.rtts) }

// Heard tells the pacer how Gong answered the request sent on turn t: a
// 429 pauses everyone for its Retry-After and adapts the pacing (see the
// constants); any other answer teaches the delay on the way.
func (p *Pacer) Heard(t Turn, a Answer) {
	if p.max == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if a.Limited {
		p.limitedOn(t, a.RetryAfter)
		return
	}
	o := p.ops[a.Op]
	if o == nil {
		o = &opTimes{}
		p.ops[a.Op] = o
	}
	rtt := max(p.now().Sub(t.at), time.Nanosecond)
	o.add(rtt)
	for i := range p.log {
		if s := &p.log[i]; s.seq == t.seq && t.seq != 0 {
			s.rtt = rtt
		}
	}
	p.answered()
	// A send now known to have been quick may let a waiter go sooner.
	p.signal()
}

// RateLimited tells the pacer that Gong answered 429 asking to wait
// retryAfter, for a request it cannot name: taken as sent just now.
func (p *Pacer) RateLimited(retryAfter time.Duration) {
	if p.max == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limitedOn(Turn{at: p.now()}, retryAfter)
}

// Answered tells the pacer that a request it cannot name got an answer
// other than 429.
func (p *Pacer) Answered() {
	if p.max == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answered()
}

// limitedOn learns from a 429 on the send of turn t (see the constants);
// the caller holds p.mu.
func (p *Pacer) limitedOn(t Turn, retryAfter time.Duration) {
	if until := p.now().Add(retryAfter); until.After(p.pausedTil) {
		p.pausedTil = until
	}
	p.calmWide = 0
	repeat := p.since429 <= strikeAnswers
	p.since429 = 0
	// How many of the pacer's own earlier sends could have reached Gong
	// within the second before the refused one did (that one at the
	// earliest, as quick as the quickest of its kind): by what it knows of
	// each (n); and how many it sent within the two seconds before
	// (worst: a delay that long would be no surprise on a loaded machine).
	n, worst := 0, 0
	from := t.at.Add(-time.Second)
	for _, s := range p.log {
		if s.seq == t.seq || !s.at.Before(t.at) {
			continue
		}
		if s.at.Add(p.late(s, t.at)).After(from) {
			n++
		}
		if s.at.Add(time.Second).After(from) {
			worst++
		}
	}
	// The pacer's own sends explain it, or may, and it is no repeat: the
	// delays on the way spread more than it allowed for.
	if n >= p.cap || (worst >= p.cap && !repeat) {
		p.widen = min(max(2*p.widen, widenStep), maxWiden)
		return
	}
	p.calm, p.calmCap = 0, 0
	// One fewer per 429 at most: a delay on the way may have made it look
	// fewer; a lower limit still shows again.
	if n >= 1 {
		p.cap = max(n, p.cap-1)
	} else {
		p.slow = max(p.slow*slowDown, floorShare)
	}
}

// answered counts a calm answer and lets the pacing recover; the caller
// holds p.mu.
func (p *Pacer) answered() {
	p.calm++
	p.calmCap++
	p.calmWide++
	p.since429++
	if p.calm >= CalmAnswers && p.slow < 1 {
		p.calm = 0
		p.slow = min(1, p.slow*creepUp)
	}
	// After a long calm, try one more send per window: the other
	// integration may have finished.
	if p.calmCap >= probeAfter && p.cap < p.max {
		p.calmCap = 0
		p.cap++
	}
	if p.calmWide >= narrowAfter && p.widen > 0 {
		p.calmWide = 0
		if p.widen /= 2; p.widen < time.Millisecond {
			p.widen = 0
		}
	}
}

// spread is how late after it left a send whose answer is still out may
// reach Gong: the widest range of the last spreadOf answer times of one
// kind, scaled by (n+1)/(n-1) for the n seen (a sample's range falls short
// of the true one by about that much); until some kind has minSamples, at
// least startSpread. The caller holds p.mu.
func (p *Pacer) spread() time.Duration {
	d, most := time.Duration(0), 0
	for _, o := range p.ops {
		last := o.rtts[max(0, len(o.rtts)-spreadOf):]
		n := len(last)
		most = max(most, o.n)
		if n >= 2 {
			r := slices.Max(last) - slices.Min(last)
			d = max(d, time.Duration(float64(r)*float64(n+1)/float64(n-1)))
		}
	}
	if most < minSamples {
		d = max(d, startSpread)
	}
	return min(d, maxSpread)
}

// guardFor is what a send is held back beyond its delay as measured
// against the fastest of n answers: the fastest of a few is likely slower
// than the fastest there is, by about the spread over n; with none, the
// spread itself; never less than the pacer's margin. The caller holds
// p.mu.
func (p *Pacer) guardFor(n int) time.Duration {
	if n == 0 {
		return p.guard
	}
	return max(p.guard, 2*p.spread()/time.Duration(n+1))
}
