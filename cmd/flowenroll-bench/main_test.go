package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		"request efficiency, flowenroll, one run (all requests / minimum): ",
		"request efficiency, flowenroll, one run (assign requests / minimum): 1.00 (20 / 20)",
		"flowenroll, stopped and resumed: ",
		"stopped 5 times",
		"request efficiency, naive script, one run (all = assigns / minimum): 1.00 (20 / 20)",
		"request efficiency, naive script, stopped and resumed 5 times (all = assigns / minimum): ",
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

// The naive script sends what Gong needs and nothing more: per flow and
// lower-cased owner, the distinct IDs, 200 to a request.
func TestNaiveRequests(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.csv")
	var b strings.Builder
	b.WriteString(header)
	for i := range 250 {
		b.Write(appendID(nil, i))
		b.WriteString(",F1,Ava@example.com\n")
	}
	b.WriteString(string(appendID(nil, 0)) + ",F1,ava@example.com\n") // a repeat, owner in another case
	b.WriteString(string(appendID(nil, 0)) + ",F2,ava@example.com\n") // another flow
	if err := os.WriteFile(in, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	reqs, err := naiveRequests(in)
	if err != nil {
		t.Fatal(err)
	}
	type shape struct {
		Flow, Owner string
		IDs         int
	}
	var got []shape
	for _, r := range reqs {
		got = append(got, shape{r.FlowID, r.FlowInstanceOwnerEmail, len(r.CRMProspectsIDs)})
	}
	want := []shape{{"F1", "ava@example.com", 200}, {"F1", "ava@example.com", 50}, {"F2", "ava@example.com", 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if reqs[0].CRMProspectsIDs[0] != string(appendID(nil, 0)) {
		t.Errorf("first ID %q, want the file's first", reqs[0].CRMProspectsIDs[0])
	}
}
