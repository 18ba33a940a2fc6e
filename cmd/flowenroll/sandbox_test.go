package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's tour: run --sandbox, then verify --sandbox and undo --sandbox
// on the same --out meet a Gong that holds what the run created (the
// sandbox's instances are kept in --out between commands), and plan
// --sandbox resolves against the same stand-in.
func TestSandboxTour(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	in := filepath.Join("..", "..", "samples", "prospects.csv")
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--sandbox", "--restart", "--input", in, "--out", out, "--log-format", "json"}, 3, "assigned     295"},
		{[]string{"verify", "--sandbox", "--out", out, "--log-format", "json"}, 0, "295 open, 0 no longer open"},
		{[]string{"undo", "--sandbox", "--out", out, "--log-format", "json"}, 0, "295 of the run's 295 flow instances removed"},
		{[]string{"verify", "--sandbox", "--out", out, "--log-format", "json"}, 0, "0 open, 295 no longer open"},
		{[]string{"plan", "--sandbox", "--input", in, "--log-format", "json"}, 0, "302 valid, 11 rejected"},
	}
	for _, s := range steps {
		r := invoke(t, nil, s.args...)
		if r.code() != s.code || !strings.Contains(r.stdout, s.want) {
			t.Fatalf("%v: exit %d (%v), want %d and %q in:\n%s", s.args, r.code(), r.err, s.code, s.want, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(out, sandboxStateFile)); err != nil {
		t.Errorf("the sandbox's Gong was not kept: %v", err)
	}
}
