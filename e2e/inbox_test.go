package e2e

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// TestTwoRunsShareAnInbox starts two real runs at once over the same inbox
// of 12 files: every file is run exactly once (each prospect is created
// once at the emulator, and each input ends in exactly one results folder),
// and nothing is left in incoming/ or claimed/.
func TestTwoRunsShareAnInbox(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(), RatePerSecond: -1, AccessKey: accessKey, AccessKeySecret: accessSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	dir := t.TempDir()
	incoming := filepath.Join(dir, "incoming")
	if err := os.MkdirAll(incoming, 0o700); err != nil {
		t.Fatal(err)
	}
	owners := []string{"ava.reyes@example.com", "ben.okafor@example.com", "dan.kowalski@example.com"}
	var want []string
	for f := range 12 {
		var b strings.Builder
		b.WriteString("crmProspectId,flowId,flowInstanceOwnerEmail\n")
		for i := range 30 {
			id := fmt.Sprintf("F%02dP%03d", f, i)
			fmt.Fprintf(&b, "%s,1695493301223590792,%s\n", id, owners[i%3])
			want = append(want, id)
		}
		if err := os.WriteFile(filepath.Join(incoming, fmt.Sprintf("export-%02d.csv", f)), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	exits := make([]int, 2)
	logs := make([]string, 2)
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.Command(binary, "run", "--inbox", dir, "--rate", "1000", "--chunk-size", "7", "--log-format", "json")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GONG_BASE_URL=" + srv.URL,
				"GONG_ACCESS_KEY=" + accessKey, "GONG_ACCESS_KEY_SECRET=" + accessSecret}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			_ = cmd.Run()
			exits[i], logs[i] = cmd.ProcessState.ExitCode(), out.String()
		})
	}
	wg.Wait()
	if exits[0] != 0 || exits[1] != 0 {
		t.Fatalf("exits %v, want 0 and 0\n%s\n%s", exits, logs[0], logs[1])
	}
	var got []string
	for _, c := range emu.Created() {
		got = append(got, c.CRMProspectID)
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("prospects created (-want +got):\n%s", diff)
	}
	for f := range 12 {
		name := fmt.Sprintf("export-%02d", f)
		if _, err := os.Stat(filepath.Join(dir, "results", name, "input", name+".csv")); err != nil {
			t.Errorf("%s.csv was not moved into its results folder: %v", name, err)
		}
	}
	for _, sub := range []string{"incoming", "claimed"} {
		left, _ := filepath.Glob(filepath.Join(dir, sub, "*.csv"))
		if len(left) != 0 {
			t.Errorf("%s/ still holds %v", sub, left)
		}
	}
}
