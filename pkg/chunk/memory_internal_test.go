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
	t.Skip("BUG: Chunker.order (pkg/chunk/chunk.go:46) gains a key at chunk.go:65 every time a group opens, including each time a group reopens after its chunk left at Add (chunk.go:71 deletes it from open but not from order); it is emptied only by Flush. With size 1, or many full chunks, it grows by one key string per chunk until the end of the input, so memory grows with the rows, not with the open groups as the Chunker doc says. Flush still works because it skips keys no longer open.")
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
