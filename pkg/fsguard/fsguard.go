// Package fsguard holds the file-system guards every package that writes
// state shares: an open that never follows a link, an exclusive lock that
// the operating system drops when its holder dies, a write that a reader
// sees whole or not at all, and a directory synced after a rename. One home
// for each, with the platform code behind build tags (see the _unix and
// _windows files for what each platform can and cannot promise).
package fsguard

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes path through a temporary file in the same directory,
// synced, renamed into place, and the directory synced: a reader sees the
// old file or the new one, never a part, also after a crash. The file's
// mode is 0600. A failed write leaves the old file as it was.
func WriteFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// WriteBytes is WriteFile for data already in memory.
func WriteBytes(path string, data []byte) error {
	return WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Lock is an exclusive lock on a file, held until Close.
type Lock struct {
	f *os.File
}

// ErrHeld is returned by TryLock when another process holds the lock.
var ErrHeld = fmt.Errorf("lock held by another process")

// TryLock opens (creating, mode 0600, never through a link) and locks path
// at once, or returns ErrHeld. The lock is the operating system's: it goes
// when the process ends, however it ends, so a crash leaves no stale lock.
// The file's contents stay readable by others (who holds it, for their
// messages) on every platform.
func TryLock(path string) (*Lock, error) {
	f, err := OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	ok, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if !ok {
		f.Close()
		return nil, ErrHeld
	}
	return &Lock{f: f}, nil
}

// File is the locked file, to write who holds it.
func (l *Lock) File() *os.File { return l.f }

// Close releases the lock. Closing twice is harmless.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the lock
	l.f = nil
	return err
}
