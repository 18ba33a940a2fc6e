package input

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

// makeWorkbook builds an .xlsx in memory: sheet name -> rows of cells, each
// a string (a text cell), an int or float64 (a number cell), or a formula
// with its cached value.
type formula struct{ expr, cached string }

func makeWorkbook(t *testing.T, sheets []string, rows map[string][][]any, formats map[string]int) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, name := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, row := range rows[name] {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				var err error
				switch v := v.(type) {
				case nil:
					continue
				case string:
					err = f.SetCellStr(name, cell, v)
				case formula:
					// The formula keeps the value set before it as its
					// cached result, as a string (t="str").
					if err = f.SetCellDefault(name, cell, v.cached); err == nil {
						err = f.SetCellFormula(name, cell, v.expr)
					}
				default:
					err = f.SetCellValue(name, cell, v)
				}
				if err != nil {
					t.Fatal(err)
				}
				if id, ok := formats[cell]; ok {
					style, err := f.NewStyle(&excelize.Style{NumFmt: id})
					if err != nil {
						t.Fatal(err)
					}
					if err := f.SetCellStyle(name, cell, cell, style); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func toCSV(t *testing.T, book []byte, sheet string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := WorkbookToCSV(context.Background(), bytes.NewReader(book), int64(len(book)), sheet, &out)
	return out.String(), err
}

func TestWorkbookToCSV(t *testing.T) {
	rows := map[string][][]any{
		"Prospects": {
			{"Contact ID", "Flow ID", "Owner Email", "Notes"},
			{"0031t00000Jk7Lm", "1695493301223590792", "ava@example.com", "two\nlines"},
			{int64(12345678901), 1695493301223590792.0, "ava@example.com"},
			{"003B", formula{expr: `"1695"&"493301223590792"`, cached: "1695493301223590792"}, "ben@example.com", "a, \"b\""},
			nil,
			{"003C", "42", "ben@example.com"},
		},
		"Other": {{"x"}},
	}
	book := makeWorkbook(t, []string{"Prospects", "Other"}, rows, nil)
	got, err := toCSV(t, book, "")
	if err != nil {
		t.Fatal(err)
	}
	want := "Contact ID,Flow ID,Owner Email,Notes\n" +
		"0031t00000Jk7Lm,1695493301223590792,ava@example.com,two lines\n" +
		"12345678901,\uFDD0N1.69549E+18,ava@example.com,\n" +
		"003B,1695493301223590792,ben@example.com,\"a, \"\"b\"\"\"\n" +
		"\n" +
		"003C,42,ben@example.com,\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("CSV (-want +got):\n%s", diff)
	}

	// The rows read as the CSV a person would have exported.
	wb := readRows(t, got, Options{Name: "book.xlsx"})
	csvRows := readRows(t, want, Options{Name: "book.xlsx"})
	if diff := cmp.Diff(csvRows, wb); diff != "" {
		t.Errorf("workbook rows differ from the CSV's (-csv +workbook):\n%s", diff)
	}
	wantCodes := []Row{
		{Line: 2, ID: "0031t00000Jk7Lm", FlowID: "1695493301223590792", Owner: "ava@example.com", Extra: []string{"two lines"}},
		{Line: 3, Code: outcome.CodeRoundedNumber, ID: "12345678901", FlowID: "1.69549E+18", Owner: "ava@example.com", Extra: []string{""}},
		{Line: 4, ID: "003B", FlowID: "1695493301223590792", Owner: "ben@example.com", Extra: []string{`a, "b"`}},
		{Line: 6, ID: "003C", FlowID: "42", Owner: "ben@example.com", Extra: []string{""}},
	}
	if diff := cmp.Diff(wantCodes, wb.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}

	other, err := toCSV(t, book, "other")
	if err != nil || other != "x\n" {
		t.Errorf("sheet \"other\": %q, %v", other, err)
	}
}

func TestWorkbookErrors(t *testing.T) {
	book := makeWorkbook(t, []string{"A", "B"}, nil, nil)
	if _, err := toCSV(t, book, "C"); err == nil || err.Error() != `no sheet "C" in the workbook; its sheets: "A", "B"` {
		t.Errorf("unknown sheet: %v", err)
	}
	notBook := []byte("PK\x03\x04 not really")
	if _, err := toCSV(t, notBook, ""); err == nil || !strings.HasPrefix(err.Error(), "not an Excel workbook (.xlsx), or a damaged one") {
		t.Errorf("not a workbook: %v", err)
	}
	if !IsWorkbook(book) || IsWorkbook([]byte("Contact ID,Flow ID")) {
		t.Error("IsWorkbook is wrong")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := makeWorkbook(t, []string{"A"}, map[string][][]any{"A": {{"h"}, {"1"}}}, nil)
	err := WorkbookToCSV(ctx, bytes.NewReader(big), int64(len(big)), "", &strings.Builder{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestWorkbookNumbers(t *testing.T) {
	rows := map[string][][]any{"S": {
		{"Contact ID", "Flow ID", "Owner Email"},
		{"123456789012", "1695493301223590792", "a@example.com"},           // text: exact
		{int64(123456789012), int64(1695493301223590000), "a@example.com"}, // General numbers
		{int64(12345678901), int64(1695493301223590000), "a@example.com"},  // the flow ID in a "0" format
		{"003A", formula{expr: "1+1", cached: "2"}, "a@example.com"},       // a formula's cached value
		{"003B", 42.5, "a@example.com"},                                    // a small number as shown
	}}
	book := makeWorkbook(t, []string{"S"}, rows, map[string]int{"B4": 1})
	got, err := toCSV(t, book, "S")
	if err != nil {
		t.Fatal(err)
	}
	want := "Contact ID,Flow ID,Owner Email\n" +
		"123456789012,1695493301223590792,a@example.com\n" +
		"1.23457E+11,\uFDD0N1.69549E+18,a@example.com\n" +
		"12345678901,\uFDD0N1695493301223590000,a@example.com\n" +
		"003A,2,a@example.com\n" +
		"003B,42.5,a@example.com\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

func TestExcelGeneral(t *testing.T) {
	for _, tt := range []struct{ v, want string }{
		{"1.6954933012235908E+18", "1.69549E+18"},
		{"123456789012", "1.23457E+11"},
		{"120000000000", "1.2E+11"},
		{"100000000000", "1E+11"},
		{"-123456789012", "-1.23457E+11"},
		{"12345678901", "shown"},
		{"abc", "shown"},
	} {
		if got := excelGeneral(tt.v, "shown"); got != tt.want {
			t.Errorf("excelGeneral(%q) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// TestWorkbookThroughSurvey reads a converted workbook as the command
// does, with a Survey: a flow ID a Number format rounded is caught as in a
// CSV export, and the lines are the sheet's rows (the header on row 3).
func TestWorkbookThroughSurvey(t *testing.T) {
	rows := map[string][][]any{"S": {
		nil,
		nil,
		{"Contact ID", "Flow ID", "Owner Email"},
		{"003A", "1695493301223590792", "a@example.com"},
		{"003B", int64(1695493301223590792), "a@example.com"},
	}}
	book := makeWorkbook(t, []string{"S"}, rows, map[string]int{"B5": 1})
	text, err := toCSV(t, book, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "\n\nContact ID,") {
		t.Fatalf("rows 1 and 2 are not empty lines: %q", text)
	}
	opts := Options{Name: "book.xlsx"}
	s, err := NewSurvey(strings.NewReader(text), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Survey = s
	got := readRows(t, text, opts)
	want := readResult{Rows: []Row{
		{Line: 4, ID: "003A", FlowID: "1695493301223590792", Owner: "a@example.com"},
		{Line: 5, Code: outcome.CodeRoundedNumber, ID: "003B", FlowID: "1695493301223590000", Owner: "a@example.com"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
