package ledger

import (
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// TestBulkDoubt: rows sent in a bulk request are in doubt with the id Gong
// answered, or with none (also once that id is forgotten); settled or
// released, they are not.
func TestBulkDoubt(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l, _, err := Open(dir, "sha", "in.csv", false, now)
	if err != nil {
		t.Fatal(err)
	}
	steps := []error{
		l.Sent(Sent{FlowID: "1", Owner: "a@x", Lines: []int{2, 3}, IDs: []string{"", ""}, At: now, Bulk: true}),
		l.BulkSubmitted(BulkJob{ID: "job-1", FlowID: "1", Owner: "a@x", Lines: []int{2, 3}}),
		l.Sent(Sent{FlowID: "1", Owner: "a@x", Lines: []int{4, 5}, IDs: []string{"", ""}, At: now, Bulk: true}),
		l.Sent(Sent{FlowID: "1", Owner: "a@x", Lines: []int{6}, IDs: []string{"", ""}, At: now, Bulk: true}),
		l.Settle(outcome.Assign(outcome.Row{Line: 3, FlowID: "1", OwnerEmail: "a@x"}, outcome.Instance{ID: "9"}, "r")),
		l.Release([]int{6}),
		l.Sent(Sent{FlowID: "1", Owner: "a@x", Lines: []int{7}, IDs: []string{"003A"}, At: now}),
		// Gong knew no job-2 (404): its lines stay in doubt with no id.
		l.Sent(Sent{FlowID: "1", Owner: "a@x", Lines: []int{8}, IDs: []string{""}, At: now, Bulk: true}),
		l.BulkSubmitted(BulkJob{ID: "job-2", FlowID: "1", Owner: "a@x", Lines: []int{8}}),
		l.BulkForgotten("1", "a@x", []int{8}),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	_, st, err := Open(dir, "sha", "in.csv", false, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{2: "job-1", 4: "", 5: "", 8: ""}
	if len(st.BulkDoubt) != len(want) {
		t.Errorf("BulkDoubt %v, want %v", st.BulkDoubt, want)
	}
	for ln, id := range want {
		if got, ok := st.BulkDoubt[ln]; !ok || got != id {
			t.Errorf("line %d: %q (%v), want %q", ln, got, ok, id)
		}
	}
	if _, ok := st.InDoubt[7]; !ok {
		t.Errorf("line 7, sent by CRM ID, is not in doubt")
	}
}
