package console

import (
	"errors"
	"net/http"
	"net/mail"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
)

// undo answers with the count of instances an undo of the run would remove;
// with confirm=true it queues the undo as a run of its own.
// Route: POST /api/v1/runs/{id}/undo.
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
