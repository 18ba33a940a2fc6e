// Package input reads the prospects CSV of flowenroll one row at a time: it
// decodes the bytes (UTF-8, UTF-16, Windows-1252), finds the delimiter and
// the canonical columns in the header row (aliases, --map), validates each
// row and reports it as a Prospect to enroll or a Rejection for failed.csv,
// each with the input line where the row starts.
//
// It reads what spreadsheets and CRM reports really export, and says when a
// spreadsheet has already damaged an ID (1.69549E+18, 12345.0, a rounded
// flow ID, a Salesforce ID whose case changed, lost leading zeros), and how
// to export the file again.
//
// Every other column of the file is carried with each row (Extra, under
// ExtraHeaders), for the result files to show next to each outcome; a
// result file of flowenroll's fed back as input reads as the input it came
// from. An Excel workbook is read through WorkbookToCSV.
//
// Memory does not grow with the number of rows: rows are streamed, a
// Prospect keeps only its own values and carried cells, not the Reader's
// buffers, and a Survey keeps at most a bounded set of IDs.
package input

import (
	"context"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// maxFlowIDDigits bounds a flow ID: Gong's IDs are 64-bit, at most 20 digits.
const maxFlowIDDigits = 20

// Prospect is a valid row: one prospect to enroll in one flow.
type Prospect struct {
	Line int // input line where the row starts; the header is line 1
	// CRMProspectID is the ID as written, or with Options.CRM "salesforce"
	// always the 18-character form.
	CRMProspectID string
	// FlowID is digits, kept as a string (19-digit IDs do not survive a
	// float); "" when the row names the flow by FlowName only. When both are
	// given, FlowID is the flow and FlowName is informational.
	FlowID     string
	FlowName   string
	OwnerEmail string // as written (trimmed); callers compare case-insensitively
	// OwnerName is the owner cell when Options.OwnerByName is set and the
	// cell is not an email address ("Jane Doe", as CRM exports write the
	// record owner); OwnerEmail is then "" until the caller resolves the
	// name to a Gong user (flows.Directory) and fills it in.
	OwnerName string
	// Extra holds the row's cells of the columns Reader.ExtraHeaders names,
	// in that order, as read (not trimmed), for the result files to carry.
	Extra []string
	// Person is set for a row without a CRM ID that names a person
	// (email, firstName, lastName): it goes through a bulk assignment.
	Person *outcome.Person
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
	Column        string // canonical column at fault; "" for a malformed or blank row
	Code          string // one of the Code constants
	// Message names the file, line, column and header, e.g.
	// `prospects.csv:12: column flowInstanceOwnerEmail ("Owner Email"): "bob@" is not an email address`.
	Message string
	// Extra is as in Prospect: the cells of Reader.ExtraHeaders, padded with
	// "" or cut to the header's width for a malformed row.
	Extra []string
}

// Options configure a Reader.
type Options struct {
	Name string // shown in messages: the file path, or "stdin"; "input" if empty
	// Map maps canonical column names to headers in the file (the --map flag,
	// see ParseMap). It overrides the aliases.
	Map map[string]string
	// MaxRowBytes bounds one row; 0 means DefaultMaxRowBytes. A longer line
	// is a fatal error; a quoted cell open for longer is a malformed row.
	MaxRowBytes int
	// Encoding is the --encoding flag, see ParseEncoding: "" or "auto"
	// (detected), "utf-8", "utf-16le", "utf-16be" or "windows-1252".
	Encoding string
	// Delimiter is the --delimiter flag, see ParseDelimiter: "" or "auto"
	// (sniffed from the header line), ",", ";", "tab" or "|".
	Delimiter string
	// CRM is the --crm flag, see ParseCRM: "" or "salesforce", which checks
	// crmProspectId as a Salesforce ID and extends 15-character IDs to 18.
	CRM string
	// Survey, from NewSurvey over the same input with the same Options,
	// turns on the checks that compare a row with the rest of the file.
	Survey *Survey
	// OwnerByName says the owner column may hold user names rather than
	// emails, as CRM exports write the record owner ("Contact owner": "Jane
	// Doe"): a cell without an "@" is then passed as Prospect.OwnerName, not
	// rejected as InvalidEmail. Survey.OwnerNames tells a caller whether a
	// file needs it.
	OwnerByName bool
	// Flow and Owner (the --flow and --owner flags) give every row without
	// that column, or with its cell blank, one value: a flow ID (digits) or
	// name, an owner's email or (without @) name. The column may then be
	// missing from the file.
	Flow, Owner string
	// HeaderRow (the --header-row flag, the console's headerRow) is the
	// line the header row starts on, for a file with title rows above
	// it; 0 finds it: the first row that names the columns needed (see
	// NewReader).
	HeaderRow int
	// Context, when set, stops the read: NewReader, Next, NewSurvey and
	// SurveyRows check it between rows and before every block they read,
	// and fail with an error wrapping its Err. It lives in Options, not in
	// the signatures, so that the existing callers keep compiling and a
	// Survey stops with the same Options as the read after it.
	Context context.Context
}

// Reader reads prospects from a CSV stream. It is not safe for concurrent
// use.
type Reader struct {
	name       string
	scan       *scanner
	format     Format
	crm        string
	survey     *Survey
	header     []string        // header cells, trimmed
	headerLine int             // where the header row starts
	idx        [numColumns]int // cell index of each column, -1 if absent
	person     personCols      // cell index of each person column (person.go)
	lastEnd    int             // line where the last record read ends
	owners     map[string]bool // owner cell -> isEmail, see ownerOK
	// observe, set by NewSurvey, takes each well-formed row, which is
	// validated only when validate is set.
	observe    func(line int, v cells)
	validate   bool
	noteRecord func(rec *record, headerCells int)
	err        error // sticky: io.EOF or the fatal error

	carry       carried
	ownerByName bool
	flow, owner string          // defaults for blank cells, see Options.Flow
	done        <-chan struct{} // Options.Context's, or nil
	ctx         context.Context
	blanks      blankQueue // blank rows not yet known to be followed by a real row
	held        *heldRow   // the row read after them, returned once they are
	trailing    int        // blank rows after the last real row, not returned
	// lines keeps the original lines of a fed-back result file; orig is
	// the original line of the row read() returned last (0: its own), and
	// retLine the line its record starts on, of the row Next returned last.
	lines   lineKeeper
	orig    int
	retLine int
	titles  int // rows above the header, see TitleRows
}

// heldRow is a row read while blank rows before it wait to be returned.
type heldRow struct {
	p    Prospect
	rej  *Rejection
	end  int // the line where it ends
	orig int // its original line, see lineKeeper
}

// NewReader returns a Reader over r. It reads the header row now: an empty
// input, or one that is not CSV text (*NotCSVError), is an error, and a
// header that lacks a required column or names one ambiguously is a
// *HeaderError. Bad Options values are errors too; the Parse functions
// check them earlier, as flags.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	name := opts.Name
	if name == "" {
		name = "input"
	}
	if err := checkMap(opts.Map); err != nil {
		return nil, err
	}
	enc, err := ParseEncoding(opts.Encoding)
	if err != nil {
		return nil, err
	}
	delim, err := ParseDelimiter(opts.Delimiter)
	if err != nil {
		return nil, err
	}
	crm, err := ParseCRM(opts.CRM)
	if err != nil {
		return nil, err
	}
	maxRow := opts.MaxRowBytes
	if maxRow <= 0 {
		maxRow = DefaultMaxRowBytes
	}
	if opts.Context != nil {
		r = &ctxReader{ctx: opts.Context, r: r}
	}
	text, format, err := decode(name, r, enc)
	if err != nil {
		return nil, err
	}
	var comma byte
	if delim != DelimiterAuto {
		comma = delimiterByte(delim)
	}
	if opts.HeaderRow < 0 {
		return nil, fmt.Errorf("header row %d: rows are numbered from 1", opts.HeaderRow)
	}
	rd := &Reader{name: name, scan: newScanner(text, comma, maxRow), format: format, crm: crm, survey: opts.Survey, ownerByName: opts.OwnerByName || (opts.Owner != "" && !strings.Contains(opts.Owner, "@")),
		flow: strings.TrimSpace(opts.Flow), owner: strings.TrimSpace(opts.Owner)}
	if opts.Context != nil {
		rd.ctx, rd.done = opts.Context, opts.Context.Done()
	}
	if err := rd.findHeader(opts, comma == 0); err != nil {
		return nil, err
	}
	rd.format.Delimiter = delimiterString(rd.scan.comma)
	if err := rd.refuseResult(); err != nil {
		return nil, err
	}
	rd.carry = carryColumns(rd.header, rd.idx)
	rd.lines = newLineKeeper(rd.header)
	if opts.Survey != nil {
		rd.lines.base = opts.Survey.maxLine
	}
	rd.person = findPerson(rd.header, rd.idx)
	return rd, nil
}

// controls describes the control bytes of a record that is not text.
func controls(rec *record) string {
	switch {
	case rec.nul > 0 && rec.ctl > 0:
		return fmt.Sprintf("%d zero bytes and %d other control characters", rec.nul, rec.ctl)
	case rec.nul > 0:
		return fmt.Sprintf("%d zero bytes", rec.nul)
	}
	return fmt.Sprintf("%d control characters", rec.ctl)
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

// Format returns the encoding and delimiter the Reader reads the file
// with.
func (r *Reader) Format() Format { return r.format }

// Next returns the next row: a valid Prospect (with a nil Rejection and a
// nil error), or a Rejection (with a nil error), or an error: io.EOF after
// the last row, or a fatal error that names the file and line, after which
// the Reader is done. A file with no row after its header ends with io.EOF
// at once: a run with nothing to do. One that turns out not to be text
// ends with a *NotCSVError.
//
// Empty lines are not rows. A row whose cells are all blank (",,,", as a
// spreadsheet writes an emptied row, also after the last real row, where
// Excel writes them for formatted cells left empty) is a Rejection with
// code BlankRow: every row of the file is accounted for.
func (r *Reader) Next() (Prospect, *Rejection, error) {
	for {
		if start, end, ok := r.blanks.pop(); ok {
			if r.err == io.EOF {
				r.trailing++ // after the last real row
			}
			r.lastEnd, r.retLine = end, start
			return Prospect{}, r.blankRow(start), nil
		}
		if h := r.held; h != nil {
			r.held, r.lastEnd = nil, h.end
			return r.original(h.p, h.rej, h.orig)
		}
		if r.err != nil {
			return Prospect{}, nil, r.err
		}
		p, rej, err := r.read()
		switch {
		case err == nil && rej == nil && p.Line == 0:
			continue // a blank row, queued
		case err == io.EOF:
			// Blank rows after the last real row are rows too (the
			// contract: a row of blank cells is BlankRow), returned before
			// the end.
			r.blanks.flush()
			r.err = io.EOF
			continue
		case err != nil:
			r.err = err
			continue
		case r.blanks.len() > 0:
			// The blank rows before this one are gaps: return them first.
			r.held = &heldRow{p: p, rej: rej, end: r.lastEnd, orig: r.orig}
			r.blanks.flush()
			continue
		}
		return r.original(p, rej, r.orig)
	}
}

// original notes the line the row starts on (retLine) and gives it its
// original line, if it has one: messages keep naming the line of the
// file read, the row's Line is the one of the first upload.
func (r *Reader) original(p Prospect, rej *Rejection, orig int) (Prospect, *Rejection, error) {
	if rej != nil {
		r.retLine = rej.Line
		if orig > 0 {
			rej.Line = orig
		}
		return p, rej, nil
	}
	r.retLine = p.Line
	if orig > 0 {
		p.Line = orig
	}
	return p, nil, nil
}

// TrailingBlankRows returns how many blank rows (",,,") followed the last
// real row (each also returned as a BlankRow Rejection); it is final once
// Next has returned io.EOF.
func (r *Reader) TrailingBlankRows() int { return r.trailing }

// read reads the next record and makes it a row. A blank row is queued in
// r.blanks, and read returns the zero values; io.EOF or a fatal error end
// the read.
func (r *Reader) read() (Prospect, *Rejection, error) {
	for {
		if err := r.stopped(); err != nil {
			return Prospect{}, nil, err
		}
		rec, err := r.scan.next()
		if err == io.EOF {
			return Prospect{}, nil, io.EOF
		}
		if err != nil {
			if c := r.ctx; c != nil && c.Err() != nil {
				return Prospect{}, nil, fmt.Errorf("%s:%d: reading stopped: %w", r.name, r.scan.errLine, c.Err())
			}
			return Prospect{}, nil, fmt.Errorf("%s:%d: %w", r.name, r.scan.errLine, err)
		}
		if n := rec.nul + rec.ctl; n >= 8 && n*4 >= rec.size {
			return Prospect{}, nil, &NotCSVError{Name: r.name, Line: rec.start, Found: "binary data: " + controls(rec) + " on this line; the file is damaged or was not copied whole"}
		}
		r.lastEnd = rec.end
		if r.survey != nil && r.survey.Footer > 0 && rec.start >= r.survey.Footer {
			continue
		}
		r.orig = 0
		if !blank(rec.fields) {
			r.orig = r.lines.original(rec.fields, rec.start)
		}
		if r.noteRecord != nil && !blank(rec.fields) {
			r.noteRecord(rec, len(r.header))
		}
		if rec.syntax != nil {
			return Prospect{}, r.malformed(rec, r.syntaxDetail(rec)), nil
		}
		if blank(rec.fields) {
			r.blanks.push(rec.start, rec.end)
			return Prospect{}, nil, nil
		}
		if rec.nul > 0 {
			return Prospect{}, r.malformed(rec, r.nulDetail(rec)), nil
		}
		if r.lines.on && r.inputBlank(rec.fields) {
			// A BlankRow of failed.csv fed back as it was: blank still.
			return Prospect{}, r.blankRow(rec.start), nil
		}
		if detail := r.ragged(rec); detail != "" {
			if rec.multiLine() {
				r.scan.splitBack()
				r.lastEnd = rec.end
				detail += fmt.Sprintf("; only line %d is rejected, the lines after it are read as rows", rec.start)
			}
			return Prospect{}, r.malformed(rec, detail), nil
		}
		v := r.cells(rec.fields)
		if r.observe != nil {
			r.observe(rec.start, v)
			if !r.validate {
				return Prospect{Line: rec.start}, nil, nil
			}
		}
		p, rej := r.check(rec.start, v, r.person.of(rec.fields))
		if bad := r.refused(rec, v); bad != nil {
			p, rej = Prospect{}, bad
		}
		if rej != nil {
			rej.Extra = r.carry.cells(rec.fields, r.fedBack())
		} else {
			p.Extra = r.carry.cells(rec.fields, r.fedBack())
		}
		return p, rej, nil
	}
}

// stopped returns the error of a cancelled Options.Context, or nil.
func (r *Reader) stopped() error {
	if r.done == nil {
		return nil
	}
	select {
	case <-r.done:
		return fmt.Errorf("%s:%d: reading stopped: %w", r.name, r.lastEnd, r.ctx.Err())
	default:
		return nil
	}
}

func (r *Reader) fedBack() bool { return r.carry.fedBack }

// blankRow is the Rejection of the blank row at line start.
func (r *Reader) blankRow(start int) *Rejection {
	return &Rejection{
		Line:    start,
		Code:    outcome.CodeBlankRow,
		Message: fmt.Sprintf("%s:%d: blank row: every cell is empty; fill it in or delete the row", r.name, start),
		Extra:   r.carry.cells(nil, false),
	}
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
	v = v.detach()
	if r.flow != "" && v[colFlowID] == "" && v[colFlowName] == "" {
		if isFlowID(r.flow) {
			v[colFlowID] = r.flow
		} else {
			v[colFlowName] = r.flow
		}
	}
	if r.owner != "" && v[colOwner] == "" {
		v[colOwner] = r.owner
	}
	return v
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

func (r *Reader) check(line int, v cells, person *outcome.Person) (Prospect, *Rejection) {
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

	id := v[colID]
	if id == "" && person == nil {
		return Prospect{}, reject(colID, outcome.CodeMissingValue, "missing value")
	}
	if id != "" {
		person = nil // a row with a CRM ID is sent by it
	} else if code, detail := r.personProblem(person); code != "" {
		return Prospect{}, &Rejection{Line: line, FlowID: v[colFlowID], FlowName: v[colFlowName], OwnerEmail: v[colOwner],
			Column: ColEmail, Code: code, Message: fmt.Sprintf("%s:%d: %s", r.name, line, detail)}
	}
	if id == "" {
		// A person: Gong finds or creates the record (bulk assignment).
	} else if code, detail := numberDamage(id); code != "" {
		return Prospect{}, reject(colID, code, detail)
	}
	if padded, at, ok := r.survey.paddedForm(id); ok {
		return Prospect{}, reject(colID, outcome.CodeLeadingZerosLost, fmt.Sprintf("%q lost its leading zeros: line %d has the same ID as %q; a spreadsheet read the column as numbers; %s", id, at, padded, reexport))
	}
	if r.crm == CRMSalesforce {
		full, code, detail := salesforceID(id)
		if code != "" {
			return Prospect{}, reject(colID, code, detail)
		}
		id = full
	}

	flow := v[colFlowID]
	if flow == "" && v[colFlowName] == "" {
		c := colFlowID
		if r.idx[colFlowID] < 0 {
			c = colFlowName
		}
		rej := reject(c, outcome.CodeMissingValue, "missing value")
		if r.idx[colFlowID] >= 0 && r.idx[colFlowName] >= 0 {
			rej.Message = fmt.Sprintf("%s:%d: %s or %s: missing value", r.name, line, r.describe(colFlowID), r.describe(colFlowName))
		}
		return Prospect{}, rej
	}
	if flow != "" {
		if code, detail := numberDamage(flow); code != "" {
			return Prospect{}, reject(colFlowID, code, detail)
		}
		if !isFlowID(flow) {
			return Prospect{}, reject(colFlowID, outcome.CodeInvalidFlowID, flowIDProblem(flow))
		}
		if exact := r.survey.roundedFrom(flow); len(exact) > 0 {
			return Prospect{}, reject(colFlowID, outcome.CodeRoundedFlowID, r.roundedDetail(flow, exact))
		}
	}

	p := Prospect{Line: line, CRMProspectID: id, FlowID: flow, FlowName: v[colFlowName], OwnerEmail: v[colOwner], Person: person}
	switch owner := v[colOwner]; {
	case owner == "":
		return Prospect{}, reject(colOwner, outcome.CodeMissingValue, "missing value")
	case r.ownerByName && !strings.Contains(owner, "@"):
		p.OwnerEmail, p.OwnerName = "", owner
	case !r.ownerOK(owner):
		return Prospect{}, reject(colOwner, outcome.CodeInvalidEmail, fmt.Sprintf("%q is not an email address", owner))
	}
	return p, nil
}

// refused returns the Rejection of a row whose crmProspectId or flowId
// cell cannot hold an ID exactly (see refusedCell), or nil. It takes
// precedence over check's verdict: a rounded number may look like a valid
// ID, and its real fault is the cell.
func (r *Reader) refused(rec *record, v cells) *Rejection {
	for _, c := range [...]column{colID, colFlowID} {
		i := r.idx[c]
		if i < 0 || i >= len(rec.fields) {
			continue
		}
		var kind byte
		for _, m := range rec.marks {
			if m.cell == i {
				kind = m.kind
			}
		}
		if code, detail := refusedCell(kind, v[c]); code != "" {
			return &Rejection{
				Line: rec.start, CRMProspectID: v[colID], FlowID: v[colFlowID], FlowName: v[colFlowName], OwnerEmail: v[colOwner],
				Column: c.String(), Code: code,
				Message: fmt.Sprintf("%s:%d: %s: %s", r.name, rec.start, r.describe(c), detail),
			}
		}
	}
	return nil
}

func (r *Reader) roundedDetail(flow string, exact []string) string {
	names := make([]string, len(exact))
	for i, e := range exact {
		names[i] = fmt.Sprintf("%s (line %d)", e, r.survey.firstLine(e))
	}
	which := "flow " + names[0]
	if len(names) > 1 {
		which = "one of the flows " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("%q is %s rounded to %d digits: a spreadsheet stored the flow ID as a number; write the exact ID in this cell, or %s", flow, which, significantDigits, reexport)
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

// cellName names the i-th cell of a row for a message: `cell 4 ("Notes")`.
func (r *Reader) cellName(i int) string {
	if i < len(r.header) && r.header[i] != "" {
		return fmt.Sprintf("cell %d (%q)", i+1, r.header[i])
	}
	return fmt.Sprintf("cell %d", i+1)
}

func (r *Reader) malformed(rec *record, detail string) *Rejection {
	v := r.cells(rec.fields)
	if rec.nul > 0 {
		// Kept, a NUL would break failed.csv for the tools that open it.
		for c := range v {
			v[c] = strings.ReplaceAll(v[c], "\x00", "")
		}
	}
	extra := r.carry.cells(rec.fields, r.fedBack())
	if rec.nul > 0 {
		for i := range extra {
			extra[i] = strings.ReplaceAll(extra[i], "\x00", "")
		}
	}
	return &Rejection{
		Line:          rec.start,
		CRMProspectID: v[colID],
		FlowID:        v[colFlowID],
		FlowName:      v[colFlowName],
		OwnerEmail:    v[colOwner],
		Code:          outcome.CodeMalformedRow,
		Message:       fmt.Sprintf("%s:%d: %s", r.name, rec.start, detail),
		Extra:         extra,
	}
}

// syntaxDetail says how a record breaks the CSV rules.
func (r *Reader) syntaxDetail(rec *record) string {
	e := rec.syntax
	cell := r.cellName(e.cell)
	rest := ""
	if rec.split && r.header != nil {
		rest = fmt.Sprintf("; only line %d is rejected, the lines after it are read as rows", rec.start)
	}
	switch e.kind {
	case bareQuote:
		return fmt.Sprintf(`malformed CSV on line %d, %s: a " inside a cell that does not start with one; a cell with a " in it must be quoted and the " doubled, as in "5"" screen"`, e.line, cell)
	case badQuote:
		if e.opened == e.line {
			return fmt.Sprintf(`malformed CSV on line %d, %s: a quoted cell must end with " followed by the delimiter (%s) or the end of the line`, e.line, cell, delimiterName(delimiterString(r.scan.comma)))
		}
		return fmt.Sprintf(`malformed CSV: the quoted %s opened on line %d does not end with " followed by the delimiter (%s) or the end of a line; its next " is on line %d%s`, cell, e.opened, delimiterName(delimiterString(r.scan.comma)), e.line, rest)
	case unclosed:
		return fmt.Sprintf(`malformed CSV: the quote that opens %s on line %d is never closed%s`, cell, e.opened, rest)
	case tooLong:
		return fmt.Sprintf(`malformed CSV: the quote that opens %s on line %d is still open after %d bytes%s`, cell, e.opened, r.scan.max, rest)
	}
	return "malformed CSV"
}

func (r *Reader) nulDetail(rec *record) string {
	for i, f := range rec.fields {
		if strings.IndexByte(f, 0) >= 0 {
			return fmt.Sprintf("malformed row: a NUL (zero) byte in %s: the file is damaged or not plain text; export it again as CSV", r.cellName(i))
		}
	}
	return "malformed row: a NUL (zero) byte between cells: the file is damaged or not plain text; export it again as CSV"
}

// ragged says what is wrong with a row whose number of cells does not fit
// the header, or "". Extra cells that are blank are fine (a spreadsheet's
// used range may be wider than its header), and so are missing cells after
// the columns read (Excel leaves out trailing empty cells on some rows).
func (r *Reader) ragged(rec *record) string {
	n, h := len(rec.fields), len(r.header)
	if n > h && !blank(rec.fields[h:]) {
		return fmt.Sprintf("malformed row: it has %s and the header %d: a cell with a %s in it must be quoted", cellCount(n), h, delimiterName(delimiterString(r.scan.comma)))
	}
	if n >= h {
		return ""
	}
	missing := -1
	need := func(c column) {
		if i := r.idx[c]; i >= n && (missing < 0 || i < r.idx[missing]) {
			missing = int(c)
		}
	}
	need(colID)
	need(colOwner)
	if !(r.idx[colFlowID] >= 0 && r.idx[colFlowID] < n || r.idx[colFlowName] >= 0 && r.idx[colFlowName] < n) {
		if r.idx[colFlowID] >= 0 {
			need(colFlowID)
		} else {
			need(colFlowName)
		}
	}
	if missing < 0 {
		return ""
	}
	return fmt.Sprintf("malformed row: it has %s and the header %d: it ends before %s; is a line break inside a cell not quoted?", cellCount(n), h, r.describe(column(missing)))
}

func cellCount(n int) string {
	if n == 1 {
		return "1 cell"
	}
	return fmt.Sprintf("%d cells", n)
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
