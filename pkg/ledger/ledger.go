// Package ledger is the record of what a run has settled, kept beside the
// result files so that the same command can continue after an interruption.
//
// It is an append-only journal of JSON lines, each written and fsync'd
// before the run goes on: a "sent" entry before a chunk's first request, a
// "settled" entry with the chunk's result rows once it is answered, and a
// "run" entry with each run's request figures. The journal is the truth;
// the CSV files are rebuilt from it when a run resumes. A torn last line
// (a crash mid-write) is dropped. The journal is tied to the input by its
// SHA-256, so a changed input is not mixed with an old one.
package ledger

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flowenroll/flowenroll/pkg/report"
)

// FileName is the journal's name inside the output directory.
const FileName = "ledger.jsonl"

// Version of the journal format.
const Version = 1

// Header is the journal's first line.
type Header struct {
	Version     int    `json:"version"`
	InputSHA256 string `json:"inputSha256"`
	InputName   string `json:"inputName"`
	CreatedAt   string `json:"createdAt"`
}

// Sent records a chunk about to be sent: its rows are in doubt until settled.
type Sent struct {
	FlowID string    `json:"flowId"`
	Owner  string    `json:"owner"`
	Lines  []int     `json:"lines"`
	IDs    []string  `json:"ids"`
	At     time.Time `json:"at"`
}

// Settled holds the result rows of a chunk (or of part of one).
type Settled struct {
	Assigned []report.AssignedRecord `json:"assigned,omitempty"`
	Failed   []report.FailedRecord   `json:"failed,omitempty"`
}

// RunStats are one run's request figures.
type RunStats struct {
	Requests     int64 `json:"requests"`
	Retries      int64 `json:"retries"`
	RateLimited  int64 `json:"rateLimited"`
	ReadBacks    int64 `json:"readBacks"`
	Splits       int64 `json:"splits"`
	FlowListings int64 `json:"flowListings"`
}

type entry struct {
	Sent    *Sent     `json:"sent,omitempty"`
	Settled *Settled  `json:"settled,omitempty"`
	Run     *RunStats `json:"run,omitempty"`
}

// Doubt is what is known of a row that was sent but never settled.
type Doubt struct {
	FlowID string
	SentAt time.Time
}

// State is what earlier runs left: the settled rows (replayed through the
// callback given to Open), the rows in doubt, and the earlier runs' figures.
type State struct {
	Resumed bool
	Settled *Lines
	InDoubt map[int]Doubt // line -> when and where it was sent
	Runs    RunStats      // summed over earlier runs
}

// ErrInputChanged is returned when the output directory holds the journal of
// another input.
var ErrInputChanged = errors.New("input changed")

// Ledger appends to the journal. Its methods are safe for concurrent use.
type Ledger struct {
	mu       sync.Mutex
	f        *os.File
	w        *bufio.Writer
	path     string
	replayTo int64 // the journal's length when opened
}

// Replay passes the settled entries of earlier runs to fn, in order.
func (l *Ledger) Replay(fn func(Settled) error) error {
	if l.replayTo == 0 {
		return nil
	}
	f, err := os.Open(l.path)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	var st State
	st.Settled, st.InDoubt = &Lines{}, map[int]Doubt{}
	_, _, err = load(io.NewSectionReader(f, 0, l.replayTo), &st, fn)
	return err
}

// Open opens the journal in dir for the input with the given hash. If the
// journal exists for the same input, the returned State describes it and
// Replay streams its settled rows; with restart, or if there is none, a new
// journal is started. A journal of another input is refused with an error
// wrapping ErrInputChanged unless restart is set; nothing is changed then.
func Open(dir, inputSHA256, inputName string, restart bool, now time.Time) (*Ledger, State, error) {
	path := filepath.Join(dir, FileName)
	st := State{Settled: &Lines{}, InDoubt: map[int]Doubt{}}
	if !restart {
		f, err := os.OpenFile(path, os.O_RDWR, 0o600)
		switch {
		case err == nil:
			// The journal holds emails and CRM IDs: 0600 also if it was copied
			// or restored with another mode.
			if err := f.Chmod(0o600); err != nil {
				f.Close()
				return nil, State{}, fmt.Errorf("ledger: %w", err)
			}
			good, hdr, err := load(f, &st, nil)
			if err != nil {
				f.Close()
				return nil, State{}, fmt.Errorf("%s: %w", path, err)
			}
			if hdr != nil && hdr.InputSHA256 != inputSHA256 {
				f.Close()
				return nil, State{}, fmt.Errorf("%w: %s holds the results of %s (sha256 %.12s…), not of this input (sha256 %.12s…); use another --out, or --restart to discard those results and start over",
					ErrInputChanged, dir, hdr.InputName, hdr.InputSHA256, inputSHA256)
			}
			if hdr != nil {
				// Drop a torn last line so appends start on a line of their own.
				if err := f.Truncate(good); err != nil {
					f.Close()
					return nil, State{}, err
				}
				if _, err := f.Seek(good, io.SeekStart); err != nil {
					f.Close()
					return nil, State{}, err
				}
				st.Resumed = true
				return &Ledger{f: f, w: bufio.NewWriter(f), path: path, replayTo: good}, st, nil
			}
			f.Close() // empty or headerless: start anew
		case !errors.Is(err, os.ErrNotExist):
			return nil, State{}, fmt.Errorf("ledger: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, State{}, fmt.Errorf("ledger: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // O_CREATE's mode applies to new files only
		f.Close()
		return nil, State{}, fmt.Errorf("ledger: %w", err)
	}
	l := &Ledger{f: f, w: bufio.NewWriter(f)}
	hdr := Header{Version: Version, InputSHA256: inputSHA256, InputName: inputName, CreatedAt: now.UTC().Format(time.RFC3339)}
	if err := l.append(hdr); err != nil {
		f.Close()
		return nil, State{}, err
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, State{}, err
	}
	return l, st, nil
}

// load reads the journal; it returns the offset after the last whole line.
func load(f io.Reader, st *State, replay func(Settled) error) (int64, *Header, error) {
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var hdr *Header
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			return off, hdr, nil // a line without its newline is torn: ignore it
		}
		if err != nil {
			return 0, nil, err
		}
		if hdr == nil {
			var h Header
			if jerr := json.Unmarshal(line, &h); jerr != nil || h.Version == 0 {
				return 0, nil, fmt.Errorf("line %d: not a flowenroll ledger", n)
			}
			if h.Version != Version {
				return 0, nil, fmt.Errorf("ledger version %d; this flowenroll reads version %d", h.Version, Version)
			}
			hdr = &h
			off += int64(len(line))
			continue
		}
		var e entry
		if jerr := json.Unmarshal(line, &e); jerr != nil {
			// A crash can tear only the last write. An unreadable line with
			// more after it is damage that dropping would hide: refuse.
			if _, err := r.ReadBytes('\n'); err == io.EOF {
				return off, hdr, nil
			}
			return 0, nil, fmt.Errorf("line %d is unreadable and lines follow it: the journal is damaged; keep it for inspection and use --restart or another --out", n)
		}
		off += int64(len(line))
		switch {
		case e.Sent != nil:
			for _, ln := range e.Sent.Lines {
				// The first send counts: a row sent again by a later run may
				// have been applied by the first, and a read-back must still
				// own an instance created since then.
				if _, seen := st.InDoubt[ln]; !seen && !st.Settled.Has(ln) {
					st.InDoubt[ln] = Doubt{FlowID: e.Sent.FlowID, SentAt: e.Sent.At}
				}
			}
		case e.Settled != nil:
			for _, a := range e.Settled.Assigned {
				st.Settled.Add(a.Line)
				delete(st.InDoubt, a.Line)
			}
			for _, fr := range e.Settled.Failed {
				st.Settled.Add(fr.Line)
				delete(st.InDoubt, fr.Line)
			}
			if replay != nil {
				if err := replay(*e.Settled); err != nil {
					return 0, nil, err
				}
			}
		case e.Run != nil:
			st.Runs.Requests += e.Run.Requests
			st.Runs.Retries += e.Run.Retries
			st.Runs.RateLimited += e.Run.RateLimited
			st.Runs.ReadBacks += e.Run.ReadBacks
			st.Runs.Splits += e.Run.Splits
			st.Runs.FlowListings += e.Run.FlowListings
		}
	}
}

// Sent journals a chunk before its first request.
func (l *Ledger) Sent(s Sent) error { return l.append(entry{Sent: &s}) }

// Settle journals result rows.
func (l *Ledger) Settle(s Settled) error {
	if len(s.Assigned) == 0 && len(s.Failed) == 0 {
		return nil
	}
	return l.append(entry{Settled: &s})
}

// Run journals a run's figures.
func (l *Ledger) Run(r RunStats) error { return l.append(entry{Run: &r}) }

func (l *Ledger) append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("ledger is closed")
	}
	l.w.Write(b)
	l.w.WriteByte('\n')
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// Close closes the journal.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Lines is a set of input line numbers, one bit a line.
type Lines struct{ bits []uint64 }

// Add puts line in the set.
func (s *Lines) Add(line int) {
	if line < 0 {
		return
	}
	i := line / 64
	for i >= len(s.bits) {
		s.bits = append(s.bits, 0)
	}
	s.bits[i] |= 1 << (uint(line) % 64)
}

// Has reports whether line is in the set.
func (s *Lines) Has(line int) bool {
	i := line / 64
	return line >= 0 && i < len(s.bits) && s.bits[i]&(1<<(uint(line)%64)) != 0
}
