package input

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// IsWorkbook reports whether a file that starts with head is a ZIP
// archive, as an Excel workbook (.xlsx) is. Numbers and OpenDocument
// files are ZIP archives too: WorkbookToCSV says so when it cannot read
// one.
func IsWorkbook(head []byte) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04"))
}

// maxSheetsChecked bounds the other sheets read for data, for
// WorkbookInfo.OtherSheets.
const maxSheetsChecked = 32

// WorkbookInfo is what ConvertWorkbook found besides the rows.
type WorkbookInfo struct {
	Sheet string // the sheet read
	// OtherSheets are the other sheets that hold data, when no sheet was
	// named: a person may have meant one of them.
	OtherSheets []string
}

// Warning says that other sheets hold data and only Sheet was read, or "".
func (i WorkbookInfo) Warning() string {
	if len(i.OtherSheets) == 0 {
		return ""
	}
	return fmt.Sprintf("only the first sheet, %q, is read; the workbook has data on other sheets too: %s; name the sheet to read with --sheet", i.Sheet, quoteAll(i.OtherSheets))
}

// WorkbookToCSV is ConvertWorkbook without what it found besides the rows.
func WorkbookToCSV(ctx context.Context, r io.ReaderAt, size int64, sheet string, w io.Writer) error {
	_, err := ConvertWorkbook(ctx, r, size, sheet, w)
	return err
}

// ConvertWorkbook writes one sheet of the Excel workbook (.xlsx) in r, of
// size bytes, to w as RFC 4180 CSV (UTF-8, comma, "\n"), for NewReader to
// read: the first sheet when sheet is "", else the one named so (case
// ignored when no sheet has the exact name); an unknown name is an error
// that lists the sheets. With sheet "", the other sheets that hold data
// are named in the WorkbookInfo.
//
// Each cell is the text Excel shows for it: its value with its number
// format applied, and for a formula the value Excel saved with it. So an ID
// typed as text arrives exact, and an ID stored as a number arrives as
// Excel shows it ("1.69549E+18"), for the Reader's checks to catch as in a
// CSV export. A cell that cannot hold an ID exactly (a number of more than
// 15 digits, an error value, a date) is marked for the Reader to refuse in
// an ID column (see markPrefix).
//
// Line N of the CSV is row N of the sheet, so that the line numbers of
// the Reader's messages are the rows a person sees in Excel: a row with no
// cell is an empty line (not a row, for the Reader), and a line break
// inside a cell is written as a space. Rows are padded with empty cells to
// the width of the widest row so far (the header, below any title
// rows), since a sheet leaves out the empty cells at the end of a row.
//
// The sheet's XML is streamed, never held whole, within workbookLimits
// applied as it is read (a file past one is an error wrapping
// ErrWorkbookTooLarge); ctx is checked at every block read, so a
// cancelled read stops at once with an error wrapping ctx.Err().
func ConvertWorkbook(ctx context.Context, r io.ReaderAt, size int64, sheet string, w io.Writer) (WorkbookInfo, error) {
	return convertWorkbook(ctx, r, size, sheet, w, defaultWorkbookLimits())
}

func convertWorkbook(ctx context.Context, r io.ReaderAt, size int64, sheet string, w io.Writer, lim workbookLimits) (WorkbookInfo, error) {
	notBook := func(err error) error {
		if ctx.Err() != nil || errors.Is(err, ErrWorkbookTooLarge) {
			return err
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// A bare "EOF" tells a person nothing: the file ends early.
			err = errors.New("the file ends before the workbook does (cut short in a download or copy?)")
		}
		return fmt.Errorf("not an Excel workbook (.xlsx), or a damaged one: %w; save it as .xlsx or as CSV UTF-8", err)
	}
	b, err := openBook(ctx, r, size, lim)
	if err != nil {
		return WorkbookInfo{}, notBook(err)
	}
	defer b.close()
	names := make([]string, len(b.sheets))
	for i, s := range b.sheets {
		names[i] = s.name
	}
	name, err := pickSheet(names, sheet)
	if err != nil {
		return WorkbookInfo{}, err
	}
	info := WorkbookInfo{Sheet: name}
	var part string
	for _, s := range b.sheets {
		if s.name == name {
			part = s.part
		}
	}
	if err := b.writeSheet(part, w); err != nil {
		if ctx.Err() != nil {
			return info, fmt.Errorf("sheet %q: reading stopped: %w", name, ctx.Err())
		}
		return info, fmt.Errorf("sheet %q: %w", name, notBook(err))
	}
	if sheet == "" {
		// At most maxSheetsChecked: a workbook of a thousand sheets must
		// not cost a thousand reads for a warning.
		for i, s := range b.sheets[1:] {
			if i < maxSheetsChecked && b.hasData(s.part) {
				info.OtherSheets = append(info.OtherSheets, s.name)
			}
		}
	}
	return info, nil
}

// oneLine replaces the line breaks of a cell with spaces, and drops the
// noncharacter that marks a cell (markPrefix) from a real cell's text.
func oneLine(s string) string {
	if strings.Contains(s, markPrefix) {
		s = strings.ReplaceAll(s, markPrefix, "")
	}
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
