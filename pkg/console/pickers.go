package console

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// listingTTL is how long a listing for the pickers is kept: page loads and
// re-checks use the kept one and spend none of the company's quota.
const listingTTL = 10 * time.Minute

// failedListingTTL is how long a listing Gong did not give is kept: a
// page that asks again and again (a loop, a person retrying) sends one
// request a minute, not one each time. A question Gong refused (an owner
// who is no Gong user) is kept as long as an answer.
const failedListingTTL = time.Minute

// A person may have listingsPerMinute listings sent for them a minute
// (listingsBurst at once); kept listings are free.
const (
	listingsPerMinute = 20
	listingsBurst     = 10
)

// tooManyListings: the person asked for more listings than their share.
type tooManyListings struct{}

func (tooManyListings) Error() string { return "too many listings" }

// listings keeps Gong's lists of users and of each owner's flows for a
// while, failures included. One listing of a key runs at a time: people
// opening the page together wait for the same requests rather than each
// send their own.
type listings struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*listingEntry
	people  map[string]*rate.Limiter // listings sent per person
}

type listingEntry struct {
	done  chan struct{} // closed once the listing ended
	at    time.Time
	ttl   time.Duration
	value any
	err   error
}

func newListings(now func() time.Time) *listings {
	return &listings{now: now, entries: map[string]*listingEntry{}, people: map[string]*rate.Limiter{}}
}

// get returns the kept listing of key, or lists it with fetch for user,
// within the user's share.
func (l *listings) get(ctx context.Context, user, key string, fetch func(context.Context) (any, error)) (any, error) {
	l.mu.Lock()
	now := l.now()
	e, ok := l.entries[key]
	if ok && isDone(e.done) && now.Sub(e.at) >= e.ttl {
		ok = false
	}
	if !ok {
		if !l.allow(user, now) {
			l.mu.Unlock()
			return nil, tooManyListings{}
		}
		e = &listingEntry{done: make(chan struct{})}
		l.entries[key] = e
		l.mu.Unlock()
		// The listing outlives a person who leaves: the next one gets it.
		e.value, e.err = fetch(context.WithoutCancel(ctx))
		e.at, e.ttl = l.now(), listingTTL
		var un *worker.UnavailableError
		if e.err != nil && (!errors.As(e.err, &un) || un.Status != http.StatusBadRequest) {
			e.ttl = failedListingTTL
		}
		close(e.done)
		return e.value, e.err
	}
	l.mu.Unlock()
	select {
	case <-e.done:
		return e.value, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// allow takes one of user's listings; l.mu is held.
func (l *listings) allow(user string, now time.Time) bool {
	lim, ok := l.people[user]
	if !ok {
		if len(l.people) > 10_000 {
			clear(l.people) // a flood of names: forget the shares
		}
		lim = rate.NewLimiter(rate.Every(time.Minute/listingsPerMinute), listingsBurst)
		l.people[user] = lim
	}
	return lim.AllowN(now, 1)
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// listed counts a listing's requests with the runs'.
func (s *Server) listed(n int64) {
	if n > 0 {
		s.metrics.listed(n)
	}
}

// listError answers a listing Gong did not give: 503, or 400 when Gong
// refused the question itself (an owner who is no Gong user).
func (s *Server) listError(w http.ResponseWriter, what string, err error) {
	var un *worker.UnavailableError
	switch {
	case errors.As(err, new(tooManyListings)):
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "You asked for many lists from Gong in a short time; they share the company's quota with the runs. Try again in a minute.")
	case errors.As(err, &un) && un.Status == http.StatusBadRequest:
		writeError(w, http.StatusBadRequest, un.Msg)
	case errors.As(err, &un):
		s.log.Warn("listing for the pickers failed", zap.String("list", what), zap.String("answered", un.Msg), zap.NamedError("cause", un.Err))
		writeError(w, http.StatusServiceUnavailable, un.Msg)
	case errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "The request was cancelled.")
	default:
		s.log.Error("listing for the pickers failed", zap.String("list", what), zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, "Gong's "+what+" cannot be listed right now; try again in a while.")
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
