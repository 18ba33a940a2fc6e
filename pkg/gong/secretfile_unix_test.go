//go:build unix

package gong_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// TestOpenSecret: a regular file (also through a symlink, as a mounted
// Secret is) opens; a named pipe or a directory is refused at once.
func TestOpenSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	fifo := filepath.Join(dir, "fifo")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, refused string }{
		{file, ""}, {link, ""}, {fifo, "a named pipe"}, {dir, "a directory"},
	} {
		f, err := gong.OpenSecret(tc.path)
		if f != nil {
			f.Close()
		}
		if tc.refused == "" && err != nil || tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)) {
			t.Errorf("OpenSecret(%s): %v; want refused %q", filepath.Base(tc.path), err, tc.refused)
		}
	}
}
