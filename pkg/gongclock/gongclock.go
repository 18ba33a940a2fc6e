// Package gongclock judges flow instances' creation times on Gong's clock,
// so that a run claims only the instances it created.
//
// Gong dates an instance (flowInstanceCreateDate) by its own clock; the
// local clock may be minutes off. Every answer carries an HTTP Date header:
// Gong's time, to the second, at some moment between the local send and
// the local receipt. Each such answer bounds the offset (Gong's clock minus
// the local one):
//
//	date - received  <=  offset  <  date + 1s - sent
//
// A Clock keeps the bounds of the latest answer: its uncertainty is that
// answer's round trip plus the Date's second. Intersecting the bounds of
// all answers would narrow it, but only while both clocks run at the same
// rate: a clock stepped by NTP, or a test's clock that stands still, would
// make the intersection wrong, and the run's own instances "older" than
// their request. The instance judged is nearly always in the latest
// answer itself (an assign's, or the read-back's).
//
// The rule (Judge): a request sent at local time t reached Gong no earlier
// than t + the lowest offset. An instance certainly created before that
// moment is not the request's doing (Before). One created after t + the
// highest offset is (After). One in between (Inside) cannot be told apart
// by any clock: Gong creates the request's own instances within that
// window (it spans the round trip), as it would one made by someone else
// in the same fraction of a second. Callers claim Inside instances, since
// refusing them would disown nearly every instance a fast Gong creates;
// what they never claim is an instance that existed before the request.
package gongclock

import (
	"strings"
	"sync"
	"time"
)

// Resolution is the HTTP Date header's: whole seconds, rounded down.
const Resolution = time.Second

// Unknown bounds the offset, either way, until an answer with a Date has
// been seen: servers that send no Date leave the local clock's word with
// the tolerance this tool had before it read Gong's clock.
const Unknown = time.Minute

// Clock tracks the offset of Gong's clock from the local one. The zero
// value knows nothing yet; it is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	known  bool
	lo, hi time.Duration // lo <= Gong's clock - the local clock < hi
}

// Observe takes the offset from one answer: its request left at sent and
// the answer arrived at received (local clock), stamped date by Gong. A
// zero date (no Date header) or a receipt before the send tells nothing.
func (c *Clock) Observe(sent, received, date time.Time) {
	if date.IsZero() || sent.IsZero() || received.Before(sent) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lo, c.hi, c.known = date.Sub(received), date.Add(Resolution).Sub(sent), true
}

// Offset returns the bounds of Gong's clock minus the local one, and
// whether any answer has given them (if not, they are ±Unknown).
func (c *Clock) Offset() (lo, hi time.Duration, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		return -Unknown, Unknown, false
	}
	return c.lo, c.hi, true
}

// Verdict places an instance's creation against a request's send.
type Verdict int

// Verdicts of Judge.
const (
	// Before: created before the request can have reached Gong; it is not
	// the request's doing.
	Before Verdict = iota + 1
	// Inside: within the clock's uncertainty of the send.
	Inside
	// After: created after the request was sent, on any reading of the
	// clock.
	After
)

func (v Verdict) String() string {
	switch v {
	case Before:
		return "before"
	case Inside:
		return "inside"
	case After:
		return "after"
	}
	return "unknown"
}

// Judge places an instance created at created (Gong's clock) against a
// request sent at sent (the local clock, taken before the request left).
func (c *Clock) Judge(created Instant, sent time.Time) Verdict {
	lo, hi, _ := c.Offset()
	switch {
	case !created.To.After(sent.Add(lo)):
		return Before
	case !created.From.Before(sent.Add(hi)):
		return After
	}
	return Inside
}

// SendWindow is when a request sent at sent can have reached Gong, on
// Gong's clock: from earliest to latest.
func (c *Clock) SendWindow(sent time.Time) (earliest, latest time.Time) {
	lo, hi, _ := c.Offset()
	return sent.Add(lo), sent.Add(hi)
}

// Instant is a time known to lie in [From, To): a creation date read to the
// precision its text gives.
type Instant struct {
	From, To time.Time
}

// ParseInstant reads an ISO-8601 date as Gong writes flowInstanceCreateDate
// ('2024-01-17T16:20:05-03:00', '2016-02-16T03:57:04.834+05:30',
// '2020-11-20T21:30:07.233692Z'): a date to the second covers that second,
// one to the millisecond that millisecond.
func ParseInstant(s string) (Instant, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Instant{}, err
	}
	return Instant{From: t, To: t.Add(precision(s))}, nil
}

// precision is the unit of the last digit of the seconds in s.
func precision(s string) time.Duration {
	i := strings.IndexByte(s, 'T')
	frac := strings.IndexByte(s[i+1:], '.')
	if i < 0 || frac < 0 {
		return time.Second
	}
	digits := 0
	for _, r := range s[i+1+frac+1:] {
		if r < '0' || r > '9' {
			break
		}
		digits++
	}
	p := time.Second
	for range min(digits, 9) {
		p /= 10
	}
	return p
}
