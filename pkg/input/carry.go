package input

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// InputPrefix is put before the header of a carried column whose name
// clashes with a column of the result files, so that "stage" from a CRM
// export is written as "input.stage" next to flowenroll's own "stage".
const InputPrefix = "input."

// ResultColumns returns every column flowenroll's result files write
// before the carried ones (assigned.csv's, failed.csv's and
// unprocessed.csv's, each once): a carried header that clashes with one
// of them gets InputPrefix.
func ResultColumns() []string {
	var all []string
	for _, cols := range [][]string{outcome.AssignedColumns(), outcome.FailedColumns(), outcome.UnprocessedColumns()} {
		for _, c := range cols {
			if !slices.Contains(all, c) {
				all = append(all, c)
			}
		}
	}
	return all
}

// resultOnly reports whether h is a column a result file writes about the
// outcome of a row, which is no input when that file is fed back.
func resultOnly(h string) bool {
	switch h {
	case outcome.ColCRMProspectID, outcome.ColFlowID, outcome.ColOwnerEmail, outcome.ColFlowName:
		return false
	}
	return slices.Contains(ResultColumns(), h)
}

// isResultHeader reports whether a header row is that of one of
// flowenroll's own result files (failed.csv, unprocessed.csv,
// assigned.csv): they all start with "line,crmProspectId".
func isResultHeader(header []string) bool {
	return len(header) >= 2 && header[0] == "line" && header[1] == ColCRMProspectID
}

// clashes reports whether a carried header would be taken for a result
// column, by a person or by the header matching (case, spaces, '_' and '-'
// ignored).
func clashes(h string) bool {
	n := normalize(h)
	for _, c := range ResultColumns() {
		if n == normalize(c) {
			return true
		}
	}
	return false
}

// carried is which cells of a row the result files carry, and under which
// headers.
type carried struct {
	idx     []int    // cell index of each carried column, in header order
	headers []string // their headers in the result files
	width   int      // cells in the header row
	// fedBack is set for a result file fed back as input: its outcome
	// columns are not carried, "input.X" is carried as X again, and the
	// formula guard flowenroll put before a cell is taken off.
	fedBack bool
}

// carryColumns picks the columns to carry: every one the canonical columns
// do not use.
func carryColumns(header []string, idx [numColumns]int) carried {
	c := carried{width: len(header), fedBack: isResultHeader(header)}
	used := make([]bool, len(header))
	for _, i := range idx {
		if i >= 0 {
			used[i] = true
		}
	}
	for i, h := range header {
		if used[i] || c.fedBack && resultOnly(h) {
			continue
		}
		name := h
		if c.fedBack {
			name = strings.TrimPrefix(h, InputPrefix)
		}
		if clashes(name) {
			name = InputPrefix + name
		}
		c.idx = append(c.idx, i)
		c.headers = append(c.headers, name)
	}
	return c
}

// cells returns the carried cells of a record, padded with "" where the
// record is short. They are slices of the record's one string, which the
// scanner makes anew for each record: the carried cells are most of a row,
// so copying them out would cost an allocation per row and save little.
func (c *carried) cells(fields []string, fedBack bool) []string {
	if len(c.idx) == 0 {
		return nil
	}
	out := make([]string, len(c.idx))
	for k, i := range c.idx {
		if i < len(fields) {
			out[k] = fields[i]
			if fedBack {
				out[k] = unguard(out[k])
			}
		}
	}
	return out
}

// unguard takes off the "'" flowenroll writes before a cell that a
// spreadsheet would run as a formula.
func unguard(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.IndexByte("=+-@", s[1]) >= 0 {
		return s[1:]
	}
	return s
}

// ExtraHeaders returns the headers of the carried columns, the cells of
// Prospect.Extra and Rejection.Extra: every column of the input that is
// not a canonical one, in file order, under its own header, or with
// InputPrefix when it clashes with a result column (ResultColumns). For a
// result file fed back as input, its outcome columns (line, stage,
// errorCode, requestId...) are left out and "input.X" is X again.
func (r *Reader) ExtraHeaders() []string {
	return append([]string(nil), r.carry.headers...)
}

// maxBlankRuns bounds the blank rows a Reader holds back while it does not
// yet know whether a real row follows them. Consecutive blank lines take
// one run; a file that alternates blank rows with empty lines past the
// bound has its blank rows returned as BlankRow rows, trailing or not.
const maxBlankRuns = 4096

// blankQueue holds the blank rows read since the last real row, as runs of
// one-line records on consecutive lines.
type blankQueue struct {
	runs     []blankRun
	flushing bool // the rows are being returned
}

type blankRun struct {
	first, last int  // lines where the records of the run start
	multi       bool // one record over lines first..last
}

func (q *blankQueue) push(start, end int) {
	if n := len(q.runs); n > 0 && start == end && !q.runs[n-1].multi && q.runs[n-1].last == start-1 {
		q.runs[n-1].last = start
		return
	}
	q.runs = append(q.runs, blankRun{first: start, last: end, multi: end > start})
	if len(q.runs) > maxBlankRuns {
		q.flushing = true
	}
}

// pop returns the first and last line of the next blank row to return,
// once flush has been called (or the bound reached).
func (q *blankQueue) pop() (start, end int, ok bool) {
	if !q.flushing || len(q.runs) == 0 {
		q.flushing = false
		return 0, 0, false
	}
	r := &q.runs[0]
	start, end = r.first, r.first
	switch {
	case r.multi:
		end = r.last
		q.runs = q.runs[1:]
	case r.first == r.last:
		q.runs = q.runs[1:]
	default:
		r.first++
	}
	if len(q.runs) == 0 {
		q.runs = nil
	}
	return start, end, true
}

// flush makes pop return the queued rows.
func (q *blankQueue) flush() { q.flushing = true }

func (q *blankQueue) len() int { return len(q.runs) }

// ctxReader fails its reads once ctx is done: a read of an endless input
// (/dev/zero, a pipe) stops at the next block.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
