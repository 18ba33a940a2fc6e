package reconcile

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

	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// JournalFile is the undo journal's name inside the output directory.
const JournalFile = "undo.jsonl"

// journalVersion is the undo journal's format.
const journalVersion = 1

// journalHeader ties the undo journal to one run's ledger: a run started
// over with --restart has a new ledger, and an old undo journal beside it
// says nothing about the new run's instances.
type journalHeader struct {
	UndoVersion     int    `json:"undoVersion"`
	InputSHA256     string `json:"inputSha256"`
	LedgerCreatedAt string `json:"ledgerCreatedAt"`
	CreatedAt       string `json:"createdAt"`
}

// How an instance was found removed.
const (
	ByAnswer   = "answer"   // listed in unassignedFlowInstanceIds
	ByReadBack = "readBack" // sent, answer lost, and no longer open when read back
)

// journalEntry is one line after the header.
type journalEntry struct {
	// Sent: these instances are about to be sent; in doubt until settled
	// or released.
	Sent *idList `json:"sent,omitempty"`
	// Released: instances journaled as sent that did not reach Gong, or
	// were refused as a whole with nothing done.
	Released *idList  `json:"released,omitempty"`
	Done     *settled `json:"done,omitempty"`
	// Run is one undo run's request figures.
	Run *outcome.RequestCounts `json:"run,omitempty"`
}

type idList struct {
	IDs []string  `json:"ids"`
	At  time.Time `json:"at,omitzero"`
}

// settled are instances with a final answer: removed, or kept by Gong.
type settled struct {
	Removed    []string `json:"removed,omitempty"`
	Kept       []string `json:"kept,omitempty"`
	How        string   `json:"how,omitempty"`  // removed: ByAnswer or ByReadBack
	Code       string   `json:"code,omitempty"` // kept: why
	Message    string   `json:"message,omitempty"`
	HTTPStatus int      `json:"httpStatus,omitempty"`
	RequestID  string   `json:"requestId,omitempty"`
}

// Settlement is what the undo journal says of one instance.
type Settlement struct {
	Removed    bool
	How        string
	Code       string
	Message    string
	HTTPStatus int
	RequestID  string
}

// journalState is what earlier undo runs left.
type journalState struct {
	resumed bool
	settled map[string]Settlement // instance ID -> final answer
	doubt   map[string]bool       // sent, neither settled nor released
	runs    outcome.RequestCounts
}

func (st *journalState) apply(e journalEntry) {
	switch {
	case e.Sent != nil:
		for _, id := range e.Sent.IDs {
			if _, done := st.settled[id]; !done {
				st.doubt[id] = true
			}
		}
	case e.Released != nil:
		for _, id := range e.Released.IDs {
			delete(st.doubt, id)
		}
	case e.Done != nil:
		d := e.Done
		for _, id := range d.Removed {
			st.settled[id] = Settlement{Removed: true, How: d.How, RequestID: d.RequestID}
			delete(st.doubt, id)
		}
		for _, id := range d.Kept {
			st.settled[id] = Settlement{Code: d.Code, Message: d.Message, HTTPStatus: d.HTTPStatus, RequestID: d.RequestID}
			delete(st.doubt, id)
		}
	case e.Run != nil:
		st.runs = st.runs.Plus(*e.Run)
	}
}

// journal appends to undo.jsonl, each line in one write, fsync'd.
type journal struct {
	mu sync.Mutex
	f  *os.File
}

// openJournal opens dir's undo journal for the run hdr describes and reads
// what it holds; a journal of another run (or none) is started anew.
func openJournal(dir string, hdr journalHeader) (*journal, journalState, error) {
	path := filepath.Join(dir, JournalFile)
	st := journalState{settled: map[string]Settlement{}, doubt: map[string]bool{}}
	f, err := fsguard.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, st, fmt.Errorf("undo journal: %w", err)
	}
	good, old, err := loadJournal(f, &st)
	if err != nil {
		f.Close()
		return nil, st, fmt.Errorf("%s: %w", path, err)
	}
	j := &journal{f: f}
	if old != nil && old.InputSHA256 == hdr.InputSHA256 && old.LedgerCreatedAt == hdr.LedgerCreatedAt {
		st.resumed = true
		if err := f.Truncate(good); err != nil { // a torn last line
			f.Close()
			return nil, st, err
		}
		_, err := f.Seek(good, io.SeekStart)
		return j, st, err
	}
	st = journalState{settled: map[string]Settlement{}, doubt: map[string]bool{}}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, st, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, st, err
	}
	return j, st, j.append(hdr)
}

// loadJournal reads the journal; it returns the offset after the last
// whole line and the header (nil if there is none).
func loadJournal(f io.Reader, st *journalState) (int64, *journalHeader, error) {
	r := bufio.NewReader(f)
	var off int64
	var hdr *journalHeader
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return off, hdr, nil // a line without its newline is torn
		}
		if err != nil {
			return 0, nil, err
		}
		if hdr == nil {
			var h journalHeader
			if json.Unmarshal(line, &h) != nil || h.UndoVersion == 0 {
				return 0, nil, fmt.Errorf("line %d: not a flowenroll undo journal", n)
			}
			if h.UndoVersion > journalVersion {
				return 0, nil, fmt.Errorf("undo journal version %d; this flowenroll reads version %d", h.UndoVersion, journalVersion)
			}
			hdr = &h
			off += int64(len(line))
			continue
		}
		var e journalEntry
		if json.Unmarshal(line, &e) != nil {
			if _, err := r.ReadBytes('\n'); errors.Is(err, io.EOF) {
				return off, hdr, nil
			}
			return 0, nil, fmt.Errorf("line %d is unreadable and lines follow it: the undo journal is damaged", n)
		}
		off += int64(len(line))
		st.apply(e)
	}
}

func (j *journal) append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("undo journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("undo journal: %w", err)
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }
