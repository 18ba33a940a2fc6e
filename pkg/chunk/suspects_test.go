package chunk

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// With a first pass, Dedup finds exactly the duplicates a Dedup that
// remembers everything finds, while remembering only a small share of keys.
func TestDedupOfSuspectsAgreesWithFullDedup(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var rows []Row
	for i := range 200_000 {
		r := Row{Line: i + 2, CRMProspectID: fmt.Sprint(rng.IntN(1 << 40)), FlowID: fmt.Sprint(rng.IntN(3)), OwnerEmail: "ava@example.com"}
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

func TestRepeatedIDLeavesEarly(t *testing.T) {
	c := New(5)
	row := func(line int, id string) Row {
		return Row{Line: line, CRMProspectID: id, FlowID: "1", OwnerEmail: "ava@example.com"}
	}
	var got []Chunk
	for i, id := range []string{"a", "b", "a", "c"} {
		if ch := c.Add(row(i+2, id)); ch != nil {
			got = append(got, *ch)
		}
	}
	got = append(got, c.Flush()...)
	want := []Chunk{
		{Seq: 1, FlowID: "1", OwnerEmail: "ava@example.com", Rows: []Row{row(2, "a"), row(3, "b")}},
		{Seq: 2, FlowID: "1", OwnerEmail: "ava@example.com", Rows: []Row{row(4, "a"), row(5, "c")}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
}
