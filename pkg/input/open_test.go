package input

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOpen: one entry point decides by content what a file is and reads
// its rows, whatever its name says.
func TestOpen(t *testing.T) {
	fixture := func(name string) func(*testing.T) []byte {
		return func(t *testing.T) []byte {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	text := func(s string) func(*testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }
	book := func(t *testing.T) []byte {
		return makeWorkbook(t, []string{"Leads", "Old"}, map[string][][]any{
			"Leads": {{"crmProspectId", "flowId", "flowInstanceOwnerEmail"}, {"003A", "1", "a@example.com"}},
			"Old":   {{"crmProspectId", "flowId", "flowInstanceOwnerEmail"}, {"003B", "1", "a@example.com"}},
		}, nil)
	}
	anys := func(cols []string) []any {
		row := []any{}
		for _, c := range append(cols, "Notes") {
			row = append(row, c)
		}
		return row
	}
	resultBook := func(t *testing.T) []byte {
		return makeWorkbook(t, resultBookSheets(), map[string][][]any{
			"assigned":    {anys(resultHeaders()[resultAssigned])},
			"failed":      {anys(resultHeaders()[resultFailed]), {"8", "003B", "1", "a@example.com", "api", "InvalidState", "x", "400", "r-2", "b"}},
			"unprocessed": {anys(resultHeaders()[resultUnprocessed]), {"17", "003D", "1", "a@example.com", "Interrupted", "d"}},
		}, nil)
	}
	failedCSV := strings.Join(resultHeaders()[resultFailed], ",") + "\n8,003B,1,a@example.com,api,InvalidState,x,400,r-2\n"
	assignedCSV := strings.Join(resultHeaders()[resultAssigned], ",") + "\n2,003A,1,a@example.com,,99,Ann,2026-01-01,ACTIVE,5,false,r-1\n"
	for _, tc := range []struct {
		name  string
		file  string // the name it is saved under: content decides, not this
		bytes func(*testing.T) []byte
		cfg   OpenConfig
		want  What
		ids   []string // crmProspectId of the rows, in order
		err   any      // a pointer to the error type wanted
	}{
		{name: "CSV UTF-8 with BOM", file: "a.csv", bytes: fixture("excel-csv-utf8.csv"),
			want: What{Format: Format{Encoding: EncodingUTF8, BOM: true, Delimiter: ","}, HeaderLine: 1},
			ids:  []string{"00012345", "00012346", "12345", "00012347", "00012348", "00012349", "00012350"}},
		{name: "UTF-16 Unicode Text", file: "a.txt", bytes: fixture("excel-unicode-text.txt"),
			want: What{Format: Format{Encoding: EncodingUTF16LE, BOM: true, Delimiter: DelimiterTab}, HeaderLine: 1},
			ids:  []string{"0035g00000AbCdE", "0035g00000XyZqAAAV", "0035G00000MNOPQAAV", "0035g00000abcdeaav", "0035g00000AbC"}},
		{name: "semicolon, Windows-1252", file: "a.csv", bytes: fixture("excel-semicolon-de.csv"),
			cfg:  OpenConfig{Read: Options{Map: map[string]string{ColCRMProspectID: "Kontakt-ID"}}},
			want: What{Format: Format{Encoding: EncodingWindows1252, Delimiter: ";"}, HeaderLine: 1},
			ids:  []string{"40001", "40002", "40003,00"}},
		{name: "delimiter forced", file: "a.csv", bytes: text("crmProspectId|flowId|flowInstanceOwnerEmail\n003A|1|a@example.com\n"),
			cfg:  OpenConfig{Read: Options{Delimiter: DelimiterPipe}},
			want: What{Format: Format{Encoding: EncodingUTF8, Delimiter: "|"}, HeaderLine: 1}, ids: []string{"003A"}},
		{name: "title rows", file: "a.csv", bytes: text("Report\n\ncrmProspectId,flowId,flowInstanceOwnerEmail\n003A,1,a@example.com\n"),
			want: What{Format: Format{Encoding: EncodingUTF8, Delimiter: ","}, HeaderLine: 3, TitleRows: 1}, ids: []string{"003A"}},
		{name: "workbook named .csv, encoding given is not its text's", file: "a.csv", bytes: book,
			cfg:  OpenConfig{Read: Options{Encoding: EncodingUTF16LE, Delimiter: DelimiterSemicolon}},
			want: What{Workbook: true, Book: WorkbookInfo{Sheet: "Leads", OtherSheets: []string{"Old"}}, Format: Format{Encoding: EncodingUTF8, Delimiter: ","}, HeaderLine: 1},
			ids:  []string{"003A"}},
		{name: "workbook, sheet named", file: "a.xlsx", bytes: book, cfg: OpenConfig{Sheet: "old"},
			want: What{Workbook: true, Book: WorkbookInfo{Sheet: "Old"}, Format: Format{Encoding: EncodingUTF8, Delimiter: ","}, HeaderLine: 1},
			ids:  []string{"003B"}},
		{name: "workbook, header not read", file: "a.xlsx", bytes: book, cfg: OpenConfig{HeaderUnread: true},
			want: What{Workbook: true, Book: WorkbookInfo{Sheet: "Leads", OtherSheets: []string{"Old"}}}, ids: []string{"003A"}},
		{name: "results.xlsx", file: "results.xlsx", bytes: resultBook,
			want: What{Workbook: true, ResultBook: true, Result: resultFailed, Format: Format{Encoding: EncodingUTF8, Delimiter: ","}, HeaderLine: 1},
			ids:  []string{"003B", "003D"}},
		{name: "results.xlsx, assigned sheet", file: "results.xlsx", bytes: resultBook, cfg: OpenConfig{Sheet: "assigned"}, err: new(*AssignedFileError)},
		{name: "failed.csv fed back", file: "retry.csv", bytes: text(failedCSV),
			want: What{Result: resultFailed, Format: Format{Encoding: EncodingUTF8, Delimiter: ","}, HeaderLine: 1}, ids: []string{"003B"}},
		{name: "assigned.csv refused", file: "assigned.csv", bytes: text(assignedCSV), err: new(*AssignedFileError)},
		{name: "a PDF", file: "a.csv", bytes: text("%PDF-1.7\n\x00\x01\x02\x03 binary"), err: new(*NotCSVError)},
		{name: "no needed columns", file: "a.csv", bytes: text("a,b\n1,2\n"), err: new(*HeaderError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, tc.bytes(t), 0o600); err != nil {
				t.Fatal(err)
			}
			tc.cfg.TempDir = t.TempDir()
			in, err := Open(context.Background(), path, tc.cfg)
			if tc.err != nil {
				if !errors.As(err, tc.err) {
					t.Fatalf("Open: %v, want a %T", err, tc.err)
				}
				if left, _ := os.ReadDir(tc.cfg.TempDir); len(left) > 0 {
					t.Errorf("left behind after the error: %v", left)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if diff := cmp.Diff(tc.want, in.What); diff != "" {
				t.Errorf("What (-want +got):\n%s", diff)
			}
			// Read twice: a caller reads the input in passes.
			for pass := 0; pass < 2; pass++ {
				if got := readIDs(t, in, tc.cfg.Read); !cmp.Equal(got, tc.ids) {
					t.Errorf("pass %d: rows %q, want %q", pass, got, tc.ids)
				}
			}
			if err := in.Close(); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(tc.cfg.TempDir); len(left) > 0 {
				t.Errorf("a workbook's text left behind: %v", left)
			}
		})
	}
}

func readIDs(t *testing.T, in *File, opts Options) []string {
	t.Helper()
	rd, err := in.Reader(opts)
	if err != nil {
		t.Fatalf("Reader: %v", err)
	}
	var ids []string
	for {
		p, rej, err := rd.Next()
		if err != nil {
			break
		}
		if rej != nil {
			ids = append(ids, rej.CRMProspectID)
			continue
		}
		ids = append(ids, p.CRMProspectID)
	}
	return ids
}

// TestOpenNotFile: a folder has no rows; a missing file says so.
func TestOpenNotFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(context.Background(), dir, OpenConfig{}); err == nil || !strings.Contains(err.Error(), "not a file") {
		t.Errorf("a folder: %v, want not a file", err)
	}
	if _, err := Open(context.Background(), filepath.Join(dir, "nope.csv"), OpenConfig{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want ErrNotExist", err)
	}
}

// TestOpenKeepText: the console keeps a workbook's text where the run
// reads it; a CSV file has none to keep.
func TestOpenKeepText(t *testing.T) {
	dir := t.TempDir()
	b := makeWorkbook(t, []string{"S"}, map[string][][]any{"S": {{"crmProspectId", "flowId", "flowInstanceOwnerEmail"}, {"003A", "1", "a@example.com"}}}, nil)
	in, err := OpenReader(context.Background(), bytes.NewReader(b), int64(len(b)), OpenConfig{TempDir: dir, HeaderUnread: true})
	if err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "input.csv")
	if err := in.KeepText(keep); err != nil {
		t.Fatal(err)
	}
	in.Close()
	got, err := os.ReadFile(keep)
	if want := "crmProspectId,flowId,flowInstanceOwnerEmail\n003A,1,a@example.com\n"; err != nil || string(got) != want {
		t.Errorf("kept text %q, %v; want %q", got, err, want)
	}
	csv := []byte("crmProspectId,flowId,flowInstanceOwnerEmail\n")
	in, err = OpenReader(context.Background(), bytes.NewReader(csv), int64(len(csv)), OpenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.KeepText(keep); err == nil {
		t.Error("KeepText of a CSV file: no error")
	}
}

// TestFileTypes: the one list the inbox and the console's picker use.
func TestFileTypes(t *testing.T) {
	for ext, want := range map[string]bool{".csv": true, ".CSV": true, ".txt": true, ".tsv": true, ".xlsx": true, ".XLSX": true, ".xls": false, ".pdf": false, "": false, ".numbers": false} {
		if got := Accepted(ext); got != want {
			t.Errorf("Accepted(%q) = %v, want %v", ext, got, want)
		}
	}
	if got, want := AcceptAttr(), ".csv,.txt,.tsv,.xlsx,text/csv,text/plain,text/tab-separated-values,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"; got != want {
		t.Errorf("AcceptAttr() = %q, want %q", got, want)
	}
	if got, want := AcceptedNames(), ".csv, .txt, .tsv and .xlsx"; got != want {
		t.Errorf("AcceptedNames() = %q, want %q", got, want)
	}
}
