package progress

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// TestTerminal builds testdata/progdemo, which decides with term.IsTerminal
// on stderr, and runs it under a pseudo-terminal (a bar) and with a pipe (a
// JSON log line and no escape code).
func TestTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build testdata/progdemo:", err)
	}
	bin := filepath.Join(t.TempDir(), "progdemo")
	if out, err := exec.Command(goBin, "build", "-o", bin, "./testdata/progdemo").CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/progdemo: %v\n%s", err, out)
	}

	t.Run("terminal", func(t *testing.T) {
		cmd := exec.Command(bin)
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 120})
		if err != nil {
			t.Skip("no pseudo-terminal here:", err)
		}
		defer tty.Close()
		// Linux answers EIO once the program has closed its side.
		out, err := io.ReadAll(tty)
		if err != nil && !errors.Is(err, syscall.EIO) {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		s := string(out)
		for _, want := range []string{"100%", "|", "(50/50 rows)", "5 requests", "done in"} {
			if !strings.Contains(s, want) {
				t.Errorf("no %q in the terminal's output: %q", want, s)
			}
		}
		if strings.Contains(s, `"msg"`) {
			t.Errorf("a log line on the terminal: %q", s)
		}
	})

	t.Run("pipe", func(t *testing.T) {
		cmd := exec.Command(bin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v\n%s", err, stderr.Bytes())
		}
		s := stderr.String()
		if !strings.Contains(s, `"msg":"progress: end","rowsSettled":50,"rowsTotal":50,"percent":100,"requests":5,`) {
			t.Errorf("no JSON progress line: %q", s)
		}
		if strings.ContainsRune(s, '\x1b') || strings.Contains(s, "|") {
			t.Errorf("a bar or an escape code in piped output: %q", s)
		}
	})
}
