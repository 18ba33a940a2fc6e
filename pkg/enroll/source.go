package enroll

import (
	"bytes"
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
)

// source is the input, read in passes so that memory stays independent of
// its size: first its bytes (the SHA-256 that ties the ledger to it, and a
// line count that sizes the duplicate filter), then a first parse (which
// rows may repeat), then the real read. Standard input is copied to a file
// first, so that it can be read more than once.
type source struct {
	f        *os.File
	temp     bool // f is a copy of standard input to remove on close
	kept     bool // f is the copy of standard input an earlier run kept
	spoolDir string
	name     string
	opts     input.Options
	sha256   string
	rows     int              // data records the first parse saw
	suspects *screen.Suspects // keys the first parse saw more than once
}

// openSource opens path ("-": stdin, copied into spoolDir, or a temporary
// file when spoolDir is "") and makes the first passes.
func openSource(path string, stdin io.Reader, spoolDir string, opts input.Options) (*source, error) {
	s := &source{name: path, opts: opts}
	var err error
	if path == "-" {
		s.name = "stdin"
		// A temporary copy first: the kept copy (spoolDir/stdin.csv) of an
		// earlier run is replaced only once the ledger has accepted this one.
		s.f, err = os.CreateTemp(spoolDir, ".stdin-*.csv")
		if err != nil {
			return nil, fmt.Errorf("copying standard input: %w", err)
		}
		s.temp = true
		n, err := io.Copy(s.f, stdin)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("copying standard input: %w", err)
		}
		if kept := filepath.Join(spoolDir, stdinCopy); n == 0 && spoolDir != "" {
			// Nothing on standard input (a resumed Job, say): go on with
			// the copy the earlier run kept, if there is one.
			if f, err := os.Open(kept); err == nil {
				s.Close()
				s.f, s.temp, s.kept = f, false, true
			}
		}
		s.spoolDir = spoolDir
	} else if s.f, err = os.Open(path); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	s.opts.Name = s.name
	if err := s.scanBytes(); err != nil {
		s.Close()
		return nil, fmt.Errorf("input %s: %w", s.name, err)
	}
	if err := s.firstParse(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *source) scanBytes() (err error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	lines := 0
	for {
		n, rerr := s.f.Read(buf)
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
func (s *source) firstParse() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	survey, err := input.SurveyRows(s.f, s.opts, func(p input.Prospect, rej *input.Rejection) {
		s.rows++
		if rej == nil {
			s.suspects.Observe(screen.Identity(screen.RowOf(p)))
		}
	})
	if err != nil {
		return err
	}
	s.opts.Survey = survey
	return nil
}

// reader starts a read from the top.
func (s *source) reader() (*input.Reader, error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return input.NewReader(s.f, s.opts)
}

// dedup returns the duplicate finder for the real read.
func (s *source) dedup() *screen.Dedup { return screen.NewDedupOf(s.suspects) }

// stdinCopy is the name of the kept copy of standard input in --out.
const stdinCopy = "stdin.csv"

// keep makes the temporary copy of standard input the kept one, for a
// resumed run to read; call it once the ledger has accepted the input.
func (s *source) keep() error {
	if !s.temp || s.spoolDir == "" {
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
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if s.temp {
		os.Remove(s.f.Name())
	}
	s.f = nil
	return err
}

// columns are the input's columns the result files carry.
func (s *source) columns() report.Input { return report.Input{} }
