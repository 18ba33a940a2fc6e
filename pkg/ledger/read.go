package ledger

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// ErrNoJournal is returned by Read when the directory holds no journal.
var ErrNoJournal = errors.New("no flowenroll ledger")

// Read replays the settled rows of the journal in dir through fn, in order,
// without opening it for writing, and returns its header and what it left
// (the rows in doubt, the runs' figures). It is for commands that act on a
// run's results (undo, verify); the caller holds dir's lock, so no run
// appends meanwhile. A torn last line is ignored, as Open would drop it.
func Read(dir string, fn func(outcome.Outcome) error) (Header, State, error) {
	path := filepath.Join(dir, FileName)
	f, err := fsguard.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return Header{}, State{}, fmt.Errorf("%s: %w", dir, ErrNoJournal)
	}
	if err != nil {
		return Header{}, State{}, fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	st := State{Settled: &Lines{}, InDoubt: map[int]Doubt{}, Named: &Lines{}}
	_, hdr, err := load(f, &st, fn)
	if err != nil {
		return Header{}, State{}, fmt.Errorf("%s: %w", path, err)
	}
	if hdr == nil {
		return Header{}, State{}, fmt.Errorf("%s: %w (the journal is empty)", dir, ErrNoJournal)
	}
	st.Resumed = true
	return *hdr, st, nil
}

// Blank reports whether dir holds no journal a run could resume: none, an
// empty file, or one without a whole header line (Open would start anew).
// A file that is not a journal at all is not blank: Open refuses it.
func Blank(dir string) (bool, error) {
	path := filepath.Join(dir, FileName)
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("ledger: %w", err)
	case !fi.Mode().IsRegular():
		return false, nil // a link or a pipe: Open refuses it
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	// A line without its newline is torn: load ignores it.
	_, err = bufio.NewReader(io.LimitReader(f, 64<<10)).ReadBytes('\n')
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}
