package input

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/google/go-cmp/cmp"
)

// patchZip returns the archive book with the part called name passed
// through edit: a cell type excelize cannot write (an error value, t="e")
// is made by editing the XML it wrote.
func patchZip(t *testing.T, book []byte, name string, edit func(string) string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == name {
			b = []byte(edit(string(b)))
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// errorCells makes the formula cells named in values (cell -> value)
// error cells (t="e") with that value, as Excel writes a formula that gives
// #REF!: excelize writes no error cell itself.
func errorCells(t *testing.T, book []byte, values map[string]string) []byte {
	t.Helper()
	return patchZip(t, book, "xl/worksheets/sheet1.xml", func(x string) string {
		for cell, v := range values {
			re := regexp.MustCompile(`<c r="` + cell + `" t="str"><f>([^<]*)</f>(?:<v>[^<]*</v>)?</c>`)
			if !re.MatchString(x) {
				t.Fatalf("no formula cell %s in the sheet: %s", cell, x)
			}
			x = re.ReplaceAllString(x, `<c r="`+cell+`" t="e"><f>$1</f><v>`+v+`</v></c>`)
		}
		return x
	})
}

// TestWorkbookRefusedCells: an ID cell that cannot hold an ID exactly (a
// number of more than 15 digits, an error value, a date) is refused at
// input, naming the file, row and column; the same ID as text passes
// exactly, and a date in a column that is not an ID is carried as shown.
func TestWorkbookRefusedCells(t *testing.T) {
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	rows := map[string][][]any{"S": {
		{"Contact ID", "Flow ID", "Owner Email", "Created"},
		{"1695493301223590792", "1695493301223590792", "a@example.com", day},                   // 2: text IDs, a date elsewhere
		{int64(1695493301223590792), "1695493301223590792", "a@example.com"},                   // 3: 19 digits, "0" format
		{int64(1695493301223590792), "1695493301223590792", "a@example.com"},                   // 4: 19 digits, General
		{formula{expr: "Deleted!A1", cached: "#REF!"}, "1695493301223590792", "a@example.com"}, // 5: an error cell
		{day, "1695493301223590792", "a@example.com"},                                          // 6: a date cell
		{"003F", formula{expr: `VLOOKUP("x",A:A,1,FALSE)`, cached: "#N/A"}, "a@example.com"},   // 7: an error flow ID
		{int64(123456789012), "1695493301223590792", "a@example.com"},                          // 8: 12 digits, "0" format: exact
		{"003H", int64(1234567890123456), "a@example.com"},                                     // 9: 16 digits, "0" format
	}}
	book := makeWorkbook(t, []string{"S"}, rows, map[string]int{"A3": 1, "A8": 1, "B9": 1})
	book = errorCells(t, book, map[string]string{"A5": "#REF!", "B7": "#N/A"})
	text, err := toCSV(t, book, "")
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(strings.NewReader(text), Options{Name: "book.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Line           int
		Code, ID, Flow string
		Message, Extra string
	}
	var all []got
	for {
		p, rej, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rej != nil {
			all = append(all, got{rej.Line, rej.Code, rej.CRMProspectID, rej.FlowID, rej.Message, strings.Join(rej.Extra, "|")})
		} else {
			all = append(all, got{p.Line, "", p.CRMProspectID, p.FlowID, "", strings.Join(p.Extra, "|")})
		}
	}
	const flow = "1695493301223590792"
	want := []got{
		{Line: 2, ID: "1695493301223590792", Flow: flow, Extra: "12-07-26"},
		{Line: 3, Code: outcome.CodeRoundedNumber, ID: "1695493301223590000", Flow: flow,
			Message: `book.xlsx:3: column crmProspectId ("Contact ID"): the cell is a number of more than 15 digits, shown as "1695493301223590000": Excel keeps 15 significant digits, so the ID was rounded and cannot be read back from this workbook; format the column as Text and enter the exact IDs again (from the CRM), or export the file again as CSV`},
		{Line: 4, Code: outcome.CodeRoundedNumber, ID: "1.69549E+18", Flow: flow,
			Message: `book.xlsx:4: column crmProspectId ("Contact ID"): the cell is a number of more than 15 digits, shown as "1.69549E+18": Excel keeps 15 significant digits, so the ID was rounded and cannot be read back from this workbook; format the column as Text and enter the exact IDs again (from the CRM), or export the file again as CSV`},
		{Line: 5, Code: outcome.CodeErrorCell, ID: "#REF!", Flow: flow,
			Message: `book.xlsx:5: column crmProspectId ("Contact ID"): the cell holds the spreadsheet error #REF!, not an ID: fix the formula or the data it refers to, or paste the IDs as values`},
		{Line: 6, Code: outcome.CodeDateCell, ID: "12-07-26", Flow: flow,
			Message: `book.xlsx:6: column crmProspectId ("Contact ID"): the cell is a date (12-07-26), not an ID: format the column as Text and enter the IDs again`},
		{Line: 7, Code: outcome.CodeErrorCell, ID: "003F", Flow: "#N/A",
			Message: `book.xlsx:7: column flowId ("Flow ID"): the cell holds the spreadsheet error #N/A, not an ID: fix the formula or the data it refers to, or paste the IDs as values`},
		{Line: 8, ID: "123456789012", Flow: flow},
		{Line: 9, Code: outcome.CodeRoundedNumber, ID: "003H", Flow: "1234567890123460",
			Message: `book.xlsx:9: column flowId ("Flow ID"): the cell is a number of more than 15 digits, shown as "1234567890123460": Excel keeps 15 significant digits, so the ID was rounded and cannot be read back from this workbook; format the column as Text and enter the exact IDs again (from the CRM), or export the file again as CSV`},
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// TestErrorValueInCSV: an ID cell that reads "#N/A" in a CSV (Excel
// exports an error cell so) is refused too, not sent as an ID.
func TestErrorValueInCSV(t *testing.T) {
	got := readRows(t, "Contact ID,Flow ID,Owner Email\n#N/A,1,a@example.com\n003B,#ref!,a@example.com\n#hashtag,1,a@example.com\n", Options{Name: "x.csv"})
	want := readResult{Rows: []Row{
		{Line: 2, Code: outcome.CodeErrorCell, ID: "#N/A", FlowID: "1", Owner: "a@example.com"},
		{Line: 3, Code: outcome.CodeErrorCell, ID: "003B", FlowID: "#ref!", Owner: "a@example.com"},
		{Line: 4, ID: "#hashtag", FlowID: "1", Owner: "a@example.com"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestMarkStripped: the noncharacter that marks a workbook cell, found in
// a real text cell, is dropped, so a cell cannot pass itself off as marked.
func TestMarkStripped(t *testing.T) {
	book := makeWorkbook(t, []string{"S"}, map[string][][]any{"S": {
		{"Contact ID", "Flow ID", "Owner Email"},
		{markPrefix + "N003A", "1", "a@example.com"},
	}}, nil)
	text, err := toCSV(t, book, "")
	if err != nil {
		t.Fatal(err)
	}
	got := readRows(t, text, Options{Name: "book.xlsx"})
	want := readResult{Rows: []Row{{Line: 2, ID: "N003A", FlowID: "1", Owner: "a@example.com"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzWorkbook reads damaged workbooks: an error or rows, never a panic,
// and never a cell past the limits.
func FuzzWorkbook(f *testing.F) {
	t := &testing.T{}
	f.Add(makeWorkbook(t, []string{"S", "T"}, map[string][][]any{
		"S": {{"Contact ID", "Flow ID", "Owner Email"}, {"003A", int64(1695493301223590792), "a@example.com"}, {time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), 42.5, true}},
		"T": {{"x"}},
	}, map[string]int{"B2": 1, "B3": 10}))
	f.Fuzz(func(t *testing.T, book []byte) {
		lim := defaultWorkbookLimits()
		lim.run, lim.cells, lim.rows = 4096, 10_000, 1000
		var out bytes.Buffer
		if _, err := convertWorkbook(context.Background(), bytes.NewReader(book), int64(len(book)), "", &out, lim); err != nil {
			return
		}
		if n := bytes.Count(out.Bytes(), []byte("\n")); n > lim.rows {
			t.Errorf("%d lines from a sheet of at most %d rows", n, lim.rows)
		}
	})
}
