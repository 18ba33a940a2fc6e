package chunk

import (
	"fmt"
	"testing"
)

// The package promises memory bounded by the open groups, not by the rows.
// Open() only counts the map of open chunks, so this test looks inside: the
// chunker's other state (the first-appearance order it keeps for Flush) must
// not grow with every chunk that leaves. A rough bound leaves room for a
// lazily compacted slice.
func TestChunkerStateBoundedByOpenGroups(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		groups int
		rows   int
	}{
		{name: "size 1, one group", size: 1, groups: 1, rows: 100_000},
		{name: "size 2, three groups interleaved", size: 2, groups: 3, rows: 100_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.size)
			for i := range tt.rows {
				c.Add(Row{Line: i + 2, CRMProspectID: fmt.Sprint(i), FlowID: fmt.Sprint(i % tt.groups), OwnerEmail: "ava@example.com"})
			}
			if limit := 2*tt.groups + 64; len(c.order) > limit {
				t.Errorf("after %d rows with %d open groups, the chunker remembers %d group keys, want at most %d", tt.rows, c.Open(), len(c.order), limit)
			}
		})
	}
}
