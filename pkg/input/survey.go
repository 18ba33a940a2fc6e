package input

import (
	"errors"
	"hash/maphash"
	"io"
	"math"
	"slices"
	"strings"
)

// Bounds of a Survey's memory, whatever the number of rows: under 4 MiB in
// all (TestSurveyMemoryIsBounded fills both to the bound and measures).
const (
	// maxSurveyFlows bounds the distinct flow IDs a Survey keeps. A file
	// names a handful of flows; past the bound RoundedFlowId only compares
	// with the flows seen first.
	maxSurveyFlows = 4096
	// maxSurveyPadded bounds the zero-padded IDs a Survey keeps, as 64-bit
	// hashes of their zero-stripped forms. Past the bound LeadingZerosLost
	// only finds IDs whose padded form was among the first 65,536.
	maxSurveyPadded = 1 << 16
)

// Survey is what a first pass over the whole input learns for the two
// checks that compare a row with the rest of the file: RoundedFlowId (a
// flow ID a spreadsheet rounded, where the file also shows the exact ID)
// and LeadingZerosLost (an ID a spreadsheet stripped of its leading zeros,
// where the file also shows the padded form). Without a Survey those two
// checks are off. It also finds the footer of a Salesforce report, which
// the Reader then skips instead of rejecting its lines as malformed rows.
//
// Its memory does not grow with the rows: see maxSurveyFlows and
// maxSurveyPadded.
type Survey struct {
	Format Format // as NewReader will read the file
	Rows   int    // rows Next will return, Prospects and Rejections
	// Footer is the first line of the footer Salesforce adds to a report
	// exported from Classic ("Copyright (c) 2000-2026 salesforce.com,
	// inc...."): lines of one cell after a blank line at the end of the
	// file. The Reader skips it; 0 when there is none.
	Footer int
	// OwnerEmails and OwnerNames count the well-formed rows whose owner cell
	// holds an "@" and those whose owner cell holds a name (words, no "@"):
	// a file with names and no emails was exported with the owner's name
	// ("Contact owner"), and needs Options.OwnerByName and a lookup of the
	// names in Gong.
	OwnerEmails, OwnerNames int

	flows   map[string]int      // valid flow ID -> first line
	rounded map[string][]string // a spreadsheet's rounding -> the exact flow IDs it may come from
	padded  map[uint64]paddedID // hash of the zero-stripped form -> first padded form
	seed    maphash.Seed
	footer  footerTracker
}

// footerTracker follows the trailing block of one-cell rows that follows a
// blank line, which is a report footer if Salesforce signed it.
type footerTracker struct {
	prevEnd int  // where the last non-blank record ended
	start   int  // first line of the current block, 0 if none
	rows    int  // rows Next returned from the block on
	signed  bool // the block holds Salesforce's copyright line
	// blanksBefore is how many BlankRow rows Next returned just before the
	// block: with the footer skipped they are trailing, not rows.
	blanksBefore int
}

type paddedID struct {
	line  int32
	zeros uint16
}

// NewSurvey reads the whole input as NewReader and Next would with the
// same Options (opts.Survey is ignored), and returns what it learnt. Its
// error is the one NewReader or Next would return, so a file that cannot be
// read fails before anything is sent.
//
// The caller reads the input twice: once here, then with
// NewReader(r, Options{..., Survey: s}).
func NewSurvey(r io.Reader, opts Options) (*Survey, error) {
	return SurveyRows(r, opts, nil)
}

// SurveyRows is NewSurvey that also hands row each row as Next returns it
// without a Survey, for a caller that needs a first look at the rows anyway
// (which keys repeat, say) and would otherwise parse the file once more.
// The rows the real read rejects as RoundedFlowId or LeadingZerosLost are
// valid here; a report footer's rows are here too.
func SurveyRows(r io.Reader, opts Options, row func(Prospect, *Rejection)) (*Survey, error) {
	opts.Survey = nil
	rd, err := NewReader(r, opts)
	if err != nil {
		return nil, err
	}
	rd.validate = row != nil
	s := &Survey{
		Format: rd.Format(),
		flows:  map[string]int{},
		padded: map[uint64]paddedID{},
		seed:   maphash.MakeSeed(),
	}
	rd.observe = s.observe
	rd.noteRecord = s.noteRecord
	s.footer.prevEnd = rd.lastEnd
	blankRun := 0 // BlankRow rows returned since the last other row
	for {
		p, rej, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		s.Rows++
		if row != nil {
			row(p, rej)
		}
		line := p.Line
		if rej != nil {
			line = rej.Line
		}
		if s.footer.start > 0 && line >= s.footer.start {
			if s.footer.rows == 0 {
				s.footer.blanksBefore = blankRun
			}
			s.footer.rows++
		}
		blankRun++
		if rej == nil || rej.Code != CodeBlankRow {
			blankRun = 0
		}
	}
	if s.footer.start > 0 && s.footer.signed {
		s.Footer = s.footer.start
		s.Rows -= s.footer.rows + s.footer.blanksBefore
	}
	s.index()
	return s, nil
}

// noteRecord follows each non-blank record, well-formed or not, for the
// report footer.
func (s *Survey) noteRecord(rec *record, headerCells int) {
	t := &s.footer
	if len(rec.fields) <= 1 && headerCells > 1 {
		if t.start == 0 && rec.start > t.prevEnd+1 {
			*t = footerTracker{start: rec.start}
		}
		if t.start > 0 {
			if len(rec.fields) == 1 && strings.Contains(rec.fields[0], "Copyright") && strings.Contains(rec.fields[0], "salesforce.com, inc.") {
				t.signed = true
			}
		}
	} else {
		t.start = 0
	}
	t.prevEnd = rec.end
}

// observe takes note of one well-formed row, before validation: a row
// rejected for its owner still shows a flow's exact ID.
func (s *Survey) observe(line int, v cells) {
	switch o := v[colOwner]; {
	case strings.Contains(o, "@"):
		s.OwnerEmails++
	case strings.ContainsRune(strings.TrimSpace(o), ' '):
		// "Ava Reyes", as CRM exports name a contact's owner; a cell
		// like "bob" or "not-an-email" is more likely a broken email.
		s.OwnerNames++
	}
	if f := v[colFlowID]; isFlowID(f) && len(s.flows) < maxSurveyFlows {
		if _, seen := s.flows[f]; !seen {
			s.flows[f] = line
		}
	}
	id := v[colID]
	if len(id) < 2 || id[0] != '0' || !allDigits(id) || len(s.padded) >= maxSurveyPadded {
		return
	}
	stripped := strings.TrimLeft(id, "0")
	if stripped == "" {
		return
	}
	h := maphash.String(s.seed, stripped)
	if _, seen := s.padded[h]; !seen {
		s.padded[h] = paddedID{line: int32(min(line, math.MaxInt32)), zeros: uint16(min(len(id)-len(stripped), math.MaxUint16))}
	}
}

// index maps each rounding a spreadsheet may make of a flow ID to the
// exact IDs it may come from.
func (s *Survey) index() {
	s.rounded = map[string][]string{}
	for id := range s.flows {
		if looksRounded(id) {
			continue // itself a rounding, or an ID no rounding changes
		}
		for _, f := range roundedForms(id) {
			s.rounded[f] = append(s.rounded[f], id)
		}
	}
	for _, ids := range s.rounded {
		slices.Sort(ids)
	}
}

// roundedFrom returns the exact flow IDs of the file that a spreadsheet
// would show as flowID, or nil.
func (s *Survey) roundedFrom(flowID string) []string {
	if s == nil || !looksRounded(flowID) {
		return nil
	}
	return s.rounded[flowID]
}

// firstLine returns the line where the file first shows flow ID id.
func (s *Survey) firstLine(id string) int { return s.flows[id] }

// paddedForm returns the zero-padded form of id the file shows, and its
// line, when id is digits without a leading zero.
func (s *Survey) paddedForm(id string) (string, int, bool) {
	if s == nil || id == "" || id[0] == '0' || !allDigits(id) {
		return "", 0, false
	}
	p, ok := s.padded[maphash.String(s.seed, id)]
	if !ok {
		return "", 0, false
	}
	return strings.Repeat("0", int(p.zeros)) + id, int(p.line), true
}
