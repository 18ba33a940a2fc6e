package input

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// book is an open workbook: its archive and what every sheet's cells need
// (the sheets, the styles, the shared strings), read within lim.
type book struct {
	ctx    context.Context
	zr     *zip.Reader
	lim    workbookLimits
	sheets []bookSheet
	styles styleTable
	shared *sharedStrings // read at the first cell that needs it
	format *numberFormatter
	// date1904 says the workbook counts dates from 1904 (old Mac files).
	date1904 bool
}

// bookSheet is a sheet and where its XML is in the archive.
type bookSheet struct{ name, part string }

// openBook opens the archive and reads its workbook part, relationships
// and styles. The archive's declared sizes are checked first: archive/zip
// refuses a part that unzips to more than it declares.
func openBook(ctx context.Context, r io.ReaderAt, size int64, lim workbookLimits) (*book, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > uint64(lim.unzipBytes) {
			return nil, tooLarge("it unzips to more than %d bytes", lim.unzipBytes)
		}
	}
	b := &book{ctx: ctx, zr: zr, lim: lim}
	if b.sheets, err = b.readSheets(); err != nil {
		return nil, err
	}
	if b.styles, err = b.readStyles(); err != nil {
		return nil, err
	}
	b.format = &numberFormatter{styles: b.styles, date1904: b.date1904}
	return b, nil
}

func (b *book) close() { b.format.close() }

// open opens a part of the archive by name (case ignored, as Excel does),
// through an xmlGuard; a missing part is nil with no error.
func (b *book) open(name string) (io.ReadCloser, *zip.File, error) {
	for _, f := range b.zr.File {
		if strings.EqualFold(strings.ReplaceAll(f.Name, "\\", "/"), name) {
			rc, err := f.Open()
			if err != nil {
				return nil, nil, err
			}
			g := &xmlGuard{ctx: b.ctx, r: rc, max: b.lim.run}
			return struct {
				io.Reader
				io.Closer
			}{g, rc}, f, nil
		}
	}
	return nil, nil, nil
}

// decodePart decodes a part read whole (at most lim.partBytes) into v;
// a missing part is an error when required.
func (b *book) decodePart(name string, required bool, v any) error {
	rc, f, err := b.open(name)
	if err != nil {
		return err
	}
	if rc == nil {
		if required {
			return fmt.Errorf("%s is missing", name)
		}
		return nil
	}
	defer rc.Close()
	if f.UncompressedSize64 > uint64(b.lim.partBytes) {
		return tooLarge("%s unzips to more than %d bytes", name, b.lim.partBytes)
	}
	return xml.NewDecoder(rc).Decode(v)
}

// readSheets returns the sheets in order, through xl/workbook.xml and its
// relationships.
func (b *book) readSheets() ([]bookSheet, error) {
	var wb struct {
		Pr struct {
			Date1904 string `xml:"date1904,attr"`
		} `xml:"workbookPr"`
		Sheets []struct {
			Name  string     `xml:"name,attr"`
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := b.decodePart("xl/workbook.xml", true, &wb); err != nil {
		return nil, err
	}
	b.date1904 = wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := b.decodePart("xl/_rels/workbook.xml.rels", true, &rels); err != nil {
		return nil, err
	}
	target := map[string]string{}
	for _, r := range rels.Rels {
		t := strings.ReplaceAll(r.Target, "\\", "/")
		if strings.HasPrefix(t, "/") {
			target[r.ID] = strings.TrimPrefix(t, "/")
		} else {
			target[r.ID] = path.Join("xl", t)
		}
	}
	sheets := make([]bookSheet, 0, len(wb.Sheets))
	for _, s := range wb.Sheets {
		id := ""
		for _, a := range s.Attrs {
			if a.Name.Local == "id" {
				id = a.Value
			}
		}
		sheets = append(sheets, bookSheet{name: s.Name, part: target[id]})
	}
	return sheets, nil
}

// styleTable is what the styles say of number cells: each cell style's
// number format.
type styleTable struct {
	numFmt []int          // cell style index -> number format id
	custom map[int]string // number format id -> its code, for ids >= 164
}

// maxStyles bounds the cell styles and number formats of a workbook: Excel
// holds at most 65,490 cell formats.
const maxStyles = 1 << 16

func (b *book) readStyles() (styleTable, error) {
	var ss struct {
		NumFmts []struct {
			ID   int    `xml:"numFmtId,attr"`
			Code string `xml:"formatCode,attr"`
		} `xml:"numFmts>numFmt"`
		Xfs []struct {
			NumFmtID int `xml:"numFmtId,attr"`
		} `xml:"cellXfs>xf"`
	}
	rc, f, err := b.open("xl/styles.xml")
	if err != nil || rc == nil {
		return styleTable{}, err
	}
	defer rc.Close()
	if f.UncompressedSize64 > uint64(b.lim.partBytes) {
		return styleTable{}, tooLarge("xl/styles.xml unzips to more than %d bytes", b.lim.partBytes)
	}
	if err := xml.NewDecoder(rc).Decode(&ss); err != nil {
		return styleTable{}, fmt.Errorf("xl/styles.xml: %w", err)
	}
	if len(ss.Xfs) > maxStyles || len(ss.NumFmts) > maxStyles {
		return styleTable{}, tooLarge("it has more than %d cell styles or number formats", maxStyles)
	}
	t := styleTable{custom: map[int]string{}}
	for _, n := range ss.NumFmts {
		t.custom[n.ID] = n.Code
	}
	for _, x := range ss.Xfs {
		t.numFmt = append(t.numFmt, x.NumFmtID)
	}
	return t, nil
}

// xml is a styles.xml of the number formats alone, for numberFormatter:
// what excelize needs to format a number, and no more for it to hold.
func (t styleTable) xml() []byte {
	var b bytes.Buffer
	b.WriteString(`<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts>`)
	for id, code := range t.custom {
		fmt.Fprintf(&b, `<numFmt numFmtId="%d" formatCode="`, id)
		xml.EscapeText(&b, []byte(code))
		b.WriteString(`"/>`)
	}
	b.WriteString(`</numFmts><cellXfs>`)
	for _, id := range t.numFmt {
		fmt.Fprintf(&b, `<xf numFmtId="%d" applyNumberFormat="1"/>`, id)
	}
	b.WriteString(`</cellXfs></styleSheet>`)
	return b.Bytes()
}

// isGeneral reports whether cell style s has the General number format.
func (t styleTable) isGeneral(s int) bool {
	if s < 0 || s >= len(t.numFmt) {
		return true
	}
	id := t.numFmt[s]
	code, custom := t.custom[id]
	return id == 0 && !custom || custom && strings.EqualFold(code, "General")
}

// isDate reports whether cell style s shows a date or time.
func (t styleTable) isDate(s int) bool {
	if s < 0 || s >= len(t.numFmt) {
		return false
	}
	id := t.numFmt[s]
	if code, ok := t.custom[id]; ok {
		return customDate(code)
	}
	return builtInDate(id)
}

// sharedStrings is the shared strings table, its text in one block: a
// string costs its bytes and 4 more, where excelize's index took 40 and its
// in-memory table over 100.
type sharedStrings struct {
	text []byte
	ends []uint32 // where string i ends in text; it starts where i-1 ends
}

func (s *sharedStrings) at(i int) (string, bool) {
	if i < 0 || i >= len(s.ends) {
		return "", false
	}
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return string(s.text[start:s.ends[i]]), true
}

// readShared reads xl/sharedStrings.xml within the limits: the text of each
// <si>, its runs (<r><t>) joined, its phonetic guides (<rPh>) left out.
func (b *book) readShared() (*sharedStrings, error) {
	rc, _, err := b.open("xl/sharedStrings.xml")
	if err != nil {
		return nil, err
	}
	s := &sharedStrings{}
	if rc == nil {
		return s, nil
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	depth, inT, phonetic := 0, false, 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, fmt.Errorf("shared strings: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > b.lim.depth {
				return nil, tooLarge("its shared strings nest more than %d deep", b.lim.depth)
			}
			switch t.Name.Local {
			case "sst":
				// Its count, when it says one, sizes the index at once.
				if n, err := strconv.Atoi(attr(t, "uniqueCount")); err == nil && n > 0 {
					s.ends = make([]uint32, 0, min(n, b.lim.sharedStrings))
				}
			case "rPh":
				phonetic++
			case "t":
				inT = phonetic == 0
			}
		case xml.EndElement:
			depth--
			switch t.Name.Local {
			case "si":
				if len(s.ends) >= b.lim.sharedStrings {
					return nil, tooLarge("it has more than %d shared strings", b.lim.sharedStrings)
				}
				s.ends = append(s.ends, uint32(len(s.text)))
			case "rPh":
				phonetic--
			case "t":
				inT = false
			}
		case xml.CharData:
			if !inT {
				continue
			}
			if int64(len(s.text)+len(t)) > b.lim.sharedBytes {
				return nil, tooLarge("its shared strings hold more than %d bytes of text", b.lim.sharedBytes)
			}
			s.text = append(s.text, t...)
		}
	}
}
