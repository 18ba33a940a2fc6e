package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
)

// lockFile keeps a second `flowenroll serve` off a DIR in use: two servers
// would run the same queued runs and spend the quota twice. The operating
// system drops the lock when its process dies, even by SIGKILL, so a crash
// leaves no stale lock.
const lockFile = ".serve.lock"

// LockData takes the exclusive lock of dataDir; closing it releases it.
func LockData(dataDir string, now time.Time) (*fsguard.Lock, error) {
	path := filepath.Join(dataDir, lockFile)
	lock, err := fsguard.TryLock(path)
	if errors.Is(err, fsguard.ErrHeld) {
		holder, _ := os.ReadFile(path)
		return nil, fmt.Errorf("%s is in use by another flowenroll serve (%s): one server per folder", dataDir, strings.TrimSpace(string(holder)))
	}
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	f := lock.File()
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		_, _ = fmt.Fprintf(f, "process %d on %s since %s\n", os.Getpid(), host, now.UTC().Format(time.RFC3339))
	}
	return lock, nil
}
