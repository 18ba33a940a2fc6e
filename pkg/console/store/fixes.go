package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
)

// Files of a run's fixes, inside its folder: the upload is never changed;
// the fixes are kept beside it and applied to a copy the pipeline reads.
const (
	fixesFile = "fixes.json"
	FixedCSV  = "fixed.csv"
)

// Fix is one correction a person made in the page: the values of Set
// (canonical column -> value) for the rows at Lines of the upload.
type Fix struct {
	Set   map[string]string `json:"set"`
	Lines []int             `json:"lines"`
	// Code and From say how the rows were chosen, when they were: the rows
	// rejected with Code whose value was From.
	Code string    `json:"code,omitempty"`
	From *string   `json:"from,omitempty"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

// Fixes are the fixes made to run id, oldest first.
func (s *Store) Fixes(id string) ([]Fix, error) {
	b, err := os.ReadFile(filepath.Join(s.RunDir(id), fixesFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var fs []Fix
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, fmt.Errorf("%s: %w", fixesFile, err)
	}
	return fs, nil
}

// SaveFixes replaces the fixes of run id.
func (s *Store) SaveFixes(id string, fs []Fix) error {
	b, err := json.MarshalIndent(fs, "", "  ")
	if err != nil {
		return err
	}
	return fsguard.WriteBytes(filepath.Join(s.RunDir(id), fixesFile), append(b, '\n'))
}
