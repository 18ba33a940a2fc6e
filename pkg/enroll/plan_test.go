package enroll

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// TestPlanSamples: the plan keeps the first Samples rejected rows of each
// code as the screen settled them, without --out (no failed.csv to read).
func TestPlanSamples(t *testing.T) {
	in := writeInput(t, [][3]string{
		{"p1", "not-a-flow", ava},
		{"p2", sdr, "not-an-email"},
		{"p3", "x", ava},
		{"p4", sdr, ava},
		{"p5", "y", ben},
	})
	for _, tc := range []struct {
		samples int
		want    map[string][]int // code -> lines of the rows kept
	}{
		{0, map[string][]int{outcome.CodeInvalidFlowID: nil, outcome.CodeInvalidEmail: nil}},
		{2, map[string][]int{outcome.CodeInvalidFlowID: {2, 4}, outcome.CodeInvalidEmail: {3}}},
	} {
		plan, err := MakePlan(context.Background(), PlanConfig{InputPath: in, ChunkSize: 200, Samples: tc.samples})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]int{}
		for code, r := range plan.RejectedByCode {
			got[code] = nil
			for _, o := range r.First {
				if o.Code != code || o.Kind != outcome.Failed {
					t.Errorf("a sample of %s: %+v", code, o)
				}
				got[code] = append(got[code], o.Row.Line)
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("samples %d: lines kept (-want +got):\n%s", tc.samples, diff)
		}
		if r := plan.RejectedByCode[outcome.CodeInvalidFlowID]; r.Rows != 3 || tc.samples > 0 && r.First[0].Row.CRMProspectID != "p1" {
			t.Errorf("samples %d: InvalidFlowId %+v", tc.samples, r)
		}
	}
}
