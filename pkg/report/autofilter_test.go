package report

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every sheet of results.xlsx has filter buttons: an <autoFilter> over
// its header and rows in the sheet's XML, where Excel looks for them.
func TestWorkbookSheetsHaveAutoFilter(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		AssignedFile:    "line,crmProspectId,flowId\n2,003A,1695493301223590792\n3,003B,1695493301223590792\n",
		FailedFile:      "line,crmProspectId,flowId,errorCode\n4,003C,1,InvalidFlowId\n",
		UnprocessedFile: "line,crmProspectId,flowId\n5,003D,1695493301223590792\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := WriteWorkbook(dir, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"xl/worksheets/sheet1.xml": `<autoFilter ref="$A$1:$C$3"`, "xl/worksheets/sheet2.xml": `<autoFilter ref="$A$1:$D$2"`, "xl/worksheets/sheet3.xml": `<autoFilter ref="$A$1:$C$2"`}
	seen := 0
	for _, f := range zr.File {
		ref, ok := want[f.Name]
		if !ok {
			continue
		}
		seen++
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.Contains(string(b), ref) {
			t.Errorf("%s has no %s…>: %s", f.Name, ref, b[max(0, len(b)-500):])
		}
	}
	if seen != 3 {
		t.Errorf("%d sheets found, want 3", seen)
	}
}
