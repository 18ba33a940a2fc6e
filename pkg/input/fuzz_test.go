package input

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"testing"
)

const fuzzHeader = "crmProspectId,flowId,flowInstanceOwnerEmail,flowName\n"

// csvRecords counts the data records encoding/csv sees in data on its own:
// each record with a non-blank cell, and each malformed one. ok is false
// when the header row itself cannot be read.
func csvRecords(data string) (n int, ok bool) {
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(data, "\ufeff")))
	cr.FieldsPerRecord = -1
	if _, err := cr.Read(); err != nil {
		return 0, false
	}
	for {
		rec, err := cr.Read()
		switch {
		case err == io.EOF:
			return n, true
		case err != nil:
			n++ // a malformed row is a Rejection
		case strings.TrimSpace(strings.Join(rec, "")) != "":
			n++
		}
	}
}

// FuzzReader checks that whatever the input, the Reader does not panic and
// accounts for every data record exactly once, in line order.
func FuzzReader(f *testing.F) {
	f.Add("crmProspectId,flowId,flowInstanceOwnerEmail\n1,2,a@example.com\n", false)
	f.Add("\ufeffCRM ID,Flow,Owner\n  x , y ,'=z@a.b\n", false)
	f.Add("1,2,a@example.com,\n\"x\ny\",3,\"b@example.com\"\n\n,,,\n", true)
	f.Add("1,2,a@example.com,\n\"2,3,b@example.com\n", true)
	f.Add("a\"b,1,c@d.ef\n\"a\"x,2,\n4\n5,x,y,z,w\n", true)
	f.Add("Contact ID,Lead ID,Flow ID,Owner\n1,2,3,a@b.co\n", false)
	f.Fuzz(func(t *testing.T, data string, withHeader bool) {
		if withHeader {
			data = fuzzHeader + data
		}
		if len(data) >= DefaultMaxRowBytes {
			t.Skip("longer than a row may be")
		}
		want, headerOK := csvRecords(data)
		rd, err := NewReader(strings.NewReader(data), Options{Name: "fuzz.csv"})
		if err != nil {
			return
		}
		if !headerOK {
			t.Fatalf("NewReader accepted a header encoding/csv cannot read")
		}
		got, last := 0, 1
		for {
			p, rej, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			got++
			line := p.Line
			if rej != nil {
				line = rej.Line
				checkRejection(t, rej)
			} else {
				checkProspect(t, p)
			}
			if line <= last {
				t.Fatalf("row %d at line %d, after line %d", got, line, last)
			}
			last = line
		}
		if got != want {
			t.Fatalf("Reader reported %d rows, encoding/csv sees %d records", got, want)
		}
	})
}

func checkProspect(t *testing.T, p Prospect) {
	t.Helper()
	if p.CRMProspectID == "" || !isEmail(p.OwnerEmail) ||
		(p.FlowID == "" && p.FlowName == "") || (p.FlowID != "" && !isFlowID(p.FlowID)) {
		t.Fatalf("invalid prospect passed: %+v", p)
	}
}

func checkRejection(t *testing.T, r *Rejection) {
	t.Helper()
	switch r.Code {
	case CodeMalformedRow:
		if r.Column != "" {
			t.Fatalf("malformed row names column %q", r.Column)
		}
	case CodeMissingValue, CodeInvalidFlowID, CodeInvalidEmail:
		if r.Column == "" {
			t.Fatalf("rejection %s names no column", r.Code)
		}
	default:
		t.Fatalf("unknown rejection code %q", r.Code)
	}
	if prefix := fmt.Sprintf("fuzz.csv:%d: ", r.Line); !strings.HasPrefix(r.Message, prefix) {
		t.Fatalf("message %q does not start with %q", r.Message, prefix)
	}
}
