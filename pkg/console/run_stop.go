package console

import (
	"net/http"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"go.uber.org/zap"
)

// stop answers POST /api/v1/runs/{id}/stop.
func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runOr404(w, r)
	if !ok {
		return
	}
	user := userOf(r.Context())
	waiting, running := s.q.Stop(run.ID)
	if !waiting && !running {
		writeError(w, http.StatusConflict, "This run is "+run.Status+"; only a queued or running run can be stopped.")
		return
	}
	updated, err := s.st.Update(run.ID, func(r *store.Run) error {
		r.StoppedBy = user
		if waiting {
			r.Status, r.EndedAt = store.StatusStopped, s.cfg.Now()
		}
		return nil
	})
	if err != nil {
		s.internal(w, "cannot record the stop", err)
		return
	}
	s.log.Info("run stopping", zap.String("run", run.ID), zap.String("user", user), zap.Bool("wasRunning", running))
	writeJSON(w, http.StatusAccepted, updated)
}
