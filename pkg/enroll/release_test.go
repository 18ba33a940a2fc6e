package enroll

import (
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/ledger"
)

// A person an earlier run left in doubt, sent again (--resend-in-doubt)
// and refused 429 before Gong took the request, stays in doubt with the
// first send's time: the lost request may have enrolled them, and the
// read-back judges instances against that time. A row this run sent first
// is released (it is known not to be in Gong).
func TestAResendRefusedKeepsTheFirstDoubt(t *testing.T) {
	dir := t.TempDir()
	first := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	led, _, err := ledger.Open(dir, "h", "in.csv", false, first)
	if err != nil {
		t.Fatal(err)
	}
	c := chunk.Chunk{FlowID: "1", OwnerEmail: "a@example.com", Rows: []chunk.Row{{Line: 2}}, Bulk: true}
	if err := led.Sent(ledger.Sent{FlowID: "1", Owner: "a@example.com", Lines: []int{2}, At: first, Bulk: true}); err != nil {
		t.Fatal(err)
	}
	led.Close()

	// The next run, with line 2 in doubt, sends it and line 3 again; Gong
	// refuses the request (429) before acting on it.
	led, st, err := ledger.Open(dir, "h", "in.csv", false, first.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	j := bulkJournal(led, time.Minute, st.InDoubt)
	c.Rows = append(c.Rows, chunk.Row{Line: 3})
	if err := j.BeforeSend(c, first.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := j.Unsent(c); err != nil {
		t.Fatal(err)
	}
	led.Close()
	_, after, err := ledger.Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := after.InDoubt[2]; !ok || !d.SentAt.Equal(first) {
		t.Errorf("line 2 in doubt %v since %v, want in doubt since the first send %v", ok, d.SentAt, first)
	}
	if _, ok := after.InDoubt[3]; ok {
		t.Error("line 3, sent first by this run and refused, is still in doubt")
	}
}
