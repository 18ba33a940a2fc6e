package emulator

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Values of Config.Window: how the per-second limit counts. Gong has not
// published it; a client must be right with each.
const (
	// WindowAligned counts calls per clock-aligned second
	// (time.Truncate(time.Second)); a call beyond RatePerSecond in its
	// second is refused until the next (the default). Up to twice the
	// limit may pass within one second that straddles a boundary.
	WindowAligned = "aligned"
	// WindowRolling refuses a call when RatePerSecond calls were counted
	// within the second before it (any RatePerSecond+1 within one second:
	// 429), until the oldest of them is a second old.
	WindowRolling = "rolling"
	// WindowGCRA is a token bucket (the generic cell rate algorithm): one
	// call every 1/RatePerSecond, with a burst of RatePerSecond; a call
	// earlier than that is refused until it would conform.
	WindowGCRA = "gcra"
)

// LimitModes are ways Gong might count and share its per-second limit;
// each is off (or at its default) in the zero value.
type LimitModes struct {
	// Window is how calls are counted: WindowAligned (default),
	// WindowRolling or WindowGCRA.
	Window string

	// Jitter makes each request's Latency vary, uniformly within ±Jitter
	// (never below 0), drawn from Seed. It is spent where Latency is, before
	// the limits count the request, so the instants the limits see vary by
	// as much as the answers' times do: delays on the way that vary.
	Jitter time.Duration

	// SharedPerSecond is another integration of the company, sending this
	// many calls a second, evenly, from half an interval after the first
	// request on: each counts against the per-second limit (in the same
	// Window) as the clients' calls do, and is never refused (the other
	// integration takes its part of the limit whatever the clients do;
	// what is left is RatePerSecond - SharedPerSecond). They are no
	// requests of this server (not in Stats: see Shared). The daily quota
	// is left to the clients.
	SharedPerSecond float64
}

// check validates the modes.
func (m LimitModes) check() error {
	var errs []error
	if m.Window != "" && !slices.Contains([]string{WindowAligned, WindowRolling, WindowGCRA}, m.Window) {
		errs = append(errs, fmt.Errorf("window %q: want one of %q", m.Window, []string{WindowAligned, WindowRolling, WindowGCRA}))
	}
	if m.Jitter < 0 {
		errs = append(errs, fmt.Errorf("Jitter %v is negative", m.Jitter))
	}
	if m.SharedPerSecond < 0 || math.IsNaN(m.SharedPerSecond) || math.IsInf(m.SharedPerSecond, 0) || m.SharedPerSecond > 1000 {
		errs = append(errs, fmt.Errorf("SharedPerSecond %v: want 0 to 1000", m.SharedPerSecond))
	}
	return errors.Join(errs...)
}

// checkTiming validates Latency and the limit modes.
func (cfg Config) checkTiming() error {
	var errs []error
	if cfg.Latency < 0 {
		errs = append(errs, fmt.Errorf("Latency %v is negative", cfg.Latency))
	}
	return errors.Join(append(errs, cfg.LimitModes.check())...)
}

// newLimiter is the limiter cfg describes.
func newLimiter(cfg Config) limiter {
	l := limiter{perSecond: cfg.RatePerSecond, perDay: cfg.DailyLimit, countRejected: cfg.CountRejected,
		shape: cfg.Window, jitter: cfg.Jitter, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6a17))}
	if cfg.SharedPerSecond > 0 {
		l.sharedEvery = time.Duration(float64(time.Second) / cfg.SharedPerSecond)
	}
	return l
}

// share counts the other integration's calls up to now.
func (l *limiter) share(now time.Time) {
	if l.sharedEvery == 0 {
		return
	}
	if l.nextShared.IsZero() {
		l.nextShared = now.Add(l.sharedEvery / 2)
	}
	// Calls more than a second ago no longer count in any window.
	if skip := now.Add(-2 * time.Second); l.nextShared.Before(skip) {
		l.nextShared = l.nextShared.Add(skip.Sub(l.nextShared).Truncate(l.sharedEvery))
	}
	for ; !l.nextShared.After(now); l.nextShared = l.nextShared.Add(l.sharedEvery) {
		l.roll(l.nextShared)
		l.count(l.nextShared)
		l.sharedCalls++
	}
}

// latency is one request's Latency, with Jitter; the caller holds s.mu.
func (l *limiter) latency(base time.Duration) time.Duration {
	if l.jitter == 0 {
		return base
	}
	return max(0, base+time.Duration(l.rng.Int64N(int64(2*l.jitter)+1))-l.jitter)
}

// latency is the wait before the next request is handled.
func (s *Server) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits.latency(s.cfg.Latency)
}

// Shared returns how many calls the other integration of
// Config.SharedPerSecond made so far.
func (s *Server) Shared() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits.sharedCalls
}
