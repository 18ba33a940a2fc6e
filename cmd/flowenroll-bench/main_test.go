package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The request-efficiency scenario runs the real job in this process against
// the emulator; in -quick mode it is unpaced and takes well under a second.
// The test checks that the figure is printed, never how fast anything was.
func TestQuickEfficiencyPrintsTheFigure(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-quick", "-only", "efficiency"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	for _, want := range []string{
		"request efficiency (requests sent / minimum): ",
		"request efficiency, assign requests only: 1.00 (20 / 20)",
		"== figures",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &stdout)
		}
	}
}

func TestUnknownScenario(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-only", "nosuch"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `no scenario "nosuch"`) {
		t.Errorf("run -only nosuch: got %v, want an error naming the scenario", err)
	}
}
