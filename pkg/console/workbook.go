package console

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
)

// isWorkbook says whether a file starts as an .xlsx does (a ZIP archive).
func isWorkbook(head []byte) bool { return bytes.HasPrefix(head, []byte("PK\x03\x04")) }

// workbookToCSV writes the first sheet of the workbook at src (or the sheet
// named) to dst as CSV, each cell as the text Excel shows, so an ID stored
// as a number arrives as Excel shows it and the reader's checks catch its
// damage. Line N of the CSV is row N of the sheet: a newline inside a cell
// becomes a space. pkg/input is gaining the same conversion; this one goes
// when the pipeline reads workbooks itself.
func workbookToCSV(src, sheet, dst string) error {
	x, err := excelize.OpenFile(src)
	if err != nil {
		return &BadInputError{Msg: "this file looks like a workbook but cannot be opened as .xlsx: save it again from Excel as .xlsx, or as CSV UTF-8"}
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) == 0 {
		return &BadInputError{Msg: "the workbook has no sheets"}
	}
	if sheet == "" {
		sheet = sheets[0]
	} else if !slices.Contains(sheets, sheet) {
		return &BadInputError{Msg: fmt.Sprintf("the workbook has no sheet %q; its sheets: %s", sheet, strings.Join(sheets, ", "))}
	}
	rows, err := x.Rows(sheet)
	if err != nil {
		return err
	}
	defer rows.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	for rows.Next() {
		cells, err := rows.Columns()
		if err != nil {
			f.Close()
			return err
		}
		for i, c := range cells {
			cells[i] = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(c)
		}
		if len(cells) == 0 {
			cells = []string{""}
		}
		if err := w.Write(cells); err != nil {
			f.Close()
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
