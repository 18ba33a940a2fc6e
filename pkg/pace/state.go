package pace

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
)

// StateFile is the name Keep's file takes in a run's --out (and in the
// console's --data): the times of the last sends, so that the next process
// does not send into the same second.
const StateFile = ".flowenroll.pace"

const stateHeader = "flowenroll pace 1"

// store writes the last sends to a file before each send.
type store struct {
	path    string
	mu      sync.Mutex
	written uint64 // the turn of the last state written
}

// Keep makes the pacer carry its last sends over processes through the file
// at path: the sends a previous process left there count against this one's
// first second, and from now on the file is rewritten before every send
// (written, not synced: a process killed at any point has still written
// it; a machine that crashed takes longer than a second to come back). A
// file that cannot be read as one is taken for the worst: the limit's worth
// of sends at its last change. A file that cannot be written leaves the
// pacing as it is: the next process may then meet one 429.
func (p *Pacer) Keep(path string) {
	if p.max == 0 || path == "" {
		return
	}
	sends := loadSends(path, p.max)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.store = &store{path: path}
	for _, at := range sends {
		p.log = append(p.log, send{at: at})
		if due := at.Add(p.interval()); due.After(p.next) {
			p.next = due
		}
	}
	p.log = p.log[max(0, len(p.log)-(p.max+keepSends)):]
}

// loadSends reads the send times of a state file, oldest first; none if
// there is no file.
func loadSends(path string, most int) []time.Time {
	b, err := readNoFollow(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	var sends []time.Time
	ok := err == nil && sc.Scan() && sc.Text() == stateHeader
	for ok && sc.Scan() {
		ns, err := strconv.ParseInt(sc.Text(), 10, 64)
		ok = err == nil
		sends = append(sends, time.Unix(0, ns))
	}
	if ok && len(sends) > 0 {
		return sends
	}
	// Torn or foreign: assume the limit's worth sent when it last changed.
	st, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	sends = sends[:0]
	for range most {
		sends = append(sends, st.ModTime())
	}
	return sends
}

// readNoFollow reads the file at path, unless it is a symlink.
func readNoFollow(path string) ([]byte, error) {
	f, err := fsguard.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// save writes the sends of turn seq, unless a later turn's are written.
func (s *store) save(seq uint64, sends []send) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.written {
		return
	}
	s.written = seq
	b := []byte(stateHeader + "\n")
	for _, x := range sends {
		b = strconv.AppendInt(b, x.at.UnixNano(), 10)
		b = append(b, '\n')
	}
	// Never through a symlink someone left in the folder.
	f, err := fsguard.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return // best effort: see Keep
	}
	_, _ = f.Write(b)
	_ = f.Close()
}
