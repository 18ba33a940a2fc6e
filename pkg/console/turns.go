package console

import (
	"context"
	"sync"
	"time"

	"github.com/flowenroll/flowenroll/pkg/gateway"
)

// Turns puts the page's listings behind the runs in the one pacer's line.
// The pacer (pkg/pace) has no priorities: whoever calls Wait first goes
// first. So a listing does not call it while runs are in line: it waits
// until every run request that was waiting when it came has had its turn,
// and listings go one at a time. A run's workers thus lose at most one turn
// in (workers+1) to listings while listings are asked for, and none when
// they are not; with the listings kept (see listings), that is a few turns
// an hour.
type Turns struct {
	inner gateway.Limiter

	listing sync.Mutex // one listing in line at a time

	mu      sync.Mutex
	arrived uint64        // run requests that came to the pacer
	served  uint64        // ...and left it (their turn, or their end)
	changed chan struct{} // closed and replaced when served grows
}

// NewTurns shares the pacer inner between runs and listings.
func NewTurns(inner gateway.Limiter) *Turns {
	return &Turns{inner: inner, changed: make(chan struct{})}
}

// Runs is the pacer as the runs use it.
func (t *Turns) Runs() gateway.Limiter { return runTurns{t} }

// Lists is the pacer as the listings use it: behind the runs.
func (t *Turns) Lists() gateway.Limiter { return listTurns{t} }

type runTurns struct{ t *Turns }

func (r runTurns) Wait(ctx context.Context) error {
	t := r.t
	t.mu.Lock()
	t.arrived++
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.served++
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
	}()
	return t.inner.Wait(ctx)
}

func (r runTurns) RateLimited(d time.Duration) { r.t.inner.RateLimited(d) }
func (r runTurns) Answered()                   { r.t.inner.Answered() }

type listTurns struct{ t *Turns }

func (l listTurns) Wait(ctx context.Context) error {
	t := l.t
	t.listing.Lock()
	defer t.listing.Unlock()
	t.mu.Lock()
	behind := t.arrived
	for t.served < behind {
		changed := t.changed
		t.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
		t.mu.Lock()
	}
	t.mu.Unlock()
	return t.inner.Wait(ctx)
}

func (l listTurns) RateLimited(d time.Duration) { l.t.inner.RateLimited(d) }
func (l listTurns) Answered()                   { l.t.inner.Answered() }
