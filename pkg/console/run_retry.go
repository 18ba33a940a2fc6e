package console

import (
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"go.uber.org/zap"
)

// retry makes a new run of this run's failed.csv and unprocessed.csv rows,
// as if they were uploaded again.
// Route: POST /api/v1/runs/{id}/retry.
func (s *Server) retry(w http.ResponseWriter, r *http.Request) {
	old, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	if old.Kind != store.KindEnroll {
		writeError(w, http.StatusConflict, "Retry takes the rows of a run that sent an upload; this one is "+article(old.Kind)+".")
		return
	}
	if old.Status != store.StatusFinished && old.Status != store.StatusStopped {
		writeError(w, http.StatusConflict, "Retry takes the rows of a finished or stopped run; this one is "+old.Status+".")
		return
	}
	id, err := s.st.Reserve()
	if err != nil {
		s.internal(w, "cannot create the run's folder", err)
		return
	}
	run := store.Run{ID: id, Kind: store.KindEnroll, Status: store.StatusChecked, CreatedBy: userOf(r.Context()), CreatedAt: s.cfg.Now(), RetryOf: old.ID,
		File: stem(old.File) + "-retry.csv", Options: store.Options{Encoding: "utf-8", Delimiter: ","}}
	n, inDoubt, err := writeRetryInput(s.st.OutDir(old.ID), filepath.Join(s.st.RunDir(id), store.UploadName(run.File)))
	if err != nil {
		s.st.Discard(id)
		s.internal(w, "cannot gather the rows to retry", err)
		return
	}
	if n == 0 {
		s.st.Discard(id)
		if inDoubt > 0 {
			writeError(w, http.StatusConflict, inDoubtWords(inDoubt)+" Nothing else is left to retry.")
			return
		}
		writeError(w, http.StatusConflict, "Nothing to retry: no row failed or was left.")
		return
	}
	run.InDoubtLeft = inDoubt
	if !s.checkAndKeep(w, r, &run) {
		return
	}
	if _, err := s.st.Update(old.ID, func(o *store.Run) error { o.RetriedAs = append(o.RetriedAs, id); return nil }); err != nil {
		s.log.Error("cannot record the retry on its run", zap.String("run", old.ID), zap.Error(err))
	}
	s.log.Info("retry checked", zap.String("run", id), zap.String("retryOf", old.ID), zap.String("user", run.CreatedBy), zap.Int("rows", n))
	v, _ := s.view(id)
	writeJSON(w, http.StatusCreated, v)
}

// inDoubtWords says why a retry leaves rows of its run out.
func inDoubtWords(n int) string {
	return fmt.Sprintf("%d rows of this run were sent and have no answer yet, or wait in a bulk assignment Gong accepted: continue this run (Start) to settle them; a retry would send them again and might enroll them twice.", n)
}
