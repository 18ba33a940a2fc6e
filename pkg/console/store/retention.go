package store

import (
	"os"
	"path/filepath"
)

// BusyError refuses to delete the files of a run in use (queued or running).
type BusyError struct{ status string }

func (e BusyError) Error() string {
	return "This run is " + e.status + ": stop it before deleting it."
}

// DeleteFiles removes a run's upload and result files, keeping run.json,
// and records who did it. A queued or running run is refused.
func (s *Store) DeleteFiles(id, by string) (Run, error) {
	r, err := s.Update(id, func(r *Run) error {
		if r.Status == StatusQueued || r.Status == StatusRunning {
			return BusyError{r.Status}
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
