package input

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrWorkbookTooLarge is wrapped by the error of a workbook that goes past
// one of the limits reading it may take (see workbookLimits): a zip bomb,
// or a workbook too large for this tool, which CSV serves better.
var ErrWorkbookTooLarge = errors.New("the workbook is too large to read")

// workbookLimits bound what reading one workbook may take, applied while it
// is read: an .xlsx of a few MB may unzip to a gigabyte, and excelize,
// which read it whole, took 4-6 GB and minutes for such files. Each limit
// is far above what a spreadsheet of prospects needs (Excel's own maximum
// where it has one), and together they keep a read under 200 MB and a few
// seconds of CPU.
type workbookLimits struct {
	unzipBytes    int64 // all parts, as the archive declares them unzipped
	partBytes     int64 // one part read whole: workbook.xml, its rels, styles.xml
	sharedStrings int   // strings in the shared strings table
	sharedBytes   int64 // their text, all together (held in memory)
	rows          int   // rows of the sheet (Excel: 1,048,576)
	cells         int64 // cells of the sheet, empty or not
	columns       int   // columns of a row (Excel: 16,384, XFD)
	run           int   // bytes of one cell's text, one tag, one comment
	depth         int   // nesting of XML elements
}

// defaultWorkbookLimits are the limits of every read.
func defaultWorkbookLimits() workbookLimits {
	return workbookLimits{
		unzipBytes:    1 << 30,
		partBytes:     16 << 20,
		sharedStrings: 4_000_000,
		sharedBytes:   32 << 20,
		rows:          1 << 20,
		cells:         5_000_000,
		columns:       1 << 14,
		// Excel holds 32,767 characters in a cell: at most 4 bytes each
		// in UTF-8, and up to 6 as an XML character reference.
		run:   1 << 20,
		depth: 64,
	}
}

// tooLarge is the error of a workbook past a limit.
func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: %s; save the sheet as CSV UTF-8 and use that file", ErrWorkbookTooLarge, fmt.Sprintf(format, args...))
}

// xmlGuard passes the XML of one part through, failing the read when ctx
// ends and when a run of text, a tag, a comment or a CDATA section grows
// past max bytes: encoding/xml holds each of those whole in memory before
// it returns it, so a 900 MB cell would take 900 MB (and more) to refuse.
// Inside "<!" (a comment, CDATA) and "<?" only "-->", "]]>" and "?>" end
// the run, since < and > may stand there as text; a DOCTYPE, which Excel
// never writes, ends none, so what follows it counts as one run.
type xmlGuard struct {
	ctx  context.Context
	r    io.Reader
	max  int
	run  int  // bytes since the last boundary
	mode byte // 0 text or tag, '!' comment or CDATA, '?' processing instruction
	last [2]byte
	lt   bool // the previous byte was '<'
}

func (g *xmlGuard) Read(p []byte) (int, error) {
	if err := g.ctx.Err(); err != nil {
		return 0, fmt.Errorf("reading stopped: %w", err)
	}
	n, err := g.r.Read(p)
	for _, b := range p[:n] {
		g.run++
		switch {
		case g.lt && (b == '!' || b == '?'):
			g.mode = b
		case g.mode == 0 && (b == '<' || b == '>'):
			g.run = 0
		case g.mode == '!' && b == '>' && (g.last == [2]byte{']', ']'} || g.last == [2]byte{'-', '-'}),
			g.mode == '?' && b == '>' && g.last[1] == '?':
			g.mode, g.run = 0, 0
		}
		g.lt = b == '<' && g.mode == 0
		g.last = [2]byte{g.last[1], b}
		if g.run > g.max {
			return 0, tooLarge("a cell's text, a tag or a comment is longer than %d bytes", g.max)
		}
	}
	return n, err
}
