package console

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// listingTTL is how long a listing for the pickers is kept: page loads and
// re-checks use the kept one and spend none of the company's quota.
const listingTTL = 10 * time.Minute

// listings keeps Gong's lists of users and of each owner's flows for a
// while. One listing of a key runs at a time: people opening the page
// together wait for the same requests rather than each send their own.
type listings struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*listingEntry
}

type listingEntry struct {
	done  chan struct{} // closed once the listing ended
	at    time.Time
	value any
	err   error
}

func newListings(now func() time.Time) *listings {
	return &listings{now: now, entries: map[string]*listingEntry{}}
}

// get returns the kept listing of key, or lists it with fetch. A failed
// listing is not kept: the next call asks Gong again.
func (l *listings) get(ctx context.Context, key string, fetch func(context.Context) (any, error)) (any, error) {
	l.mu.Lock()
	e, ok := l.entries[key]
	if ok && isDone(e.done) && l.now().Sub(e.at) >= listingTTL {
		ok = false
	}
	if !ok {
		e = &listingEntry{done: make(chan struct{})}
		l.entries[key] = e
		l.mu.Unlock()
		// The listing outlives a person who leaves: the next one gets it.
		e.value, e.err = fetch(context.WithoutCancel(ctx))
		e.at = l.now()
		close(e.done)
		if e.err != nil {
			l.mu.Lock()
			if l.entries[key] == e {
				delete(l.entries, key)
			}
			l.mu.Unlock()
		}
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

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// users answers the owner picker: the company's active users.
func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	v, err := s.lists.get(r.Context(), "users", func(ctx context.Context) (any, error) {
		l, err := s.cfg.Pipeline.Users(ctx)
		s.listed(l.Requests)
		return l.Items, err
	})
	if err != nil {
		s.listError(w, "users", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": nonNil(v.([]Person))})
}

// flows answers the flow picker: the flows ?owner= can see.
func (s *Server) flows(w http.ResponseWriter, r *http.Request) {
	owner := strings.TrimSpace(r.URL.Query().Get("owner"))
	if a, err := mail.ParseAddress(owner); err != nil || a.Address != owner {
		writeError(w, http.StatusBadRequest, "Give the owner's email address: /api/v1/flows?owner=name@example.com.")
		return
	}
	v, err := s.lists.get(r.Context(), "flows "+strings.ToLower(owner), func(ctx context.Context) (any, error) {
		l, err := s.cfg.Pipeline.Flows(ctx, owner)
		s.listed(l.Requests)
		return l.Items, err
	})
	if err != nil {
		s.listError(w, "flows", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"owner": owner, "flows": nonNil(v.([]FlowChoice))})
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
	var un *UnavailableError
	switch {
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
