// Package store keeps the console's runs: each run's record (run.json)
// in memory and in DIR/runs/<id>/, where its upload, fixes and out folder
// live too, and the lock that keeps a second server off DIR. The record
// types are the API's: the server serves them as they are kept.
package store

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
)

// Files inside a run's folder DIR/runs/<id>/.
const (
	metaFile  = "run.json" // the Run
	outFolder = "out"      // the pipeline's --out: ledger and result files
	CheckDir  = "check"    // the last check's rejected rows
	InputCSV  = "input.csv"
)

// Store keeps the runs: in memory, and each in DIR/runs/<id>/run.json, so
// that they survive a restart. It tells watchers of every change.
type Store struct {
	dir string // DIR/runs
	now func() time.Time

	mu      sync.Mutex
	runs    map[string]*Run
	live    map[string]Live
	changed chan struct{} // closed and replaced on every change
}

// Open reads the runs kept under dataDir/runs, making the folder if need be.
func Open(dataDir string, now func() time.Time) (*Store, error) {
	dir := filepath.Join(dataDir, "runs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	s := &Store{dir: dir, now: now, runs: map[string]*Run{}, live: map[string]Live{}, changed: make(chan struct{})}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || !ValidID(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), metaFile))
		if errors.Is(err, os.ErrNotExist) {
			continue // an upload that never finished being checked
		}
		if err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
		var r Run
		if err := json.Unmarshal(b, &r); err != nil || r.ID != e.Name() {
			return nil, fmt.Errorf("data folder: %s: not a run's metadata", filepath.Join(e.Name(), metaFile))
		}
		if r.Kind == "" {
			r.Kind = KindEnroll // kept before runs had kinds
		}
		s.runs[r.ID] = &r
	}
	return s, nil
}

// idPattern is what newID makes; anything else is no run (and no path).
func ValidID(id string) bool {
	return regexp.MustCompile(`^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$`).MatchString(id)
}

// newID is sortable by creation time and hard to guess.
func newID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// DisplayName returns a function that puts the uploaded file's name where
// a text names the file on the server, and drops any other path of the
// run's folder: people know their file; the server's folders are none of
// their business. An undo's or a verify's texts name its run's files.
func (s *Store) DisplayName(run Run) func(string) string {
	var pairs []string
	for _, id := range []string{run.ID, run.Of} {
		if id == "" {
			continue
		}
		dir := s.RunDir(id)
		for _, f := range []string{FixedCSV, InputCSV, UploadName(run.File)} {
			pairs = append(pairs, filepath.Join(dir, f), run.File)
		}
		pairs = append(pairs, dir+string(filepath.Separator), "")
	}
	pairs = append(pairs, s.dir+string(filepath.Separator), "", s.dir, "")
	rep := strings.NewReplacer(pairs...)
	return func(msg string) string { return rep.Replace(msg) }
}

// RunDir is run id's folder: its upload, run.json, fixes and out folder.
func (s *Store) RunDir(id string) string { return filepath.Join(s.dir, id) }

// OutDir is run id's out folder: the pipeline's --out.
func (s *Store) OutDir(id string) string { return filepath.Join(s.dir, id, outFolder) }

// Reserve creates the folder of a new run.
func (s *Store) Reserve() (string, error) {
	for {
		id := newID(s.now())
		err := os.Mkdir(s.RunDir(id), 0o700)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return id, err
	}
}

// Discard removes the folder of a run that was never created.
func (s *Store) Discard(id string) { _ = os.RemoveAll(s.RunDir(id)) }

// Put saves r, new or changed.
func (s *Store) Put(r Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.save(&r); err != nil {
		return err
	}
	s.runs[r.ID] = &r
	s.notify()
	return nil
}

// Update changes a run under the lock and saves it; f returns an error to
// leave the run as it was.
func (s *Store) Update(id string, f func(*Run) error) (Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.runs[id]
	if !ok {
		return Run{}, errNoRun
	}
	r := *old
	if err := f(&r); err != nil {
		return *old, err
	}
	if err := s.save(&r); err != nil {
		return *old, err
	}
	s.runs[id] = &r
	s.notify()
	return r, nil
}

func (s *Store) save(r *Run) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return fsguard.WriteBytes(filepath.Join(s.RunDir(r.ID), metaFile), append(b, '\n'))
}

// SetLive records a running run's progress, in memory only.
func (s *Store) SetLive(id string, l Live) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live[id] = l
	s.notify()
}

func (s *Store) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Watch returns a channel closed at the next change.
func (s *Store) Watch() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Get returns run id as kept, with its progress while it runs.
func (s *Store) Get(id string) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return Run{}, false
	}
	out := *r
	if l, ok := s.live[id]; ok && out.Status == StatusRunning {
		out.Progress = &l
	}
	return out, true
}

// List returns the runs, newest first.
func (s *Store) List() []Run {
	s.mu.Lock()
	ids := make([]string, 0, len(s.runs))
	for id := range s.runs {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	out := make([]Run, 0, len(ids))
	for _, id := range ids {
		if r, ok := s.Get(id); ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Run) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out
}

// Dir is DIR/runs, where every run has its folder.
func (s *Store) Dir() string { return s.dir }

// Now is the store's clock: the times a run's record holds.
func (s *Store) Now() time.Time { return s.now() }

// constError is an error that can be a constant.
type constError string

func (e constError) Error() string { return string(e) }

// errNoRun is an update of a run the store does not hold.
const errNoRun = constError("no such run")
