package screen

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// With a first pass, Dedup finds exactly the duplicates a Dedup that
// remembers everything finds, while remembering only a small share of keys.
func TestDedupOfSuspectsAgreesWithFullDedup(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var rows []outcome.Row
	for i := range 200_000 {
		r := outcome.Row{Line: i + 2, CRMProspectID: fmt.Sprint(rng.IntN(1 << 40)), FlowID: fmt.Sprint(rng.IntN(3)), OwnerEmail: "ava@example.com"}
		if i > 0 && rng.IntN(100) == 0 { // 1% repeat an earlier row, the owner in other case
			r = rows[rng.IntN(len(rows))]
			r.Line, r.OwnerEmail = i+2, "AVA@example.com"
		}
		rows = append(rows, r)
	}
	s := NewSuspects(uint(len(rows)))
	for _, r := range rows {
		s.Observe(r)
	}
	full, lean := NewDedup(), NewDedupOf(s)
	var want, got []int
	for _, r := range rows {
		want = append(want, full.Seen(r))
		got = append(got, lean.Seen(r))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first lines differ (-full +lean):\n%s", diff)
	}
	// Repeats (1%) and false positives (at most about 1%).
	if len(lean.first) > len(rows)*3/100 {
		t.Errorf("lean Dedup remembers %d keys, full %d: want at most 3%% of the rows", len(lean.first), len(full.first))
	}
	t.Logf("full Dedup remembers %d keys, with suspects %d (%d flagged)", len(full.first), len(lean.first), s.Len())
}

func TestDedup(t *testing.T) {
	d := NewDedup()
	steps := []struct {
		row  outcome.Row
		want int
	}{
		{outcome.Row{Line: 2, CRMProspectID: "0031", FlowID: flowA, OwnerEmail: ava}, 0},
		{outcome.Row{Line: 3, CRMProspectID: "0032", FlowID: flowA, OwnerEmail: ava}, 0},
		{outcome.Row{Line: 4, CRMProspectID: "0031", FlowID: flowA, OwnerEmail: ava}, 2},
		{outcome.Row{Line: 5, CRMProspectID: "0031", FlowID: flowA, OwnerEmail: "AVA.Reyes@Example.COM"}, 2},
		{outcome.Row{Line: 6, CRMProspectID: "0031", FlowID: flowB, OwnerEmail: ava}, 0},
		{outcome.Row{Line: 7, CRMProspectID: "0031", FlowID: flowA, OwnerEmail: ben}, 0},
		{outcome.Row{Line: 8, CRMProspectID: "0031", FlowID: flowA, OwnerEmail: ava}, 2}, // still the first line
		{outcome.Row{Line: 9, CRMProspectID: "0032", FlowID: flowA, OwnerEmail: ava}, 3},
		{outcome.Row{Line: 10, CRMProspectID: "0031", FlowID: flowB, OwnerEmail: ava}, 6},
	}
	for _, s := range steps {
		if got := d.Seen(s.row); got != s.want {
			t.Errorf("Seen(line %d: %s %s %s) = %d, want %d", s.row.Line, s.row.CRMProspectID, s.row.FlowID, s.row.OwnerEmail, got, s.want)
		}
	}
}

const (
	flowA = "1695493301223590792"
	flowB = "1702318845120411230"
	ava   = "ava.reyes@example.com"
	ben   = "ben.okafor@example.com"
)
