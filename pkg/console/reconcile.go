package console

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"go.uber.org/zap"
)

// reconcilable finds the request's run and says whether what (Undo,
// Verify) may act on it: an enroll run that has finished or stopped, and
// sent something. It answers the request if not.
func (s *Server) reconcilable(w http.ResponseWriter, r *http.Request, what string) (store.Run, bool) {
	run, ok := s.runWithFiles(w, r)
	if !ok {
		return run, false
	}
	msg := ""
	switch {
	case run.Kind != store.KindEnroll:
		msg = what + " acts on a run that sent an upload; this one is itself " + article(run.Kind) + "."
	case run.Status == store.StatusQueued || run.Status == store.StatusRunning:
		msg = "This run is " + run.Status + ": " + strings.ToLower(what) + " it once it has finished or been stopped."
	case run.Status != store.StatusFinished && run.Status != store.StatusStopped:
		msg = "This run has not started: there is nothing to " + strings.ToLower(what) + "."
	}
	if _, err := os.Stat(s.st.OutDir(run.ID)); msg == "" && err != nil {
		msg = "This run sent nothing: there is nothing to " + strings.ToLower(what) + "."
	}
	if msg != "" {
		writeError(w, http.StatusConflict, msg)
		return run, false
	}
	return run, true
}

func article(kind string) string {
	if kind == store.KindUndo {
		return "an undo"
	}
	return "a " + kind
}

// confirmation reads confirm=true from the form (or query), or
// {"confirm": true} from a JSON body.
func confirmation(w http.ResponseWriter, r *http.Request) (bool, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxField)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body struct {
			Confirm bool `json:"confirm"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			return false, errors.New(`send {"confirm": true}, or the form field confirm=true`)
		}
		return body.Confirm, nil
	}
	if err := r.ParseMultipartForm(maxField); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return false, errors.New("send confirm=true as a form")
	}
	return r.FormValue("confirm") == "true", nil
}

// queueReconcile creates run (an undo or a verify), started by the user,
// and queues it.
func (s *Server) queueReconcile(w http.ResponseWriter, r *http.Request, run store.Run) {
	id, err := s.st.Reserve()
	if err != nil {
		s.internal(w, "cannot create the run's folder", err)
		return
	}
	user, now := userOf(r.Context()), s.cfg.Now()
	run.ID, run.Status, run.CreatedBy, run.CreatedAt, run.StartedBy, run.QueuedAt = id, store.StatusQueued, user, now, user, now
	if err := s.st.Put(run); err != nil {
		s.st.Discard(id)
		s.internal(w, "cannot save the run", err)
		return
	}
	s.q.Enqueue(id)
	s.log.Info(run.Kind+" queued", zap.String("run", id), zap.String("of", run.Of), zap.String("user", user),
		zap.String("unassignedBy", run.UnassignedBy))
	v, _ := s.view(id)
	writeJSON(w, http.StatusAccepted, v)
}
