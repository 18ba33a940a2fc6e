package input

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var bombsDir = flag.String("bombs", "", "write the workbook bombs at full size (about 1 GiB unzipped) into this folder, for a measurement, and skip the rest")

// rawPart is a part of a hand-made workbook: its name and what writes it.
type rawPart struct {
	name  string
	write func(w io.Writer) error
}

// text is a part of fixed text.
func text(name, s string) rawPart {
	return rawPart{name, func(w io.Writer) error { _, err := io.WriteString(w, s); return err }}
}

// repeated is a part that is head, n times unit (with %d the index when
// numbered), then tail: small zipped, large unzipped.
func repeated(name, head, unit string, n int, numbered bool, tail string) rawPart {
	return rawPart{name, func(w io.Writer) error {
		bw := bufioWriter(w)
		io.WriteString(bw, head)
		for i := range n {
			if numbered {
				fmt.Fprintf(bw, unit, i+2)
			} else {
				io.WriteString(bw, unit)
			}
		}
		io.WriteString(bw, tail)
		return bw.Flush()
	}}
}

func bufioWriter(w io.Writer) interface {
	io.Writer
	io.StringWriter
	Flush() error
} {
	return newFlushWriter(w)
}

type flushWriter struct {
	w   io.Writer
	buf []byte
}

func newFlushWriter(w io.Writer) *flushWriter { return &flushWriter{w: w, buf: make([]byte, 0, 1<<16)} }

func (f *flushWriter) Write(p []byte) (int, error) {
	if len(f.buf)+len(p) > cap(f.buf) {
		if err := f.Flush(); err != nil {
			return 0, err
		}
	}
	f.buf = append(f.buf, p...)
	return len(p), nil
}
func (f *flushWriter) WriteString(s string) (int, error) { return f.Write([]byte(s)) }
func (f *flushWriter) Flush() error {
	_, err := f.w.Write(f.buf)
	f.buf = f.buf[:0]
	return err
}

const (
	sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
		`<row r="1"><c r="A1" t="inlineStr"><is><t>Contact ID</t></is></c><c r="B1" t="inlineStr"><is><t>Flow ID</t></is></c><c r="C1" t="inlineStr"><is><t>Owner Email</t></is></c></row>`
	sheetTail = `</sheetData></worksheet>`
)

// rawBook zips a workbook of one sheet (xl/worksheets/sheet1.xml) from the
// parts given, adding the parts every workbook has.
func rawBook(w io.Writer, parts ...rawPart) error {
	base := []rawPart{
		text("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`),
		text("_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`),
		text("xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`),
		text("xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`),
		text("xl/styles.xml", `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="49" applyNumberFormat="1"/></cellXfs></styleSheet>`),
	}
	given := map[string]bool{}
	for _, p := range parts {
		given[p.name] = true
	}
	base = slices.DeleteFunc(base, func(p rawPart) bool { return given[p.name] })
	zw := zip.NewWriter(w)
	for _, p := range append(base, parts...) {
		pw, err := zw.Create(p.name)
		if err != nil {
			return err
		}
		if err := p.write(pw); err != nil {
			return err
		}
	}
	return zw.Close()
}

// bomb is a workbook small on disk and large unzipped.
type bomb struct {
	name  string
	parts func(scale int) []rawPart // scale 1: just past the limits; full: about 1 GiB
	full  int
	limit string // what the error names
	// counted: refused by a count (cells, rows, strings), after decoding
	// millions of elements.
	counted bool
}

func bombs() []bomb {
	row := `<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="inlineStr"><is><t>1</t></is></c><c r="C2" t="inlineStr"><is><t>a@example.com</t></is></c></row>`
	return []bomb{
		{"shared strings", func(k int) []rawPart {
			return []rawPart{
				repeated("xl/sharedStrings.xml", `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`, `<si><t>x</t></si>`, 4_100_000*k, false, `</sst>`),
				text("xl/worksheets/sheet1.xml", sheetHead+row+sheetTail),
			}
		}, 15, "shared strings", true},
		{"empty styled cells", func(k int) []rawPart {
			return []rawPart{repeated("xl/worksheets/sheet1.xml", sheetHead, `<row>`+strings.Repeat(`<c s="1"/>`, 1000)+`</row>`, 5_100*k, false, sheetTail)}
		}, 20, "cells", true},
		{"long cell text", func(k int) []rawPart {
			return []rawPart{repeated("xl/worksheets/sheet1.xml", sheetHead+`<row r="2"><c r="A2" t="inlineStr"><is><t>`, strings.Repeat("A", 1<<16), 20*k, false, `</t></is></c></row>`+sheetTail)}
		}, 700, "longer than", false},
		{"long shared string", func(k int) []rawPart {
			return []rawPart{
				repeated("xl/sharedStrings.xml", `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>`, strings.Repeat("A", 1<<16), 20*k, false, `</t></si></sst>`),
				text("xl/worksheets/sheet1.xml", sheetHead+row+sheetTail),
			}
		}, 700, "longer than", false},
		{"many rows", func(k int) []rawPart {
			return []rawPart{repeated("xl/worksheets/sheet1.xml", sheetHead, `<row><c t="inlineStr"><is><t>x</t></is></c></row>`, 1_100_000*k, false, sheetTail)}
		}, 19, "rows", true},
		{"deep XML", func(k int) []rawPart {
			return []rawPart{repeated("xl/worksheets/sheet1.xml", sheetHead+`<row r="2">`, `<x>`, 1_000_000*k, false, "")}
		}, 300, "deep", false},
		{"many styles", func(k int) []rawPart {
			return []rawPart{
				repeated("xl/styles.xml", `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs>`, `<xf numFmtId="1"/>`, 70_000*k, false, `</cellXfs></styleSheet>`),
				text("xl/worksheets/sheet1.xml", sheetHead+row+sheetTail),
			}
		}, 1, "cell styles", false},
		{"large other part", func(k int) []rawPart {
			return []rawPart{
				text("xl/worksheets/sheet1.xml", sheetHead+sheetTail),
				repeated("xl/media/image1.bin", "", strings.Repeat("\x00", 1<<16), 1000*k, false, ""),
			}
		}, 14, "", false},
	}
}

// heapPeak samples the heap in use until stop is called, which returns the
// highest sample above the heap when it started.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return max(peak, ms.HeapInuse) - start
	}
}

// TestWorkbookBombs reads each bomb and checks that it is refused, naming
// the limit, with the heap never more than 200 MB above where it started.
func TestWorkbookBombs(t *testing.T) {
	if *bombsDir != "" {
		writeBombs(t, *bombsDir)
		return
	}
	if testing.Short() {
		t.Skip("builds workbooks of up to 100 MB unzipped")
	}
	const bound = 200 << 20
	for _, b := range bombs() {
		t.Run(b.name, func(t *testing.T) {
			if raceEnabled && b.counted {
				t.Skip("millions of elements: run without -race")
			}
			var zipped bytes.Buffer
			if err := rawBook(&zipped, b.parts(1)...); err != nil {
				t.Fatal(err)
			}
			stop := heapPeak()
			info, err := ConvertWorkbook(context.Background(), bytes.NewReader(zipped.Bytes()), int64(zipped.Len()), "", io.Discard)
			grew := stop()
			t.Logf("%d bytes zipped: heap grew by %d bytes; %v", zipped.Len(), grew, err)
			switch {
			case b.limit == "":
				// Never read: no part of the sheet holds it.
				if err != nil || info.Sheet != "Sheet1" {
					t.Errorf("got %+v, %v; want the empty sheet read", info, err)
				}
			case !errors.Is(err, ErrWorkbookTooLarge) || !strings.Contains(err.Error(), b.limit):
				t.Errorf("error %v, want one wrapping ErrWorkbookTooLarge that names %q", err, b.limit)
			}
			if grew > bound {
				t.Errorf("the heap grew by %d bytes, want at most %d", grew, bound)
			}
		})
	}
}

// legitBook is a real workbook's shape for the figures: 200,000 rows of an
// ID, a flow, an owner (shared strings) and a note.
func legitBook(w io.Writer) error {
	const n = 200_000
	return rawBook(w,
		rawPart{"xl/sharedStrings.xml", func(w io.Writer) error {
			bw := newFlushWriter(w)
			fmt.Fprintf(bw, `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="%d">`, n+1)
			io.WriteString(bw, `<si><t>1695493301223590792</t></si>`)
			for i := range n {
				fmt.Fprintf(bw, `<si><t>person%d@example.com</t></si>`, i)
			}
			io.WriteString(bw, `</sst>`)
			return bw.Flush()
		}},
		rawPart{"xl/worksheets/sheet1.xml", func(w io.Writer) error {
			bw := newFlushWriter(w)
			io.WriteString(bw, sheetHead)
			for i := range n {
				fmt.Fprintf(bw, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>0035e00000P%07d</t></is></c><c r="B%d" t="s"><v>0</v></c><c r="C%d" t="s"><v>%d</v></c><c r="D%d" t="inlineStr"><is><t>met at the conference</t></is></c></row>`, i+2, i+2, i, i+2, i+2, i+1, i+2)
			}
			io.WriteString(bw, sheetTail)
			return bw.Flush()
		}})
}

// writeBombs writes the bombs at full size, for RELIABILITY.md's figures.
func writeBombs(t *testing.T, dir string) {
	f, err := os.Create(filepath.Join(dir, "legit-200k-rows.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := legitBook(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, b := range bombs() {
		f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(b.name, " ", "-")+".xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		if err := rawBook(f, b.parts(b.full)...); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// cancelAfter cancels when it has seen n lines written.
type cancelAfter struct {
	n, lines int
	cancel   func()
	after    int // lines written after the cancel
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	k := bytes.Count(p, []byte("\n"))
	if c.lines >= c.n {
		c.after += k
	}
	c.lines += k
	if c.lines >= c.n {
		c.cancel()
	}
	return len(p), nil
}

// cancelReaderAt cancels once n bytes of the archive have been read.
type cancelReaderAt struct {
	r      io.ReaderAt
	n      int64
	read   int64
	cancel func()
}

func (c *cancelReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if c.read += int64(len(p)); c.read >= c.n {
		c.cancel()
	}
	return c.r.ReadAt(p, off)
}

// TestWorkbookCancelled cancels a read in the middle of the sheet and in
// the middle of the shared strings: it stops with the context's error, the
// sheet within a row of the cancel.
func TestWorkbookCancelled(t *testing.T) {
	var sheet, shared bytes.Buffer
	row := `<row><c t="inlineStr"><is><t>003A</t></is></c><c><v>1</v></c><c t="s"><v>0</v></c></row>`
	inline := strings.ReplaceAll(row, `<c t="s"><v>0</v></c>`, `<c t="inlineStr"><is><t>a@example.com</t></is></c>`)
	if err := rawBook(&sheet, repeated("xl/worksheets/sheet1.xml", sheetHead, inline, 200_000, false, sheetTail)); err != nil {
		t.Fatal(err)
	}
	if err := rawBook(&shared,
		repeated("xl/sharedStrings.xml", `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`, `<si><t>a@example.com</t></si>`, 1_000_000, false, `</sst>`),
		text("xl/worksheets/sheet1.xml", sheetHead+strings.ReplaceAll(row, "<row>", `<row r="2">`)+sheetTail)); err != nil {
		t.Fatal(err)
	}
	t.Run("in the sheet", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := &cancelAfter{n: 1000, cancel: cancel}
		_, err := ConvertWorkbook(ctx, bytes.NewReader(sheet.Bytes()), int64(sheet.Len()), "", w)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if w.after > 1 {
			t.Errorf("%d rows written after the cancel, want at most 1", w.after)
		}
	})
	t.Run("in the shared strings", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The sheet is read first; the shared strings fill most of the
		// archive, and the cancel comes a third of the way in.
		r := &cancelReaderAt{r: bytes.NewReader(shared.Bytes()), n: int64(shared.Len()) / 3, cancel: cancel}
		_, err := ConvertWorkbook(ctx, r, int64(shared.Len()), "", io.Discard)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
}

// TestWorkbookOtherSheets: with no sheet named, the other sheets that hold
// data are named in a warning; an empty one is not, and naming a sheet
// says nothing of the others.
func TestWorkbookOtherSheets(t *testing.T) {
	rows := map[string][][]any{
		"Leads":  {{"Contact ID", "Flow ID", "Owner Email"}, {"003A", "1", "a@example.com"}},
		"Q3":     {{"Contact ID"}, {"003B"}},
		"Empty":  nil,
		"Totals": {nil, {nil, 42}},
	}
	book := makeWorkbook(t, []string{"Leads", "Q3", "Empty", "Totals"}, rows, nil)
	for _, tt := range []struct {
		sheet string
		want  WorkbookInfo
		warn  string
	}{
		{"", WorkbookInfo{Sheet: "Leads", OtherSheets: []string{"Q3", "Totals"}},
			`only the first sheet, "Leads", is read; the workbook has data on other sheets too: "Q3", "Totals"; name the sheet to read with --sheet`},
		{"leads", WorkbookInfo{Sheet: "Leads"}, ""},
		{"Q3", WorkbookInfo{Sheet: "Q3"}, ""},
	} {
		info, err := ConvertWorkbook(context.Background(), bytes.NewReader(book), int64(len(book)), tt.sheet, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, info); diff != "" {
			t.Errorf("sheet %q (-want +got):\n%s", tt.sheet, diff)
		}
		if got := info.Warning(); got != tt.warn {
			t.Errorf("sheet %q: warning %q, want %q", tt.sheet, got, tt.warn)
		}
	}
}
