package console

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/flowenroll/flowenroll/pkg/report"
)

// RowPage is a page of failed.csv, with the count of rows by code.
type RowPage struct {
	Total  int            `json:"total"` // rows matching the filter
	ByCode map[string]int `json:"byCode"`
	Rows   []RowRef       `json:"rows"`
	// Fixes says, for each code, what a person does about it.
	Fixes map[string]string `json:"fixes,omitempty"`
}

// ReadRows reads failed.csv at path: the rows whose errorCode is code (all
// if code is ""), from offset, at most limit of them (0: all).
func ReadRows(path, code string, offset, limit int) (RowPage, error) {
	page := RowPage{ByCode: map[string]int{}, Rows: []RowRef{}}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return page, nil
	}
	if err != nil {
		return page, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return page, nil
	}
	if err != nil {
		return page, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	col := columnIndex(head)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return page, nil
		}
		if err != nil {
			return page, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		ref := rowRef(rec, col)
		page.ByCode[ref.Code]++
		if code != "" && ref.Code != code {
			continue
		}
		page.Total++
		if page.Total > offset && (limit == 0 || len(page.Rows) < limit) {
			page.Rows = append(page.Rows, ref)
		}
	}
}

func columnIndex(head []string) map[string]int {
	col := make(map[string]int, len(head))
	for i, h := range head {
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	return col
}

func rowRef(rec []string, col map[string]int) RowRef {
	cell := func(name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return report.Unguard(rec[i])
		}
		return ""
	}
	line, _ := strconv.Atoi(cell("line"))
	return RowRef{
		Line: line, CRMProspectID: cell("crmProspectId"), FlowID: cell("flowId"), FlowName: cell("flowName"), Owner: cell("flowInstanceOwnerEmail"),
		Stage: cell("stage"), Code: cell("errorCode"), Message: cell("errorMessage"),
	}
}

// retryColumns are the columns a retry takes from failed.csv and
// unprocessed.csv: every column of either, in order. The reader knows a
// result file's header, leaves its outcome columns out and reads the
// canonical and carried columns, so the retry keeps the person's columns.
func retryColumns(outDir string) []string {
	var cols []string
	seen := map[string]bool{}
	for _, name := range []string{FailedFile, UnprocessedFile} {
		f, err := os.Open(filepath.Join(outDir, name))
		if err != nil {
			continue
		}
		head, _ := csv.NewReader(f).Read()
		f.Close()
		for _, h := range head {
			if !seen[h] {
				seen[h] = true
				cols = append(cols, h)
			}
		}
	}
	return cols
}

// writeRetryInput writes to path a CSV of the rows of failed.csv and
// unprocessed.csv in outDir, as a person would upload them again; it
// returns the number of rows.
func writeRetryInput(outDir, path string) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	w := csv.NewWriter(f)
	cols := retryColumns(outDir)
	if err := w.Write(cols); err != nil {
		f.Close()
		return 0, err
	}
	n := 0
	for _, name := range []string{FailedFile, UnprocessedFile} {
		k, err := copyCSVColumns(filepath.Join(outDir, name), cols, w)
		n += k
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			f.Close()
			return n, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return n, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return n, err
	}
	return n, f.Close()
}

// copyCSVColumns appends to w, for every data row of the CSV at path, the
// cells under the given headers (blank where a header is missing). It is how
// a retry gathers rows from failed.csv and unprocessed.csv.
func copyCSVColumns(path string, headers []string, w *csv.Writer) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	idx := make([]int, len(headers))
	for i, h := range headers {
		idx[i] = -1
		for j, got := range head {
			if got == h {
				idx[i] = j
			}
		}
	}
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		out := make([]string, len(headers))
		for i, j := range idx {
			if j >= 0 && j < len(rec) {
				out[i] = rec[j]
			}
		}
		if err := w.Write(out); err != nil {
			return n, err
		}
		n++
	}
}
