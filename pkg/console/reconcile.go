package console

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/mail"
	"os"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"go.uber.org/zap"
)

// byConsole is who an undo is by when the user is no email address: Gong
// is then told no one.
const byConsole = "the console"

// UndoPreview is what POST .../undo answers without confirm=true: what the
// confirmation asks about. Nothing is sent.
type UndoPreview struct {
	Instances int    `json:"instances"` // flow instances the undo would remove
	By        string `json:"by"`        // the user's email, or "the console"
}

// unassigner is who an undo by user is by: its email, sent to Gong as
// unassignedByUserEmail, only if user is an email address.
func unassigner(user string) (email, by string) {
	if a, err := mail.ParseAddress(user); err == nil && a.Address == user && a.Name == "" {
		return user, user
	}
	return "", byConsole
}

// undo answers with the count of instances an undo of the run would remove;
// with confirm=true it queues the undo as a run of its own.
func (s *Server) undo(w http.ResponseWriter, r *http.Request) {
	orig, ok := s.reconcilable(w, r, "Undo")
	if !ok {
		return
	}
	user := userOf(r.Context())
	email, by := unassigner(user)
	n, err := s.cfg.Pipeline.UndoCount(r.Context(), s.st.OutDir(orig.ID))
	var refused *worker.RefusedError
	switch {
	case errors.As(err, &refused):
		writeError(w, http.StatusConflict, refused.Msg)
		return
	case err != nil:
		s.internal(w, "cannot count what undo would remove", err)
		return
	}
	confirmed, err := confirmation(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !confirmed {
		writeJSON(w, http.StatusOK, UndoPreview{Instances: n, By: by})
		return
	}
	if n == 0 {
		writeError(w, http.StatusConflict, "Nothing to undo: the run created no flow instance, or an undo removed them already.")
		return
	}
	s.queueReconcile(w, r, store.Run{Kind: store.KindUndo, Of: orig.ID, File: orig.File, UnassignedBy: email})
}

// verify queues a verify of the run as a run of its own.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	if orig, ok := s.reconcilable(w, r, "Verify"); ok {
		s.queueReconcile(w, r, store.Run{Kind: store.KindVerify, Of: orig.ID, File: orig.File})
	}
}

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
