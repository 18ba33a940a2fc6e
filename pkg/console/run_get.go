package console

import (
	"net/http"
	"strconv"

	"github.com/flowenroll/flowenroll/pkg/console/store"
)

// getRun answers GET /api/v1/runs/{id}.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	if run, ok := s.runOr404(w, r); ok {
		writeJSON(w, http.StatusOK, run)
	}
}

// view is a run as the API shows it: with its place in the queue.
func (s *Server) view(id string) (store.Run, bool) {
	r, ok := s.st.Get(id)
	if ok && r.Status == store.StatusQueued {
		r.QueuePosition = s.q.Position(id)
	}
	return r, ok
}

// runOr404 finds the run of the request's {id}, or answers 404.
func (s *Server) runOr404(w http.ResponseWriter, r *http.Request) (store.Run, bool) {
	id := r.PathValue("id")
	if store.ValidID(id) {
		if run, ok := s.view(id); ok {
			return run, true
		}
	}
	writeError(w, http.StatusNotFound, "There is no run "+strconv.Quote(id)+".")
	return store.Run{}, false
}
