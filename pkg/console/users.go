package console

import (
	"context"
	"net/http"

	"github.com/flowenroll/flowenroll/pkg/console/worker"
)

// users answers the owner picker: the company's active users.
// Route: GET /api/v1/users.
func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	v, err := s.listUsers(r.Context(), userOf(r.Context()))
	if err != nil {
		s.listError(w, "users", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": nonNil(v)})
}

// listUsers is Gong's active users, kept for a while.
func (s *Server) listUsers(ctx context.Context, user string) ([]worker.Person, error) {
	v, err := s.lists.get(ctx, user, "users", func(ctx context.Context) (any, error) {
		l, err := s.cfg.Pipeline.Users(ctx)
		s.listed(l.Requests)
		return l.Items, err
	})
	if err != nil {
		return nil, err
	}
	return v.([]worker.Person), nil
}
