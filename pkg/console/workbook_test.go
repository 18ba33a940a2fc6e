package console

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/xuri/excelize/v2"
)

// deepBook is a workbook whose sheet nests elements a million deep: 5 kB
// zipped, 3 MB unzipped, and before the limits a read that grew with it.
func deepBook(t *testing.T) []byte {
	t.Helper()
	parts := map[string]string{
		"[Content_Types].xml":        `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"xl/workbook.xml":            `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml":   `<worksheet><sheetData><row r="1">` + strings.Repeat("<x>", 1_000_000),
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, text := range parts {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWorkbookUploadLimits: an upload past a workbook limit is refused
// with a message a person understands, as the CLI refuses it.
func TestWorkbookUploadLimits(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	body, ctype := form(t, "bomb.xlsx", deepBook(t), nil)
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs", body)
	req.Header.Set("Content-Type", ctype)
	var answer struct{ Error string }
	res := do(t, req, &answer)
	if res.StatusCode != 400 || !strings.Contains(answer.Error, "too large to read") || !strings.Contains(answer.Error, "nests more than 64 deep") {
		t.Errorf("status %d, error %q; want 400 naming the limit", res.StatusCode, answer.Error)
	}
}

// TestWorkbookToCSVCancelled: the conversion stops with the request's
// context.
func TestWorkbookToCSVCancelled(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "book.xlsx")
	if err := os.WriteFile(src, deepBook(t), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := convertUpload(ctx, src, "", filepath.Join(dir, "input.csv"))
	var bad *worker.BadInputError
	if !errors.As(err, &bad) || !strings.Contains(bad.Msg, context.Canceled.Error()) {
		t.Errorf("error %v, want the request's cancellation", err)
	}
}

// TestWorkbookOtherSheetsNote: an upload with data on a second sheet and no
// sheet named says so in the plan, naming the sheet.
func TestWorkbookOtherSheetsNote(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	x := excelize.NewFile()
	defer x.Close()
	for i, r := range [][]any{{"Contact ID", "Flow ID", "Owner Email"}, {"003A00001", flowSDR, ava}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := x.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x.NewSheet("Q3 leads"); err != nil {
		t.Fatal(err)
	}
	if err := x.SetCellStr("Q3 leads", "A1", "003A00002"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	status, run := c.upload(t, "book.xlsx", buf.String(), nil)
	if status != 201 || run.Plan == nil || !strings.Contains(run.Plan.Note, `data on other sheets too: Q3 leads`) {
		t.Fatalf("status %d, plan %+v; want a note naming the sheet Q3 leads", status, run.Plan)
	}
	if _, run := c.upload(t, "book.xlsx", buf.String(), map[string]string{"sheet": "Sheet1"}); strings.Contains(run.Plan.Note, "other sheets") {
		t.Errorf("sheet named, yet the note %q", run.Plan.Note)
	}
}

// TestPageAcceptsFileTypes: the page's file picker offers the files the
// server reads, from input's one list (no copy in the page to drift).
func TestPageAcceptsFileTypes(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	res, err := http.Get(c.http.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if want := `accept="` + input.AcceptAttr() + `"`; !strings.Contains(string(body), want) {
		t.Errorf("the page has no %s", want)
	}
}
