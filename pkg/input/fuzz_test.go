package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

const fuzzHeader = "crmProspectId,flowId,flowInstanceOwnerEmail,flowName\n"

var (
	fuzzEncodings  = []string{EncodingAuto, EncodingUTF8, EncodingUTF16LE, EncodingUTF16BE, EncodingWindows1252}
	fuzzDelimiters = []string{DelimiterAuto, DelimiterComma, DelimiterSemicolon, DelimiterTab, DelimiterPipe}
)

// fuzzRow is what Next returned for one row, and the lines it took.
type fuzzRow struct {
	start, end int
	code       string // "" for a Prospect
}

// fuzzRead reads data to the end and checks each row on the way. The
// header is the first row, at line 0.
func fuzzRead(t *testing.T, data []byte, opts Options) (rows []fuzzRow, rd *Reader, err error) {
	t.Helper()
	rd, err = NewReader(bytes.NewReader(data), opts)
	if err != nil {
		return nil, nil, err
	}
	last := rd.lastEnd
	rows = []fuzzRow{{start: 1, end: rd.lastEnd, code: "header"}}
	for {
		p, rej, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rows, rd, nil
		}
		if err != nil {
			return rows, rd, err
		}
		row := fuzzRow{start: p.Line, end: rd.lastEnd}
		if rej != nil {
			row.start, row.code = rej.Line, rej.Code
			checkRejection(t, rej)
		} else {
			checkProspect(t, p, opts.CRM)
		}
		if row.start <= last || row.end < row.start {
			t.Fatalf("row at lines %d-%d after line %d", row.start, row.end, last)
		}
		last = row.end
		rows = append(rows, row)
	}
}

// splitLines splits text as a person's editor does: at "\n", "\r\n" and a
// lone "\r".
func splitLines(text string) []string {
	var lines []string
	for text != "" {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			return append(lines, text)
		}
		lines = append(lines, text[:i])
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
	return lines
}

// FuzzReader checks that whatever the bytes and options, the Reader does
// not panic and accounts for every row: each line of the decoded text is
// the header, part of a row it returned (in line order), or blank; a Survey
// changes no row but by the two codes it turns on.
func FuzzReader(f *testing.F) {
	f.Add([]byte("crmProspectId,flowId,flowInstanceOwnerEmail\n1,2,a@example.com\n"), false, uint8(0), uint8(0), false)
	f.Add([]byte("\ufeffCRM ID,Flow,Owner\n  x , y ,'=z@a.b\n"), false, uint8(0), uint8(0), false)
	f.Add([]byte("1,2,a@example.com,\n\"x\ny\",3,\"b@example.com\"\n\n,,,\n"), true, uint8(0), uint8(0), false)
	f.Add([]byte("1,2,a@example.com,\n\"2,3,b@example.com\n3,4,c@example.com,\"x\"\n"), true, uint8(0), uint8(0), false)
	f.Add([]byte("a\"b,1,c@d.ef\n\"a\"x,2,\n4\n5,x,y,z,w\n"), true, uint8(0), uint8(0), false)
	f.Add([]byte("Contact ID,Lead ID,Flow ID,Owner\n1,2,3,a@b.co\n"), false, uint8(0), uint8(0), false)
	f.Add([]byte("00123,1695493301223590792,a@b.co,\r123,1695493301223590000,a@b.co,\r1.2E+5,1,a@b.co\r12.0,1,a@b.co\r"), true, uint8(0), uint8(0), false)
	f.Add([]byte("Contact ID;Flow ID;Owner Email\n0035g00000AbCdE;1;a@b.co\n0035G00000ABCDEAAV;1;a@b.co\n"), false, uint8(0), uint8(2), true)
	f.Add([]byte("Contact ID|Flow ID|Owner Email\n1|2|a@b.co\n1|2\x00|a@b.co\n"), false, uint8(0), uint8(0), false)
	f.Add([]byte("\xff\xfeC\x00 \x00I\x00D\x00\t\x00F\x00l\x00o\x00w\x00 \x00I\x00D\x00\t\x00O\x00w\x00n\x00e\x00r\x00\r\x00\n\x001\x00\t\x002\x00\t\x00a\x00@\x00b\x00.\x00c\x00o\x00"), false, uint8(0), uint8(0), false)
	f.Add([]byte("Contact ID,Flow ID,Owner\n1,2,a@b.co\n\n\"Report\"\n\"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.\"\n"), false, uint8(0), uint8(0), false)
	f.Add([]byte("Contact ID,Flow ID,Owner\nJos\xe9,2,a@b.co\n"), false, uint8(4), uint8(1), false)
	if files, err := filepath.Glob(filepath.Join("testdata", "*.*")); err == nil {
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && !strings.HasSuffix(file, ".md") {
				f.Add(b, false, uint8(0), uint8(0), strings.Contains(file, "salesforce") || strings.Contains(file, "unicode"))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, withHeader bool, enc, delim uint8, salesforce bool) {
		if withHeader {
			data = append([]byte(fuzzHeader), data...)
		}
		if len(data) > 1<<16 {
			t.Skip("longer than the fuzzer needs")
		}
		opts := Options{
			Name:        "fuzz.csv",
			Encoding:    fuzzEncodings[int(enc)%len(fuzzEncodings)],
			Delimiter:   fuzzDelimiters[int(delim)%len(fuzzDelimiters)],
			MaxRowBytes: 512, // small, so that the fuzzer reaches the limit
		}
		if salesforce {
			opts.CRM = CRMSalesforce
		}

		all, rd, err := fuzzRead(t, data, opts)
		if rd == nil {
			// NewReader refused the input: nothing to account for.
			if _, serr := NewSurvey(bytes.NewReader(data), opts); errString(serr) != errString(err) {
				t.Fatalf("NewReader: %v, but NewSurvey: %v", err, serr)
			}
			return
		}
		rows := all[1:]
		fatal := err != nil && !errors.Is(err, ErrNoRows)
		if errors.Is(err, ErrNoRows) && len(rows) > 0 {
			t.Fatalf("ErrNoRows after %d rows", len(rows))
		}
		checkLines(t, data, opts, rd, all, fatal)

		// The same with a Survey: the same rows, only RoundedFlowId and
		// LeadingZerosLost added, a report footer left out.
		s, serr := NewSurvey(bytes.NewReader(data), opts)
		if serr != nil {
			if errString(serr) != errString(err) && !(s == nil && errors.Is(serr, ErrNoRows)) {
				t.Fatalf("Next: %v, but NewSurvey: %v", err, serr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Next: %v, but NewSurvey succeeded", err)
		}
		opts.Survey = s
		surveyed, _, err := fuzzRead(t, data, opts)
		if err != nil {
			t.Fatalf("with a Survey: %v", err)
		}
		surveyed = surveyed[1:]
		if len(surveyed) != s.Rows {
			t.Fatalf("Survey.Rows = %d, read %d", s.Rows, len(surveyed))
		}
		kept := rows
		if s.Footer > 0 {
			kept = nil
			for _, r := range rows {
				if r.start < s.Footer {
					kept = append(kept, r)
				}
			}
			// Blank rows just before the footer are trailing once it is
			// skipped.
			for len(kept) > 0 && kept[len(kept)-1].code == outcome.CodeBlankRow {
				kept = kept[:len(kept)-1]
			}
		}
		if len(kept) != len(surveyed) {
			t.Fatalf("%d rows without a Survey (footer at %d), %d with", len(rows), s.Footer, len(surveyed))
		}
		for i, r := range surveyed {
			if r.start != kept[i].start || r.end != kept[i].end {
				t.Fatalf("row %d at lines %d-%d with a Survey, %d-%d without", i, r.start, r.end, kept[i].start, kept[i].end)
			}
			if r.code != kept[i].code && r.code != outcome.CodeRoundedFlowID && r.code != outcome.CodeLeadingZerosLost {
				t.Fatalf("row at line %d: %q with a Survey, %q without", r.start, r.code, kept[i].code)
			}
		}
	})
}

// checkLines checks that every line of the decoded text up to where reading
// stopped is part of a row (the header is the first), or blank.
func checkLines(t *testing.T, data []byte, opts Options, rd *Reader, rows []fuzzRow, fatal bool) {
	t.Helper()
	enc, _ := ParseEncoding(opts.Encoding)
	text, _, err := decode("fuzz.csv", bytes.NewReader(data), enc)
	if err != nil {
		t.Fatalf("decode: %v, after NewReader read it", err)
	}
	b, err := io.ReadAll(text)
	if err != nil {
		t.Fatal(err)
	}
	lines := splitLines(string(b))
	covered := make([]bool, len(lines)+2)
	quotes := strings.Contains(string(b), `"`)
	for _, r := range rows {
		if r.end > len(lines) {
			t.Fatalf("row at lines %d-%d of %d", r.start, r.end, len(lines))
		}
		if !quotes && r.end != r.start {
			t.Fatalf("row at lines %d-%d in a text without quotes", r.start, r.end)
		}
		for l := r.start; l <= r.end; l++ {
			covered[l] = true
		}
	}
	upto := len(lines)
	if fatal {
		upto = rd.lastEnd
	}
	delim := delimiterByte(rd.format.Delimiter)
	for l := 1; l <= upto; l++ {
		if covered[l] {
			continue
		}
		blank := strings.IndexFunc(lines[l-1], func(r rune) bool {
			return !unicode.IsSpace(r) && r != '"' && r != rune(delim)
		}) < 0
		if !blank {
			t.Fatalf("line %d (%q) is in no row and not blank", l, lines[l-1])
		}
	}
}

func checkProspect(t *testing.T, p Prospect, crm string) {
	t.Helper()
	if p.CRMProspectID == "" || !isEmail(p.OwnerEmail) ||
		(p.FlowID == "" && p.FlowName == "") || (p.FlowID != "" && !isFlowID(p.FlowID)) {
		t.Fatalf("invalid prospect passed: %+v", p)
	}
	if crm == CRMSalesforce {
		if id := p.CRMProspectID; len(id) != 18 || salesforceSuffix(id[:15]) != id[15:] {
			t.Fatalf("prospect with a bad Salesforce ID passed: %+v", p)
		}
	}
	if _, ok := scientific(p.CRMProspectID); ok {
		t.Fatalf("prospect with an ID in scientific notation passed: %+v", p)
	}
}

func checkRejection(t *testing.T, r *Rejection) {
	t.Helper()
	switch r.Code {
	case outcome.CodeMalformedRow, outcome.CodeBlankRow:
		if r.Column != "" {
			t.Fatalf("malformed row names column %q", r.Column)
		}
	case outcome.CodeMissingValue, outcome.CodeInvalidFlowID, outcome.CodeInvalidEmail, outcome.CodeScientificNotation, outcome.CodeTrailingDecimal,
		outcome.CodeRoundedFlowID, outcome.CodeSalesforceChecksum, outcome.CodeInvalidProspectID, outcome.CodeLeadingZerosLost:
		if r.Column == "" {
			t.Fatalf("rejection %s names no column", r.Code)
		}
	default:
		t.Fatalf("unknown rejection code %q", r.Code)
	}
	if prefix := fmt.Sprintf("fuzz.csv:%d: ", r.Line); !strings.HasPrefix(r.Message, prefix) {
		t.Fatalf("message %q does not start with %q", r.Message, prefix)
	}
	if strings.IndexByte(r.CRMProspectID+r.FlowID+r.FlowName+r.OwnerEmail, 0) >= 0 {
		t.Fatalf("rejection keeps a NUL byte: %+v", r)
	}
}
