package input

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// DefaultMaxRowBytes bounds one CSV row when Options.MaxRowBytes is zero.
// A real row is a few hundred bytes; a row this long is an unclosed quote
// swallowing the rest of the file, or not CSV at all.
const DefaultMaxRowBytes = 1 << 20

// Delimiters, the values of Options.Delimiter (the --delimiter flag) and of
// Format.Delimiter.
const (
	DelimiterAuto      = "auto"
	DelimiterComma     = ","
	DelimiterSemicolon = ";"
	DelimiterTab       = "tab"
	DelimiterPipe      = "|"
)

// ParseDelimiter checks the value of the --delimiter flag and returns its
// canonical spelling: DelimiterAuto (also for ""), DelimiterComma,
// DelimiterSemicolon, DelimiterTab or DelimiterPipe. Names are accepted
// too: "comma", "semicolon", "tab" (or a tab character, or `\t`), "pipe".
func ParseDelimiter(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return DelimiterAuto, nil
	case ",", "comma":
		return DelimiterComma, nil
	case ";", "semicolon":
		return DelimiterSemicolon, nil
	case "\t", `\t`, "tab":
		return DelimiterTab, nil
	case "|", "pipe":
		return DelimiterPipe, nil
	}
	return "", fmt.Errorf("--delimiter %q: want auto, \",\", \";\", tab or \"|\"", s)
}

func delimiterByte(d string) byte {
	if d == DelimiterTab {
		return '\t'
	}
	return d[0]
}

func delimiterString(c byte) string {
	if c == '\t' {
		return DelimiterTab
	}
	return string(c)
}

// delimiterName is the delimiter as a message names it.
func delimiterName(d string) string {
	switch d {
	case DelimiterComma:
		return "comma"
	case DelimiterSemicolon:
		return "semicolon"
	case DelimiterTab:
		return "tab"
	case DelimiterPipe:
		return "pipe"
	}
	return d
}

// sniffDelimiter picks the delimiter of a file from its header line: the
// candidate found most often outside quotes; on a tie the earlier of comma,
// semicolon, tab and pipe; comma when there is none.
func sniffDelimiter(line []byte) byte {
	const candidates = ",;\t|"
	var n [len(candidates)]int
	quoted := false
	for _, c := range line {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if !quoted {
			if i := strings.IndexByte(candidates, c); i >= 0 {
				n[i]++
			}
		}
	}
	best := 0
	for i := range n {
		if n[i] > n[best] {
			best = i
		}
	}
	return candidates[best]
}

// RowTooLongError is the cause of the fatal error for a line longer than
// Options.MaxRowBytes: there is no line break to read on from, so the file
// is not CSV text.
type RowTooLongError struct {
	Max int
}

// Error says how long a line may be.
func (e *RowTooLongError) Error() string {
	return fmt.Sprintf("a line longer than %d bytes: this is not CSV text, or its lines do not end with line breaks", e.Max)
}

// lineReader reads physical lines of decoded text. A line ends at "\n",
// "\r\n" or a lone "\r" (Excel for Mac ends lines with "\r").
type lineReader struct {
	r    io.Reader
	buf  []byte
	i, n int   // buf[i:n] is unread
	err  error // from r, returned once buf holds no complete line
	max  int
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: r, buf: make([]byte, 16<<10), max: max}
}

// next returns the next line without its end, and whether it had one. The
// line is valid until the next call. At the end of the text it returns
// io.EOF; a read error, or a line longer than max, it returns as is.
func (lr *lineReader) next() ([]byte, bool, error) {
	from := 0
	for {
		data := lr.buf[lr.i:lr.n]
		if i := indexLineEnd(data[from:]); i >= 0 {
			i += from
			switch {
			case i > lr.max:
				return nil, false, &RowTooLongError{Max: lr.max}
			case data[i] == '\n':
				lr.i += i + 1
				return data[:i], true, nil
			case i+1 < len(data):
				lr.i += i + 1
				if data[i+1] == '\n' {
					lr.i++
				}
				return data[:i], true, nil
			case lr.err == io.EOF:
				lr.i += i + 1
				return data[:i], true, nil
			}
			// A "\r" last in the buffer: the next byte decides.
			from = i
		} else {
			from = len(data)
		}
		if lr.err != nil {
			if lr.err == io.EOF && len(data) > 0 && len(data) <= lr.max {
				lr.i = lr.n
				return data, false, nil
			}
			if lr.err == io.EOF && len(data) > 0 {
				return nil, false, &RowTooLongError{Max: lr.max}
			}
			return nil, false, lr.err
		}
		if len(data) > lr.max {
			return nil, false, &RowTooLongError{Max: lr.max}
		}
		lr.fill()
	}
}

// unread puts text back to be read again before the rest.
func (lr *lineReader) unread(text []byte) {
	if len(text) <= lr.i {
		lr.i -= len(text)
		copy(lr.buf[lr.i:], text)
		return
	}
	rest := lr.buf[lr.i:lr.n]
	buf := make([]byte, max(len(lr.buf), len(text)+len(rest)))
	copy(buf, text)
	copy(buf[len(text):], rest)
	lr.buf, lr.i, lr.n = buf, 0, len(text)+len(rest)
}

func (lr *lineReader) fill() {
	if lr.i > 0 {
		lr.n = copy(lr.buf, lr.buf[lr.i:lr.n])
		lr.i = 0
	}
	if lr.n == len(lr.buf) {
		lr.buf = append(lr.buf, make([]byte, len(lr.buf))...)
	}
	for range 100 {
		n, err := lr.r.Read(lr.buf[lr.n:])
		lr.n += n
		if err != nil {
			lr.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	lr.err = io.ErrNoProgress
}

// indexLineEnd returns the index of the first '\n' or '\r' in b, or -1.
func indexLineEnd(b []byte) int {
	n := bytes.IndexByte(b, '\n')
	upto := b
	if n >= 0 {
		upto = b[:n]
	}
	if r := bytes.IndexByte(upto, '\r'); r >= 0 {
		return r
	}
	return n
}

// record is one CSV record as the scanner read it.
type record struct {
	start, end int      // first and last line
	fields     []string // valid until the next record
	// firstLine is how many fields ended on the start line.
	firstLine int
	// syntax, when set, says why the record is malformed; fields then holds
	// the fields read before the fault.
	syntax *syntaxError
	split  bool // the record was cut back to its first line, see splitBack
	nul    int  // NUL bytes in the record's text
	ctl    int  // other control characters below 0x20, but tab
	size   int  // bytes of text
	// marks are the cells a workbook marked (see markPrefix), their marks
	// stripped from fields; nil for most records.
	marks []cellMark
}

// multiLine reports whether the record spans more than one line.
func (r *record) multiLine() bool { return r.end > r.start }

// Kinds of syntaxError.
const (
	bareQuote = iota // a '"' inside a cell that does not start with one
	badQuote         // a closing '"' followed by something other than the delimiter or the line end
	unclosed         // a quoted cell still open at the end of the text
	tooLong          // a quoted cell still open after MaxRowBytes
)

// syntaxError is where and how a record breaks the CSV rules.
type syntaxError struct {
	kind   int
	line   int // where the fault was found
	cell   int // index of the cell at fault
	opened int // line where that cell's quote opened, for a quoted cell
}

// scanner splits decoded text into CSV records and counts lines. encoding/csv
// is not used because of what it does with a quote that never closes: it
// swallows every following line into one field, up to the end of the file
// or the row limit. The scanner instead sets aside only the line where such
// a record starts and reads the lines after it again as rows of their own
// (a bounded amount: they are held in memory, at most MaxRowBytes of them,
// counting each line break as a byte).
type scanner struct {
	lines *lineReader
	comma byte // 0 until sniffed from the first line
	line  int  // lines read
	max   int
	// errLine is the line a fatal error of next belongs to: where the
	// record being read starts.
	errLine int

	// The record being read: its field bytes, where each field ends, and
	// the text of its lines after the first, each with its line break, and
	// how many (for splitBack).
	rec       record
	buf       []byte
	ends      []int
	raw       []byte
	rawLines  int
	fieldsBuf []string
}

func newScanner(text io.Reader, comma byte, max int) *scanner {
	return &scanner{lines: newLineReader(text, max), comma: comma, max: max}
}

// nextLine returns the next line and counts it.
func (s *scanner) nextLine() ([]byte, bool, error) {
	b, nl, err := s.lines.next()
	if err != nil {
		return nil, false, err
	}
	s.line++
	return b, nl, nil
}

// next reads the next record, skipping empty lines. It returns io.EOF at the
// end of the text; any other error is fatal. A malformed record is not an
// error: its syntax field says what is wrong.
func (s *scanner) next() (*record, error) {
	r, line, nl, err := s.begin()
	if err != nil {
		return nil, err
	}
	fault := func(kind, opened int) (*record, error) {
		r.syntax = &syntaxError{kind: kind, line: s.line, cell: len(s.ends), opened: opened}
		return s.finish()
	}
	pos := 0
	for {
		// pos is at the start of a field.
		if pos < len(line) && line[pos] == '"' {
			opened := s.line
			pos++
			for {
				i := bytes.IndexByte(line[pos:], '"')
				if i < 0 {
					s.buf = append(s.buf, line[pos:]...)
					if !nl {
						return fault(unclosed, opened)
					}
					next, nextNL, err := s.nextLine()
					if err == io.EOF {
						return fault(unclosed, opened)
					}
					if err != nil {
						s.errLine = r.start
						return nil, err
					}
					if r.size+len(next)+1 > s.max {
						// Not held: the line is read again after the split.
						s.lines.unread(withBreak(bytes.Clone(next), nextNL))
						s.line--
						return fault(tooLong, opened)
					}
					s.buf = append(s.buf, '\n')
					line, nl, pos = next, nextNL, 0
					s.hold(line, nl)
					r.end = s.line
					r.count(line)
					r.size++ // the line break
					continue
				}
				s.buf = append(s.buf, line[pos:pos+i]...)
				pos += i + 1
				switch {
				case pos < len(line) && line[pos] == '"':
					s.buf = append(s.buf, '"')
					pos++
					continue
				case pos == len(line):
					s.endField()
					return s.finish()
				case line[pos] == s.comma:
					s.endField()
					pos++
				default:
					return fault(badQuote, opened)
				}
				break
			}
			continue
		}
		field := line[pos:]
		i := bytes.IndexByte(field, s.comma)
		if i >= 0 {
			field = field[:i]
		}
		if bytes.IndexByte(field, '"') >= 0 {
			return fault(bareQuote, 0)
		}
		s.buf = append(s.buf, field...)
		s.endField()
		if i < 0 {
			return s.finish()
		}
		pos += i + 1
	}
}

// begin reads the first line of the next record, skipping empty lines, and
// starts the record there (the delimiter is sniffed from the first one).
func (s *scanner) begin() (*record, []byte, bool, error) {
	var line []byte
	var nl bool
	for {
		var err error
		line, nl, err = s.nextLine()
		if err != nil {
			s.errLine = s.line + 1
			return nil, nil, false, err
		}
		if len(line) > 0 {
			break
		}
	}
	if s.comma == 0 {
		s.comma = sniffDelimiter(line)
	}
	r := &s.rec
	*r = record{start: s.line, end: s.line}
	s.buf, s.ends, s.raw, s.rawLines = s.buf[:0], s.ends[:0], s.raw[:0], 0
	r.count(line)
	return r, line, nl, nil
}

func (s *scanner) endField() {
	s.ends = append(s.ends, len(s.buf))
	if s.line == s.rec.start {
		s.rec.firstLine = len(s.ends)
	}
}

// hold keeps a copy of a line after the first of the record, for splitBack.
func (s *scanner) hold(line []byte, nl bool) {
	s.raw = withBreak(append(s.raw, line...), nl)
	s.rawLines++
}

func withBreak(b []byte, nl bool) []byte {
	if nl {
		return append(b, '\n')
	}
	return b
}

// count adds a line's bytes to the record's tallies.
func (r *record) count(line []byte) {
	r.size += len(line)
	i := 0
	// Skip eight bytes at a time while none is below 0x20 (the classic
	// "has a byte less than n" test).
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:])
		if (x-0x2020202020202020)&^x&0x8080808080808080 != 0 {
			break
		}
	}
	for _, c := range line[i:] {
		switch {
		case c == 0:
			r.nul++
		case c < 0x20 && c != '\t':
			r.ctl++
		}
	}
}

// finish makes the fields of the record just read; a malformed record that
// spans several lines is split back (see splitBack).
func (s *scanner) finish() (*record, error) {
	str := string(s.buf)
	s.fieldsBuf = s.fieldsBuf[:0]
	prev := 0
	for _, e := range s.ends {
		f, kind := unmark(str[prev:e])
		if kind != 0 {
			s.rec.marks = append(s.rec.marks, cellMark{cell: len(s.fieldsBuf), kind: kind})
		}
		s.fieldsBuf = append(s.fieldsBuf, f)
		prev = e
	}
	s.rec.fields = s.fieldsBuf
	if s.rec.syntax != nil && s.rec.multiLine() {
		s.splitBack()
	}
	return &s.rec, nil
}

// splitBack shrinks the record just read to its first line and queues the
// lines after it to be read again: a record that spans lines and is
// malformed is most likely a quote that should have closed on its first
// line, and the lines it swallowed are rows.
func (s *scanner) splitBack() {
	if !s.rec.multiLine() {
		return
	}
	s.lines.unread(s.raw)
	s.line -= s.rawLines
	s.rec.end = s.rec.start
	s.rec.split = true
	s.rec.fields = s.rec.fields[:min(s.rec.firstLine, len(s.rec.fields))]
}
