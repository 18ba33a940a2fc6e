package store

import (
	"os"
	"path/filepath"
)

// BusyError refuses to delete the files of a run in use: queued or
// running, or an undo or a verify of it queued or running (by names it).
type BusyError struct{ status, by string }

func (e BusyError) Error() string {
	if e.by != "" {
		return "This run's " + e.by + " is " + e.status + ": wait until it ends before deleting the run."
	}
	return "This run is " + e.status + ": stop it before deleting it."
}

// DeleteFiles removes a run's upload and result files, keeping run.json,
// and records who did it. A queued or running run is refused, and so is a
// run whose undo or verify is queued or running.
func (s *Store) DeleteFiles(id, by string) (Run, error) {
	r, err := s.Update(id, func(r *Run) error {
		if r.Status == StatusQueued || r.Status == StatusRunning {
			return BusyError{status: r.Status}
		}
		// An undo or a verify works on this run's ledger and files; the
		// caller holds s.mu, so none can be queued meanwhile.
		for _, o := range s.runs {
			if o.Of == id && (o.Status == StatusQueued || o.Status == StatusRunning) {
				return BusyError{status: o.Status, by: o.Kind}
			}
		}
		if r.FilesDeletedAt.IsZero() {
			r.FilesDeletedAt, r.FilesDeletedBy = s.now(), by
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	// Recorded first: a crash in between leaves files the next sweep removes.
	dir := s.RunDir(id)
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

// HasFiles says whether a run's folder holds more than run.json.
func (s *Store) HasFiles(id string) bool {
	entries, _ := os.ReadDir(s.RunDir(id))
	return len(entries) > 1
}
