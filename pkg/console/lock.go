package console

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockFile keeps a second `flowenroll serve` off a DIR in use: two servers
// would run the same queued runs and spend the quota twice. The kernel drops
// a flock when its process dies, even by SIGKILL, so a crash leaves no stale
// lock.
const lockFile = ".serve.lock"

// lockData takes the exclusive lock of dataDir; closing the file releases it.
func lockData(dataDir string, now time.Time) (*os.File, error) {
	path := filepath.Join(dataDir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another flowenroll serve (%s): one server per folder", dataDir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("data folder: %w", err)
	}
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		_, _ = fmt.Fprintf(f, "process %d on %s since %s\n", os.Getpid(), host, now.UTC().Format(time.RFC3339))
	}
	return f, nil
}
