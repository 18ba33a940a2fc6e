package input

import (
	"bytes"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// rowStream produces a prospects CSV of n rows on the fly, so that reading
// it takes no memory of its own. Every 10th row has a multi-line note and
// every 7th an invalid owner.
type rowStream struct {
	n, i int // rows to produce, rows produced (the header is row 0)
	buf  []byte
	off  int
}

func (s *rowStream) Read(p []byte) (int, error) {
	if s.off == len(s.buf) {
		if s.i > s.n {
			return 0, io.EOF
		}
		s.buf, s.off = s.row(s.buf[:0], s.i), 0
		s.i++
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

func (s *rowStream) row(b []byte, i int) []byte {
	if i == 0 {
		return append(b, "Contact ID,Flow ID,Owner Email,Notes\n"...)
	}
	b = append(b, "003"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ",8675309123456789012,"...)
	b = append(b, "owner"...)
	if i%7 != 0 {
		b = strconv.AppendInt(b, int64(i%50), 10)
		b = append(b, "@example.com"...)
	}
	if i%10 == 0 {
		b = append(b, ",\"called, left a message\nfollow up in Q3\"\n"...)
	} else {
		b = append(b, ",met at the conference\n"...)
	}
	return b
}

// TestMemoryDoesNotGrowWithRows reads a million rows and checks that the
// live heap stays within a small bound of where it started.
func TestMemoryDoesNotGrowWithRows(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a million rows")
	}
	const (
		rows  = 1_000_000
		bound = 8 << 20
	)
	heapInUse := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	start := heapInUse()
	rd, err := NewReader(&rowStream{n: rows}, Options{Name: "generated.csv"})
	if err != nil {
		t.Fatal(err)
	}
	var valid, rejected int
	var peak uint64
	lastLine := 1
	for {
		p, rej, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		line := p.Line
		if rej != nil {
			rejected++
			line = rej.Line
		} else {
			valid++
		}
		if line <= lastLine {
			t.Fatalf("line %d after line %d", line, lastLine)
		}
		lastLine = line
		if (valid+rejected)%100_000 == 0 {
			peak = max(peak, heapInUse())
		}
	}
	peak = max(peak, heapInUse())
	runtime.KeepAlive(rd)

	if valid+rejected != rows || rejected != rows/7 {
		t.Errorf("read %d valid and %d rejected rows, want %d in all, %d rejected", valid, rejected, rows, rows/7)
	}
	// Lines: the header, then rows of one line, and every 10th of two.
	if want := 1 + rows + rows/10 - 1; lastLine != want {
		t.Errorf("last row at line %d, want %d", lastLine, want)
	}
	grew := int64(peak) - int64(start)
	t.Logf("heap in use: %d bytes at start, %d at peak (%+d)", start, peak, grew)
	if grew > bound {
		t.Errorf("heap in use grew by %d bytes reading %d rows, want at most %d", grew, rows, bound)
	}
}

// benchCSV returns a prospects CSV of n rows.
func benchCSV(n int) []byte {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, &rowStream{n: n}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func BenchmarkReader(b *testing.B) {
	const rows = 100_000
	data := benchCSV(rows)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(data), Options{Name: "bench.csv"})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, _, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

// blankStream is a header, n rows of ",,," and, when real is set, one real
// row after them: the shape of an Excel sheet formatted far past its data.
type blankStream struct {
	n, i int
	real bool
	buf  []byte
}

func (s *blankStream) Read(p []byte) (int, error) {
	if len(s.buf) == 0 {
		switch {
		case s.i == 0:
			s.buf = []byte("Contact ID,Flow ID,Owner Email,Notes\n")
		case s.i <= s.n:
			s.buf = []byte(",,,\r\n")
		case s.i == s.n+1 && s.real:
			s.buf = []byte("003A,1,a@example.com,x\n")
		default:
			return 0, io.EOF
		}
		s.i++
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// TestBlankRowsMemory reads a million blank rows, trailing and then
// followed by a real row, and checks that holding them back until the
// Reader knows which they are does not grow the heap.
func TestBlankRowsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a million rows")
	}
	const rows, bound = 1_000_000, 1 << 20
	heapInUse := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	for _, real := range []bool{false, true} {
		start := heapInUse()
		rd, err := NewReader(&blankStream{n: rows, real: real}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var blanks, valid int
		var peak uint64
		for {
			p, rej, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rej != nil && rej.Code == outcome.CodeBlankRow {
				blanks++
			} else if rej == nil && p.Line == rows+2 {
				valid++
			}
			if blanks == rows/2 {
				peak = max(peak, heapInUse())
			}
		}
		peak = max(peak, heapInUse())
		runtime.KeepAlive(rd)
		// Every blank row is returned (BlankRow); those after the last
		// real row are also counted as trailing.
		wantBlanks, wantTrailing := rows, rows
		if real {
			wantTrailing = 0
		}
		if blanks != wantBlanks || rd.TrailingBlankRows() != wantTrailing || valid != btoi(real) {
			t.Errorf("real row %v: %d blank rows, %d trailing, %d valid", real, blanks, rd.TrailingBlankRows(), valid)
		}
		grew := int64(peak) - int64(start)
		t.Logf("real row %v: heap in use %d at start, %d at peak (%+d)", real, start, peak, grew)
		if grew > bound {
			t.Errorf("heap grew by %d bytes over %d blank rows, want at most %d", grew, rows, bound)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
