//go:build unix

package fsguard

import (
	"errors"
	"os"
	"syscall"
)

// NoFollow is the open flag that refuses a final path element that is a
// symbolic link (ELOOP): a file the program writes or reads as its own is
// never one someone put a link at.
const NoFollow = syscall.O_NOFOLLOW

// OpenFile is os.OpenFile that never follows a link at path.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|NoFollow, perm)
}

// lockFile takes flock(LOCK_EX|LOCK_NB) on f; false when another holds it.
func lockFile(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// ProcessAlive reports whether a process with this PID exists on this host.
func ProcessAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// SyncDir makes a rename in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
