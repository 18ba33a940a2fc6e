package console

import (
	"io/fs"
	"net/http"
	"path/filepath"
	"time"

	"github.com/flowenroll/flowenroll/pkg/console/store"
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

// keptBy is FilesDeletedBy when --keep deleted the files.
const keptBy = "--keep"

// sweepEvery is how often Run looks for runs past Config.Keep.
const sweepEvery = time.Hour

// sweep deletes the files of runs that ended longer than Keep ago (a run
// never started: since its upload).
func (s *Server) sweep() {
	if s.cfg.Keep <= 0 {
		return
	}
	now := s.cfg.Now()
	for _, r := range s.st.List() {
		if r.Status == store.StatusQueued || r.Status == store.StatusRunning {
			continue
		}
		since := r.EndedAt
		if since.IsZero() {
			since = r.CreatedAt
		}
		if now.Sub(since) < s.cfg.Keep {
			continue
		}
		if !r.FilesDeletedAt.IsZero() && !s.st.HasFiles(r.ID) {
			continue
		}
		if _, err := s.st.DeleteFiles(r.ID, keptBy); err != nil {
			s.log.Error("cannot delete an old run's files", zap.String("run", r.ID), zap.Error(err))
			continue
		}
		s.log.Info("old run's files deleted (--keep); its summary stays", zap.String("run", r.ID), zap.Duration("keep", s.cfg.Keep))
	}
}

// runWithFiles is runOr404 for the actions that need the run's files: a
// run whose files were deleted gets 410.
func (s *Server) runWithFiles(w http.ResponseWriter, r *http.Request) (store.Run, bool) {
	run, ok := s.runOr404(w, r)
	if ok && !run.FilesDeletedAt.IsZero() {
		writeError(w, http.StatusGone, "This run's upload and result files were deleted on "+
			run.FilesDeletedAt.UTC().Format("2 Jan 2006")+" ("+deletedByWords(run.FilesDeletedBy)+"); its summary is kept.")
		return run, false
	}
	return run, ok
}

func deletedByWords(by string) string {
	if by == keptBy {
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
