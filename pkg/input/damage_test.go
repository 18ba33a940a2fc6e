package input

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/google/go-cmp/cmp"
)

func TestScientific(t *testing.T) {
	for _, tt := range []struct {
		in     string
		digits int
		ok     bool
	}{
		{"1.69549E+18", 6, true},
		{"1,69549E+18", 6, true},
		{"1.6954933012235907e+18", 17, true},
		{"1E+18", 1, true},
		{"1e-07", 1, true},
		{"-1.5e-3", 2, true},
		{"1.23457E11", 0, false},
		{"12E45", 0, false},
		{"0035E00000AbCdE", 0, false},
		{"E+18", 0, false},
		{"1.2.3E+4", 0, false},
		{"1.5E+", 0, false},
		{"12345", 0, false},
	} {
		digits, ok := scientific(tt.in)
		if digits != tt.digits || ok != tt.ok {
			t.Errorf("scientific(%q) = %d, %v; want %d, %v", tt.in, digits, ok, tt.digits, tt.ok)
		}
	}
}

func TestTrailingDecimal(t *testing.T) {
	for _, tt := range []struct {
		in, digits string
		ok         bool
	}{
		{"12345.0", "12345", true},
		{"12345,00", "12345", true},
		{"12345.5", "", false},
		{"12345.", "", false},
		{".0", "", false},
		{"12a45.0", "", false},
		{"12345", "", false},
	} {
		digits, ok := trailingDecimal(tt.in)
		if digits != tt.digits || ok != tt.ok {
			t.Errorf("trailingDecimal(%q) = %q, %v; want %q, %v", tt.in, digits, ok, tt.digits, tt.ok)
		}
	}
}

func TestRoundedForms(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want []string
	}{
		// What Excel shows for the ID (15 digits, the 16th rounding down),
		// and the same rounded up, the way a double may round it.
		{"1695493301223590792", []string{"1695493301223590000", "1695493301223600000"}},
		{"1711046208531772911", []string{"1711046208531770000", "1711046208531780000"}},
		{"1999999999999999999", []string{"1999999999999990000", "2000000000000000000"}},
		{"9999999999999999999", []string{"9999999999999990000"}},
		{"1234567890123456", []string{"1234567890123450", "1234567890123460"}},
		{"1695493301223590000", []string{"1695493301223600000"}},
		{"123456789012345", nil},
	} {
		if diff := cmp.Diff(tt.want, roundedForms(tt.id)); diff != "" {
			t.Errorf("roundedForms(%s) (-want +got):\n%s", tt.id, diff)
		}
	}
	// Every one of these is what a float64 prints to 15 significant
	// digits: the double rounds the 19-digit ID first, yet lands on a form.
	for _, id := range []string{"1695493301223590792", "1711046208531772911", "1702318845120411230", "1695493301223595000", "1695493301223594999"} {
		f, _ := strconv.ParseFloat(id, 64)
		shown := strconv.FormatFloat(f, 'e', significantDigits-1, 64)
		mant, exp, _ := strings.Cut(shown, "e+")
		n, _ := strconv.Atoi(exp)
		digits := strings.Replace(mant, ".", "", 1)
		excel := digits + strings.Repeat("0", n+1-len(digits))
		if excel != id && !slicesContains(roundedForms(id), excel) {
			t.Errorf("Excel shows %s as %s, not in %v", id, excel, roundedForms(id))
		}
	}
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestSalesforceID(t *testing.T) {
	// Published pairs, for the checksum.
	for id15, id18 := range map[string]string{
		"0019000000B98de": "0019000000B98deAAB",
		"a0D30000001n7Pi": "a0D30000001n7PiEAI",
	} {
		if got, code, _ := salesforceID(id15); got != id18 || code != "" {
			t.Errorf("salesforceID(%s) = %s, %s; want %s", id15, got, code, id18)
		}
		if got, code, _ := salesforceID(id18); got != id18 || code != "" {
			t.Errorf("salesforceID(%s) = %s, %s; want it as it is", id18, got, code)
		}
	}
	for _, tt := range []struct {
		in, fixed string
		ok        bool
	}{
		{"A0D30000001N7PIEAI", "a0D30000001n7PiEAI", true},
		{"a0d30000001n7pieai", "a0D30000001n7PiEAI", true},
		{"a0D30000001n7PiFAI", "A0D30000001n7PiFAI", true}, // a typo in the suffix restores wrongly: only a hint
		{"a0D30000001n7PiEAJ", "", false},                  // the suffix says a digit is upper case
		{"a0D30000001n7PiEA9", "", false},
		{"a0D30000001n7Pi5AI", "", false},
	} {
		fixed, ok := restoreSalesforceCase(tt.in)
		if fixed != tt.fixed || ok != tt.ok {
			t.Errorf("restoreSalesforceCase(%s) = %s, %v; want %s, %v", tt.in, fixed, ok, tt.fixed, tt.ok)
		}
	}
	for _, in := range []string{"a0D30000001n7P", "a0D30000001n7Pi-AI", "a0D30000001n7PiEAIX", "a0D3000000 n7Pi"} {
		if _, code, _ := salesforceID(in); code != outcome.CodeInvalidProspectID {
			t.Errorf("salesforceID(%q) code %q, want %s", in, code, outcome.CodeInvalidProspectID)
		}
	}
}

// TestDamageChecks runs each check on rows read from a string: the order of
// the checks, and the codes with and without a Survey.
func TestDamageChecks(t *testing.T) {
	const hdr = "Contact ID,Flow ID,Owner Email\n"
	input := hdr +
		"007,1695493301223590792,a@b.co\n" + // 2
		"7,1695493301223590792,a@b.co\n" + // 3: LeadingZerosLost
		"07,1695493301223590792,a@b.co\n" + // 4: another padded form, fine
		"8,1695493301223590000,a@b.co\n" + // 5: RoundedFlowId
		"1.2E+5,1695493301223590000,a@b.co\n" + // 6: the ID is checked first
		"9,1695493301223590792.0,a@b.co\n" + // 7: TrailingDecimal on the flow
		"10,1695493301223600000,bob\n" // 8: RoundedFlowId before the owner
	s, err := NewSurvey(strings.NewReader(input), Options{Name: "p.csv"})
	if err != nil {
		t.Fatal(err)
	}
	_, ps, rejs, err := readAll(t, strings.NewReader(input), Options{Name: "p.csv", Survey: s})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%d ok", p.Line))
	}
	for _, r := range rejs {
		got = append(got, fmt.Sprintf("%d %s %s", r.Line, r.Column, r.Code))
	}
	want := []string{
		"2 ok", "4 ok",
		"3 crmProspectId LeadingZerosLost",
		"5 flowId RoundedFlowId",
		"6 crmProspectId ScientificNotation",
		"7 flowId TrailingDecimal",
		"8 flowId RoundedFlowId",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if s.Rows != 7 {
		t.Errorf("Survey.Rows = %d, want 7", s.Rows)
	}
}

// paddedStream produces a CSV of n rows whose IDs are all zero-padded and
// distinct, the worst case for a Survey's memory.
type paddedStream struct {
	n, i int
	buf  []byte
	off  int
}

func (s *paddedStream) Read(p []byte) (int, error) {
	if s.off == len(s.buf) {
		if s.i > s.n {
			return 0, io.EOF
		}
		s.buf, s.off = s.buf[:0], 0
		if s.i == 0 {
			s.buf = append(s.buf, "Record ID,Flow ID,Owner Email\n"...)
		} else {
			s.buf = append(s.buf, "000"...)
			s.buf = strconv.AppendInt(s.buf, int64(s.i), 10)
			s.buf = append(s.buf, ',')
			s.buf = strconv.AppendInt(s.buf, 1695493301223590792+int64(s.i%10000)*1000, 10)
			s.buf = append(s.buf, ",owner@example.com\n"...)
		}
		s.i++
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// TestSurveyMemoryIsBounded surveys a million rows, each with its own
// zero-padded ID and one of 10,000 flows: the Survey keeps at most
// maxSurveyPadded IDs and maxSurveyFlows flows.
func TestSurveyMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a million rows")
	}
	const rows = 1_000_000
	heapInUse := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	start := heapInUse()
	s, err := NewSurvey(&paddedStream{n: rows}, Options{Name: "generated.csv"})
	if err != nil {
		t.Fatal(err)
	}
	grew := int64(heapInUse()) - int64(start)
	t.Logf("a Survey of %d rows holds %d bytes", rows, grew)
	if s.Rows != rows || len(s.padded) != maxSurveyPadded || len(s.flows) != maxSurveyFlows {
		t.Errorf("Rows %d, padded %d, flows %d; want %d, %d, %d", s.Rows, len(s.padded), len(s.flows), rows, maxSurveyPadded, maxSurveyFlows)
	}
	if grew > 4<<20 {
		t.Errorf("a Survey holds %d bytes, want at most 4 MiB", grew)
	}
	runtime.KeepAlive(s)
}
