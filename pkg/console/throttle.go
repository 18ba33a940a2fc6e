package console

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in throttling: each address and each user name may have a password
// checked at most throttleRate times a second (throttleBurst at once), so a
// guesser gets at most throttleBurst+throttleRate checks in its first
// second and throttleRate a second after. On top, every failure after
// freeFailures doubles a pause before the next check of that address or
// name, from failPause up to maxFailPause; a success clears it.
const (
	throttleRate  = 5
	throttleBurst = 5
	freeFailures  = 5
	failPause     = time.Second
	maxFailPause  = 5 * time.Minute
	// maxThrottleKeys bounds the memory a flood of addresses or names can
	// take: past it, keys with no pause pending are forgotten.
	maxThrottleKeys = 10_000
)

// Throttle slows password guessing per address and per user name.
type Throttle struct {
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*throttleKey
}

type throttleKey struct {
	lim   *rate.Limiter
	fails int
	until time.Time // no check before this
}

// NewThrottle returns a Throttle reading the time from now.
func NewThrottle(now func() time.Time) *Throttle {
	return &Throttle{now: now, keys: map[string]*throttleKey{}}
}

func (t *Throttle) key(k string, now time.Time) *throttleKey {
	e, ok := t.keys[k]
	if !ok {
		if len(t.keys) >= maxThrottleKeys {
			for k, e := range t.keys {
				if !now.Before(e.until) {
					delete(t.keys, k)
				}
			}
		}
		e = &throttleKey{lim: rate.NewLimiter(throttleRate, throttleBurst)}
		t.keys[k] = e
	}
	return e
}

// allow says whether a password may be checked for this address and name
// now, and takes a turn of each if so.
func (t *Throttle) allow(addr, name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	a, n := t.key("addr "+addr, now), t.key("user "+name, now)
	if now.Before(a.until) || now.Before(n.until) || a.lim.TokensAt(now) < 1 || n.lim.TokensAt(now) < 1 {
		return false
	}
	a.lim.AllowN(now, 1)
	n.lim.AllowN(now, 1)
	return true
}

// failed records a wrong password: the pause grows.
func (t *Throttle) failed(addr, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, e := range []*throttleKey{t.key("addr "+addr, now), t.key("user "+name, now)} {
		e.fails++
		if over := e.fails - freeFailures; over > 0 {
			pause := maxFailPause
			if over < 20 {
				pause = min(failPause<<(over-1), maxFailPause)
			}
			e.until = now.Add(pause)
		}
	}
}

// succeeded clears the pauses of this address and name, not their rate:
// a guesser with an account of their own gains no turns by signing in.
func (t *Throttle) succeeded(addr, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range []string{"addr " + addr, "user " + name} {
		if e, ok := t.keys[k]; ok {
			e.fails, e.until = 0, time.Time{}
		}
	}
}
