package input

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// resultBookSheets are the sheets of flowenroll's results.xlsx, in order.
func resultBookSheets() []string { return []string{"assigned", "failed", "unprocessed"} }

// BookToCSV writes a workbook as CSV text for NewReader, as WorkbookToCSV
// does, but for flowenroll's own results.xlsx when no sheet is named: its
// failed and unprocessed sheets, one after the other under failed's
// header, are the input (never assigned, whose rows are in Gong). It
// reports whether the workbook was read so.
//
// The book is recognised by its sheets and the result columns heading
// them, not by its file name. Its rows keep their `line` (see
// lineKeeper); a message's line is the line of the two sheets read one
// after the other: a failed row's sheet row, then the unprocessed rows.
func BookToCSV(ctx context.Context, r io.ReaderAt, size int64, sheet string, w io.Writer) (WorkbookInfo, bool, error) {
	if sheet == "" && isResultBook(ctx, r, size) {
		ok, err := resultBookToCSV(ctx, r, size, w)
		return WorkbookInfo{}, ok, err
	}
	info, err := ConvertWorkbook(ctx, r, size, sheet, w)
	return info, false, err
}

// isResultBook reports whether a workbook has the sheets of results.xlsx;
// one that cannot be opened is not (ConvertWorkbook says why). Only the
// workbook's list of sheets is read, within the same limits.
func isResultBook(ctx context.Context, r io.ReaderAt, size int64) bool {
	b, err := openBook(ctx, r, size, defaultWorkbookLimits())
	if err != nil {
		return false
	}
	defer b.close()
	names := make([]string, len(b.sheets))
	for i, s := range b.sheets {
		names[i] = s.name
	}
	return slices.Equal(names, resultBookSheets())
}

// resultBookToCSV writes the failed sheet, then the unprocessed sheet's
// rows with their cells under failed's headers; a book whose failed sheet
// is not headed by failed.csv's columns is read as any other.
func resultBookToCSV(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) (bool, error) {
	failed, err := sheetFile(ctx, r, size, "failed")
	if err != nil {
		return false, err
	}
	defer removeTemp(failed)
	header, err := csv.NewReader(failed).Read()
	if err != nil || resultKind(header) != resultFailed {
		return false, WorkbookToCSV(ctx, r, size, "", w)
	}
	if _, err := failed.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	bw := bufio.NewWriter(w)
	if _, err := io.Copy(bw, failed); err != nil {
		return false, err
	}
	unprocessed, err := sheetFile(ctx, r, size, "unprocessed")
	if err != nil {
		return false, err
	}
	defer removeTemp(unprocessed)
	if err := appendUnder(header, unprocessed, bw); err != nil {
		return false, fmt.Errorf("sheet %q: %w", "unprocessed", err)
	}
	return true, bw.Flush()
}

// appendUnder writes the rows of a CSV after its header with each cell
// under the header of the same name in header; cells of other columns
// (reason) are outcomes, not input, and are dropped.
func appendUnder(header []string, from io.Reader, w io.Writer) error {
	cr := csv.NewReader(from)
	cr.FieldsPerRecord = -1
	own, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	at := make([]int, len(own)) // own column -> column of header, or -1
	for i, h := range own {
		at[i] = slices.Index(header, h)
	}
	cw := csv.NewWriter(w)
	out := make([]string, len(header))
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		clear(out)
		for i, c := range rec {
			if i < len(at) && at[i] >= 0 {
				out[at[i]] = c
			}
		}
		if err := cw.Write(out); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// sheetFile writes one sheet as CSV to a temporary file, rewound.
func sheetFile(ctx context.Context, r io.ReaderAt, size int64, sheet string) (*os.File, error) {
	f, err := os.CreateTemp("", "flowenroll-results-*.csv")
	if err != nil {
		return nil, err
	}
	if err := WorkbookToCSV(ctx, r, size, sheet, f); err != nil {
		removeTemp(f)
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		removeTemp(f)
		return nil, err
	}
	return f, nil
}

func removeTemp(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}
