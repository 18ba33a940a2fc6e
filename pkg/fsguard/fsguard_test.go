package fsguard_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteBytes(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(t *testing.T, path string)
		data     string
		wantErr  bool
		wantData string
	}{
		{name: "new file", data: "hello\n", wantData: "hello\n"},
		{
			name: "replaces an existing file",
			prepare: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte("a much longer old content\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			data: "new\n", wantData: "new\n",
		},
		{name: "empty data", data: "", wantData: ""},
		{
			name: "rename fails: the temporary file is removed",
			prepare: func(t *testing.T, path string) {
				// A non-empty directory cannot be replaced by a file.
				if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
					t.Fatal(err)
				}
			},
			data: "x", wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "target")
			if tt.prepare != nil {
				tt.prepare(t, path)
			}
			err := fsguard.WriteBytes(path, []byte(tt.data))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want an error: %v", err, tt.wantErr)
			}
			if diff := cmp.Diff([]string{"target"}, names(t, dir)); diff != "" {
				t.Errorf("directory (-want +got):\n%s", diff)
			}
			if tt.wantErr {
				return
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.wantData {
				t.Errorf("content %q, want %q", b, tt.wantData)
			}
			if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), fs.FileMode(0o600))
			}
		})
	}
}

// A writer that fails leaves the old file whole and no temporary file.
func TestWriteFileFailingWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := fsguard.WriteFile(path, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("content %q, want the old one", b)
	}
	if diff := cmp.Diff([]string{"target"}, names(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestWriteBytesMissingDirectory(t *testing.T) {
	err := fsguard.WriteBytes(filepath.Join(t.TempDir(), "missing", "f"), []byte("x"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v, want one wrapping fs.ErrNotExist", err)
	}
}

// One holder at a time; the holder's record stays readable by the others;
// closing frees the lock.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	first, err := fsguard.TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.File().WriteAt([]byte("holder 1\n"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := fsguard.TryLock(path); !errors.Is(err, fsguard.ErrHeld) {
		t.Fatalf("second TryLock: %v, want ErrHeld", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "holder 1\n" {
		t.Errorf("reading the held file: %q, %v", b, err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("closing twice: %v", err)
	}
	again, err := fsguard.TryLock(path)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	again.Close()
}

// A link where a file of ours should be is refused, for the lock and for
// any open through OpenFile.
func TestOpenFileRefusesLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, []byte("not yours"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "ledger")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if f, err := fsguard.OpenFile(link, os.O_RDWR, 0o600); err == nil {
		f.Close()
		t.Fatal("OpenFile followed a link")
	}
	if l, err := fsguard.TryLock(link); err == nil {
		l.Close()
		t.Fatal("TryLock followed a link")
	}
	if b, _ := os.ReadFile(target); string(b) != "not yours" {
		t.Errorf("the link's target was changed: %q", b)
	}
}

func TestProcessAlive(t *testing.T) {
	if !fsguard.ProcessAlive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	if err := cmd.Run(); err != nil && !strings.Contains(err.Error(), "exit") {
		t.Fatal(err)
	}
	if fsguard.ProcessAlive(cmd.Process.Pid) {
		t.Errorf("process %d ended and was reaped, but is alive", cmd.Process.Pid)
	}
}
