package store

import (
	"strings"
	"testing"
	"time"
)

// A second server is kept off a DIR in use, and a lock dies with its holder.
func TestOneServerPerFolder(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	first, err := LockData(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockData(dir, now); err == nil || !strings.Contains(err.Error(), "in use by another flowenroll serve (process ") {
		t.Fatalf("a second lock: %v", err)
	}
	first.Close()
	again, err := LockData(dir, now)
	if err != nil {
		t.Fatalf("after the first server stopped: %v", err)
	}
	again.Close()
}
