package chunk

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

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
