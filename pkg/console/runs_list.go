package console

import (
	"net/http"

	"github.com/flowenroll/flowenroll/pkg/console/store"
)

// listRuns answers GET /api/v1/runs.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	runs := s.st.List()
	for i := range runs {
		if runs[i].Status == store.StatusQueued {
			runs[i].QueuePosition = s.q.Position(runs[i].ID)
		}
		// The list stays light: the check's details are in GET /runs/{id}.
		if p := runs[i].Plan; p != nil {
			light := *p
			light.Groups, light.RejectedByCode = nil, nil
			runs[i].Plan = &light
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}
