package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

// TestWorkbookRefusedCells runs the binary on a workbook whose ID cells
// include a 19-digit number (Excel has rounded it to 1695493301223590000),
// a date and an ID typed as text, with a second sheet of notes: the
// rounded and the date cells are failed at input, naming the row and
// column, nothing is sent for them, the text ID is assigned exactly, the
// run exits 3, and a warning names the other sheet.
func TestWorkbookRefusedCells(t *testing.T) {
	t.Parallel()
	g := newGong(t, gongConfig(nil), nil)
	x := excelize.NewFile()
	defer x.Close()
	rows := [][]any{
		{"Contact ID", "Flow ID", "Owner Email"},
		{"0035e00000WB001AAA", flowSDR, ava},
		{int64(1695493301223590792), flowSDR, ava}, // shown as 1695493301223590000
		{"1695493301223590792", flowSDR, ava},      // the same ID, as text
		{time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), flowSDR, ava},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := x.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	style, err := x.NewStyle(&excelize.Style{NumFmt: 1}) // "0": the 19 digits as Excel keeps them
	if err != nil {
		t.Fatal(err)
	}
	if err := x.SetCellStyle("Sheet1", "A3", "A3", style); err != nil {
		t.Fatal(err)
	}
	if _, err := x.NewSheet("Notes"); err != nil {
		t.Fatal(err)
	}
	if err := x.SetCellStr("Notes", "A1", "call back in Q3"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "book.xlsx")
	mustWrite(t, in, buf.Bytes())
	out := filepath.Join(t.TempDir(), "out")

	cmd := exec.Command(binary, runFlags(in, out)...)
	cmd.Env = gongEnv(g.srv.URL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("exit %v, want 3; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), `data on other sheets too: \"Notes\"`) {
		t.Errorf("no warning naming the sheet Notes; stderr:\n%s", stderr.String())
	}

	res := readResults(t, out)
	got := map[int]string{}
	for line, o := range res.byLine {
		got[line] = o.file + " " + o.id + " " + o.code
	}
	want := map[int]string{
		2: "assigned 0035e00000WB001AAA ",
		3: "failed 1695493301223590000 input/RoundedNumber",
		4: "assigned 1695493301223590792 ",
		5: "failed 12-07-26 input/DateCell",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes by line (-want +got):\n%s", diff)
	}
	failed, err := os.ReadFile(filepath.Join(out, "failed.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{
		`book.xlsx:3: column crmProspectId (""Contact ID""): the cell is a number of more than 15 digits, shown as ""1695493301223590000""`,
		`book.xlsx:5: column crmProspectId (""Contact ID""): the cell is a date (12-07-26)`,
	} {
		if !strings.Contains(string(failed), msg) {
			t.Errorf("failed.csv lacks %s:\n%s", msg, failed)
		}
	}
	// Only the two valid rows reached Gong, the 19-digit ID exact.
	var sent []string
	for _, a := range g.emu.Created() {
		sent = append(sent, a.CRMProspectID)
	}
	if diff := cmp.Diff([]string{"0035e00000WB001AAA", "1695493301223590792"}, sent); diff != "" {
		t.Errorf("prospects Gong was sent (-want +got):\n%s", diff)
	}
}
