package console

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.uber.org/zap"
)

// Uploads and result files take the disk; a run's record (run.json: who,
// when, the check's figures, the summary) takes a few kilobytes. So the
// files go after Config.Keep, or sooner when the uploader or an admin
// deletes the run, and the record stays in the history, saying who deleted
// the files and when.

// maxFileName bounds an upload's file name, in bytes: the name is in every
// runs list and download name, and no file system takes a longer one.
const maxFileName = 255

// KeptBy is FilesDeletedBy when --keep deleted the files.
const KeptBy = "--keep"

// sweepEvery is how often Run looks for runs past Config.Keep.
const sweepEvery = time.Hour

// runBusy: a run whose files are in use.
type runBusy struct{ status string }

func (e runBusy) Error() string {
	return "This run is " + e.status + ": stop it before deleting it."
}

// deleteFiles removes a run's upload and result files, keeping run.json,
// and records who did it. A queued or running run is refused.
func (s *Server) deleteFiles(id, by string) (Run, error) {
	r, err := s.st.update(id, func(r *Run) error {
		if r.Status == StatusQueued || r.Status == StatusRunning {
			return runBusy{r.Status}
		}
		if r.FilesDeletedAt.IsZero() {
			r.FilesDeletedAt, r.FilesDeletedBy = s.cfg.Now(), by
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	// Recorded first: a crash in between leaves files the next sweep removes.
	dir := s.st.runDir(id)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return r, err
	}
	for _, e := range entries {
		if e.Name() == metaFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return r, err
		}
	}
	return r, nil
}

// sweep deletes the files of runs that ended longer than Keep ago (a run
// never started: since its upload).
func (s *Server) sweep() {
	if s.cfg.Keep <= 0 {
		return
	}
	now := s.cfg.Now()
	for _, r := range s.st.list() {
		if r.Status == StatusQueued || r.Status == StatusRunning {
			continue
		}
		since := r.EndedAt
		if since.IsZero() {
			since = r.CreatedAt
		}
		if now.Sub(since) < s.cfg.Keep {
			continue
		}
		if !r.FilesDeletedAt.IsZero() && !s.hasFiles(r.ID) {
			continue
		}
		if _, err := s.deleteFiles(r.ID, KeptBy); err != nil {
			s.log.Error("cannot delete an old run's files", zap.String("run", r.ID), zap.Error(err))
			continue
		}
		s.log.Info("old run's files deleted (--keep); its summary stays", zap.String("run", r.ID), zap.Duration("keep", s.cfg.Keep))
	}
}

// hasFiles says whether a run's folder holds more than run.json.
func (s *Server) hasFiles(id string) bool {
	entries, _ := os.ReadDir(s.st.runDir(id))
	return len(entries) > 1
}

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
	updated, err := s.deleteFiles(run.ID, user)
	var busy runBusy
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

// runWithFiles is runOr404 for the actions that need the run's files: a
// run whose files were deleted gets 410.
func (s *Server) runWithFiles(w http.ResponseWriter, r *http.Request) (Run, bool) {
	run, ok := s.runOr404(w, r)
	if ok && !run.FilesDeletedAt.IsZero() {
		writeError(w, http.StatusGone, "This run's upload and result files were deleted on "+
			run.FilesDeletedAt.UTC().Format("2 Jan 2006")+" ("+deletedByWords(run.FilesDeletedBy)+"); its summary is kept.")
		return run, false
	}
	return run, ok
}

func deletedByWords(by string) string {
	if by == KeptBy {
		return "kept for --keep, then deleted"
	}
	return "by " + by
}

// dataBytes is the size of the files under DIR.
func dataBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
