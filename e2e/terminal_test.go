package e2e

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

// TestProgressOnTerminalOnly runs the real binary (against its in-process
// sandbox) under a pseudo-terminal, where it draws a progress bar, and with
// pipes, where it logs JSON progress lines and no escape code at all.
func TestProgressOnTerminalOnly(t *testing.T) {
	t.Parallel()
	sample := filepath.Join("..", "samples", "prospects-by-name.csv")
	args := func(out string) []string {
		return []string{"run", "--sandbox", "--rate", "50", "--input", sample, "--out", out}
	}
	t.Run("terminal", func(t *testing.T) {
		cmd := exec.Command(binary, args(t.TempDir())...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "TERM=xterm"}
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 120})
		if err != nil {
			t.Skip("no pseudo-terminal here:", err)
		}
		defer tty.Close()
		out, err := io.ReadAll(tty)
		if err != nil && !errors.Is(err, syscall.EIO) { // EIO: the program closed its side
			t.Fatal(err)
		}
		var ee *exec.ExitError
		if err := cmd.Wait(); err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
			t.Fatalf("%v\n%s", err, out)
		}
		s := string(out)
		if !strings.Contains(s, "100%") || !strings.Contains(s, "(9/9") {
			t.Errorf("no progress bar on the terminal:\n%q", s)
		}
	})
	t.Run("pipe", func(t *testing.T) {
		cmd := exec.Command(binary, args(t.TempDir())...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		var ee *exec.ExitError
		if err := cmd.Run(); err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		all := stdout.String() + stderr.String()
		if strings.ContainsAny(all, "\x1b\r") {
			t.Errorf("escape codes or carriage returns off a terminal:\n%q", all)
		}
		if !strings.Contains(stderr.String(), `"msg":"progress: end"`) || !strings.Contains(stderr.String(), `"rowsSettled":9`) {
			t.Errorf("no JSON progress line on stderr:\n%s", stderr.String())
		}
	})
}
