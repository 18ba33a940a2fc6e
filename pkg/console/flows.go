package console

import (
	"context"
	"net/http"
	"net/mail"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/console/store"
)

// flows answers the flow picker: the flows ?owner= can see.
// Route: GET /api/v1/flows.
func (s *Server) flows(w http.ResponseWriter, r *http.Request) {
	owner := strings.TrimSpace(r.URL.Query().Get("owner"))
	if a, err := mail.ParseAddress(owner); err != nil || a.Address != owner {
		writeError(w, http.StatusBadRequest, "Give the owner's email address: /api/v1/flows?owner=name@example.com.")
		return
	}
	v, err := s.listFlows(r.Context(), userOf(r.Context()), owner)
	if err != nil {
		s.listError(w, "flows", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"owner": owner, "flows": nonNil(v)})
}

// listFlows is the flows owner can see, kept for a while.
func (s *Server) listFlows(ctx context.Context, user, owner string) ([]store.FlowChoice, error) {
	v, err := s.lists.get(ctx, user, "flows "+strings.ToLower(owner), func(ctx context.Context) (any, error) {
		l, err := s.cfg.Pipeline.Flows(ctx, owner)
		s.listed(l.Requests)
		return l.Items, err
	})
	if err != nil {
		return nil, err
	}
	return v.([]store.FlowChoice), nil
}
