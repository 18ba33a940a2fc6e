package input

import (
	"bufio"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
)

// sheetCell is the cell being read.
type sheetCell struct {
	col   int    // 0-based
	ty    string // its t attribute
	style int
	v     []byte // <v>, or the text of <is>
}

// sheetReader turns a sheet's XML into CSV lines, one per row.
type sheetReader struct {
	b        *book
	w        *bufio.Writer
	cw       *csv.Writer
	row      []string
	width    int   // cells of the first row that has any
	written  int   // rows written
	cells    int64 // cells read
	cell     sheetCell
	inValue  bool // in <v>, or in a <t> of <is> outside <rPh>
	phonetic int
}

// writeSheet writes the sheet whose XML is at part to out as CSV.
func (b *book) writeSheet(part string, out io.Writer) error {
	rc, _, err := b.open(part)
	if err != nil {
		return err
	}
	if rc == nil {
		return fmt.Errorf("its part %q is not in the workbook", part)
	}
	defer rc.Close()
	s := &sheetReader{b: b, w: bufio.NewWriter(out)}
	s.cw = csv.NewWriter(s.w)
	dec := xml.NewDecoder(rc)
	depth := 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return s.w.Flush()
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > b.lim.depth {
				return tooLarge("its XML nests more than %d deep", b.lim.depth)
			}
			err = s.start(t)
		case xml.EndElement:
			depth--
			err = s.end(t)
		case xml.CharData:
			if s.inValue {
				if len(s.cell.v)+len(t) > b.lim.run {
					return tooLarge("row %d has a cell of more than %d bytes", s.written+1, b.lim.run)
				}
				s.cell.v = append(s.cell.v, t...)
			}
		}
		if err != nil {
			return err
		}
	}
}

func (s *sheetReader) start(t xml.StartElement) error {
	switch t.Name.Local {
	case "row":
		n := s.written + 1
		if r, err := strconv.Atoi(attr(t, "r")); err == nil && r > n {
			n = r
		}
		if n > s.b.lim.rows {
			return tooLarge("it has more than %d rows", s.b.lim.rows)
		}
		// Rows the sheet leaves out are empty lines: line N is row N.
		for ; s.written < n-1; s.written++ {
			if err := s.w.WriteByte('\n'); err != nil {
				return err
			}
		}
		s.row = s.row[:0]
	case "c":
		if s.cells++; s.cells > s.b.lim.cells {
			return tooLarge("it has more than %d cells", s.b.lim.cells)
		}
		col := len(s.row)
		if c, ok := columnOf(attr(t, "r")); ok {
			col = c
		}
		if col >= s.b.lim.columns {
			return tooLarge("row %d has a cell past column %d", s.written+1, s.b.lim.columns)
		}
		style, _ := strconv.Atoi(attr(t, "s"))
		s.cell = sheetCell{col: col, ty: attr(t, "t"), style: style, v: s.cell.v[:0]}
	case "v":
		s.inValue = true
	case "rPh":
		s.phonetic++
	case "t":
		s.inValue = s.phonetic == 0
	}
	return nil
}

func (s *sheetReader) end(t xml.EndElement) error {
	switch t.Name.Local {
	case "v", "t":
		s.inValue = false
	case "rPh":
		s.phonetic--
	case "c":
		text, err := s.text()
		if err != nil {
			return fmt.Errorf("row %d, column %d: %w", s.written+1, s.cell.col+1, err)
		}
		if text == "" {
			return nil
		}
		for len(s.row) < s.cell.col {
			s.row = append(s.row, "")
		}
		if s.cell.col < len(s.row) {
			s.row[s.cell.col] = text // a cell named twice: the last wins
		} else {
			s.row = append(s.row, text)
		}
	case "row":
		return s.writeRow()
	}
	return nil
}

// writeRow writes the row read as one CSV line.
func (s *sheetReader) writeRow() error {
	if err := s.b.ctx.Err(); err != nil {
		return err
	}
	s.written++
	if len(s.row) == 0 {
		return s.w.WriteByte('\n')
	}
	// Padded to the widest row so far: the header, below any title rows
	// (a title row is one cell wide).
	s.width = max(s.width, len(s.row))
	for len(s.row) < s.width {
		s.row = append(s.row, "")
	}
	if err := s.cw.Write(s.row); err != nil {
		return err
	}
	// Flushed per row into w, which the empty lines go to too.
	s.cw.Flush()
	return s.cw.Error()
}

// text is what Excel shows for the cell read, marked when it cannot hold
// an ID (see markPrefix).
func (s *sheetReader) text() (string, error) {
	c := &s.cell
	v := string(c.v)
	switch c.ty {
	case "s":
		if v == "" {
			return "", nil
		}
		if s.b.shared == nil {
			sh, err := s.b.readShared()
			if err != nil {
				return "", err
			}
			s.b.shared = sh
		}
		i, _ := strconv.Atoi(v)
		str, ok := s.b.shared.at(i)
		if !ok {
			return "", fmt.Errorf("shared string %s is not in the workbook", v)
		}
		return oneLine(str), nil
	case "inlineStr", "str":
		return oneLine(v), nil
	case "b":
		switch v {
		case "1":
			return "TRUE", nil
		case "0":
			return "FALSE", nil
		}
		return v, nil
	case "e":
		return marked(markError, oneLine(v)), nil
	case "d":
		return marked(markDate, oneLine(v)), nil
	}
	if v == "" {
		return "", nil
	}
	shown := oneLine(s.b.format.show(v, c.style))
	x, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil:
	case s.b.styles.isDate(c.style):
		return marked(markDate, shown), nil
	case math.Abs(x) >= 1e15:
		// 16 digits or more before the point: Excel keeps 15 significant
		// digits, so this is not the ID that was typed or pasted.
		return marked(markRounded, shown), nil
	}
	return shown, nil
}

// columnOf returns the 0-based column of a cell reference ("B7").
func columnOf(ref string) (int, bool) {
	col, i := 0, 0
	for ; i < len(ref) && i < 4; i++ {
		c := ref[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a'+1)
	}
	if i == 0 {
		return 0, false
	}
	return col - 1, true
}

// hasData reports whether the sheet at part has a cell with a value in its
// first megabyte: enough for a sheet someone filled, and bounded for one
// that is only formatted cells.
func (b *book) hasData(part string) bool {
	rc, _, err := b.open(part)
	if err != nil || rc == nil {
		return false
	}
	defer rc.Close()
	dec := xml.NewDecoder(io.LimitReader(rc, 1<<20))
	in := false
	for depth := 0; depth <= b.lim.depth; {
		tok, err := dec.RawToken()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			in = t.Name.Local == "v" || t.Name.Local == "t"
		case xml.EndElement:
			depth--
			in = false
		case xml.CharData:
			if in && len(t) > 0 {
				return true
			}
		}
	}
	return false
}
