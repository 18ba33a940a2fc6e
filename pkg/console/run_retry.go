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
	got, err := writeRetryInput(s.st.OutDir(old.ID), filepath.Join(s.st.RunDir(id), store.UploadName(run.File)))
	if err != nil {
		s.st.Discard(id)
		s.internal(w, "cannot gather the rows to retry", err)
		return
	}
	if got.Rows == 0 {
		s.st.Discard(id)
		if got.LeftInDoubt > 0 {
			writeError(w, http.StatusConflict, "Retry leaves out "+leftInDoubtWords(got.LeftInDoubt, "")+" Nothing else is left to retry.")
			return
		}
		writeError(w, http.StatusConflict, "Nothing to retry: no row failed or was left.")
		return
	}
	run.InDoubtLeft, run.PeopleInDoubt = got.LeftInDoubt, got.PeopleInDoubt
	if !s.checkAndKeep(w, r, &run) {
		return
	}
	if _, err := s.st.Update(old.ID, func(o *store.Run) error { o.RetriedAs = append(o.RetriedAs, id); return nil }); err != nil {
		s.log.Error("cannot record the retry on its run", zap.String("run", old.ID), zap.Error(err))
	}
	s.log.Info("retry checked", zap.String("run", id), zap.String("retryOf", old.ID), zap.String("user", run.CreatedBy), zap.Int("rows", got.Rows), zap.Int("leftInDoubt", got.LeftInDoubt), zap.Int("peopleInDoubt", got.PeopleInDoubt))
	v, _ := s.view(id)
	writeJSON(w, http.StatusCreated, v)
}

// leftInDoubtWords says why a retry leaves out rows of its run: "this
// run" when of is "", else run of.
func leftInDoubtWords(n int, of string) string {
	run := "this run"
	if of != "" {
		run = "run " + of
	}
	return fmt.Sprintf("%s of %s: sent with no answer yet, or waiting in a bulk assignment Gong accepted. Continue %s (Start) to settle them; a retry would send them again.", rowsOf(n), run, run)
}

// peopleInDoubtWords warns that a retry sends again people no run settles.
func peopleInDoubtWords(n int, of string) string {
	return fmt.Sprintf("This retry sends again %s of run %s whose bulk assignment got no answer: Gong may have enrolled them already, and nothing can read them back. Look for them in the flow in Gong and delete those rows here first, or start knowing that Gong refuses the ones already in the flow (FLOW_ASSIGNMENT_FAILED).", peopleOf(n), of)
}

// rowsOf is a count of rows in words.
func rowsOf(n int) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

// peopleOf is a count of people in words.
func peopleOf(n int) string {
	if n == 1 {
		return "1 person"
	}
	return fmt.Sprintf("%d people", n)
}
