package emulator

import (
	"math/rand/v2"
	"time"
)

// verdict is the limiter's decision on one call.
type verdict int

const (
	admitted verdict = iota
	rateLimited
	quotaExceeded
)

// limiter holds Gong's company-wide limits: calls per second, counted as
// Config.Window says (clock-aligned seconds by default), and per UTC day;
// and the calls of another integration sharing them (Config.SharedPerSecond).
// It is a plain value guarded by the Server's mutex.
type limiter struct {
	perSecond, perDay int // negative: unlimited
	countRejected     bool
	shape             string // Config.Window; "" is WindowAligned

	window       time.Time   // WindowAligned: start of the current 1-second window
	inWindow     int         // calls counted in it
	admittedHere int         // calls of clients admitted in it
	recent       []time.Time // WindowRolling: the calls counted in the last second
	tat          time.Time   // WindowGCRA: the theoretical arrival time
	clients      []time.Time // clients' calls admitted in the last second
	maxInWindow  int

	day   time.Time // start (UTC midnight) of the current day
	inDay int

	sharedEvery time.Duration // another integration's calls, this far apart; 0: none
	nextShared  time.Time
	sharedCalls int

	jitter time.Duration // Config.Jitter
	rng    *rand.Rand
}

// admit decides on one call of a client at now. A refused call comes with
// the wait until its limit resets, in whole seconds rounded up, at least
// one.
func (l *limiter) admit(now time.Time) (verdict, time.Duration) {
	l.share(now)
	l.roll(now)
	u := now.UTC()
	if d := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC); !d.Equal(l.day) {
		l.day, l.inDay = d, 0
	}
	// The daily quota is checked first: its wait is the one that matters.
	v, wait := admitted, time.Duration(0)
	if l.perDay >= 0 && l.inDay >= l.perDay {
		v, wait = quotaExceeded, l.day.AddDate(0, 0, 1).Sub(now)
	} else if ok, w := l.second(now); !ok {
		v, wait = rateLimited, w
	}
	if v == admitted || l.countRejected {
		l.count(now)
		l.inDay++
	}
	if v == admitted {
		l.admittedHere++
		l.clients = append(pruned(l.clients, now), now)
		l.maxInWindow = max(l.maxInWindow, l.admittedHere)
		if l.shape == WindowRolling || l.shape == WindowGCRA {
			l.maxInWindow = max(l.maxInWindow, len(l.clients))
		}
		return v, 0
	}
	return v, max(time.Second, (wait + time.Second - 1).Truncate(time.Second))
}

// second reports whether the per-second limit admits a call at now, and if
// not, how long until it would.
func (l *limiter) second(now time.Time) (bool, time.Duration) {
	if l.perSecond < 0 {
		return true, 0
	}
	switch l.shape {
	case WindowRolling:
		l.recent = pruned(l.recent, now)
		if len(l.recent) < l.perSecond {
			return true, 0
		}
		return false, l.recent[len(l.recent)-l.perSecond].Add(time.Second).Sub(now)
	case WindowGCRA:
		if l.perSecond == 0 {
			return false, time.Second
		}
		step := time.Second / time.Duration(l.perSecond)
		tolerance := step * time.Duration(l.perSecond-1)
		tat := l.tat
		if tat.Before(now) {
			tat = now
		}
		if tat.Sub(now) <= tolerance {
			return true, 0
		}
		return false, tat.Add(-tolerance).Sub(now)
	}
	return l.inWindow < l.perSecond, l.window.Add(time.Second).Sub(now)
}

// roll starts a new clock-aligned window when now is past the current one.
func (l *limiter) roll(now time.Time) {
	if w := now.Truncate(time.Second); !w.Equal(l.window) {
		l.window, l.inWindow, l.admittedHere = w, 0, 0
	}
}

// count counts a call at now against the per-second limit.
func (l *limiter) count(now time.Time) {
	l.inWindow++
	switch l.shape {
	case WindowRolling:
		l.recent = append(l.recent, now)
	case WindowGCRA:
		if l.perSecond > 0 {
			if l.tat.Before(now) {
				l.tat = now
			}
			l.tat = l.tat.Add(time.Second / time.Duration(l.perSecond))
		}
	}
}

// pruned drops the times more than a second before now.
func pruned(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= time.Second {
		i++
	}
	return append(ts[:0], ts[i:]...)
}
