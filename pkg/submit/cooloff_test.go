package submit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/chunk"
)

// TestOverrideCoolOff sends a chunk of 150 rows, configured for requests of
// 200, with OverrideCoolOff: every request goes to the cool-off-override
// endpoint, none to assign, with at most 100 IDs each.
func TestOverrideCoolOff(t *testing.T) {
	ids := make([]string, 150)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%03d", i)
	}
	tests := []struct {
		name     string
		override bool
		want     []string // calls, each "endpoint:IDs"
	}{
		{name: "override", override: true, want: []string{"cool-off:" + strings.Join(ids[:100], ","), "cool-off:" + strings.Join(ids[100:], ",")}},
		{name: "plain assign", override: false, want: []string{"assign:" + strings.Join(ids, ",")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answers := []step{ok(ids[:100]...), ok(ids[100:]...)}
			if !tt.override {
				answers = []step{ok(ids...)}
			}
			f := newFixture(t, &script{assign: answers}, func(c *configs) {
				c.ChunkSize, c.OverrideCoolOff = 200, tt.override
			})
			set := f.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows(ids...)})
			if len(set.Assigned) != len(ids) {
				t.Errorf("%d assigned, want %d (failed %v, unprocessed %v)", len(set.Assigned), len(ids), set.Failed, set.Unprocessed)
			}
			calls := f.gong.Calls()
			if len(calls) != len(tt.want) {
				t.Fatalf("%d calls, want %d: %v", len(calls), len(tt.want), calls)
			}
			for i := range calls {
				if calls[i] != tt.want[i] {
					t.Errorf("call %d: %.60s..., want %.60s...", i, calls[i], tt.want[i])
				}
			}
		})
	}
}
