package store

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// AssignedBy returns what the console's earlier runs assigned, for a check
// or a run of run id: for a crmProspectId and a flow, the run that
// assigned it. A run undone, or whose files are gone, counts no more; the
// run itself does not count (its own ledger resumes it).
func (s *Store) AssignedBy(id string) func(crm, flow string) (string, bool) {
	seen := map[[2]string]string{}
	for _, r := range s.List() { // newest first: the latest run is named
		if r.ID == id || r.Kind != KindEnroll || r.UndoneBy != nil || !r.FilesDeletedAt.IsZero() {
			continue
		}
		if r.Status != StatusFinished && r.Status != StatusStopped {
			continue
		}
		rows, err := ReadColumns(filepath.Join(s.OutDir(r.ID), report.AssignedFile), []string{input.ColCRMProspectID, input.ColFlowID})
		if err != nil {
			continue
		}
		for _, row := range rows {
			k := [2]string{row[0], row[1]}
			if _, ok := seen[k]; !ok && row[0] != "" {
				seen[k] = r.ID
			}
		}
	}
	if len(seen) == 0 {
		return nil
	}
	return func(crm, flow string) (string, bool) {
		run, ok := seen[[2]string{crm, flow}]
		return run, ok
	}
}

// ReadColumns reads, for every data row of the CSV at path, the cells
// under the given headers (blank where a header is missing).
func ReadColumns(path string, headers []string) ([][]string, error) {
	var out [][]string
	err := EachRow(path, headers, func(row []string) { out = append(out, row) })
	return out, err
}

// EachRow calls f, row by row, with the cells of every data row of the CSV
// at path under the given headers (blank where a header is missing; the
// first column of a header that is there twice), without holding the file
// in memory. A file without a header row has no rows.
func EachRow(path string, headers []string, f func(row []string)) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	r := csv.NewReader(file)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	idx := make([]int, len(headers))
	for i, h := range headers {
		idx[i] = slices.Index(head, h)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		row := make([]string, len(headers))
		for i, j := range idx {
			if j >= 0 && j < len(rec) {
				row[i] = rec[j]
			}
		}
		f(row)
	}
}
