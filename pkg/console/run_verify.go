package console

import (
	"net/http"

	"github.com/flowenroll/flowenroll/pkg/console/store"
)

// verify queues a verify of the run as a run of its own.
// Route: POST /api/v1/runs/{id}/verify.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	if orig, ok := s.reconcilable(w, r, "Verify"); ok {
		s.queueReconcile(w, r, store.Run{Kind: store.KindVerify, Of: orig.ID, File: orig.File})
	}
}
