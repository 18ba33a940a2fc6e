package input

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// maxWorkbookBytes bounds what a workbook may unzip to: excelize keeps the
// shared strings in memory, and a zip bomb must not take the machine.
const maxWorkbookBytes = 1 << 30

// IsWorkbook reports whether a file that starts with head is a ZIP
// archive, as an Excel workbook (.xlsx) is. Numbers and OpenDocument
// files are ZIP archives too: WorkbookToCSV says so when it cannot read
// one.
func IsWorkbook(head []byte) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04"))
}

// WorkbookToCSV writes one sheet of the Excel workbook (.xlsx) in r, of
// size bytes, to w as RFC 4180 CSV (UTF-8, comma, "\n"), for NewReader to
// read: the first sheet when sheet is "", else the one named so (case
// ignored when no sheet has the exact name); an unknown name is an error
// that lists the sheets.
//
// Each cell is the text Excel shows for it: its value with its number
// format applied, and for a formula the value Excel saved with it. So an ID
// typed as text arrives exact, and an ID stored as a number arrives as
// Excel shows it ("1.69549E+18"), for the Reader's checks to catch as in a
// CSV export.
//
// Line N of the CSV is row N of the sheet, so that the line numbers of
// the Reader's messages are the rows a person sees in Excel: a row with no
// cell is an empty line (not a row, for the Reader), and a line break
// inside a cell is written as a space. Rows are padded with empty cells to
// the width of the widest row so far (the header, below any title
// rows), since a sheet leaves out the empty cells at the end of a row.
//
// The rows are streamed with excelize's row iterator; ctx is checked
// between rows.
func WorkbookToCSV(ctx context.Context, r io.ReaderAt, size int64, sheet string, w io.Writer) error {
	notBook := func(err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// A bare "EOF" tells a person nothing: the file ends early.
			err = errors.New("the file ends before the workbook does (cut short in a download or copy?)")
		}
		return fmt.Errorf("not an Excel workbook (.xlsx), or a damaged one: %w; save it as .xlsx or as CSV UTF-8", err)
	}
	f, err := excelize.OpenReader(io.NewSectionReader(r, 0, size), excelize.Options{UnzipSizeLimit: maxWorkbookBytes})
	if err != nil {
		return notBook(err)
	}
	defer f.Close()
	name, err := pickSheet(f.GetSheetList(), sheet)
	if err != nil {
		return err
	}
	rows, err := f.Rows(name)
	if err != nil {
		return fmt.Errorf("sheet %q: %w", name, err)
	}
	defer rows.Close()
	nums, err := openGeneralNumbers(r, size, name, f)
	if err != nil {
		return notBook(err)
	}
	defer nums.close()
	return writeRows(ctx, rows, nums, name, w)
}

// writeRows writes the rows of one sheet as CSV, one line per sheet row.
func writeRows(ctx context.Context, rows *excelize.Rows, nums *generalNumbers, sheet string, out io.Writer) error {
	w := bufio.NewWriter(out)
	cw := csv.NewWriter(w)
	width := 0
	for n := 1; rows.Next(); n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sheet %q, row %d: reading stopped: %w", sheet, n, err)
		}
		cells, err := rows.Columns()
		if err != nil {
			return fmt.Errorf("sheet %q, row %d: %w", sheet, n, err)
		}
		general, err := nums.row(n)
		if err != nil {
			return fmt.Errorf("sheet %q, row %d: %w", sheet, n, err)
		}
		for col, v := range general {
			if col < len(cells) {
				cells[col] = excelGeneral(v, cells[col])
			}
		}
		if len(cells) == 0 {
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
			continue
		}
		// The widest row so far: the header, below any title rows.
		width = max(width, len(cells))
		for i, c := range cells {
			cells[i] = oneLine(c)
		}
		for len(cells) < width {
			cells = append(cells, "")
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
		// Flushed per row into w, which the empty lines above go to too.
		if cw.Flush(); cw.Error() != nil {
			return cw.Error()
		}
	}
	if err := rows.Error(); err != nil {
		return fmt.Errorf("sheet %q: %w", sheet, err)
	}
	return w.Flush()
}

// oneLine replaces the line breaks of a cell with spaces.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

// pickSheet returns the sheet called want ("" for the first).
func pickSheet(sheets []string, want string) (string, error) {
	if len(sheets) == 0 {
		return "", fmt.Errorf("the workbook has no sheet")
	}
	if want == "" {
		return sheets[0], nil
	}
	for _, s := range sheets {
		if s == want {
			return s, nil
		}
	}
	for _, s := range sheets {
		if strings.EqualFold(s, want) {
			return s, nil
		}
	}
	return "", fmt.Errorf("no sheet %q in the workbook; its sheets: %s", want, quoteAll(sheets))
}
