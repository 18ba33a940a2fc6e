package input

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/google/go-cmp/cmp"
)

// readFile reads a file under testdata/ as the command does: with a Survey
// first when survey is set.
func readFile(t *testing.T, path string, opts Options, survey bool) (Format, []Prospect, []*Rejection, *Survey, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var s *Survey
	if survey {
		if s, err = NewSurvey(f, opts); err != nil {
			return Format{}, nil, nil, nil, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		opts.Survey = s
	}
	rd, err := NewReader(f, opts)
	if err != nil {
		return Format{}, nil, nil, s, err
	}
	var ps []Prospect
	var rejs []*Rejection
	for {
		p, rej, err := rd.Next()
		switch {
		case errors.Is(err, io.EOF):
			if s != nil && s.Rows != len(ps)+len(rejs) {
				t.Errorf("Survey.Rows = %d, the Reader returned %d rows", s.Rows, len(ps)+len(rejs))
			}
			return rd.Format(), ps, rejs, s, nil
		case err != nil:
			return rd.Format(), ps, rejs, s, err
		case rej != nil:
			rejs = append(rejs, rej)
		default:
			ps = append(ps, p)
		}
	}
}

const (
	ava   = "ava.reyes@example.com"
	ben   = "ben.okafor@example.com"
	chloe = "chloe.martin@example.com"
	dan   = "dan.kowalski@example.com"

	flowA  = "1695493301223590792"
	flowA2 = "1695493301223590801"
	flowB  = "1711046208531772911"
	flowC  = "1702318845120411230"
	flowC2 = "1702318845120411245"
)

// TestFixtures reads each export under testdata/ (see testdata/README.md
// for how each was made) and compares every row the Reader returns.
func TestFixtures(t *testing.T) {
	utf8 := Format{Encoding: EncodingUTF8, Delimiter: DelimiterComma}
	const sfChecksum = `is not a valid 18-character Salesforce ID: its last 3 characters do not match the upper and lower case of the first 15, the sign of a tool that changed the case`
	footer := func(line int, cell string) *Rejection {
		return &Rejection{
			Line: line, CRMProspectID: cell, Code: outcome.CodeMalformedRow,
			Message: "salesforce-report.csv:" + strconv.Itoa(line) + `: malformed row: it has 1 cell and the header 6: it ends before column flowId ("Flow ID"); is a line break inside a cell not quoted?`,
		}
	}
	tests := []struct {
		name       string
		file       string
		opts       Options
		survey     bool
		wantFormat Format
		want       []Prospect
		wantRej    []*Rejection
		wantErr    string
		wantFooter int
	}{
		{
			name:       "Excel for Windows, CSV (Comma delimited)",
			file:       "excel-windows-comma.csv",
			survey:     true,
			wantFormat: Format{Encoding: EncodingWindows1252, Delimiter: DelimiterComma},
			want: []Prospect{
				{Line: 2, CRMProspectID: "51234567890", FlowID: flowA, OwnerEmail: ava},
				{Line: 6, CRMProspectID: "51234567892", FlowID: flowB, OwnerEmail: dan},
			},
			wantRej: []*Rejection{
				{
					Line: 3, CRMProspectID: "1.23457E+11", FlowID: flowA, OwnerEmail: ava,
					Column: ColCRMProspectID, Code: outcome.CodeScientificNotation,
					Message: `excel-windows-comma.csv:3: column crmProspectId ("Record ID"): "1.23457E+11" is in scientific notation: a spreadsheet read the ID as a number and kept 6 digits of it, which cannot be undone from this file; ` + reexport,
				},
				{
					Line: 4, CRMProspectID: "51234567891", FlowID: "1.69549E+18", OwnerEmail: ben,
					Column: ColFlowID, Code: outcome.CodeScientificNotation,
					Message: `excel-windows-comma.csv:4: column flowId ("Flow ID"): "1.69549E+18" is in scientific notation: a spreadsheet read the ID as a number and kept 6 digits of it, which cannot be undone from this file; ` + reexport,
				},
			},
		},
		{
			name:       "Excel, CSV UTF-8, with a Survey: rounded flow IDs and lost zeros",
			file:       "excel-csv-utf8.csv",
			survey:     true,
			wantFormat: Format{Encoding: EncodingUTF8, BOM: true, Delimiter: DelimiterComma},
			want: []Prospect{
				{Line: 2, CRMProspectID: "00012345", FlowID: flowA, OwnerEmail: ava},
				{Line: 3, CRMProspectID: "00012346", FlowID: flowB, OwnerEmail: dan},
				// Ends in a zero, but not in the four a spreadsheet leaves.
				{Line: 7, CRMProspectID: "00012349", FlowID: flowC, OwnerEmail: chloe},
				{Line: 8, CRMProspectID: "00012350", FlowID: flowA2, OwnerEmail: ava},
			},
			wantRej: []*Rejection{
				{
					Line: 4, CRMProspectID: "12345", FlowID: flowB, OwnerEmail: ben,
					Column: ColCRMProspectID, Code: outcome.CodeLeadingZerosLost,
					Message: `excel-csv-utf8.csv:4: column crmProspectId ("Record ID"): "12345" lost its leading zeros: line 2 has the same ID as "00012345"; a spreadsheet read the column as numbers; ` + reexport,
				},
				{
					Line: 5, CRMProspectID: "00012347", FlowID: "1695493301223590000", OwnerEmail: ben,
					Column: ColFlowID, Code: outcome.CodeRoundedFlowID,
					Message: `excel-csv-utf8.csv:5: column flowId ("Flow ID"): "1695493301223590000" is one of the flows 1695493301223590792 (line 2), 1695493301223590801 (line 8) rounded to 15 digits: a spreadsheet stored the flow ID as a number; write the exact ID in this cell, or ` + reexport,
				},
				{
					Line: 6, CRMProspectID: "00012348", FlowID: "1711046208531770000", OwnerEmail: dan,
					Column: ColFlowID, Code: outcome.CodeRoundedFlowID,
					Message: `excel-csv-utf8.csv:6: column flowId ("Flow ID"): "1711046208531770000" is flow 1711046208531772911 (line 3) rounded to 15 digits: a spreadsheet stored the flow ID as a number; write the exact ID in this cell, or ` + reexport,
				},
			},
		},
		{
			name:       "Excel, CSV UTF-8, without a Survey the cross-row checks are off",
			file:       "excel-csv-utf8.csv",
			wantFormat: Format{Encoding: EncodingUTF8, BOM: true, Delimiter: DelimiterComma},
			want: []Prospect{
				{Line: 2, CRMProspectID: "00012345", FlowID: flowA, OwnerEmail: ava},
				{Line: 3, CRMProspectID: "00012346", FlowID: flowB, OwnerEmail: dan},
				{Line: 4, CRMProspectID: "12345", FlowID: flowB, OwnerEmail: ben},
				{Line: 5, CRMProspectID: "00012347", FlowID: "1695493301223590000", OwnerEmail: ben},
				{Line: 6, CRMProspectID: "00012348", FlowID: "1711046208531770000", OwnerEmail: dan},
				{Line: 7, CRMProspectID: "00012349", FlowID: flowC, OwnerEmail: chloe},
				{Line: 8, CRMProspectID: "00012350", FlowID: flowA2, OwnerEmail: ava},
			},
		},
		{
			name:       "Excel for Windows in German, semicolons and decimal commas",
			file:       "excel-semicolon-de.csv",
			opts:       Options{Map: map[string]string{ColCRMProspectID: "Kontakt-ID"}},
			survey:     true,
			wantFormat: Format{Encoding: EncodingWindows1252, Delimiter: DelimiterSemicolon},
			want: []Prospect{
				{Line: 2, CRMProspectID: "40001", FlowID: flowA, OwnerEmail: ava},
			},
			wantRej: []*Rejection{
				{
					Line: 3, CRMProspectID: "40002", FlowID: "1,69549E+18", OwnerEmail: ava,
					Column: ColFlowID, Code: outcome.CodeScientificNotation,
					Message: `excel-semicolon-de.csv:3: column flowId ("Flow ID"): "1,69549E+18" is in scientific notation: a spreadsheet read the ID as a number and kept 6 digits of it, which cannot be undone from this file; ` + reexport,
				},
				{
					Line: 4, CRMProspectID: "40003,00", FlowID: flowB, OwnerEmail: dan,
					Column: ColCRMProspectID, Code: outcome.CodeTrailingDecimal,
					Message: `excel-semicolon-de.csv:4: column crmProspectId ("Kontakt-ID"): "40003,00" ends in ",00": a tool wrote the ID as a decimal number (it was probably "40003", if no digits were lost on the way); ` + reexport,
				},
			},
		},
		{
			name:    "Excel in German without --map",
			file:    "excel-semicolon-de.csv",
			wantErr: `excel-semicolon-de.csv: line 1: missing column(s) crmProspectId; if "Kontakt-ID" is crmProspectId, add --map crmProspectId="Kontakt-ID"; found headers: "Kontakt-ID", "Vorname", "Nachname", "Flow ID", "Owner Email", "Notiz"`,
		},
		{
			name:       "Excel Unicode Text, Salesforce IDs",
			file:       "excel-unicode-text.txt",
			opts:       Options{CRM: CRMSalesforce},
			survey:     true,
			wantFormat: Format{Encoding: EncodingUTF16LE, BOM: true, Delimiter: DelimiterTab},
			want: []Prospect{
				{Line: 2, CRMProspectID: "0035g00000AbCdEAAV", FlowID: flowA, OwnerEmail: ava},
				{Line: 3, CRMProspectID: "0035g00000XyZqAAAV", FlowID: flowA, OwnerEmail: ava},
			},
			wantRej: []*Rejection{
				{
					Line: 4, CRMProspectID: "0035G00000MNOPQAAV", FlowID: flowB, OwnerEmail: dan,
					Column: ColCRMProspectID, Code: outcome.CodeSalesforceChecksum,
					Message: `excel-unicode-text.txt:4: column crmProspectId ("Contact ID"): "0035G00000MNOPQAAV" ` + sfChecksum + `; it was probably "0035g00000MnOpQAAV"; export the ID column from Salesforce again and keep its case as it is`,
				},
				{
					Line: 5, CRMProspectID: "0035g00000abcdeaav", FlowID: flowB, OwnerEmail: dan,
					Column: ColCRMProspectID, Code: outcome.CodeSalesforceChecksum,
					Message: `excel-unicode-text.txt:5: column crmProspectId ("Contact ID"): "0035g00000abcdeaav" ` + sfChecksum + `; it was probably "0035g00000AbCdEAAV"; export the ID column from Salesforce again and keep its case as it is`,
				},
				{
					Line: 6, CRMProspectID: "0035g00000AbC", FlowID: flowB, OwnerEmail: dan,
					Column: ColCRMProspectID, Code: outcome.CodeInvalidProspectID,
					Message: `excel-unicode-text.txt:6: column crmProspectId ("Contact ID"): "0035g00000AbC" is not a Salesforce ID (15 or 18 letters and digits)`,
				},
			},
		},
		{
			name:       "Excel Unicode Text, without --crm the IDs go as written",
			file:       "excel-unicode-text.txt",
			wantFormat: Format{Encoding: EncodingUTF16LE, BOM: true, Delimiter: DelimiterTab},
			want: []Prospect{
				{Line: 2, CRMProspectID: "0035g00000AbCdE", FlowID: flowA, OwnerEmail: ava},
				{Line: 3, CRMProspectID: "0035g00000XyZqAAAV", FlowID: flowA, OwnerEmail: ava},
				{Line: 4, CRMProspectID: "0035G00000MNOPQAAV", FlowID: flowB, OwnerEmail: dan},
				{Line: 5, CRMProspectID: "0035g00000abcdeaav", FlowID: flowB, OwnerEmail: dan},
				{Line: 6, CRMProspectID: "0035g00000AbC", FlowID: flowB, OwnerEmail: dan},
			},
		},
		{
			name:       "Excel for Mac, lines ending in CR",
			file:       "excel-mac-cr.csv",
			survey:     true,
			wantFormat: utf8,
			want: []Prospect{
				{Line: 2, CRMProspectID: "0031t00000Jk7Lm", FlowID: flowB, OwnerEmail: dan},
				{Line: 3, CRMProspectID: "0031t00000Pq8Rs", FlowID: flowB, OwnerEmail: dan},
			},
		},
		{
			name:       "Google Sheets",
			file:       "google-sheets.csv",
			survey:     true,
			wantFormat: utf8,
			want: []Prospect{
				{Line: 2, CRMProspectID: "00Q5g00000XyZaB", FlowID: flowA, FlowName: "Q3 Outbound", OwnerEmail: ava},
				{Line: 4, CRMProspectID: "00Q5g00000XyZaD", FlowID: flowC, FlowName: "Renewals, EMEA", OwnerEmail: chloe},
			},
			wantRej: []*Rejection{
				{
					Line: 3, CRMProspectID: "00Q5g00000XyZaC", FlowID: "1.69549E+18", FlowName: "Q3 Outbound", OwnerEmail: ava,
					Column: ColFlowID, Code: outcome.CodeScientificNotation,
					Message: `google-sheets.csv:3: column flowId ("Flow ID"): "1.69549E+18" is in scientific notation: a spreadsheet read the ID as a number and kept 6 digits of it, which cannot be undone from this file; ` + reexport,
				},
				{
					Line: 5, CRMProspectID: "00Q5g00000XyZaE", FlowID: flowA, FlowName: "Q3 Outbound", OwnerEmail: "Ava Reyes",
					Column: ColOwnerEmail, Code: outcome.CodeInvalidEmail,
					Message: `google-sheets.csv:5: column flowInstanceOwnerEmail ("Flow Owner"): "Ava Reyes" is not an email address`,
				},
			},
		},
		{
			name:       "Numbers, semicolons",
			file:       "numbers-semicolon.csv",
			survey:     true,
			wantFormat: Format{Encoding: EncodingUTF8, Delimiter: DelimiterSemicolon},
			want: []Prospect{
				{Line: 2, CRMProspectID: "0031t00000Jk7Lm", FlowID: flowC, OwnerEmail: chloe},
				{Line: 4, CRMProspectID: "0031t00000Tu9Vw", FlowID: flowC2, OwnerEmail: chloe},
			},
			wantRej: []*Rejection{{
				Line: 3, CRMProspectID: "0031t00000Pq8Rs", FlowID: flowC,
				Column: ColOwnerEmail, Code: outcome.CodeMissingValue,
				Message: `numbers-semicolon.csv:3: column flowInstanceOwnerEmail ("Sequence Owner Email"): missing value`,
			}},
		},
		{
			name:       "Salesforce report, with a Survey the footer is skipped",
			file:       "salesforce-report.csv",
			opts:       Options{CRM: CRMSalesforce},
			survey:     true,
			wantFormat: Format{Encoding: EncodingWindows1252, Delimiter: DelimiterComma},
			wantFooter: 6,
			want: []Prospect{
				{Line: 2, CRMProspectID: "0031t00000Jk7LmAAJ", FlowID: flowC, OwnerEmail: chloe},
				{Line: 3, CRMProspectID: "0031t00000Pq8RsAAJ", FlowID: flowC, OwnerEmail: chloe},
			},
			wantRej: []*Rejection{{
				Line: 4, CRMProspectID: "0031t00000Tu9Vw", OwnerEmail: chloe,
				Column: ColFlowID, Code: outcome.CodeMissingValue,
				Message: `salesforce-report.csv:4: column flowId ("Flow ID"): missing value`,
			}},
		},
		{
			name:       "Salesforce report, without a Survey the footer is malformed rows",
			file:       "salesforce-report.csv",
			opts:       Options{CRM: CRMSalesforce},
			wantFormat: Format{Encoding: EncodingWindows1252, Delimiter: DelimiterComma},
			want: []Prospect{
				{Line: 2, CRMProspectID: "0031t00000Jk7LmAAJ", FlowID: flowC, OwnerEmail: chloe},
				{Line: 3, CRMProspectID: "0031t00000Pq8RsAAJ", FlowID: flowC, OwnerEmail: chloe},
			},
			wantRej: []*Rejection{
				{
					Line: 4, CRMProspectID: "0031t00000Tu9Vw", OwnerEmail: chloe,
					Column: ColFlowID, Code: outcome.CodeMissingValue,
					Message: `salesforce-report.csv:4: column flowId ("Flow ID"): missing value`,
				},
				footer(6, "Gong Flow Candidates"),
				footer(7, "Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."),
				footer(8, "Confidential Information - Do Not Distribute"),
				footer(9, "Generated By:  Dana Ops  11/28/2026 9:14 AM"),
				footer(10, "Example Corp"),
			},
		},
		{
			name:       "pandas, IDs written as floats",
			file:       "pandas-float-ids.csv",
			survey:     true,
			wantFormat: utf8,
			wantRej: []*Rejection{
				{
					Line: 2, CRMProspectID: "51234567890.0", FlowID: flowB, OwnerEmail: dan,
					Column: ColCRMProspectID, Code: outcome.CodeTrailingDecimal,
					Message: `pandas-float-ids.csv:2: column crmProspectId ("Record ID"): "51234567890.0" ends in ".0": a tool wrote the ID as a decimal number (it was probably "51234567890", if no digits were lost on the way); ` + reexport,
				},
				{
					Line: 3, FlowID: flowB, OwnerEmail: dan,
					Column: ColCRMProspectID, Code: outcome.CodeMissingValue,
					Message: `pandas-float-ids.csv:3: column crmProspectId ("Record ID"): missing value`,
				},
				{
					Line: 4, CRMProspectID: "51234567892.0", FlowID: flowB, OwnerEmail: dan,
					Column: ColCRMProspectID, Code: outcome.CodeTrailingDecimal,
					Message: `pandas-float-ids.csv:4: column crmProspectId ("Record ID"): "51234567892.0" ends in ".0": a tool wrote the ID as a decimal number (it was probably "51234567892", if no digits were lost on the way); ` + reexport,
				},
			},
		},
		{
			name:       "malformed CSV: the bad rows are rejected, the rest runs",
			file:       "malformed.csv",
			survey:     true,
			wantFormat: utf8,
			want: []Prospect{
				{Line: 2, CRMProspectID: "003A1", FlowID: flowA, OwnerEmail: ava},
				{Line: 5, CRMProspectID: "003A4", FlowID: flowA, OwnerEmail: ava},
				{Line: 6, CRMProspectID: "003A5", FlowID: flowB, OwnerEmail: dan},
				{Line: 10, CRMProspectID: "003A9", FlowID: flowB, OwnerEmail: dan},
			},
			wantRej: []*Rejection{
				{
					Line: 3, CRMProspectID: "003A2", FlowID: flowA, OwnerEmail: ava, Code: outcome.CodeMalformedRow,
					Message: `malformed.csv:3: malformed row: it has 5 cells and the header 4: a cell with a comma in it must be quoted`,
				},
				{
					Line: 4, CRMProspectID: "003A3", FlowID: flowA, OwnerEmail: ava, Code: outcome.CodeMalformedRow,
					Message: `malformed.csv:4: malformed CSV: the quoted cell 4 ("note") opened on line 4 does not end with " followed by the delimiter (comma) or the end of a line; its next " is on line 6; only line 4 is rejected, the lines after it are read as rows`,
				},
				{
					Line: 7, CRMProspectID: "003A6", FlowID: flowB, OwnerEmail: dan, Code: outcome.CodeMalformedRow,
					Message: `malformed.csv:7: malformed CSV on line 7, cell 4 ("note"): a " inside a cell that does not start with one; a cell with a " in it must be quoted and the " doubled, as in "5"" screen"`,
				},
				{
					Line: 8, CRMProspectID: "003A7", FlowID: flowB, OwnerEmail: dan, Code: outcome.CodeMalformedRow,
					Message: `malformed.csv:8: malformed row: a NUL (zero) byte in cell 3 ("flowInstanceOwnerEmail"): the file is damaged or not plain text; export it again as CSV`,
				},
				{
					Line: 9, CRMProspectID: "003A8", FlowID: flowB, Code: outcome.CodeMalformedRow,
					Message: `malformed.csv:9: malformed row: it has 2 cells and the header 4: it ends before column flowInstanceOwnerEmail; is a line break inside a cell not quoted?`,
				},
			},
		},
		{
			name:    "an Excel workbook instead of its CSV",
			file:    "workbook.xlsx",
			survey:  true,
			wantErr: `workbook.xlsx:1: this is not CSV text: it is a ZIP archive, which is what Excel (.xlsx), Numbers (.numbers) and OpenDocument (.ods) workbooks are; open it and export or save it as CSV UTF-8`,
		},
		{
			name:    "empty",
			file:    "empty.csv",
			survey:  true,
			wantErr: `empty.csv: the file is empty: it needs a header row`,
		},
		{
			// A run with nothing to do: zero rows, no error.
			name:       "header only, with a Survey",
			file:       "header-only.csv",
			survey:     true,
			wantFormat: Format{Encoding: EncodingUTF8, Delimiter: DelimiterComma},
		},
		{
			name:       "header only, without",
			file:       "header-only.csv",
			wantFormat: Format{Encoding: EncodingUTF8, Delimiter: DelimiterComma},
		},
		{
			name:    "UTF-16 without a byte order mark",
			file:    "utf16-no-bom.csv",
			survey:  true,
			wantErr: `utf16-no-bom.csv:1: this is not CSV text: it is text with a zero byte after every character, UTF-16 without a byte order mark; read it with --encoding utf-16le`,
		},
		{
			name:       "UTF-16 without a byte order mark, forced",
			file:       "utf16-no-bom.csv",
			opts:       Options{Encoding: EncodingUTF16LE},
			survey:     true,
			wantFormat: Format{Encoding: EncodingUTF16LE, Delimiter: DelimiterTab},
			want:       []Prospect{{Line: 2, CRMProspectID: "0031t00000Jk7Lm", FlowID: flowB, OwnerEmail: dan}},
		},
		{
			name:       "a file whose end is zero bytes",
			file:       "zero-filled-tail.csv",
			wantFormat: Format{Encoding: EncodingUTF8, Delimiter: DelimiterComma},
			want:       []Prospect{{Line: 2, CRMProspectID: "0031t00000Jk7Lm", FlowID: flowB, OwnerEmail: dan}},
			wantErr:    `zero-filled-tail.csv:3: this is not CSV text: it is binary data: 4096 zero bytes on this line; the file is damaged or was not copied whole`,
		},
		{
			name:    "a file whose end is zero bytes, with a Survey: nothing is read",
			file:    "zero-filled-tail.csv",
			survey:  true,
			wantErr: `zero-filled-tail.csv:3: this is not CSV text: it is binary data: 4096 zero bytes on this line; the file is damaged or was not copied whole`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Name = tt.file
			format, ps, rejs, s, err := readFile(t, filepath.Join("testdata", tt.file), opts, tt.survey)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFormat, format); diff != "" {
				t.Errorf("Format (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, ps, ignoreExtra()); diff != "" {
				t.Errorf("prospects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRej, rejs, ignoreExtra()); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
			if s != nil && s.Footer != tt.wantFooter {
				t.Errorf("Survey.Footer = %d, want %d", s.Footer, tt.wantFooter)
			}
		})
	}
}
