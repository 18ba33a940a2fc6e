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

// generalNumbers finds the number cells of a sheet that have the General
// format, by reading the sheet's XML a second time alongside excelize's
// iterator, which gives each cell's text but not its type. Excel shows a
// General number of 12 digits or more as 1.69549E+18, and its CSV export
// writes that; excelize writes 1695493301223590000, which would pass for
// a flow ID. Knowing the cell is a number, WorkbookToCSV writes what Excel
// shows, for the Reader's ScientificNotation check to catch.
type generalNumbers struct {
	rc      io.ReadCloser
	dec     *xml.Decoder
	f       *excelize.File
	general map[int]bool // style index -> its number format is General
	next    int          // the row element read ahead, 0 if none
	nextRow map[int]string
	done    bool
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
	return &generalNumbers{rc: rc, dec: xml.NewDecoder(rc), f: f, general: map[int]bool{0: true}}, nil
}

func (g *generalNumbers) close() { g.rc.Close() }

// row returns the General number cells of sheet row n (column index ->
// the value as stored); rows must be asked for in order.
func (g *generalNumbers) row(n int) (map[int]string, error) {
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
		number bool
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
				ty := attr(t, "t")
				style, _ := strconv.Atoi(attr(t, "s"))
				cell.number = (ty == "" || ty == "n") && g.isGeneral(style)
			case "v":
				if !cell.number {
					continue
				}
				var v string
				if err := g.dec.DecodeElement(&v, &t); err != nil {
					return err
				}
				if g.nextRow == nil {
					g.nextRow = map[int]string{}
				}
				g.nextRow[cell.col] = v
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
