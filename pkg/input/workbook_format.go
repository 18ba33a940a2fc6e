package input

import (
	"math"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// numberFormatter shows a number cell as Excel does with its style's number
// format, through excelize's formatting: a one-cell excelize workbook that
// has this workbook's styles. It is made at the first number cell of a
// format other than General, so most sheets never need it.
type numberFormatter struct {
	styles   styleTable
	date1904 bool
	f        *excelize.File
	failed   bool // the styles would not load: numbers are shown unformatted
}

// show returns what Excel shows for the number stored as v in a cell of
// style s.
func (n *numberFormatter) show(v string, s int) string {
	if n.styles.isGeneral(s) {
		return excelGeneral(v, plainNumber(v))
	}
	if n.f == nil && !n.failed {
		n.f = excelize.NewFile()
		n.f.Pkg.Store("xl/styles.xml", n.styles.xml())
		n.f.Styles = nil // read again, from the styles stored above
		if n.date1904 {
			if err := n.f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &n.date1904}); err != nil {
				n.failed = true
			}
		}
	}
	if n.failed {
		return plainNumber(v)
	}
	if err := n.f.SetCellDefault("Sheet1", "A1", v); err != nil {
		return plainNumber(v)
	}
	if err := n.f.SetCellStyle("Sheet1", "A1", "A1", s); err != nil {
		n.failed = true
		return plainNumber(v)
	}
	shown, err := n.f.GetCellValue("Sheet1", "A1")
	if err != nil {
		return plainNumber(v)
	}
	return shown
}

func (n *numberFormatter) close() {
	if n != nil && n.f != nil {
		n.f.Close()
	}
}

// plainNumber is a stored number as excelize shows it without a format:
// its shortest form, or 15 significant digits, Excel's precision, where
// the stored text has more.
func plainNumber(v string) string {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return v
	}
	if significant(v) > 15 && !zeroFilled(v) {
		return strconv.FormatFloat(x, 'G', 15, 64)
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// significant counts the significant digits of a number's mantissa.
func significant(v string) int {
	mant, _, _ := strings.Cut(strings.ToUpper(v), "E")
	mant = strings.TrimLeft(strings.ReplaceAll(strings.TrimLeft(mant, "+-"), ".", ""), "0")
	return len(mant)
}

// zeroFilled reports whether an integer has at most 15 digits before its
// trailing zeros, as Excel fills a long number.
func zeroFilled(v string) bool {
	if strings.ContainsAny(v, ".Ee") {
		return false
	}
	return len(strings.TrimRight(strings.TrimLeft(v, "+-0"), "0")) <= 15
}
