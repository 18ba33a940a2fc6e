// Package outdir guards a run's output directory: one run at a time holds
// it (an flock on a lock file, released by the kernel when the holder dies,
// however it dies), and the files the run writes there are never the files
// it reads, nor files someone else left.
package outdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
)

// LockFile is the lock's name inside the directory.
const LockFile = ".flowenroll.lock"

// Holder is who holds a directory; it is written in the lock file.
type Holder struct {
	PID     int    `json:"pid"`
	Host    string `json:"host"`
	Command string `json:"command"`
	Since   string `json:"since"`
}

func (h Holder) String() string {
	return fmt.Sprintf("%s (process %d on %s, since %s)", h.Command, h.PID, h.Host, h.Since)
}

// HeldError is a directory another live process holds.
type HeldError struct {
	Dir    string
	Holder Holder
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is held by another flowenroll run: %s; wait for it to end, or use another --out", e.Dir, e.Holder)
}

// Dir is an output directory this process holds.
type Dir struct {
	path    string
	lock    *fsguard.Lock
	created bool // Acquire made the directory
}

// Acquire creates dir (mode 0700) if needed and takes its lock for command
// ("run", "plan", "undo"...), or returns a *HeldError naming the holder at
// once. A lock left by a dead process is free: the kernel released it.
func Acquire(dir, command string, now time.Time) (*Dir, error) {
	_, statErr := os.Lstat(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	lock, err := fsguard.TryLock(path)
	if errors.Is(err, fsguard.ErrHeld) {
		return nil, &HeldError{Dir: dir, Holder: holder(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("output directory %s: %w", dir, err)
	}
	f := lock.File()
	host, _ := os.Hostname()
	b, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, Command: "flowenroll " + command, Since: now.UTC().Format(time.RFC3339)})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return &Dir{path: dir, lock: lock, created: errors.Is(statErr, fs.ErrNotExist)}, nil
}

// holder reads the holder's record. The holder writes it just after it
// takes the lock, so a process that lost a race by a hair may find it
// empty: it reads again for a moment (at most half a second) before it
// says it does not know.
func holder(path string) Holder {
	var h Holder
	for i := 0; i < 25; i++ {
		b, _ := os.ReadFile(path)
		// A record of a dead process is the previous holder's, not yet
		// replaced (on another host, PIDs say nothing: take it).
		host, _ := os.Hostname()
		if json.Unmarshal(b, &h) == nil && h.PID != 0 && (h.Host != host || fsguard.ProcessAlive(h.PID)) {
			return h
		}
		time.Sleep(20 * time.Millisecond)
	}
	return Holder{Command: "flowenroll (it has not written its details yet)", Host: "?", Since: "just now"}
}

// Release gives the directory up. A directory Acquire made that holds
// nothing but the lock (a run that failed before it wrote anything, such as
// one whose input could not be opened) is removed: no folder is left behind
// that looks like a run.
func (d *Dir) Release() {
	if d.lock != nil && d.created {
		if entries, err := os.ReadDir(d.path); err == nil && len(entries) == 1 && entries[0].Name() == LockFile {
			os.Remove(filepath.Join(d.path, LockFile)) // still held: no one else took it
			d.lock.Close()
			d.lock = nil
			os.Remove(d.path) // fails, harmlessly, if someone wrote there meanwhile
		}
	}
	if d.lock != nil {
		d.lock.Close()
		d.lock = nil
	}
}

// Foreign returns the names, among names, of files in the directory: with
// no journal of an earlier run beside them, they are someone else's.
func (d *Dir) Foreign(names []string) []string {
	var found []string
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(d.path, n)); err == nil {
			found = append(found, n)
		}
	}
	return found
}

// Writes reports whether path is, or resolves to, one of the named files
// of the directory, or a temporary file of one: a file a run there writes.
func (d *Dir) Writes(path string, names []string) (string, bool) {
	in, err := os.Stat(path)
	if err != nil {
		return "", false
	}
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if !ours(e.Name(), names) {
			continue
		}
		if st, err := os.Stat(filepath.Join(d.path, e.Name())); err == nil && os.SameFile(in, st) {
			return e.Name(), true
		}
	}
	return "", false
}

func ours(name string, names []string) bool {
	for _, n := range names {
		if name == n || strings.HasPrefix(name, "."+n+".") {
			return true
		}
	}
	return false
}

// RemoveTemporary removes temporary files the named files left behind
// (a run killed before it renamed them into place).
func (d *Dir) RemoveTemporary(names []string) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return
	}
	for _, e := range entries {
		for _, n := range names {
			if strings.HasPrefix(e.Name(), "."+n+".") && e.Type().IsRegular() {
				os.Remove(filepath.Join(d.path, e.Name()))
			}
		}
	}
}
