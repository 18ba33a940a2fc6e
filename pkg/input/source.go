package input

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxRowBytes bounds one CSV row when Options.MaxRowBytes is zero.
// A real row is a few hundred bytes; a row this long is an unclosed quote
// swallowing the rest of the file, which would otherwise be read into memory
// whole.
const DefaultMaxRowBytes = 1 << 20

// csvBufSize is the read-ahead of encoding/csv's bufio.Reader: the row limit
// allows for one buffer of bytes that belong to the rows around it.
const csvBufSize = 4096

// newCSVReader builds the csv.Reader over the raw input. It is the one place
// that knows the byte-level format: a decoder for other encodings (UTF-16,
// Windows-1252) or a sniffed delimiter goes here.
func newCSVReader(r io.Reader, maxRowBytes int) (*csv.Reader, *rowLimiter, error) {
	r, err := dropBOM(r)
	if err != nil {
		return nil, nil, err
	}
	lim := &rowLimiter{r: r, max: int64(maxRowBytes)}
	cr := csv.NewReader(lim)
	cr.FieldsPerRecord = -1 // rows may be short or long; validation decides
	cr.ReuseRecord = true
	return cr, lim, nil
}

// dropBOM removes a UTF-8 byte order mark at the start of r, as Excel writes
// one in "CSV UTF-8" files.
func dropBOM(r io.Reader) (io.Reader, error) {
	const bom = "\ufeff"
	head := make([]byte, len(bom))
	n, err := io.ReadFull(r, head)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		// A file shorter than a BOM: what was read is all there is.
		return bytes.NewReader(head[:n]), nil
	case err != nil:
		return nil, err
	case string(head) == bom:
		return r, nil
	case string(head[:2]) == "\xff\xfe" || string(head[:2]) == "\xfe\xff":
		// Excel's "Unicode Text" export. Reading it as UTF-8 would only
		// produce a baffling header error.
		return nil, errors.New("the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as \"CSV UTF-8\"")
	}
	return io.MultiReader(bytes.NewReader(head), r), nil
}

// rowLimiter fails the read once a single row has taken more than max bytes
// (plus the csv read-ahead), so that an unclosed quote cannot make one field
// of the whole file.
type rowLimiter struct {
	r    io.Reader
	max  int64
	left int64
}

// startRow gives the next row its budget.
func (l *rowLimiter) startRow() { l.left = l.max + csvBufSize }

func (l *rowLimiter) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, &RowTooLongError{Max: int(l.max)}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// RowTooLongError is the cause of the fatal error Next returns when one row
// is longer than Options.MaxRowBytes, almost always because of an unclosed
// quote.
type RowTooLongError struct {
	Max int
}

// Error says how long a row may be and the likely cause.
func (e *RowTooLongError) Error() string {
	return fmt.Sprintf("row longer than %d bytes: is a quoted cell not closed?", e.Max)
}

// recoverable reports whether a csv error only spoils the row it is in, and
// encoding/csv carries on with the next line.
func recoverable(err error) (*csv.ParseError, bool) {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return nil, false
	}
	return pe, errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrQuote)
}
