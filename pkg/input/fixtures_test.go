package input

import (
	"archive/zip"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

var update = flag.Bool("update", false, "rewrite the generated files under testdata/ and ../../samples/exports/")

// exporter writes rows the way one tool writes its CSV export: encoding,
// byte order mark, delimiter, line ends and quoting. testdata/README.md says
// which tool each stands for and what is known of it.
type exporter struct {
	encoding string // EncodingUTF8, EncodingUTF16LE or EncodingWindows1252
	bom      bool
	comma    string
	eol      string
	finalEOL bool // the last row ends with eol too
	quoteAll bool // every cell quoted, not only those that need it
}

var (
	excelWindowsCSV     = exporter{encoding: EncodingWindows1252, comma: ",", eol: "\r\n", finalEOL: true}
	excelWindowsCSVUTF8 = exporter{encoding: EncodingUTF8, bom: true, comma: ",", eol: "\r\n", finalEOL: true}
	excelWindowsGerman  = exporter{encoding: EncodingWindows1252, comma: ";", eol: "\r\n", finalEOL: true}
	excelUnicodeText    = exporter{encoding: EncodingUTF16LE, bom: true, comma: "\t", eol: "\r\n", finalEOL: true}
	excelMacCSV         = exporter{encoding: EncodingUTF8, comma: ",", eol: "\r", finalEOL: true}
	googleSheetsCSV     = exporter{encoding: EncodingUTF8, comma: ",", eol: "\r\n"}
	numbersCSVComma     = exporter{encoding: EncodingUTF8, comma: ";", eol: "\n", finalEOL: true}
	salesforceReportCSV = exporter{encoding: EncodingWindows1252, comma: ",", eol: "\n", finalEOL: true, quoteAll: true}
	pandasToCSV         = exporter{encoding: EncodingUTF8, comma: ",", eol: "\n", finalEOL: true}
)

func (x exporter) write(t testing.TB, rows [][]string) []byte {
	var b strings.Builder
	for i, row := range rows {
		for j, cell := range row {
			if j > 0 {
				b.WriteString(x.comma)
			}
			if x.quoteAll || strings.ContainsAny(cell, x.comma+"\"\r\n") {
				cell = `"` + strings.ReplaceAll(cell, `"`, `""`) + `"`
			}
			b.WriteString(cell)
		}
		if i < len(rows)-1 || x.finalEOL {
			b.WriteString(x.eol)
		}
	}
	var out []byte
	var err error
	switch x.encoding {
	case EncodingUTF8:
		if x.bom {
			out = append(out, "\ufeff"...)
		}
		out = append(out, b.String()...)
	case EncodingWindows1252:
		out, err = charmap.Windows1252.NewEncoder().Bytes([]byte(b.String()))
	case EncodingUTF16LE:
		out, err = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().Bytes([]byte(b.String()))
		if x.bom {
			out = append([]byte("\xff\xfe"), out...)
		}
	}
	if err != nil {
		t.Fatalf("encoding as %s: %v", x.encoding, err)
	}
	return out
}

// fixture is one file under testdata/; sample ones are also written to
// samples/exports/.
type fixture struct {
	file   string
	sample bool
	bytes  func(testing.TB) []byte
}

func rows(x exporter, r ...[]string) func(testing.TB) []byte {
	return func(t testing.TB) []byte { return x.write(t, r) }
}

func raw(s string) func(testing.TB) []byte {
	return func(testing.TB) []byte { return []byte(s) }
}

var fixtures = []fixture{
	{file: "excel-windows-comma.csv", sample: true, bytes: rows(excelWindowsCSV,
		[]string{"Record ID", "First Name", "Last Name", "Company", "Flow ID", "Owner Email", "Notes"},
		[]string{"51234567890", "José", "Núñez", "Café Olé", "1695493301223590792", "ava.reyes@example.com", ""},
		[]string{"1.23457E+11", "Zoë", "Brontë", "Smith, Jones & Co", "1695493301223590792", "ava.reyes@example.com", "Met at the expo"},
		[]string{"51234567891", "Ana", "Müller", "Straße AG", "1.69549E+18", "ben.okafor@example.com", "Called twice,\nleft a message"},
		[]string{"51234567892", "Renée", "O'Brien", `The "Best" Co`, "1711046208531772911", "dan.kowalski@example.com", "€5k deal"},
	)},
	{file: "excel-csv-utf8.csv", sample: true, bytes: rows(excelWindowsCSVUTF8,
		[]string{"Record ID", "Name", "Flow ID", "Flow Owner", "Notes"},
		[]string{"00012345", "Ava Lee", "1695493301223590792", "ava.reyes@example.com", "first batch"},
		[]string{"00012346", "李娜", "1711046208531772911", "dan.kowalski@example.com", "first batch"},
		[]string{"12345", "Ava Lee", "1711046208531772911", "ben.okafor@example.com", "second batch"},
		[]string{"00012347", "Omar Haddad", "1695493301223590000", "ben.okafor@example.com", "second batch"},
		[]string{"00012348", "Inès Dubois", "1711046208531770000", "dan.kowalski@example.com", "second batch"},
		[]string{"00012349", "Mia Chen", "1702318845120411230", "chloe.martin@example.com", "second batch"},
		[]string{"00012350", "Noah Kim", "1695493301223590801", "ava.reyes@example.com", "first batch"},
	)},
	{file: "excel-semicolon-de.csv", sample: true, bytes: rows(excelWindowsGerman,
		[]string{"Kontakt-ID", "Vorname", "Nachname", "Flow ID", "Owner Email", "Notiz"},
		[]string{"40001", "Jürgen", "Groß", "1695493301223590792", "ava.reyes@example.com", "Termin; später"},
		[]string{"40002", "Søren", "Ærø", "1,69549E+18", "ava.reyes@example.com", ""},
		[]string{"40003,00", "Ana", "Weiß", "1711046208531772911", "dan.kowalski@example.com", "Zahlenformat"},
	)},
	{file: "excel-unicode-text.txt", sample: true, bytes: rows(excelUnicodeText,
		[]string{"Contact ID", "Full Name", "Flow ID", "Owner Email"},
		[]string{"0035g00000AbCdE", "Lena Fischer", "1695493301223590792", "ava.reyes@example.com"},
		[]string{"0035g00000XyZqAAAV", "🙂 Mia Wong", "1695493301223590792", "ava.reyes@example.com"},
		[]string{"0035G00000MNOPQAAV", `Dwayne "The Rock" Johnson`, "1711046208531772911", "dan.kowalski@example.com"},
		[]string{"0035g00000abcdeaav", "Ann Lee", "1711046208531772911", "dan.kowalski@example.com"},
		[]string{"0035g00000AbC", "Ben Cho", "1711046208531772911", "dan.kowalski@example.com"},
	)},
	{file: "excel-mac-cr.csv", sample: true, bytes: rows(excelMacCSV,
		[]string{"Contact ID", "Flow ID", "Owner Email"},
		[]string{"0031t00000Jk7Lm", "1711046208531772911", "dan.kowalski@example.com"},
		[]string{"0031t00000Pq8Rs", "1711046208531772911", "dan.kowalski@example.com"},
	)},
	{file: "google-sheets.csv", sample: true, bytes: rows(googleSheetsCSV,
		[]string{"Lead ID", "Email", "Flow", "Flow ID", "Flow Owner"},
		[]string{"00Q5g00000XyZaB", "lena@acme.example", "Q3 Outbound", "1695493301223590792", "ava.reyes@example.com"},
		[]string{"00Q5g00000XyZaC", "zoe@soylent.example", "Q3 Outbound", "1.69549E+18", "ava.reyes@example.com"},
		[]string{"00Q5g00000XyZaD", "noah@initech.example", "Renewals, EMEA", "1702318845120411230", "chloe.martin@example.com"},
		[]string{"00Q5g00000XyZaE", "mia@globex.example", "Q3 Outbound", "1695493301223590792", "Ava Reyes"},
	)},
	{file: "numbers-semicolon.csv", sample: true, bytes: rows(numbersCSVComma,
		[]string{"Prospect ID", "Company", "Deal size", "Sequence ID", "Sequence Owner Email"},
		[]string{"0031t00000Jk7Lm", "Initech", "1,5", "1702318845120411230", "chloe.martin@example.com"},
		[]string{"0031t00000Pq8Rs", "Globex; Paris", "2,25", "1702318845120411230", ""},
		[]string{"0031t00000Tu9Vw", "Hooli", "0,75", "1702318845120411245", "chloe.martin@example.com"},
	)},
	{file: "salesforce-report.csv", sample: true, bytes: rows(salesforceReportCSV,
		[]string{"Contact ID", "First Name", "Last Name", "Account Name", "Flow ID", "Flow Owner Email"},
		[]string{"0031t00000Jk7Lm", "Chloé", "Martin", "Initech", "1702318845120411230", "chloe.martin@example.com"},
		[]string{"0031t00000Pq8Rs", "Lucas", "Meyer", "Hooli", "1702318845120411230", "chloe.martin@example.com"},
		[]string{"0031t00000Tu9Vw", "Mia", "Keller", "Globex", "", "chloe.martin@example.com"},
		[]string{},
		[]string{"Gong Flow Candidates"},
		[]string{"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."},
		[]string{"Confidential Information - Do Not Distribute"},
		[]string{"Generated By:  Dana Ops  11/28/2026 9:14 AM"},
		[]string{"Example Corp"},
	)},
	{file: "pandas-float-ids.csv", sample: true, bytes: rows(pandasToCSV,
		[]string{"Record ID", "Flow ID", "Owner Email"},
		[]string{"51234567890.0", "1711046208531772911", "dan.kowalski@example.com"},
		[]string{"", "1711046208531772911", "dan.kowalski@example.com"},
		[]string{"51234567892.0", "1711046208531772911", "dan.kowalski@example.com"},
	)},
	{file: "malformed.csv", sample: true, bytes: raw("" +
		"crmProspectId,flowId,flowInstanceOwnerEmail,note\n" +
		"003A1,1695493301223590792,ava.reyes@example.com,ok\n" +
		"003A2,1695493301223590792,ava.reyes@example.com,Smith, John\n" +
		"003A3,1695493301223590792,ava.reyes@example.com,\"Acme\n" +
		"003A4,1695493301223590792,ava.reyes@example.com,fine\n" +
		"003A5,1711046208531772911,dan.kowalski@example.com,\"Globex, Inc.\"\n" +
		"003A6,1711046208531772911,dan.kowalski@example.com,5\" screen\n" +
		"003A7,1711046208531772911,dan.\x00kowalski@example.com,nul\n" +
		"003A8,1711046208531772911\n" +
		"003A9,1711046208531772911,dan.kowalski@example.com,last\n")},
	{file: "workbook.xlsx", bytes: zipped},
	{file: "empty.csv", bytes: raw("")},
	{file: "header-only.csv", bytes: rows(excelWindowsCSV, []string{"Contact ID", "Flow ID", "Owner Email"})},
	{file: "utf16-no-bom.csv", bytes: func(t testing.TB) []byte {
		x := excelUnicodeText
		x.bom = false
		return x.write(t, [][]string{{"Contact ID", "Flow ID", "Owner Email"}, {"0031t00000Jk7Lm", "1711046208531772911", "dan.kowalski@example.com"}})
	}},
	{file: "zero-filled-tail.csv", bytes: func(t testing.TB) []byte {
		b := excelWindowsCSV.write(t, [][]string{{"Contact ID", "Flow ID", "Owner Email"}, {"0031t00000Jk7Lm", "1711046208531772911", "dan.kowalski@example.com"}})
		return append(b, make([]byte, 4096)...)
	}},
}

// zipped is a ZIP archive, as an .xlsx workbook is; only its first bytes
// matter to the reader.
func zipped(t testing.TB) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.CreateHeader(&zip.FileHeader{Name: "xl/workbook.xml", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(`<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFixtureFiles checks that the files under testdata/ and
// samples/exports/ are what the exporters above write; -update writes them.
func TestFixtureFiles(t *testing.T) {
	for _, fx := range fixtures {
		want := fx.bytes(t)
		paths := []string{filepath.Join("testdata", fx.file)}
		if fx.sample {
			paths = append(paths, filepath.Join("..", "..", "samples", "exports", fx.file))
		}
		for _, p := range paths {
			if *update {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%v (go test -run TestFixtureFiles -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is not what its exporter writes (go test -run TestFixtureFiles -update rewrites it)", p)
			}
		}
	}
}
