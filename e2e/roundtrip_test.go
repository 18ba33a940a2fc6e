package e2e

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/flowenroll/flowenroll/pkg/report"
)

// The tests of issue #14, with the real binary against the emulator: the
// columns of a CRM report come back beside every outcome, a failed.csv
// fixed in place runs again, results.xlsx holds the same rows with IDs as
// text, an .xlsx input reads as its CSV does, and owners and flows are
// given by name.

// contract's own columns of each result file, in order.
var (
	assignedCols    = []string{"line", "crmProspectId", "flowId", "flowInstanceOwnerEmail", "flowName", "flowInstanceId", "flowInstanceOwnerFullName", "flowInstanceCreateDate", "flowInstanceStatus", "workspaceId", "exclusive", "requestId"}
	failedCols      = []string{"line", "crmProspectId", "flowId", "flowInstanceOwnerEmail", "stage", "errorCode", "errorMessage", "httpStatus", "requestId"}
	unprocessedCols = []string{"line", "crmProspectId", "flowId", "flowInstanceOwnerEmail", "reason"}
	resultCols      = map[string][]string{"assigned": assignedCols, "failed": failedCols, "unprocessed": unprocessedCols}
)

// table is one CSV file: its header and rows.
type table struct {
	header []string
	rows   [][]string
}

func (tb table) col(name string) int { return slices.Index(tb.header, name) }

// cell returns row r's cell under header name ("" if there is none).
func (tb table) cell(r []string, name string) string {
	if i := tb.col(name); i >= 0 && i < len(r) {
		return r[i]
	}
	return ""
}

func rtReadTable(t *testing.T, path string) table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: no header", path)
	}
	return table{header: recs[0], rows: recs[1:]}
}

func rtWriteTable(t *testing.T, path string, tb table) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write(tb.header)
	w.WriteAll(tb.rows)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// sfRow is a data row of testdata/salesforce-report.csv.
type sfRow struct {
	line   int
	cells  map[string]string
	header []string
}

// readReport reads a CSV input as records keyed by the line they start on.
func readReport(t *testing.T, path string) map[int]sfRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int]sfRow{}
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		line, _ := r.FieldPos(0)
		row := sfRow{line: line, cells: map[string]string{}, header: header}
		for i, h := range header {
			row.cells[h] = rec[i]
		}
		rows[line] = row
	}
	return rows
}

// carriedCols are the report's columns no canonical column takes.
var carriedCols = []string{"First Name", "Last Name", "Account Name", "Notes"}

// sameCell reports whether a result cell is the input's cell as read: the
// same, or with the "'" that keeps a spreadsheet from running it.
func sameCell(got, want string) bool {
	return got == want || (got == "'"+want && want != "" && strings.ContainsRune("=+-@", rune(want[0])))
}

// checkCarried checks that every row of the three result files in out has
// the input's other columns, once each, after the contract's, as read.
func checkCarried(t *testing.T, out string, input map[int]sfRow) map[string]table {
	t.Helper()
	tables := map[string]table{}
	seen := map[int]string{}
	for _, name := range []string{"assigned", "failed", "unprocessed"} {
		tb := rtReadTable(t, filepath.Join(out, name+".csv"))
		tables[name] = tb
		own := resultCols[name]
		if len(tb.header) < len(own) || !slices.Equal(tb.header[:len(own)], own) {
			t.Errorf("%s.csv header %q does not start with the contract's columns %q", name, tb.header, own)
			continue
		}
		rest := tb.header[len(own):]
		for _, c := range carriedCols {
			if n := countOf(rest, c); n != 1 {
				t.Errorf("%s.csv: column %q appears %d times after the contract's columns; want once (header %q)", name, c, n, tb.header)
			}
		}
		for _, h := range tb.header {
			if countOf(tb.header, h) > 1 {
				t.Errorf("%s.csv: column %q is there twice (header %q)", name, h, tb.header)
			}
			if strings.HasPrefix(h, "input.") {
				t.Errorf("%s.csv: column %q has the input. prefix (header %q)", name, h, tb.header)
			}
			for _, outc := range []string{"stage", "errorCode", "errorMessage", "httpStatus", "reason", "flowInstanceId"} {
				if h == outc && !slices.Contains(own, outc) {
					t.Errorf("%s.csv carries the outcome column %q of a result file fed back (header %q)", name, h, tb.header)
				}
			}
		}
		for _, r := range tb.rows {
			line, err := strconv.Atoi(r[0])
			if err != nil {
				t.Errorf("%s.csv: line %q", name, r[0])
				continue
			}
			if prev, ok := seen[line]; ok {
				t.Errorf("line %d is in %s.csv and %s.csv", line, prev, name)
			}
			seen[line] = name
			in, ok := input[line]
			if !ok {
				t.Errorf("%s.csv names line %d, which starts no data row of the input", name, line)
				continue
			}
			if len(r) != len(tb.header) {
				t.Errorf("%s.csv line %d has %d cells, the header %d", name, line, len(r), len(tb.header))
			}
			for _, c := range carriedCols {
				if got, want := tb.cell(r, c), in.cells[c]; !sameCell(got, want) {
					t.Errorf("%s.csv line %d: %q is %q; the input has %q", name, line, c, got, want)
				}
			}
		}
	}
	for line := range input {
		if _, ok := seen[line]; !ok {
			t.Errorf("line %d of the input is in none of the three files", line)
		}
	}
	return tables
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// rtRun runs flowenroll against g with the suite's credentials and records
// the run in a scenario-less failure log.
func rtRun(t *testing.T, g *gongStandIn, args ...string) runRecord {
	t.Helper()
	g.quiesce()
	r := startProc(t, gongEnv(g.srv.URL), nil, args...).wait(t)
	g.quiesce()
	return r
}

// rtFlags are the flags of a run of in into out, fast and in small chunks.
func rtFlags(in, out string, extra ...string) []string {
	return append([]string{"run", "--input", in, "--out", out, "--rate", "1000", "--chunk-size", "2", "--concurrency", "1", "--log-format", "json"}, extra...)
}

// TestRoundTripCarriesTheReportColumns: a Salesforce report runs with a
// request cap, so that rows end in each of the three files; each carries
// First Name, Last Name, Account Name and Notes as read. failed.csv, its
// two rows fixed (a flow name's typo, an owner's email cut short), then
// runs into another --out and enrolls both, with the columns once.
func TestRoundTripCarriesTheReportColumns(t *testing.T) {
	t.Parallel()
	g := newGong(t, gongConfig(nil), nil)
	in := filepath.Join("testdata", "salesforce-report.csv")
	input := readReport(t, in)
	out := filepath.Join(t.TempDir(), "out")

	r := rtRun(t, g, rtFlags(in, out, "--max-requests", "4")...)
	if r.exit != 4 {
		t.Fatalf("the capped run: %v; want exit 4\n%s", r, r.stderr)
	}
	tables := checkCarried(t, out, input)
	for _, name := range []string{"assigned", "failed", "unprocessed"} {
		if len(tables[name].rows) == 0 {
			t.Errorf("%s.csv has no rows; the fixture wants rows in each file", name)
		}
	}
	failed := tables["failed"]
	codes := map[string]string{}
	for _, row := range failed.rows {
		codes[row[0]] = failed.cell(row, "stage") + "/" + failed.cell(row, "errorCode")
	}
	if want := map[string]string{"11": "input/FlowNameNotFound", "12": "input/InvalidEmail"}; !mapsEqual(codes, want) {
		t.Fatalf("failed.csv: %v; want %v", codes, want)
	}

	// results.xlsx, beside the CSVs.
	checkWorkbook(t, out, tables)

	// Fix failed.csv as a person would, in place, and feed it back.
	for _, row := range failed.rows {
		switch row[0] {
		case "11":
			i := failed.col("flowName")
			if i < 0 {
				t.Fatalf("failed.csv has no flowName column to fix the typo in: %q", failed.header)
			}
			row[i] = "Inbound Demo Request"
		case "12":
			row[failed.col("flowInstanceOwnerEmail")] = "ben.okafor@example.com"
		}
	}
	fixed := filepath.Join(t.TempDir(), "failed-fixed.csv")
	rtWriteTable(t, fixed, failed)
	retryOut := filepath.Join(t.TempDir(), "retry")
	before := len(g.emu.Created())
	r = rtRun(t, g, rtFlags(fixed, retryOut)...)
	if r.exit != 0 {
		t.Fatalf("failed.csv fixed and fed back: %v; want exit 0\n%s", r, r.stderr)
	}
	assigned := rtReadTable(t, filepath.Join(retryOut, "assigned.csv"))
	if len(assigned.rows) != 2 {
		t.Fatalf("the retry assigned %d rows; want the 2 fixed ones", len(assigned.rows))
	}
	if want := append(slices.Clone(assignedCols), carriedCols...); !slices.Equal(assigned.header, want) {
		t.Errorf("the retry's assigned.csv header:\n got %q\nwant %q", assigned.header, want)
	}
	// The retry's lines are those of the report (issue #21): a row fed
	// back keeps its line, for people to match the rows.
	orig := map[string]sfRow{}
	for _, row := range failed.rows {
		line, _ := strconv.Atoi(row[0])
		orig[row[0]] = input[line]
	}
	for _, row := range assigned.rows {
		o, ok := orig[row[0]]
		if !ok {
			t.Errorf("the retry's assigned.csv names line %s", row[0])
			continue
		}
		if got := assigned.cell(row, "crmProspectId"); got != o.cells["Contact ID"] {
			t.Errorf("line %s: crmProspectId %q, want %q", row[0], got, o.cells["Contact ID"])
		}
		for _, c := range carriedCols {
			if got := assigned.cell(row, c); !sameCell(got, o.cells[c]) {
				t.Errorf("the retry's line %s: %q is %q; the report has %q", row[0], c, got, o.cells[c])
			}
		}
	}
	created := g.emu.Created()[before:]
	got := map[string]string{}
	for _, c := range created {
		got[c.CRMProspectID] = c.FlowID + " " + c.FlowInstanceOwnerEmail
	}
	want := map[string]string{
		"0035e00000A1bClAAA": flowDemo + " " + dan,
		"0035e00000A1bCmAAA": flowSDR + " " + ben,
	}
	if !mapsEqual(got, want) {
		t.Errorf("the retry created %v; want %v", got, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkWorkbook reads results.xlsx in out back with excelize: one sheet per
// CSV with the same rows (formula guards off), ID columns stored as text,
// 19-digit flow IDs exact, the header frozen.
func checkWorkbook(t *testing.T, out string, tables map[string]table) {
	t.Helper()
	x, err := excelize.OpenFile(filepath.Join(out, report.WorkbookFile))
	if err != nil {
		t.Fatalf("results.xlsx: %v", err)
	}
	defer x.Close()
	for _, name := range []string{"assigned", "failed", "unprocessed"} {
		tb := tables[name]
		rows, err := x.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Errorf("results.xlsx sheet %q: %v (sheets %q)", name, err, x.GetSheetList())
			continue
		}
		want := append([][]string{tb.header}, tb.rows...)
		if len(rows) != len(want) {
			t.Errorf("results.xlsx sheet %q has %d rows; %s.csv has %d", name, len(rows), name, len(want))
		}
		for i := range min(len(rows), len(want)) {
			got := slices.Clone(rows[i])
			for len(got) < len(want[i]) {
				got = append(got, "") // GetRows leaves out the empty cells at a row's end
			}
			for j := range want[i] {
				w := want[i][j]
				if i > 0 {
					w = report.Unguard(w)
				}
				if j >= len(got) || got[j] != w {
					t.Errorf("results.xlsx %s row %d column %q: %q; %s.csv has %q", name, i+1, want[0][j], at(got, j), name, want[i][j])
				}
			}
		}
		for _, col := range []string{"line", "crmProspectId", "flowId", "flowInstanceId", "workspaceId", "requestId"} {
			j := tb.col(col)
			if j < 0 {
				continue
			}
			for i, row := range tb.rows {
				if row[j] == "" {
					continue
				}
				ref, _ := excelize.CoordinatesToCellName(j+1, i+2)
				typ, err := x.GetCellType(name, ref)
				if err != nil {
					t.Fatal(err)
				}
				if col != "line" && typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
					t.Errorf("results.xlsx %s!%s (%s %q): cell type %v; want a string", name, ref, col, row[j], typ)
				}
				if col == "flowId" {
					v, _ := x.GetCellValue(name, ref)
					if v != row[j] || len(v) != 19 {
						t.Errorf("results.xlsx %s!%s: flow ID %q; want %q, 19 digits", name, ref, v, row[j])
					}
				}
			}
		}
		panes, err := x.GetPanes(name)
		if err != nil {
			t.Fatal(err)
		}
		if !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("results.xlsx sheet %q: panes %+v; want the header row frozen", name, panes)
		}
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<none>"
}

// outcomes returns each line's outcome key in out (assigned, failed:S/C,
// unprocessed:R).
func outcomes(t *testing.T, out string) map[int]string {
	t.Helper()
	m := map[int]string{}
	for line, o := range readResults(t, out).byLine {
		m[line] = o.key()
	}
	return m
}

// TestRoundTripWorkbookInputReadsAsItsCSV: an .xlsx made with excelize, IDs
// typed as text, one flow ID stored as a number (General format: Excel
// shows 1.69549E+18, as its CSV export writes it) and an ID given by a
// formula with its saved value, gives each line the outcome its CSV twin
// gives, each against its own emulator.
func TestRoundTripWorkbookInputReadsAsItsCSV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	header := []string{"Contact ID", "Flow ID", "Owner Email", "Notes"}
	rows := [][]string{
		{"0035e00000B1aaaAAA", flowSDR, ava, "text IDs"},
		{"0035e00000B1aabAAA", flowDemo, dan, "text IDs, comma"},
		{"0035e00000B1aacAAA", "1.69549E+18", ben, "flow ID stored as a number"},
		{"0035e00000B1aadAAA", flowSDR, ava, "ID from a formula"},
		{"0035e00000B1aaeAAA", flowUnknown, ben, "unknown flow"},
	}
	csvPath := filepath.Join(dir, "prospects.csv")
	rtWriteTable(t, csvPath, table{header: header, rows: rows})

	// Written with the stream writer, which keeps a formula's saved value.
	x := excelize.NewFile()
	sheet := "Sheet1"
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		t.Fatal(err)
	}
	write := func(row int, cells []any) {
		ref, _ := excelize.CoordinatesToCellName(1, row)
		if err := sw.SetRow(ref, cells); err != nil {
			t.Fatal(err)
		}
	}
	write(1, []any{header[0], header[1], header[2], header[3]})
	for i, r := range rows {
		cells := []any{r[0], r[1], r[2], r[3]}
		switch i {
		case 2: // a number, General format
			cells[1] = int64(1695493301223590792)
		case 3: // a formula, with the value Excel saved beside it
			cells[0] = excelize.Cell{Formula: `"0035e00000B1aad"&"AAA"`, Value: r[0]}
		}
		write(i+2, cells)
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	xlsxPath := filepath.Join(dir, "prospects.xlsx")
	if err := x.SaveAs(xlsxPath); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if f, _ := excelize.OpenFile(xlsxPath); f != nil {
		typ, _ := f.GetCellType(sheet, "B4")
		fm, _ := f.GetCellFormula(sheet, "A5")
		v, _ := f.GetCellValue(sheet, "A5")
		f.Close()
		if (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) || fm == "" || v != "0035e00000B1aadAAA" {
			t.Fatalf("the test's workbook: B4 type %v, A5 formula %q value %q", typ, fm, v)
		}
	}

	results := map[string]map[int]string{}
	for _, in := range []string{csvPath, xlsxPath} {
		g := newGong(t, gongConfig(nil), nil)
		out := filepath.Join(t.TempDir(), "out")
		r := rtRun(t, g, rtFlags(in, out)...)
		if r.exit != 3 {
			t.Errorf("%s: %v; want exit 3 (a flow stored as a number, an unknown flow)\n%s", filepath.Base(in), r, r.stderr)
		}
		results[filepath.Ext(in)] = outcomes(t, out)
	}
	csvOut, xlsxOut := results[".csv"], results[".xlsx"]
	for line := 2; line <= len(rows)+1; line++ {
		// Line 4 is the one a workbook says more of: its cell is a number,
		// which Excel has rounded (RoundedNumber, below); the CSV shows
		// only 1.69549E+18 (ScientificNotation).
		if line != 4 && csvOut[line] != xlsxOut[line] {
			t.Errorf("line %d (%s): the CSV gives %q, the workbook %q", line, rows[line-2][3], csvOut[line], xlsxOut[line])
		}
	}
	for _, line := range []int{2, 3, 5} {
		if xlsxOut[line] != wantAssigned {
			t.Errorf("workbook line %d (%s): %q, want assigned", line, rows[line-2][3], xlsxOut[line])
		}
	}
	if xlsxOut[4] != "failed:input/RoundedNumber" || csvOut[4] != "failed:input/ScientificNotation" {
		t.Errorf("line 4 (a 19-digit flow ID stored as a number): workbook %q, CSV %q; want failed at input, RoundedNumber and ScientificNotation", xlsxOut[4], csvOut[4])
	}
	t.Logf("outcomes: csv %v, xlsx %v", csvOut, xlsxOut)
}

// TestRoundTripOwnersByName: a "Contact owner" column of names is resolved
// through one GET /v2/users per run: a unique name is assigned to its
// user's email, "Zoë Müller" (two users) fails OwnerAmbiguous naming both,
// an unknown name fails OwnerNotFound. A run stopped by its request cap
// and resumed lists the users 0 times: the listing is kept in the --out.
func TestRoundTripOwnersByName(t *testing.T) {
	t.Parallel()
	g := newGong(t, gongConfig(nil), nil)
	var b strings.Builder
	b.WriteString("Contact ID,Flow ID,Contact owner,First Name\n")
	for i := range 6 {
		b.WriteString("0035e00000C1a" + strconv.Itoa(i) + "aAAA," + flowSDR + ",Ava Reyes,Ava's " + strconv.Itoa(i) + "\n")
	}
	b.WriteString("0035e00000C1zzzAAA," + flowSDR + ",Zoë Müller,Two Zoës\n") // line 8
	b.WriteString("0035e00000C1nnnAAA," + flowSDR + ",Nobody Atall,No one\n") // line 9
	in := filepath.Join(t.TempDir(), "owners.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")

	users := g.emu.Stats().ListUsers
	r := rtRun(t, g, rtFlags(in, out, "--chunk-size", "1", "--max-requests", "3")...)
	if r.exit != 4 {
		t.Fatalf("the capped run: %v; want exit 4\n%s", r, r.stderr)
	}
	if n := g.emu.Stats().ListUsers - users; n != 1 {
		t.Errorf("the first run listed the users %d times; want 1", n)
	}
	if _, err := os.Stat(filepath.Join(out, "flows.json")); err != nil {
		t.Errorf("no flows.json in --out after the first run: %v", err)
	}
	users = g.emu.Stats().ListUsers
	r = rtRun(t, g, rtFlags(in, out, "--chunk-size", "1")...)
	if r.exit != 3 {
		t.Fatalf("the resumed run: %v; want exit 3\n%s", r, r.stderr)
	}
	if n := g.emu.Stats().ListUsers - users; n != 0 {
		t.Errorf("the resumed run listed the users %d times; want 0 (the listing is kept in --out/flows.json)", n)
	}

	res := rtReadTable(t, filepath.Join(out, "assigned.csv"))
	if len(res.rows) != 6 {
		t.Errorf("assigned.csv has %d rows; want Ava Reyes's 6", len(res.rows))
	}
	for _, row := range res.rows {
		if got := res.cell(row, "flowInstanceOwnerEmail"); got != ava {
			t.Errorf("assigned.csv line %s: owner %q; want %s", row[0], got, ava)
		}
		if got := res.cell(row, "First Name"); !strings.HasPrefix(got, "Ava's ") {
			t.Errorf("assigned.csv line %s: First Name %q; want the cell as read", row[0], got)
		}
	}
	for _, c := range g.emu.Created() {
		if c.FlowInstanceOwnerEmail != ava {
			t.Errorf("the emulator created %s for %s; want only Ava Reyes's rows", c.CRMProspectID, c.FlowInstanceOwnerEmail)
		}
	}
	failed := rtReadTable(t, filepath.Join(out, "failed.csv"))
	got := map[string]string{}
	for _, row := range failed.rows {
		got[row[0]] = failed.cell(row, "errorCode")
		if row[0] == "8" {
			msg := failed.cell(row, "errorMessage")
			if !strings.Contains(msg, "zoe.muller@example.com") || !strings.Contains(msg, "zoe.mueller@example.com") {
				t.Errorf("line 8 (Zoë Müller): the message does not list both users: %q", msg)
			}
		}
	}
	if want := map[string]string{"8": "OwnerAmbiguous", "9": "OwnerNotFound"}; !mapsEqual(got, want) {
		t.Errorf("failed.csv: %v; want %v", got, want)
	}
}

// TestRoundTripFlowAndOwnerFlags: a file with neither a flow nor an owner
// column runs with --flow NAME and --owner EMAIL: every row is assigned to
// that flow and owner.
func TestRoundTripFlowAndOwnerFlags(t *testing.T) {
	t.Parallel()
	g := newGong(t, gongConfig(nil), nil)
	in := filepath.Join(t.TempDir(), "ids.csv")
	if err := os.WriteFile(in, []byte("Contact ID,First Name\n0035e00000D1aaaAAA,Ann\n0035e00000D1aabAAA,Bo\n0035e00000D1aacAAA,Cy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	r := rtRun(t, g, rtFlags(in, out, "--flow", "Inbound Demo Request", "--owner", ava)...)
	if r.exit != 0 {
		t.Fatalf("%v; want exit 0\n%s", r, r.stderr)
	}
	created := g.emu.Created()
	if len(created) != 3 {
		t.Errorf("the emulator created %d instances; want 3", len(created))
	}
	for _, c := range created {
		if c.FlowID != flowDemo || c.FlowInstanceOwnerEmail != ava {
			t.Errorf("%s: flow %s owner %s; want %s (Inbound Demo Request) and %s", c.CRMProspectID, c.FlowID, c.FlowInstanceOwnerEmail, flowDemo, ava)
		}
	}
	assigned := rtReadTable(t, filepath.Join(out, "assigned.csv"))
	for _, row := range assigned.rows {
		if assigned.cell(row, "flowId") != flowDemo || assigned.cell(row, "flowInstanceOwnerEmail") != ava || assigned.cell(row, "flowName") != "Inbound Demo Request" {
			t.Errorf("assigned.csv line %s: %q", row[0], row)
		}
	}
}
