package console

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/outcome"

	"github.com/flowenroll/flowenroll/pkg/report"
)

// RowPage is a page of failed.csv, with the count of rows by code.
type RowPage struct {
	Total  int            `json:"total"` // rows matching the filter
	ByCode map[string]int `json:"byCode"`
	Rows   []store.RowRef `json:"rows"`
	// Fixes says, for each code, what a person does about it.
	Fixes map[string]string `json:"fixes,omitempty"`
}

// readRows reads failed.csv at path: the rows whose errorCode is code (all
// if code is ""), from offset, at most limit of them (0: all).
func readRows(path, code string, offset, limit int) (RowPage, error) {
	page := RowPage{ByCode: map[string]int{}, Rows: []store.RowRef{}}
	err := store.EachRow(path, rowColumns(), func(rec []string) {
		ref := rowRef(rec)
		page.ByCode[ref.Code]++
		if code != "" && ref.Code != code {
			return
		}
		page.Total++
		if page.Total > offset && (limit == 0 || len(page.Rows) < limit) {
			page.Rows = append(page.Rows, ref)
		}
	})
	if errors.Is(err, os.ErrNotExist) {
		return page, nil
	}
	return page, err
}

// rowColumns are the columns of failed.csv a RowRef shows, in rowRef's order.
func rowColumns() []string {
	return []string{outcome.ColLine, outcome.ColCRMProspectID, outcome.ColFlowID, outcome.ColFlowName,
		outcome.ColOwnerEmail, outcome.ColStage, outcome.ColErrorCode, outcome.ColErrorMessage}
}

// rowRef is a row of failed.csv, its cells under rowColumns.
func rowRef(rec []string) store.RowRef {
	for i := range rec {
		rec[i] = report.Unguard(rec[i])
	}
	line, _ := strconv.Atoi(rec[0])
	return store.RowRef{
		Line: line, CRMProspectID: rec[1], FlowID: rec[2], FlowName: rec[3], Owner: rec[4],
		Stage: rec[5], Code: rec[6], Message: rec[7],
	}
}

// retryColumns are the columns a retry takes from failed.csv and
// unprocessed.csv: every column of either, in order. The reader knows a
// result file's header, leaves its outcome columns out and reads the
// canonical and carried columns, so the retry keeps the person's columns.
func retryColumns(outDir string) []string {
	var cols []string
	seen := map[string]bool{}
	for _, name := range []string{worker.FailedFile, worker.UnprocessedFile} {
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
// returns the number of rows. Each row is written on the line it had in
// the original upload (empty lines, which are no rows, fill the gaps), so
// that the retry's files and fixes speak of the same line numbers. Blank
// rows are left out: there is nothing in them to send again. So are rows
// in doubt that continuing the run settles (see retryRows).
func writeRetryInput(outDir, path string) (retryRows, error) {
	var got retryRows
	cols := retryColumns(outDir)
	var recs [][]string
	for _, name := range []string{worker.FailedFile, worker.UnprocessedFile} {
		read, err := store.ReadColumns(filepath.Join(outDir, name), cols)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return got, err
		}
		recs = append(recs, read...)
	}
	lineAt, codeAt := slices.Index(cols, outcome.ColLine), slices.Index(cols, outcome.ColErrorCode)
	lineOf := func(rec []string) int {
		if lineAt < 0 {
			return 0
		}
		n, _ := strconv.Atoi(rec[lineAt])
		return n
	}
	reasonAt, crmAt := slices.Index(cols, outcome.ColReason), slices.Index(cols, outcome.ColCRMProspectID)
	recs = slices.DeleteFunc(recs, func(rec []string) bool {
		if reasonAt < 0 || rec[reasonAt] == "" {
			return codeAt >= 0 && rec[codeAt] == outcome.CodeBlankRow
		}
		switch person := crmAt < 0 || rec[crmAt] == ""; {
		case rec[reasonAt] == outcome.ReasonBulkPending, rec[reasonAt] == outcome.ReasonInDoubt && !person:
			got.LeftInDoubt++
			return true
		case rec[reasonAt] == outcome.ReasonInDoubt:
			got.PeopleInDoubt++
		}
		return false
	})
	slices.SortStableFunc(recs, func(a, b []string) int { return lineOf(a) - lineOf(b) })
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	at := 1 // the line the next record starts on
	write := func(rec []string) error {
		if err := w.Write(rec); err != nil {
			return err
		}
		w.Flush()
		return w.Error()
	}
	if err := write(cols); err != nil {
		return got, err
	}
	at = 1 + bytes.Count(buf.Bytes(), []byte("\n"))
	for _, rec := range recs {
		for l := lineOf(rec); at < l; at++ {
			buf.WriteByte('\n')
		}
		before := buf.Len()
		if err := write(rec); err != nil {
			return got, err
		}
		at += bytes.Count(buf.Bytes()[before:], []byte("\n"))
	}
	got.Rows = len(recs)
	return got, fsguard.WriteBytes(path, buf.Bytes())
}

// failedPath is the run's failed.csv: the run's, or before it started the
// check's.
func (s *Server) failedPath(id string) string {
	p := filepath.Join(s.st.OutDir(id), worker.FailedFile)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join(s.st.RunDir(id), store.CheckDir, worker.FailedFile)
}

// retryRows counts what a retry takes from its run. LeftInDoubt are rows
// left out because continuing the run settles them: sent by CRM ID with no
// answer yet (the run reads them back), or in a bulk job Gong accepted
// (the run reads it again); a new run would send them again. PeopleInDoubt
// are taken: people of a bulk request that got no answer, which nothing
// can read back, so no run settles them; sending them again is the
// person's choice, as --resend-in-doubt is on the command line, and the
// check says so before Start.
type retryRows struct {
	Rows, LeftInDoubt, PeopleInDoubt int
}
