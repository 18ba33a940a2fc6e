// Package ledger is the record of what a run has settled, kept beside the
// result files so that the same command can continue after an interruption.
//
// It is an append-only journal of JSON lines, each written in one write and
// fsync'd before the run goes on: a "sent" entry before a chunk's request
// takes its turn, a "released" entry when rows journaled as sent are known
// not to be in Gong after all (the request was answered 429 or 4xx, or never
// left), a "rows" entry with the outcomes of settled rows, a "chunkSize"
// entry when a request size is learned, and a "run" entry with each run's
// request figures. The journal is the truth; the CSV files are rebuilt from
// it when a run resumes. Only the one process that holds --out writes it, so
// a torn line (a crash mid-write) can only be the last, and is dropped. The
// journal is tied to the input by its SHA-256, so a changed input is not
// mixed with an old one.
//
// The format is versioned. Version 1 journals (which stored the result
// files' rows) are still read, and a resumed version 1 journal is continued
// with version 2 entries.
package ledger

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// FileName is the journal's name inside the output directory.
const FileName = "ledger.jsonl"

// Version of the journal format written.
const Version = 2

// Header is the journal's first line.
type Header struct {
	Version     int    `json:"version"`
	InputSHA256 string `json:"inputSha256"`
	InputName   string `json:"inputName"`
	CreatedAt   string `json:"createdAt"`
}

// Sent records a chunk about to be sent: its rows are in doubt until
// settled or released.
type Sent struct {
	FlowID string    `json:"flowId"`
	Owner  string    `json:"owner"`
	Lines  []int     `json:"lines"`
	IDs    []string  `json:"ids"`
	At     time.Time `json:"at"`
	// Bulk: the rows are people sent in a bulk assignment (no CRM IDs).
	Bulk bool `json:"bulk,omitempty"`
	// CoolOffOverride: sent through the cool-off-override endpoint
	// (--override-cool-off); a run resumed without the flag still says so.
	CoolOffOverride bool `json:"coolOffOverride,omitempty"`
}

type released struct {
	Lines []int `json:"lines"`
}

type entry struct {
	Sent      *Sent      `json:"sent,omitempty"`
	Released  *released  `json:"released,omitempty"`
	Rows      []record   `json:"rows,omitempty"`
	ChunkSize *int       `json:"chunkSize,omitempty"`
	Run       *runCounts `json:"run,omitempty"`
	Bulk      *BulkJob   `json:"bulkJob,omitempty"`
	// Settled is version 1's entry of settled rows.
	Settled *settledV1 `json:"settled,omitempty"`
}

// runCounts are a run entry's figures; version 1 named two of them
// otherwise.
type runCounts struct {
	outcome.RequestCounts
	SplitsV1       int64 `json:"splits,omitempty"`
	FlowListingsV1 int64 `json:"flowListings,omitempty"`
}

// Doubt is what is known of a row that was sent but never settled.
type Doubt struct {
	FlowID string
	SentAt time.Time
}

// State is what earlier runs left: the settled rows (replayed through
// Replay), the rows in doubt, the learned request size and the earlier
// runs' figures.
type State struct {
	Resumed bool
	Settled *Lines
	InDoubt map[int]Doubt // line -> when and where it was first sent
	// Named holds every line an entry names (sent, released, settled): a
	// line the result files hold and the journal never named is one the
	// journal lost (cut short by hand), while one it sent and then released
	// (read back, not in Gong) is simply newer than stale files.
	Named     *Lines
	Runs      outcome.RequestCounts // summed over earlier runs
	ChunkSize int                   // learned by an earlier run; 0 if none
	// BulkDoubt holds the lines of InDoubt sent in a bulk assignment: the
	// id Gong answered (read it, never send again), or "" if no answer
	// came (sent again only with --resend-in-doubt).
	BulkDoubt map[int]string
	// CoolOffOverride: an earlier run of this journal sent rows through
	// the cool-off-override endpoint.
	CoolOffOverride bool
}

// ErrInputChanged is returned when the output directory holds the journal of
// another input.
var ErrInputChanged = errors.New("input changed")

// Ledger appends to the journal. Its methods are safe for concurrent use.
type Ledger struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	replayTo int64 // the journal's length when opened
}

// Open opens the journal in dir for the input with the given hash. If the
// journal exists for the same input, the returned State describes it and
// Replay streams its settled rows; with restart, or if there is none, a new
// journal is started. A journal of another input is refused with an error
// wrapping ErrInputChanged unless restart is set; nothing is changed then.
// The caller holds dir's lock.
func Open(dir, inputSHA256, inputName string, restart bool, now time.Time) (*Ledger, State, error) {
	path := filepath.Join(dir, FileName)
	st := State{Settled: &Lines{}, InDoubt: map[int]Doubt{}, Named: &Lines{}}
	if !restart {
		l, resumed, err := resume(dir, path, inputSHA256, &st)
		if err != nil {
			return nil, State{}, err
		}
		if resumed {
			return l, st, nil
		}
	}
	f, err := fsguard.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, State{}, fmt.Errorf("ledger: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // O_CREATE's mode applies to new files only
		f.Close()
		return nil, State{}, fmt.Errorf("ledger: %w", err)
	}
	l := &Ledger{f: f, path: path}
	hdr := Header{Version: Version, InputSHA256: inputSHA256, InputName: inputName, CreatedAt: now.UTC().Format(time.RFC3339)}
	if err := l.append(hdr); err != nil {
		f.Close()
		return nil, State{}, err
	}
	if err := fsguard.SyncDir(dir); err != nil {
		f.Close()
		return nil, State{}, err
	}
	return l, State{Settled: &Lines{}, InDoubt: map[int]Doubt{}, Named: &Lines{}}, nil
}

// resume opens an existing journal of the same input; resumed is false
// when there is none to resume (absent, empty, no header).
func resume(dir, path, inputSHA256 string, st *State) (*Ledger, bool, error) {
	f, err := fsguard.OpenFile(path, os.O_RDWR, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("ledger: %w", err)
	}
	fail := func(err error) (*Ledger, bool, error) { f.Close(); return nil, false, err }
	// The journal holds emails and CRM IDs: 0600 also if it was copied or
	// restored with another mode.
	if err := f.Chmod(0o600); err != nil {
		return fail(fmt.Errorf("ledger: %w", err))
	}
	good, hdr, err := load(f, st, nil)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	if hdr == nil {
		f.Close() // empty or headerless: start anew
		return nil, false, nil
	}
	if hdr.InputSHA256 != inputSHA256 {
		return fail(fmt.Errorf("%w: %s holds the results of %s (sha256 %.12s…), not of this input (sha256 %.12s…); use another --out, or --restart to discard those results and start over",
			ErrInputChanged, dir, hdr.InputName, hdr.InputSHA256, inputSHA256))
	}
	if hdr.Version < Version {
		// Entries of this version follow: an older flowenroll must refuse
		// the journal rather than skip what it cannot read. The version is
		// one digit, so the header keeps its length.
		if err := upgrade(f, hdr.Version); err != nil {
			return fail(err)
		}
	}
	// Drop a torn last line so appends start on a line of their own.
	if err := f.Truncate(good); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		return fail(err)
	}
	st.Resumed = true
	return &Ledger{f: f, path: path, replayTo: good}, true, nil
}

// Replay passes the settled rows of earlier runs to fn, in order.
func (l *Ledger) Replay(fn func(outcome.Outcome) error) error {
	if l.replayTo == 0 {
		return nil
	}
	f, err := os.Open(l.path)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	st := State{Settled: &Lines{}, InDoubt: map[int]Doubt{}, Named: &Lines{}}
	_, _, err = load(io.NewSectionReader(f, 0, l.replayTo), &st, fn)
	return err
}

// load reads the journal; it returns the offset after the last whole line.
func load(f io.Reader, st *State, replay func(outcome.Outcome) error) (int64, *Header, error) {
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
			h, err := header(line, n)
			if err != nil {
				return 0, nil, err
			}
			hdr = h
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
		if err := st.apply(e, replay); err != nil {
			return 0, nil, err
		}
	}
}

func header(line []byte, n int) (*Header, error) {
	var h Header
	if jerr := json.Unmarshal(line, &h); jerr != nil || h.Version == 0 {
		return nil, fmt.Errorf("line %d: not a flowenroll ledger", n)
	}
	if h.Version > Version {
		return nil, fmt.Errorf("ledger version %d; this flowenroll reads versions 1 to %d", h.Version, Version)
	}
	return &h, nil
}

// named records that an entry names line.
func (st *State) named(line int) {
	if st.Named != nil {
		st.Named.Add(line)
	}
}

// apply folds one entry into the state.
func (st *State) apply(e entry, replay func(outcome.Outcome) error) error {
	switch {
	case e.Sent != nil:
		st.CoolOffOverride = st.CoolOffOverride || e.Sent.CoolOffOverride
		for _, ln := range e.Sent.Lines {
			st.named(ln)
			// The first send counts: a row sent again by a later run may
			// have been applied by the first, and a read-back must still
			// own an instance created since then.
			if _, seen := st.InDoubt[ln]; !seen && !st.Settled.Has(ln) {
				st.InDoubt[ln] = Doubt{FlowID: e.Sent.FlowID, SentAt: e.Sent.At}
				st.sentBulk(e.Sent, ln)
			}
		}
	case e.Released != nil:
		for _, ln := range e.Released.Lines {
			st.named(ln)
			delete(st.InDoubt, ln)
			delete(st.BulkDoubt, ln)
		}
	case e.Rows != nil || e.Settled != nil:
		outs := e.Settled.outcomes()
		for _, rec := range e.Rows {
			outs = append(outs, rec.outcome())
		}
		for _, o := range outs {
			st.named(o.Row.Line)
			st.Settled.Add(o.Row.Line)
			delete(st.InDoubt, o.Row.Line)
			delete(st.BulkDoubt, o.Row.Line)
			if replay != nil {
				if err := replay(o); err != nil {
					return err
				}
			}
		}
	case e.Bulk != nil:
		st.applyBulk(e.Bulk)
	case e.ChunkSize != nil:
		st.ChunkSize = *e.ChunkSize
	case e.Run != nil:
		c := e.Run.RequestCounts
		c.Splits += e.Run.SplitsV1
		c.FlowListings += e.Run.FlowListingsV1
		st.Runs = st.Runs.Plus(c)
	}
	return nil
}

// Sent journals a chunk before its first request.
func (l *Ledger) Sent(s Sent) error { return l.append(entry{Sent: &s}) }

// Release journals that rows journaled as sent are not in Gong: their
// request was refused as a whole or never left.
func (l *Ledger) Release(lines []int) error {
	if len(lines) == 0 {
		return nil
	}
	return l.append(entry{Released: &released{Lines: lines}})
}

// Settle journals the outcomes of settled rows (assigned or failed);
// unprocessed ones are not journaled: the next run meets them again.
func (l *Ledger) Settle(outs ...outcome.Outcome) error {
	var recs []record
	for _, o := range outs {
		if o.Kind == outcome.Assigned || o.Kind == outcome.Failed {
			recs = append(recs, recordOf(o))
		}
	}
	if len(recs) == 0 {
		return nil
	}
	return l.append(entry{Rows: recs})
}

// ChunkSize journals a learned request size (0: the configured one again).
func (l *Ledger) ChunkSize(n int) error { return l.append(entry{ChunkSize: &n}) }

// Run journals a run's figures.
func (l *Ledger) Run(r outcome.RequestCounts) error {
	return l.append(entry{Run: &runCounts{RequestCounts: r}})
}

func (l *Ledger) append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("ledger is closed")
	}
	if err := l.stillThere(); err != nil {
		return err
	}
	// One write a line: a crash tears at most this, the last line.
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// ErrGone is returned by every write once the journal is no longer the
// file at its path: --out, or the journal in it, was deleted or replaced
// during the run. Writing on would record nothing anyone can find, and the
// same command would then send every row again.
var ErrGone = errors.New("the output directory or its ledger was deleted or replaced during the run")

// stillThere checks, before each write, that the journal open is still
// the file at its path (os.SameFile: the device and inode on Unix, the
// file index on Windows), so no platform-specific code is needed.
func (l *Ledger) stillThere() error {
	open, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	at, err := os.Stat(l.path)
	if err != nil || !os.SameFile(open, at) {
		return fmt.Errorf("%w: %s is gone", ErrGone, l.path)
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

// upgrade rewrites the header's version in place.
func upgrade(f *os.File, from int) error {
	head := make([]byte, 64)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("ledger: %w", err)
	}
	old := []byte(fmt.Sprintf(`"version":%d,`, from))
	i := bytes.Index(head[:n], old)
	if i < 0 || from >= 10 {
		return fmt.Errorf("ledger: cannot upgrade a version %d header", from)
	}
	if _, err := f.WriteAt([]byte(fmt.Sprintf(`"version":%d,`, Version)), int64(i)); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return f.Sync()
}
