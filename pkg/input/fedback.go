package input

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// Result files of flowenroll, as resultKind names them.
const (
	resultAssigned    = "assigned.csv"
	resultFailed      = "failed.csv"
	resultUnprocessed = "unprocessed.csv"
)

// resultHeaders are the columns each result file starts with, as
// pkg/report writes them (TestResultHeadersMatchReport in pkg/report
// keeps the two in step).
func resultHeaders() map[string][]string {
	return map[string][]string{
		resultAssigned:    outcome.AssignedColumns(),
		resultFailed:      outcome.FailedColumns(),
		resultUnprocessed: outcome.UnprocessedColumns(),
	}
}

// resultKind names the result file a header row is that of, by its
// columns (a renamed file is recognised, a file that merely has a "line"
// column is not), or "".
func resultKind(header []string) string {
	for kind, cols := range resultHeaders() {
		if len(header) >= len(cols) && slices.Equal(header[:len(cols)], cols) {
			return kind
		}
	}
	return ""
}

// ResultHeader reports whether a header row is that of flowenroll's
// failed.csv or unprocessed.csv, whose rows keep their original line when
// fed back.
func ResultHeader(header []string) bool {
	k := resultKind(header)
	return k == resultFailed || k == resultUnprocessed
}

// AssignedFileError is NewReader's error for flowenroll's own assigned.csv
// given as input: its rows are in Gong already, and sending them again
// would only fail (or, in another flow, enroll people twice by mistake).
type AssignedFileError struct {
	Name string
	Line int // the header row
}

// Error says what the file is and what to give instead.
func (e *AssignedFileError) Error() string {
	return fmt.Sprintf("%s:%d: this is flowenroll's assigned.csv (its header is the result columns): its rows are already in Gong, in the flows it names, and are not sent again; "+
		"to retry the rows that were not assigned, give failed.csv, unprocessed.csv or results.xlsx; to put these prospects in another flow, copy their crmProspectId column into a new file", e.Name, e.Line)
}

// refuseResult refuses a header that is assigned.csv's.
func (r *Reader) refuseResult() error {
	if resultKind(r.header) == resultAssigned {
		return &AssignedFileError{Name: r.name, Line: r.headerLine}
	}
	return nil
}

// maxKeptLine bounds the original line numbers a fed-back file's rows
// keep (a bit each, 2 MiB at most): a larger one is no line flowenroll
// wrote.
const maxKeptLine = 1 << 24

// lineKeeper gives each row of a failed.csv or unprocessed.csv fed back
// as input the line its `line` column names, the row's line in the
// original upload, so that the new results match the old. A row without
// one (added by hand), or whose line an earlier row of the file took,
// gets base plus its own line instead, after every original line: lines
// stay unique, as the ledger needs them.
type lineKeeper struct {
	on   bool
	seen []uint64 // bit n: original line n taken
	base int      // the largest line the first pass gave, see Survey
}

func newLineKeeper(header []string) lineKeeper { return lineKeeper{on: ResultHeader(header)} }

// original returns the line of a fed-back row whose record starts on
// line phys, and 0 when the file is not a fed-back result file.
func (k *lineKeeper) original(fields []string, phys int) int {
	if !k.on {
		return 0
	}
	if len(fields) > 0 {
		n, err := strconv.Atoi(strings.TrimSpace(fields[0]))
		if err == nil && n > 0 && n <= maxKeptLine {
			w, bit := n/64, uint64(1)<<(n%64)
			if w >= len(k.seen) {
				k.seen = append(k.seen, make([]uint64, w+1-len(k.seen))...)
			}
			if k.seen[w]&bit == 0 {
				k.seen[w] |= bit
				return n
			}
		}
	}
	return k.base + phys
}

// inputBlank reports whether a fed-back row has nothing in its input
// cells (a BlankRow of failed.csv fed back as it was): only its outcome
// columns are filled.
func (r *Reader) inputBlank(fields []string) bool {
	for i, f := range fields {
		if strings.TrimSpace(f) != "" && (i >= len(r.header) || !resultOnly(r.header[i])) {
			return false
		}
	}
	return true
}
