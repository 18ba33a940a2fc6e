package input

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sampleRuns are the samples under samples/exports/ with the flags
// docs/spreadsheets.md shows them with.
var sampleRuns = []struct {
	file  string
	flags string
	opts  Options
}{
	{file: "excel-windows-comma.csv"},
	{file: "excel-csv-utf8.csv"},
	{file: "excel-semicolon-de.csv", flags: "--map crmProspectId=Kontakt-ID", opts: Options{Map: map[string]string{ColCRMProspectID: "Kontakt-ID"}}},
	{file: "excel-unicode-text.txt", flags: "--crm salesforce", opts: Options{CRM: CRMSalesforce}},
	{file: "excel-mac-cr.csv"},
	{file: "google-sheets.csv"},
	{file: "numbers-semicolon.csv"},
	{file: "salesforce-report.csv", flags: "--crm salesforce", opts: Options{CRM: CRMSalesforce}},
	{file: "pandas-float-ids.csv"},
	{file: "malformed.csv"},
}

// renderSample is what docs/spreadsheets.md shows for a sample: how the
// file was read, the plan command, and the rows of the failed.csv it
// writes (line, errorCode, errorMessage), the re-export advice shortened
// to "[re-export]". (docs/docs_test.go checks the rows against the
// failed.csv the command writes; the files that cannot be read at all are
// shown there as the command's own output.)
func renderSample(t *testing.T, path, flags string, opts Options) string {
	t.Helper()
	opts.Name = filepath.ToSlash(path)
	f, err := os.Open(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	cmd := "flowenroll plan --input " + opts.Name
	if flags != "" {
		cmd += " " + flags
	}
	cmd += " --out plan/"
	s, err := NewSurvey(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	opts.Survey = s
	rd, err := NewReader(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	var valid []string
	var failed []string
	for {
		p, rej, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rej == nil {
			valid = append(valid, strconv.Itoa(p.Line))
			continue
		}
		msg := strings.Replace(rej.Message, reexport, "[re-export]", 1)
		failed = append(failed, fmt.Sprintf("%-4d %-20s %s", rej.Line, rej.Code, msg))
	}
	if len(valid) == 0 {
		valid = []string{"none"}
	}
	fmt.Fprintf(&b, "# %s: read as %s; valid rows on lines: %s", opts.Name, rd.Format(), strings.Join(valid, ", "))
	if s.Footer > 0 {
		fmt.Fprintf(&b, "; the report footer from line %d is skipped", s.Footer)
	}
	fmt.Fprintf(&b, "\n# failed.csv of `%s`: line, errorCode, errorMessage\n", cmd)
	for _, row := range failed {
		b.WriteString(row + "\n")
	}
	return b.String()
}

// TestExportsDoc checks that docs/spreadsheets.md says what the reader
// says about each sample; -update writes the blocks to
// testdata/exports.golden, to paste.
func TestExportsDoc(t *testing.T) {
	const page = "docs/spreadsheets.md"
	doc, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(page)))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, run := range sampleRuns {
		block := "```text\n" + renderSample(t, "samples/exports/"+run.file, run.flags, run.opts) + "```\n"
		fmt.Fprintf(&all, "%s\n", block)
		if !*update && !strings.Contains(string(doc), block) {
			t.Errorf("%s does not show, for %s:\n%s", page, run.file, block)
		}
	}
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", "exports.golden"), []byte(all.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(string(doc), reexport) {
		t.Errorf("%s does not give the re-export advice: %s", page, reexport)
	}
}

// TestSurveyRows checks that SurveyRows hands over the rows a Reader
// without a Survey returns.
func TestSurveyRows(t *testing.T) {
	for _, run := range sampleRuns {
		t.Run(run.file, func(t *testing.T) {
			path := filepath.Join("testdata", run.file)
			opts := run.opts
			opts.Name = run.file
			_, wantPs, wantRejs, _, err := readFile(t, path, opts, false)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var ps []Prospect
			var rejs []*Rejection
			if _, err := SurveyRows(f, opts, func(p Prospect, rej *Rejection) {
				if rej != nil {
					rejs = append(rejs, rej)
				} else {
					ps = append(ps, p)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantPs, ps); diff != "" {
				t.Errorf("prospects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantRejs, rejs); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
		})
	}
}
