package enroll

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/report"
	"github.com/flowenroll/flowenroll/pkg/screen"
	"go.uber.org/zap"
)

// DefaultMaxSpoolBytes bounds standard input (and any input that is not a
// regular file) copied into --out so that it can be read more than once.
const DefaultMaxSpoolBytes = 1 << 30

// source is the input, read in passes so that memory stays independent of
// its size: first its bytes (the SHA-256 that ties the ledger to it, and a
// line count that sizes the duplicate filter), then a first parse (which
// rows may repeat), then the real read. Standard input, and any path that
// is not a regular file, is copied to a file first, so that it can be read
// more than once; a workbook is converted to CSV text, its rows on the
// lines of the sheet.
type source struct {
	in       *input.File // the input, as input.Open found it
	f        *os.File    // a copy of standard input or a pipe, which in reads
	temp     bool        // f is a copy to remove on close
	kept     bool        // f is the copy of standard input an earlier run kept
	spoolDir string
	name     string
	opts     input.Options
	sha256   string
	rows     int              // data records the first parse saw
	suspects *screen.Suspects // keys the first parse saw more than once
	cols     report.Input
	trailing int // blank rows after the last data row, ignored
	// notes say once what the read leaves out or reads differently: title
	// rows, a report footer, a result file fed back.
	notes []string
}

// SourceConfig is what openSource needs beyond the path.
type SourceConfig struct {
	Stdin    io.Reader
	SpoolDir string // where a copy of standard input goes; "" for a temporary file
	MaxSpool int64  // 0: DefaultMaxSpoolBytes
	Sheet    string // a workbook's sheet; "" for the first
	// AutoOwnerNames reads owner cells without an @ as names when at least
	// half the owner cells are such (a CRM export's "Contact owner"); cells
	// with an @ are emails either way.
	AutoOwnerNames bool
	// Log gets the warning of a workbook with data on sheets not read.
	Log *zap.Logger
}

// openSource opens path ("-": stdin) and makes the first passes. ctx stops
// every pass.
func openSource(ctx context.Context, path string, sc SourceConfig, opts input.Options) (*source, error) {
	s := &source{name: path, opts: opts, spoolDir: sc.SpoolDir}
	if err := s.open(ctx, path, sc); err != nil {
		s.Close()
		return nil, lackHint(err)
	}
	s.opts.Name = s.name
	if err := s.scanBytes(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("input %s: %w", s.name, err)
	}
	if err := s.firstParse(ctx); err != nil {
		s.Close()
		return nil, lackHint(err)
	}
	if sv := s.opts.Survey; sc.AutoOwnerNames && !s.opts.OwnerByName && sv.OwnerNames > 0 && sv.OwnerNames >= sv.OwnerEmails {
		// The owner column holds names (a CRM export's "Contact owner", or
		// a result file with names that did not resolve): read it so.
		s.opts.OwnerByName, s.opts.Survey, s.rows = true, nil, 0
		s.suspects = screen.NewSuspects(uint(s.suspects.Capacity()))
		if err := s.firstParse(ctx); err != nil {
			s.Close()
			return nil, lackHint(err)
		}
	}
	return s, nil
}

// lackHint adds --flow and --owner to a header error that lacks them.
func lackHint(err error) error {
	var he *input.HeaderError
	if !errors.As(err, &he) {
		return err
	}
	switch flow, owner := he.Lacks(); {
	case flow && owner:
		return fmt.Errorf("%w; or give every row one flow and owner with --flow ID|NAME and --owner EMAIL|NAME", err)
	case flow:
		return fmt.Errorf("%w; or give every row one flow with --flow ID|NAME", err)
	case owner:
		return fmt.Errorf("%w; or give every row one owner with --owner EMAIL|NAME", err)
	}
	return err
}

// open opens the input through input.Open, which decides what it is (CSV
// text, a workbook, a result file of flowenroll) and makes it CSV text.
// Standard input, or a path that is not a regular file (a pipe, a
// device), is copied to a file first, so that it can be read more than
// once.
func (s *source) open(ctx context.Context, path string, sc SourceConfig) error {
	oc := input.OpenConfig{Read: s.opts, Sheet: sc.Sheet}
	if path == "-" {
		s.name = "stdin"
		if err := s.spool(ctx, sc.Stdin, sc, true); err != nil {
			return err
		}
		return s.openSpooled(ctx, oc)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("input: %w", err)
		}
		defer f.Close()
		if err := s.spool(ctx, f, sc, false); err != nil {
			return err
		}
		return s.openSpooled(ctx, oc)
	}
	oc.Read.Name = s.name
	s.in, err = input.Open(ctx, path, oc)
	s.warnSheets(sc)
	return err
}

// openSpooled opens the copy of standard input or a pipe in s.f.
func (s *source) openSpooled(ctx context.Context, oc input.OpenConfig) error {
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("input %s: %w", s.name, err)
	}
	oc.Read.Name = s.name
	s.in, err = input.OpenReader(ctx, s.f, st.Size(), oc)
	return err
}

// warnSheets logs the warning of a workbook with data on sheets not read.
func (s *source) warnSheets(sc SourceConfig) {
	if s.in == nil || sc.Log == nil {
		return
	}
	if w := s.in.What.Book.Warning(); w != "" {
		sc.Log.Warn(w, zap.String("input", s.name))
	}
}

// spool copies r into a file, at most MaxSpool bytes; stdin copies may be
// kept in SpoolDir for a resumed run.
func (s *source) spool(ctx context.Context, r io.Reader, sc SourceConfig, stdin bool) error {
	limit := sc.MaxSpool
	if limit <= 0 {
		limit = DefaultMaxSpoolBytes
	}
	// A temporary copy first: the kept copy (spoolDir/stdin.csv) of an
	// earlier run is replaced only once the ledger has accepted this one.
	f, err := os.CreateTemp(sc.SpoolDir, ".stdin.csv.*")
	if err != nil {
		return fmt.Errorf("copying %s: %w", s.name, err)
	}
	s.f, s.temp = f, true
	n, err := io.Copy(f, io.LimitReader(&ctxReader{ctx: ctx, r: r}, limit+1))
	switch {
	case err != nil:
		return fmt.Errorf("copying %s: %w", s.name, err)
	case n > limit:
		return fmt.Errorf("%s: more than %d bytes: too large to copy (--max-input-bytes)", s.name, limit)
	}
	if kept := filepath.Join(sc.SpoolDir, stdinCopy); stdin && n == 0 && sc.SpoolDir != "" {
		// Nothing on standard input (a resumed Job, say): go on with the
		// copy the earlier run kept, if there is one.
		if k, err := os.Open(kept); err == nil {
			s.Close()
			s.f, s.temp, s.kept = k, false, true
		}
	}
	return nil
}

// ctxReader stops a read when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("reading stopped: %w", err)
	}
	return c.r.Read(p)
}

func (s *source) scanBytes(ctx context.Context) (err error) {
	text, err := s.in.Text()
	if err != nil {
		return err
	}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	lines := 0
	r := &ctxReader{ctx: ctx, r: text}
	for {
		n, rerr := r.Read(buf)
		h.Write(buf[:n])
		// \r too: Excel for Mac ends lines with it alone. A \r\n line
		// counts twice, which only sizes the filter generously.
		lines += bytes.Count(buf[:n], []byte{'\n'}) + bytes.Count(buf[:n], []byte{'\r'})
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	s.sha256 = hex.EncodeToString(h.Sum(nil))
	s.suspects = screen.NewSuspects(uint(lines) + 1)
	return nil
}

// firstParse notes every valid row's identity, so that the real read
// remembers only the keys that may repeat, and takes the reader's survey
// of the whole file, which turns on the checks that compare a row with the
// rest (a flow ID rounded by a spreadsheet, leading zeros lost). An error
// here is the one the real read would meet: the file is refused before
// anything is sent.
func (s *source) firstParse(ctx context.Context) error {
	text, err := s.in.Text()
	if err != nil {
		return err
	}
	first := s.in.ReadOptions(s.opts)
	first.Context = ctx
	survey, err := input.SurveyRows(text, first, func(p input.Prospect, rej *input.Rejection) {
		if rej == nil {
			s.suspects.Observe(screen.Identity(screen.RowOf(p)))
		}
	})
	if err != nil {
		return err
	}
	s.opts.Survey = survey
	// The survey's count leaves out a report footer's lines, as the read
	// does: the progress total is the rows the run will account for.
	s.rows = survey.Rows
	rd, err := s.reader()
	if err != nil {
		return err
	}
	s.notes = s.inputNotes(rd, survey)
	_, hasName := rd.Columns()[input.ColFlowName]
	s.cols = report.Input{FlowName: hasName, Extra: rd.ExtraHeaders()}
	return nil
}

// reader starts a read from the top. It reads to the end whatever
// happens: after a signal, the rows not yet read are written unprocessed.
func (s *source) reader() (*input.Reader, error) { return s.in.Reader(s.opts) }

// dedup returns the duplicate finder for the real read.
func (s *source) dedup() *screen.Dedup { return screen.NewDedupOf(s.suspects) }

// columns are the input's columns the result files carry.
func (s *source) columns() report.Input { return s.cols }

// stdinCopy is the name of the kept copy of standard input in --out.
const stdinCopy = "stdin.csv"

// keep makes the temporary copy of standard input the kept one, for a
// resumed run to read; call it once the ledger has accepted the input.
func (s *source) keep() error {
	if !s.temp || s.spoolDir == "" || s.name != "stdin" {
		return nil
	}
	if err := os.Rename(s.f.Name(), filepath.Join(s.spoolDir, stdinCopy)); err != nil {
		return fmt.Errorf("keeping a copy of standard input: %w", err)
	}
	s.temp = false
	return nil
}

// Close closes the input and removes a temporary copy.
func (s *source) Close() error {
	var err error
	if s.in != nil {
		err = s.in.Close()
		s.in = nil
	}
	if s.f == nil {
		return err
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if s.temp {
		os.Remove(s.f.Name())
	}
	s.f = nil
	return err
}

// inputNotes are the notes of an input read by rd.
func (s *source) inputNotes(rd *input.Reader, sv *input.Survey) []string {
	var notes []string
	if n := rd.TitleRows(); n > 0 {
		notes = append(notes, fmt.Sprintf("%s: the header is on line %d; the %s above it (a report's title, filters, date) %s not read", s.name, rd.HeaderLine(), plural(n, "row"), isAre(n)))
	}
	if sv.Footer > 0 {
		notes = append(notes, fmt.Sprintf("%s: lines %d-%d are a report footer (%q), not rows: not read, not counted", s.name, sv.Footer, sv.FooterEnd, sv.FooterText))
	}
	switch {
	case s.in.What.ResultBook:
		notes = append(notes, fmt.Sprintf("%s is flowenroll's results.xlsx: read from its failed and unprocessed sheets (the assigned sheet's rows are in Gong); each row keeps its line of the first input", s.name))
	case s.in.What.Result != "":
		notes = append(notes, fmt.Sprintf("%s is a result file of flowenroll fed back: each row keeps its line of the first input", s.name))
	}
	return notes
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
