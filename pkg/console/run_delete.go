package console

import (
	"errors"
	"net/http"
	"slices"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"go.uber.org/zap"
)

// deleteRun answers DELETE /api/v1/runs/{id}: the run's uploader or an
// admin deletes its files; the record stays.
func (s *Server) deleteRun(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runOr404(w, r)
	if !ok {
		return
	}
	user := userOf(r.Context())
	if user != run.CreatedBy && user != LocalUser && !slices.Contains(s.cfg.Admins, user) {
		writeError(w, http.StatusForbidden, "Only the person who uploaded this run, or an admin, can delete it.")
		return
	}
	updated, err := s.st.DeleteFiles(run.ID, user)
	var busy store.BusyError
	switch {
	case errors.As(err, &busy):
		writeError(w, http.StatusConflict, busy.Error())
		return
	case err != nil:
		s.internal(w, "cannot delete the run's files", err)
		return
	}
	s.log.Info("run deleted: its upload and result files are gone, its summary stays", zap.String("run", run.ID), zap.String("user", user))
	v, _ := s.view(updated.ID)
	writeJSON(w, http.StatusOK, v)
}
