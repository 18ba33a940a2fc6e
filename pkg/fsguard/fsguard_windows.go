//go:build windows

package fsguard

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// NoFollow is 0 on Windows: there is no O_NOFOLLOW. OpenFile replaces it by
// a check (below), which closes the door to a link that was there before
// the open, but not to one swapped in between the check and the open: on
// Windows, creating a symbolic link needs an administrator or developer
// mode, which is the guard that remains for that instant.
const NoFollow = 0

// OpenFile opens path, refusing a symbolic link or other reparse point at
// it: the path is checked with Lstat before the open, and the opened file
// must be the file that was checked.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	before, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		before = nil // created by the open; O_EXCL callers make it race-free
	case err != nil:
		return nil, err
	case before.Mode()&(os.ModeSymlink|os.ModeIrregular) != 0:
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("is a link: refused")}
	}
	f, err := os.OpenFile(path, flag, perm)
	if err != nil || before == nil {
		return f, err
	}
	after, err := f.Stat()
	if err != nil || !os.SameFile(before, after) {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("changed while being opened: refused")}
	}
	return f, nil
}

// lockOffset is where the lock's one byte lies: far past any content, since
// a Windows lock is mandatory and a lock on byte 0 would keep others from
// reading who holds the file.
const lockOffset = 1 << 62

// lockFile takes LockFileEx(EXCLUSIVE|FAIL_IMMEDIATELY) on one byte of f;
// false when another holds it. Windows drops the lock when the handle
// closes, also when the process dies.
func lockFile(f *os.File) (bool, error) {
	ol := &windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return false, nil
	}
	return err == nil, err
}

// ProcessAlive reports whether a process with this PID exists on this host:
// on Windows, FindProcess opens it, which fails for one that is gone.
func ProcessAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// SyncDir is a no-op on Windows: a directory cannot be opened to be synced;
// NTFS journals the rename itself.
func SyncDir(string) error { return nil }
