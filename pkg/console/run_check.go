package console

import (
	"errors"
	"net/http"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"go.uber.org/zap"
)

// recheck checks a run again with other options: the page's column
// mapping, the --map of the command line.
// Route: POST /api/v1/runs/{id}/check.
func (s *Server) recheck(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	if run.Status != store.StatusChecked {
		writeError(w, http.StatusConflict, "This run has started; upload the file again to check it with other settings.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16*maxField)
	if err := r.ParseMultipartForm(16 * maxField); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		writeError(w, http.StatusBadRequest, "Send the settings as a form.")
		return
	}
	opts, err := parseOptions(r.Form)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	run.Options = opts
	if status, msg := s.check(r, &run); status != 0 {
		writeError(w, status, msg)
		return
	}
	updated, err := s.st.Update(run.ID, func(stored *store.Run) error {
		if stored.Status != store.StatusChecked {
			return constError("started meanwhile")
		}
		stored.Options, stored.Plan, stored.Converted, stored.Fixes = run.Options, run.Plan, run.Converted, run.Fixes
		return nil
	})
	if err != nil {
		writeError(w, http.StatusConflict, "This run has started meanwhile.")
		return
	}
	s.log.Info("checked again", zap.String("run", run.ID), zap.String("user", userOf(r.Context())), zap.Any("map", opts.Map))
	writeJSON(w, http.StatusOK, updated)
}
