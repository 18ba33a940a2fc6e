package chunk_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/chunk"
)

const (
	flowA = "1695493301223590792"
	flowB = "1702318845120411230"
	ava   = "ava.reyes@example.com"
	ben   = "ben.okafor@example.com"
)

// row builds a row whose CRM ID is derived from its line, so IDs are distinct.
func row(line int, flow, owner string) chunk.Row {
	return chunk.Row{Line: line, CRMProspectID: fmt.Sprintf("003%05d", line), FlowID: flow, OwnerEmail: owner}
}

// feed adds rows in order and returns what left the chunker through Add
// (in order), then what Flush returned.
func feed(c *chunk.Chunker, rows []chunk.Row) (full, flushed []chunk.Chunk) {
	for _, r := range rows {
		if ch := c.Add(r); ch != nil {
			full = append(full, *ch)
		}
	}
	return full, c.Flush()
}

func TestChunker(t *testing.T) {
	tests := []struct {
		name        string
		size        int
		rows        []chunk.Row
		wantFull    []chunk.Chunk
		wantFlushed []chunk.Chunk
	}{
		{
			name: "no rows",
			size: 3,
		},
		{
			name: "fewer rows than size stay until Flush",
			size: 3,
			rows: []chunk.Row{row(2, flowA, ava), row(3, flowA, ava)},
			wantFlushed: []chunk.Chunk{
				{Seq: 1, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(2, flowA, ava), row(3, flowA, ava)}},
			},
		},
		{
			name: "a chunk leaves at exactly size rows",
			size: 2,
			rows: []chunk.Row{row(2, flowA, ava), row(3, flowA, ava), row(4, flowA, ava)},
			wantFull: []chunk.Chunk{
				{Seq: 1, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(2, flowA, ava), row(3, flowA, ava)}},
			},
			wantFlushed: []chunk.Chunk{
				{Seq: 2, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(4, flowA, ava)}},
			},
		},
		{
			name: "exact multiple of size leaves nothing to flush",
			size: 2,
			rows: []chunk.Row{row(2, flowA, ava), row(3, flowA, ava), row(4, flowA, ava), row(5, flowA, ava)},
			wantFull: []chunk.Chunk{
				{Seq: 1, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(2, flowA, ava), row(3, flowA, ava)}},
				{Seq: 2, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(4, flowA, ava), row(5, flowA, ava)}},
			},
		},
		{
			name: "size 1: every row is its own chunk",
			size: 1,
			rows: []chunk.Row{row(2, flowA, ava), row(3, flowB, ben)},
			wantFull: []chunk.Chunk{
				{Seq: 1, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(2, flowA, ava)}},
				{Seq: 2, FlowID: flowB, OwnerEmail: ben, Rows: []chunk.Row{row(3, flowB, ben)}},
			},
		},
		{
			name: "size below 1 is taken as 1",
			size: 0,
			rows: []chunk.Row{row(2, flowA, ava), row(3, flowA, ava)},
			wantFull: []chunk.Chunk{
				{Seq: 1, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(2, flowA, ava)}},
				{Seq: 2, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(3, flowA, ava)}},
			},
		},
		{
			name: "groups by flow and by owner",
			size: 2,
			rows: []chunk.Row{
				row(2, flowA, ava), row(3, flowB, ava), row(4, flowA, ben), row(5, flowA, ava), row(6, flowB, ben),
			},
			wantFull: []chunk.Chunk{
				{Seq: 1, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(2, flowA, ava), row(5, flowA, ava)}},
			},
			wantFlushed: []chunk.Chunk{
				{Seq: 2, FlowID: flowB, OwnerEmail: ava, Rows: []chunk.Row{row(3, flowB, ava)}},
				{Seq: 3, FlowID: flowA, OwnerEmail: ben, Rows: []chunk.Row{row(4, flowA, ben)}},
				{Seq: 4, FlowID: flowB, OwnerEmail: ben, Rows: []chunk.Row{row(6, flowB, ben)}},
			},
		},
		{
			name: "owner compares case-insensitively and keeps the first row's spelling",
			size: 3,
			rows: []chunk.Row{
				row(2, flowA, "Ava.Reyes@Example.com"), row(3, flowA, ava), row(4, flowA, "AVA.REYES@EXAMPLE.COM"),
			},
			wantFull: []chunk.Chunk{
				{Seq: 1, FlowID: flowA, OwnerEmail: "Ava.Reyes@Example.com", Rows: []chunk.Row{
					row(2, flowA, "Ava.Reyes@Example.com"), row(3, flowA, ava), row(4, flowA, "AVA.REYES@EXAMPLE.COM"),
				}},
			},
		},
		{
			name: "flow IDs compare exactly",
			size: 2,
			rows: []chunk.Row{row(2, "0"+flowA, ava), row(3, flowA, ava)},
			wantFlushed: []chunk.Chunk{
				{Seq: 1, FlowID: "0" + flowA, OwnerEmail: ava, Rows: []chunk.Row{row(2, "0"+flowA, ava)}},
				{Seq: 2, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(3, flowA, ava)}},
			},
		},
		{
			name: "flush is in order of first appearance, not of flow or owner",
			size: 5,
			rows: []chunk.Row{row(2, flowB, ben), row(3, flowA, ben), row(4, flowB, ava), row(5, flowA, ava), row(6, flowB, ben)},
			wantFlushed: []chunk.Chunk{
				{Seq: 1, FlowID: flowB, OwnerEmail: ben, Rows: []chunk.Row{row(2, flowB, ben), row(6, flowB, ben)}},
				{Seq: 2, FlowID: flowA, OwnerEmail: ben, Rows: []chunk.Row{row(3, flowA, ben)}},
				{Seq: 3, FlowID: flowB, OwnerEmail: ava, Rows: []chunk.Row{row(4, flowB, ava)}},
				{Seq: 4, FlowID: flowA, OwnerEmail: ava, Rows: []chunk.Row{row(5, flowA, ava)}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full, flushed := feed(chunk.New(tt.size), tt.rows)
			if diff := cmp.Diff(tt.wantFull, full); diff != "" {
				t.Errorf("chunks from Add (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFlushed, flushed); diff != "" {
				t.Errorf("Flush (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChunkerSeqContinuesAfterFlush(t *testing.T) {
	c := chunk.New(2)
	full1, flushed1 := feed(c, []chunk.Row{row(2, flowA, ava), row(3, flowA, ava), row(4, flowB, ben)})
	full2, flushed2 := feed(c, []chunk.Row{row(5, flowA, ava), row(6, flowA, ava), row(7, flowA, ava)})
	var seqs []int
	for _, chs := range [][]chunk.Chunk{full1, flushed1, full2, flushed2} {
		for _, ch := range chs {
			seqs = append(seqs, ch.Seq)
		}
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4}, seqs); diff != "" {
		t.Errorf("Seq in order of leaving (-want +got):\n%s", diff)
	}
	if got := c.Flush(); got != nil {
		t.Errorf("second Flush = %v, want nil", got)
	}
}

func TestChunkerDeterministic(t *testing.T) {
	owners := []string{ava, ben, "Ava.Reyes@example.com", "chloe@example.com"}
	flows := []string{flowA, flowB, "1711046208531772904"}
	var rows []chunk.Row
	for i := range 1000 {
		// A fixed, scrambled walk through the groups.
		rows = append(rows, row(i+2, flows[(i*7)%len(flows)], owners[(i*5+i/3)%len(owners)]))
	}
	full1, flushed1 := feed(chunk.New(7), rows)
	full2, flushed2 := feed(chunk.New(7), rows)
	if diff := cmp.Diff(full1, full2); diff != "" {
		t.Errorf("chunks from Add differ between two runs (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(flushed1, flushed2); diff != "" {
		t.Errorf("Flush differs between two runs (-first +second):\n%s", diff)
	}
	// Every row leaves exactly once.
	n := 0
	for _, chs := range [][]chunk.Chunk{full1, flushed1} {
		for _, ch := range chs {
			n += len(ch.Rows)
		}
	}
	if n != len(rows) {
		t.Errorf("%d rows left the chunker, want %d", n, len(rows))
	}
}

func TestChunkerOpen(t *testing.T) {
	c := chunk.New(2)
	steps := []struct {
		add  chunk.Row
		want int
	}{
		{row(2, flowA, ava), 1},
		{row(3, flowA, "AVA.reyes@example.com"), 0}, // same group, full: it leaves
		{row(4, flowA, ben), 1},
		{row(5, flowB, ben), 2},
		{row(6, flowB, ava), 3},
		{row(7, flowB, ben), 2},
		{row(8, flowA, ava), 3},
	}
	for _, s := range steps {
		c.Add(s.add)
		if got := c.Open(); got != s.want {
			t.Errorf("after line %d: Open() = %d, want %d", s.add.Line, got, s.want)
		}
	}
	c.Flush()
	if got := c.Open(); got != 0 {
		t.Errorf("after Flush: Open() = %d, want 0", got)
	}
}

func TestChunkerMemoryBoundedByOpenGroups(t *testing.T) {
	// 100,000 rows over 3 groups never hold more than 3 groups open.
	c := chunk.New(10)
	groups := []struct{ flow, owner string }{{flowA, ava}, {flowA, ben}, {flowB, ava}}
	maxOpen := 0
	for i := range 100_000 {
		g := groups[i%len(groups)]
		c.Add(row(i+2, g.flow, g.owner))
		maxOpen = max(maxOpen, c.Open())
	}
	if maxOpen != len(groups) {
		t.Errorf("max Open() = %d, want %d", maxOpen, len(groups))
	}
}

func TestChunkIDs(t *testing.T) {
	tests := []struct {
		name  string
		chunk chunk.Chunk
		want  []string
	}{
		{name: "empty", chunk: chunk.Chunk{}, want: []string{}},
		{
			name: "in row order",
			chunk: chunk.Chunk{Rows: []chunk.Row{
				{Line: 9, CRMProspectID: "00Q2"}, {Line: 3, CRMProspectID: "0031"}, {Line: 5, CRMProspectID: "00Q0"},
			}},
			want: []string{"00Q2", "0031", "00Q0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.chunk.IDs()); diff != "" {
				t.Errorf("IDs() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupKey(t *testing.T) {
	tests := []struct {
		name       string
		a, b       [2]string // flow, owner
		wantEquals bool
	}{
		{"same", [2]string{flowA, ava}, [2]string{flowA, ava}, true},
		{"owner case", [2]string{flowA, ava}, [2]string{flowA, "Ava.Reyes@EXAMPLE.com"}, true},
		{"other owner", [2]string{flowA, ava}, [2]string{flowA, ben}, false},
		{"other flow", [2]string{flowA, ava}, [2]string{flowB, ava}, false},
		{"no run-together of flow and owner", [2]string{"12", "3a@x"}, [2]string{"123", "a@x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := chunk.GroupKey(tt.a[0], tt.a[1]) == chunk.GroupKey(tt.b[0], tt.b[1])
			if got != tt.wantEquals {
				t.Errorf("GroupKey(%q, %q) == GroupKey(%q, %q) is %v, want %v", tt.a[0], tt.a[1], tt.b[0], tt.b[1], got, tt.wantEquals)
			}
		})
	}
}
