package enroll

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// TestOverrideCoolOffInSummary: summary.json's overrideCoolOff says whether
// rows of the run went through the cool-off override, from the journal: a
// run resumed without the flag still says so, and the flag on a file of
// people only (sent by bulk assignment, which has no override) is not
// claimed.
func TestOverrideCoolOffInSummary(t *testing.T) {
	people := func(t *testing.T) string {
		var b strings.Builder
		b.WriteString("email,firstName,lastName,flowId,flowInstanceOwnerEmail\n")
		for i := range 3 {
			fmt.Fprintf(&b, "guest%d@example.org,Pat,Guest%d,%s,%s\n", i, i, sdr, ava)
		}
		p := filepath.Join(t.TempDir(), "people.csv")
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		input func(t *testing.T) string
		// runs: the flag on each run; the first is cut after one request.
		runs []bool
		want bool
	}{
		{name: "resumed without the flag", input: func(t *testing.T) string { return writeInput(t, prospects(150, sdr, ava, "A")) },
			runs: []bool{true, false}, want: true},
		{name: "never given", input: func(t *testing.T) string { return writeInput(t, prospects(150, sdr, ava, "A")) },
			runs: []bool{false, false}},
		{name: "a file of people only", input: people, runs: []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Config{}, nil)
			e.cfg.InputPath = tt.input(t)
			e.cfg.ChunkSize, e.cfg.Concurrency = 100, 1
			var got bool
			for i, flag := range tt.runs {
				cfg := e.cfg
				cfg.OverrideCoolOff = flag
				if i == 0 && len(tt.runs) > 1 {
					cfg.MaxRequests = 1
				}
				sum, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				got = sum.OverrideCoolOff
			}
			if got != tt.want {
				t.Errorf("the last run's overrideCoolOff %v, want %v", got, tt.want)
			}
		})
	}
}
