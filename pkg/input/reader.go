// Package input reads the prospects CSV of flowenroll one row at a time: it
// finds the canonical columns in the header row (aliases, --map), validates
// each row and reports it as a Prospect to enroll or a Rejection for
// failed.csv, each with the input line where the row starts.
//
// Memory does not grow with the number of rows: rows are streamed with
// encoding/csv and a Prospect keeps only its own four values, not the row.
package input

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/mail"
	"strings"
)

// Rejection codes, the errorCode of stage "input" in failed.csv.
const (
	CodeMissingValue  = "MissingValue"
	CodeInvalidFlowID = "InvalidFlowId"
	CodeInvalidEmail  = "InvalidEmail"
	CodeMalformedRow  = "MalformedRow"
)

// maxFlowIDDigits bounds a flow ID: Gong's IDs are 64-bit, at most 20 digits.
const maxFlowIDDigits = 20

// Prospect is a valid row: one prospect to enroll in one flow.
type Prospect struct {
	Line          int // input line where the row starts; the header is line 1
	CRMProspectID string
	// FlowID is digits, kept as a string (19-digit IDs do not survive a
	// float); "" when the row names the flow by FlowName only. When both are
	// given, FlowID is the flow and FlowName is informational.
	FlowID     string
	FlowName   string
	OwnerEmail string // as written (trimmed); callers compare case-insensitively
}

// Rejection is a row that failed validation (stage "input" in failed.csv).
type Rejection struct {
	Line int
	// The cells as far as they could be read, cleaned like a Prospect's, so
	// that the row can be fixed and fed back.
	CRMProspectID string
	FlowID        string
	FlowName      string
	OwnerEmail    string
	Column        string // canonical column at fault; "" for a malformed row
	Code          string // one of the Code constants
	// Message names the file, line, column and header, e.g.
	// `prospects.csv:12: column flowInstanceOwnerEmail ("Owner Email"): "bob@" is not an email address`.
	Message string
}

// Options configure a Reader.
type Options struct {
	Name string // shown in messages: the file path, or "stdin"; "input" if empty
	// Map maps canonical column names to headers in the file (the --map flag,
	// see ParseMap). It overrides the aliases.
	Map map[string]string
	// MaxRowBytes bounds one row; 0 means DefaultMaxRowBytes. A longer row
	// is a fatal error.
	MaxRowBytes int
}

// Reader reads prospects from a CSV stream. It is not safe for concurrent
// use.
type Reader struct {
	name    string
	csv     *csv.Reader
	limit   *rowLimiter
	header  []string        // header cells, trimmed
	idx     [numColumns]int // cell index of each column, -1 if absent
	lastEnd int             // line where the last record read ends
	owners  map[string]bool // owner cell -> isEmail, see ownerOK
	err     error           // sticky: io.EOF or the fatal error
}

// NewReader returns a Reader over r. It reads the header row now: an empty
// input is an error, and a header that lacks a required column or names one
// ambiguously is a *HeaderError.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	name := opts.Name
	if name == "" {
		name = "input"
	}
	if err := checkMap(opts.Map); err != nil {
		return nil, err
	}
	maxRow := opts.MaxRowBytes
	if maxRow <= 0 {
		maxRow = DefaultMaxRowBytes
	}
	cr, lim, err := newCSVReader(r, maxRow)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the header row: %w", name, err)
	}
	lim.startRow()
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: the file is empty: it needs a header row", name)
	}
	if err != nil {
		if pe, ok := recoverable(err); ok {
			return nil, fmt.Errorf("%s:%d: malformed header row (line %d, byte %d): %w", name, pe.StartLine, pe.Line, pe.Column, pe.Err)
		}
		return nil, fmt.Errorf("%s: reading the header row: %w", name, err)
	}
	line, _ := cr.FieldPos(0)
	header := make([]string, len(rec))
	for i, h := range rec {
		header[i] = strings.TrimSpace(h)
	}
	idx, err := matchHeader(name, line, header, opts.Map)
	if err != nil {
		return nil, err
	}
	rd := &Reader{name: name, csv: cr, limit: lim, header: header, idx: idx}
	rd.noteEnd(rec)
	return rd, nil
}

// Columns returns the header used for each canonical column found
// (canonical -> header as written in the file, trimmed).
func (r *Reader) Columns() map[string]string {
	m := map[string]string{}
	for c, i := range r.idx {
		if i >= 0 {
			m[column(c).String()] = r.header[i]
		}
	}
	return m
}

// Next returns the next row: a valid Prospect (with a nil Rejection and a
// nil error), or a Rejection (with a nil error), or an error: io.EOF after
// the last row, or a fatal error that names the file and line, after which
// the Reader is done. Rows whose cells are all blank are skipped, as blank
// lines are.
func (r *Reader) Next() (Prospect, *Rejection, error) {
	if r.err != nil {
		return Prospect{}, nil, r.err
	}
	for {
		r.limit.startRow()
		rec, err := r.csv.Read()
		if err == io.EOF {
			r.err = io.EOF
			return Prospect{}, nil, r.err
		}
		if err != nil {
			if pe, ok := recoverable(err); ok {
				r.lastEnd = pe.Line
				return Prospect{}, r.malformed(rec, pe), nil
			}
			if len(rec) > 0 {
				line, _ := r.csv.FieldPos(0)
				r.err = fmt.Errorf("%s:%d: %w", r.name, line, err)
			} else {
				// Not one field of the row was read, so encoding/csv
				// cannot say where it starts (blank lines may precede it).
				r.err = fmt.Errorf("%s: after line %d: %w", r.name, r.lastEnd, err)
			}
			return Prospect{}, nil, r.err
		}
		line, _ := r.csv.FieldPos(0)
		r.noteEnd(rec)
		if blank(rec) {
			continue
		}
		p, rej := r.check(line, rec)
		return p, rej, nil
	}
}

// noteEnd records the line where rec, just read, ends: the line of its last
// field plus the line breaks inside that field.
func (r *Reader) noteEnd(rec []string) {
	last := len(rec) - 1
	line, _ := r.csv.FieldPos(last)
	r.lastEnd = line + strings.Count(rec[last], "\n")
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// clean trims a cell and undoes the formula neutralisation flowenroll
// applies to its own output ("'=x" was written for "=x"), so failed.csv can
// be fed back as input.
func clean(cell string) string {
	s := strings.TrimSpace(cell)
	if len(s) >= 2 && s[0] == '\'' && strings.IndexByte("=+-@", s[1]) >= 0 {
		s = s[1:]
	}
	return s
}

// cells is one row's values for the canonical columns.
type cells [numColumns]string

func (r *Reader) cells(rec []string) cells {
	var v cells
	for c, i := range r.idx {
		if i >= 0 && i < len(rec) {
			v[c] = clean(rec[i])
		}
	}
	return v.detach()
}

// detach copies the values out of the record they were sliced from, in one
// allocation, so that a Prospect held downstream does not pin the whole row
// (every other column of the export) in memory.
func (v cells) detach() cells {
	n := 0
	for _, s := range v {
		n += len(s)
	}
	if n == 0 {
		return v
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range v {
		b.WriteString(s)
	}
	all := b.String()
	for c, s := range v {
		v[c], all = all[:len(s)], all[len(s):]
	}
	return v
}

func (r *Reader) check(line int, rec []string) (Prospect, *Rejection) {
	v := r.cells(rec)
	reject := func(c column, code, detail string) *Rejection {
		return &Rejection{
			Line:          line,
			CRMProspectID: v[colID],
			FlowID:        v[colFlowID],
			FlowName:      v[colFlowName],
			OwnerEmail:    v[colOwner],
			Column:        c.String(),
			Code:          code,
			Message:       fmt.Sprintf("%s:%d: %s: %s", r.name, line, r.describe(c), detail),
		}
	}
	missing := func(c column) string {
		if i := r.idx[c]; i >= len(rec) {
			return fmt.Sprintf("missing value (the row has %d cells, the header %d)", len(rec), len(r.header))
		}
		return "missing value"
	}

	if v[colID] == "" {
		return Prospect{}, reject(colID, CodeMissingValue, missing(colID))
	}
	switch {
	case v[colFlowID] == "" && v[colFlowName] == "":
		c := colFlowID
		if r.idx[colFlowID] < 0 {
			c = colFlowName
		}
		rej := reject(c, CodeMissingValue, missing(c))
		if r.idx[colFlowID] >= 0 && r.idx[colFlowName] >= 0 {
			rej.Message = fmt.Sprintf("%s:%d: %s or %s: %s", r.name, line, r.describe(colFlowID), r.describe(colFlowName), missing(c))
		}
		return Prospect{}, rej
	case v[colFlowID] != "" && !isFlowID(v[colFlowID]):
		return Prospect{}, reject(colFlowID, CodeInvalidFlowID, flowIDProblem(v[colFlowID]))
	}
	switch {
	case v[colOwner] == "":
		return Prospect{}, reject(colOwner, CodeMissingValue, missing(colOwner))
	case !r.ownerOK(v[colOwner]):
		return Prospect{}, reject(colOwner, CodeInvalidEmail, fmt.Sprintf("%q is not an email address", v[colOwner]))
	}
	return Prospect{
		Line:          line,
		CRMProspectID: v[colID],
		FlowID:        v[colFlowID],
		FlowName:      v[colFlowName],
		OwnerEmail:    v[colOwner],
	}, nil
}

// describe names a column for a message: `column flowId ("Flow ID")`, or
// just `column flowId` when the header is the canonical name.
func (r *Reader) describe(c column) string {
	h := r.header[r.idx[c]]
	if h == c.String() {
		return "column " + c.String()
	}
	return fmt.Sprintf("column %s (%q)", c, h)
}

func (r *Reader) malformed(rec []string, pe *csv.ParseError) *Rejection {
	v := r.cells(rec)
	hint := ""
	switch pe.Err {
	case csv.ErrBareQuote:
		hint = `; a cell with a " in it must be quoted, the " doubled: "5"" screen"`
	case csv.ErrQuote:
		hint = `; a quoted cell must end with " followed by a comma or the end of the line`
	}
	return &Rejection{
		Line:          pe.StartLine,
		CRMProspectID: v[colID],
		FlowID:        v[colFlowID],
		FlowName:      v[colFlowName],
		OwnerEmail:    v[colOwner],
		Code:          CodeMalformedRow,
		Message:       fmt.Sprintf("%s:%d: malformed CSV (line %d, byte %d): %v%s", r.name, pe.StartLine, pe.Line, pe.Column, pe.Err, hint),
	}
}

func isFlowID(s string) bool {
	return s != "" && len(s) <= maxFlowIDDigits && allDigits(s)
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func flowIDProblem(s string) string {
	if strings.ContainsAny(s, "eE") && strings.Contains(s, "+") {
		// 1.23457E+18: the ID went through a spreadsheet as a number and
		// lost its last digits; it cannot be recovered from this cell.
		return fmt.Sprintf("%q is not a flow ID (digits only): a spreadsheet turned it into a number; format the column as text and export again", s)
	}
	if allDigits(s) {
		return fmt.Sprintf("%q is not a flow ID (digits only, at most %d)", s, maxFlowIDDigits)
	}
	return fmt.Sprintf("%q is not a flow ID (digits only)", s)
}

// maxOwnersCached bounds the owner cache: a file has a handful of owners,
// and one with more must not make the cache grow with the rows.
const maxOwnersCached = 1024

// ownerOK is isEmail, remembered per owner: net/mail's parser is most of the
// cost of a row, and the same few owners repeat on every row.
func (r *Reader) ownerOK(owner string) bool {
	if ok, seen := r.owners[owner]; seen {
		return ok
	}
	ok := isEmail(owner)
	if r.owners == nil {
		r.owners = map[string]bool{}
	}
	if len(r.owners) < maxOwnersCached {
		r.owners[owner] = ok
	}
	return ok
}

// isEmail accepts a bare address: "bob@example.com", not
// "Bob <bob@example.com>", and with a dot in the domain, which rules out
// typos like "bob@example".
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
