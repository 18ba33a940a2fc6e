package emulator

import "time"

// verdict is the limiter's decision on one call.
type verdict int

const (
	admitted verdict = iota
	rateLimited
	quotaExceeded
)

// limiter holds Gong's company-wide limits: calls per clock-aligned second
// and per UTC day. It is a plain value guarded by the Server's mutex.
type limiter struct {
	perSecond, perDay int // negative: unlimited
	countRejected     bool

	window       time.Time // start of the current 1-second window
	inWindow     int       // calls counted in it
	admittedHere int       // calls admitted in it
	maxInWindow  int

	day   time.Time // start (UTC midnight) of the current day
	inDay int
}

// admit decides on one call at now. A refused call comes with the wait
// until its limit resets, in whole seconds rounded up, at least one.
func (l *limiter) admit(now time.Time) (verdict, time.Duration) {
	if w := now.Truncate(time.Second); !w.Equal(l.window) {
		l.window, l.inWindow, l.admittedHere = w, 0, 0
	}
	u := now.UTC()
	if d := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC); !d.Equal(l.day) {
		l.day, l.inDay = d, 0
	}

	// The daily quota is checked first: its wait is the one that matters.
	v, wait := admitted, time.Duration(0)
	switch {
	case l.perDay >= 0 && l.inDay >= l.perDay:
		v, wait = quotaExceeded, l.day.AddDate(0, 0, 1).Sub(now)
	case l.perSecond >= 0 && l.inWindow >= l.perSecond:
		v, wait = rateLimited, l.window.Add(time.Second).Sub(now)
	}
	if v == admitted || l.countRejected {
		l.inWindow++
		l.inDay++
	}
	if v == admitted {
		l.admittedHere++
		l.maxInWindow = max(l.maxInWindow, l.admittedHere)
		return v, 0
	}
	return v, max(time.Second, (wait + time.Second - 1).Truncate(time.Second))
}
