package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/xuri/excelize/v2"
)

// WorkbookFile is results.xlsx, the result files as one workbook.
const WorkbookFile = "results.xlsx"

// Unguard removes the ' the result files put before a value a spreadsheet
// would run as a formula: the page shows the value, and a workbook cell
// stored as text cannot run.
func Unguard(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// resultSheets are the CSV files of a run, in the order of results.xlsx.
func resultSheets() []string { return []string{AssignedFile, FailedFile, UnprocessedFile} }

// WriteWorkbook writes results.xlsx for the run in outDir: one sheet per
// result file, every cell stored as text (an 18-digit ID stays exact and
// nothing runs as a formula), the header row frozen and filtered. It is
// the file to open, fix and send back: a spreadsheet that opens a CSV
// turns 19-digit IDs into 1.69549E+18; this one keeps them.
func WriteWorkbook(outDir string, w io.Writer) error {
	x := excelize.NewFile()
	defer x.Close()
	for i, name := range resultSheets() {
		sheet := strings.TrimSuffix(name, ".csv")
		if i == 0 {
			if err := x.SetSheetName("Sheet1", sheet); err != nil {
				return err
			}
		} else if _, err := x.NewSheet(sheet); err != nil {
			return err
		}
		if err := writeSheet(x, sheet, filepath.Join(outDir, name)); err != nil {
			return err
		}
	}
	return x.Write(w)
}

// writeSheet streams one CSV into one sheet.
func writeSheet(x *excelize.File, sheet, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, width := 0, 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		cells := make([]any, len(rec))
		for i, v := range rec {
			// A string value is written as an inline string: Excel keeps
			// it as text and never reads it as a number or a formula.
			cells[i] = Unguard(v)
		}
		rows++
		width = max(width, len(rec))
		cell, _ := excelize.CoordinatesToCellName(1, rows)
		if err := sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	if rows > 0 && width > 0 {
		// Before Flush: the stream writes the sheet's other parts, the
		// filter among them, when it ends; a filter set after it is lost
		// (the sheet had filter buttons in no spreadsheet program).
		last, _ := excelize.CoordinatesToCellName(width, rows)
		if err := x.AutoFilter(sheet, "A1:"+last, nil); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// WriteWorkbookFile writes results.xlsx in outDir, atomically.
func WriteWorkbookFile(outDir string) error {
	var buf bytes.Buffer
	if err := WriteWorkbook(outDir, &buf); err != nil {
		return err
	}
	return fsguard.WriteBytes(filepath.Join(outDir, WorkbookFile), buf.Bytes())
}
