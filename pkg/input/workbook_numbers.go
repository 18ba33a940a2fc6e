package input

import (
	"archive/zip"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// generalNumbers finds the cells of a sheet whose type matters, by reading
// the sheet's XML a second time alongside excelize's iterator, which gives
// each cell's text but not its type:
//
//   - number cells with the General format: Excel shows a General number of
//     12 digits or more as 1.69549E+18, and its CSV export writes that;
//     excelize writes 1695493301223590000, which would pass for a flow ID.
//     Knowing the cell is a number, WorkbookToCSV writes what Excel shows.
//   - cells that cannot hold an ID exactly: a number of more than 15 digits
//     (in any format), an error value, a date. WorkbookToCSV marks them
//     (see markPrefix) for the Reader to refuse in an ID column.
type generalNumbers struct {
	rc      io.ReadCloser
	dec     *xml.Decoder
	f       *excelize.File
	general map[int]bool // style index -> its number format is General
	dates   map[int]bool // style index -> its number format is a date
	next    int          // the row element read ahead, 0 if none
	nextRow map[int]cellType
	done    bool
}

// cellType is what the sheet's XML says of a cell that matters.
type cellType struct {
	general string // the value as stored, of a General number cell
	mark    byte   // markRounded, markError, markDate, or 0
}

// openGeneralNumbers opens the XML of the sheet called name.
func openGeneralNumbers(r io.ReaderAt, size int64, name string, f *excelize.File) (*generalNumbers, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	p, err := sheetPath(zr, name)
	if err != nil {
		return nil, err
	}
	rc, err := zr.Open(p)
	if err != nil {
		return nil, err
	}
	return &generalNumbers{rc: rc, dec: xml.NewDecoder(rc), f: f, general: map[int]bool{0: true}, dates: map[int]bool{}}, nil
}

func (g *generalNumbers) close() { g.rc.Close() }

// row returns the cells of sheet row n that matter (column index -> what
// the XML says of it); rows must be asked for in order.
func (g *generalNumbers) row(n int) (map[int]cellType, error) {
	for !g.done && g.next < n {
		if err := g.readRow(); err != nil {
			return nil, err
		}
	}
	if g.next == n {
		return g.nextRow, nil
	}
	return nil, nil
}

// readRow reads the next row element into g.next and g.nextRow.
func (g *generalNumbers) readRow() error {
	var cell struct {
		col    int
		number bool // a number cell (t="n" or none)
		style  int
		ty     string
	}
	for {
		tok, err := g.dec.Token()
		if err == io.EOF {
			g.done = true
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				g.next++
				if n, err := strconv.Atoi(attr(t, "r")); err == nil {
					g.next = n
				}
				g.nextRow = nil
				cell.col = -1
			case "c":
				cell.col++
				if _, c, err := cellCoordinates(attr(t, "r")); err == nil {
					cell.col = c
				}
				cell.ty = attr(t, "t")
				cell.style, _ = strconv.Atoi(attr(t, "s"))
				cell.number = cell.ty == "" || cell.ty == "n"
			case "v":
				if !cell.number && cell.ty != "e" && cell.ty != "d" {
					continue
				}
				var v string
				if err := g.dec.DecodeElement(&v, &t); err != nil {
					return err
				}
				if ct := g.typeOf(cell.ty, cell.style, v); ct != (cellType{}) {
					if g.nextRow == nil {
						g.nextRow = map[int]cellType{}
					}
					g.nextRow[cell.col] = ct
				}
			}
		case xml.EndElement:
			if t.Name.Local == "row" {
				return nil
			}
		}
	}
}

// cellCoordinates returns the 0-based column of a cell reference ("B7").
func cellCoordinates(ref string) (row, col int, err error) {
	c, r, err := excelize.CellNameToCoordinates(ref)
	return r, c - 1, err
}

// typeOf says what matters of a cell of type ty (its t attribute) and
// style whose stored value is v.
func (g *generalNumbers) typeOf(ty string, style int, v string) cellType {
	switch ty {
	case "e":
		return cellType{mark: markError}
	case "d":
		return cellType{mark: markDate}
	}
	var ct cellType
	if g.isGeneral(style) {
		ct.general = v
	}
	switch x, err := strconv.ParseFloat(v, 64); {
	case err != nil:
	case g.isDate(style):
		ct.mark = markDate
	case math.Abs(x) >= 1e15:
		// 16 digits or more before the point: Excel keeps 15 significant
		// digits, so this is not the ID that was typed or pasted.
		ct.mark = markRounded
	}
	return ct
}

// isDate reports whether a style's number format shows a date or time.
func (g *generalNumbers) isDate(style int) bool {
	if v, ok := g.dates[style]; ok {
		return v
	}
	s, err := g.f.GetStyle(style)
	v := err == nil && (builtInDate(s.NumFmt) || s.CustomNumFmt != nil && customDate(*s.CustomNumFmt))
	g.dates[style] = v
	return v
}

// builtInDate reports whether Excel's built-in number format id is a date
// or time (ECMA-376 18.8.30, and the East Asian ones Excel adds).
func builtInDate(id int) bool {
	return id >= 14 && id <= 22 || id >= 27 && id <= 36 || id >= 45 && id <= 47 || id >= 50 && id <= 58
}

// customDate reports whether a format code shows a date or time: it has
// y, m, d, h or s outside quoted text, escapes and [brackets] ([h], [mm]
// and [ss], elapsed time, count).
func customDate(code string) bool {
	if strings.EqualFold(code, "General") {
		return false
	}
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			}
		case '\\', '_', '*':
			i++ // the next character is literal, or padding
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return false
			}
			if b := strings.ToLower(code[i+1 : i+j]); b != "" && strings.Trim(b, "hms") == "" {
				return true
			}
			i += j
		case 'y', 'Y', 'm', 'M', 'd', 'D', 'h', 'H', 's', 'S':
			return true
		}
	}
	return false
}

func (g *generalNumbers) isGeneral(style int) bool {
	if v, ok := g.general[style]; ok {
		return v
	}
	s, err := g.f.GetStyle(style)
	v := err == nil && s.NumFmt == 0 && (s.CustomNumFmt == nil || strings.EqualFold(*s.CustomNumFmt, "General"))
	g.general[style] = v
	return v
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// excelGeneral is what Excel shows for a number stored as v in a General
// cell, where it matters here: 12 digits or more before the point, in
// scientific notation with up to 6 significant digits. Other numbers keep
// excelize's text, shown.
func excelGeneral(v, shown string) string {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.Abs(x) < 1e11 || math.IsInf(x, 0) {
		return shown
	}
	s := strconv.FormatFloat(x, 'E', 5, 64) // 1.69549E+18
	mant, exp, _ := strings.Cut(s, "E")
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	if len(exp) == 2 { // E+9 -> E+09, as Excel writes it
		exp = exp[:1] + "0" + exp[1:]
	}
	return mant + "E" + exp
}

// sheetPath returns the path in the archive of the sheet called name,
// through xl/workbook.xml and its relationships.
func sheetPath(zr *zip.Reader, name string) (string, error) {
	var wb struct {
		Sheets []struct {
			Name  string     `xml:"name,attr"`
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := decodeZipXML(zr, "xl/workbook.xml", &wb); err != nil {
		return "", err
	}
	id := ""
	for _, s := range wb.Sheets {
		if s.Name == name {
			for _, a := range s.Attrs {
				if a.Name.Local == "id" {
					id = a.Value
				}
			}
		}
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := decodeZipXML(zr, "xl/_rels/workbook.xml.rels", &rels); err != nil {
		return "", err
	}
	for _, r := range rels.Rels {
		if r.ID == id && id != "" {
			if strings.HasPrefix(r.Target, "/") {
				return strings.TrimPrefix(r.Target, "/"), nil
			}
			return path.Join("xl", r.Target), nil
		}
	}
	return "", fmt.Errorf("sheet %q: its part is not in the workbook", name)
}

func decodeZipXML(zr *zip.Reader, name string, v any) error {
	rc, err := zr.Open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	return xml.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(v)
}
