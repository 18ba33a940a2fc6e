package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

// A check's sample rows come from the pipeline's outcomes, not from its
// failed.csv read back: a check that writes no failed.csv shows them too,
// each as failed.csv would tell it.
func TestPlanSamplesFromOutcomes(t *testing.T) {
	in := filepath.Join(t.TempDir(), "leads.csv")
	csv := "crmProspectId,flowId,flowInstanceOwnerEmail\n" +
		"003A1,not-a-flow,ava.reyes@example.com\n" +
		"003A2,1695493301223590792,not-an-email\n" +
		"003A3,x,ben.okafor@example.com\n"
	if err := os.WriteFile(in, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &EnrollPipeline{ChunkSize: 200}
	v, err := p.Plan(context.Background(), PlanSpec{InputPath: in, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]store.RowRef{}
	for code, r := range v.RejectedByCode {
		for i := range r.First {
			r.First[i].Message = "" // the reader's words, tested there
		}
		got[code] = r.First
	}
	want := map[string][]store.RowRef{
		"InvalidFlowId": {
			{Line: 2, CRMProspectID: "003A1", FlowID: "not-a-flow", Owner: "ava.reyes@example.com", Stage: "input", Code: "InvalidFlowId"},
			{Line: 4, CRMProspectID: "003A3", FlowID: "x", Owner: "ben.okafor@example.com", Stage: "input", Code: "InvalidFlowId"},
		},
		"InvalidEmail": {
			{Line: 3, CRMProspectID: "003A2", FlowID: "1695493301223590792", Owner: "not-an-email", Stage: "input", Code: "InvalidEmail"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
