package console

import (
	"net/http"
	"time"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"go.uber.org/zap"
)

// start answers POST /api/v1/runs/{id}/start.
func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	user := userOf(r.Context())
	req, err := readStart(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	updated, err := s.st.Update(run.ID, func(r *store.Run) error {
		switch {
		case !r.Plan.Ready() && r.Status == store.StatusChecked:
			return constError("The check found nothing to send: fix the columns or the rows first.")
		case !startable(*r):
			return constError("This run is " + r.Status + "; it cannot be started now.")
		}
		if err := chooseCoolOff(r, req.OverrideCoolOff, user, s.cfg.Now()); err != nil {
			return err
		}
		r.Status, r.QueuedAt, r.StartedBy = store.StatusQueued, s.cfg.Now(), user
		r.StoppedBy, r.EndedAt = "", time.Time{}
		return nil
	})
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	s.q.Enqueue(run.ID)
	s.log.Info("run queued", zap.String("run", run.ID), zap.String("user", user), zap.Bool("overrideCoolOff", updated.OverrideCoolOff != nil))
	updated, _ = s.view(updated.ID)
	writeJSON(w, http.StatusAccepted, updated)
}

// startable says whether a run in this state may be started (or resumed).
func startable(r store.Run) bool {
	if !r.FilesDeletedAt.IsZero() {
		return false
	}
	switch r.Status {
	case store.StatusChecked, store.StatusStopped:
		return true
	case store.StatusFinished:
		// Rows left unprocessed (quota, a 401) or a fatal stop: the same
		// run continues from its ledger.
		return r.ExitCode != nil && (*r.ExitCode == outcome.ExitStoppedEarly || *r.ExitCode == outcome.ExitFatal)
	}
	return false
}
