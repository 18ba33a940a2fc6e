package enroll

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// TestResumeFromVersion1Ledger continues an --out the previous release
// left: its journal (version 1) settled 40 rows and sent 3 chunks it never
// heard back from. The run replays the 40 without sending them, reads the
// 60 in doubt back before sending them, and accounts for every row.
func TestResumeFromVersion1Ledger(t *testing.T) {
	e := newEnv(t, emulator.Config{}, nil)
	src := filepath.Join("..", "ledger", "testdata", "v1")
	// The journal names its input as the previous release saw it; the run
	// ties the two by the input's SHA-256, not its path.
	input := filepath.Join(t.TempDir(), "prospects.csv")
	copyFile(t, filepath.Join(src, "prospects.csv"), input)
	copyFile(t, filepath.Join(src, ledger.FileName), filepath.Join(e.cfg.OutDir, ledger.FileName))
	e.cfg.InputPath = input
	e.cfg.Preflight = false
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Resumed {
		t.Error("the run did not resume the version 1 journal")
	}
	res := accountedFor(t, e.cfg.OutDir, sum.RowsRead)
	c := count(res)
	if c["assigned:"] < 40 {
		t.Errorf("outcomes %v, want the 40 settled rows among the assigned", c)
	}
	st := e.emu.Stats()
	if st.ReadBack == 0 {
		t.Error("no read-back: the chunks the previous release sent without an answer are in doubt")
	}
	// The 40 settled rows are not sent again: the emulator created
	// instances only for the rows this run assigned itself.
	if st.Created != c["assigned:"]-40 {
		t.Errorf("the emulator created %d instances; this run assigned %d rows besides the 40 replayed", st.Created, c["assigned:"]-40)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestResumeWithOtherRoutingIsRefused(t *testing.T) {
	// A file without a flow column, run with --flow A and stopped, then
	// run again with --flow B: its settled rows are in A, so the rest must
	// not go to B under the same --out.
	e := newEnv(t, emulator.Config{}, nil)
	e.cfg.InputPath = writeInputNoFlow(t, 30)
	e.cfg.Input.Flow = sdr
	e.cfg.MaxRequests, e.cfg.ChunkSize = 1, 10
	if sum, err := Run(context.Background(), e.cfg); err != nil || sum.ExitCode != outcome.ExitStoppedEarly {
		t.Fatalf("first run: exit %d, %v; want 4", sum.ExitCode, err)
	}
	e.cfg.Input.Flow = webinar
	e.cfg.MaxRequests = 0
	_, err := Run(context.Background(), e.cfg)
	if !errors.Is(err, ledger.ErrInputChanged) || !strings.Contains(err.Error(), "--flow") {
		t.Fatalf("resume with another --flow: %v, want it refused naming --flow", err)
	}
	e.cfg.Input.Flow = sdr
	if sum, err := Run(context.Background(), e.cfg); err != nil || sum.ExitCode != outcome.ExitOK {
		t.Errorf("resume with the same --flow: exit %d, %v; want 0", sum.ExitCode, err)
	}
}

// writeInputNoFlow writes n rows of crmProspectId and owner only.
func writeInputNoFlow(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("crmProspectId,flowInstanceOwnerEmail\n")
	for i := range n {
		fmt.Fprintf(&b, "N%05d,%s\n", i, ava)
	}
	p := filepath.Join(t.TempDir(), "noflow.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
