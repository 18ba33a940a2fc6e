package submit

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

// TestWhoseInstance: which instances a chunk claims, judged on Gong's clock
// (its Date header), for direct answers, read-backs after a lost answer and
// --read-back-first. The submitter's clock stands at 2026-01-01T00:00:00Z.
func TestWhoseInstance(t *testing.T) {
	const behind, ahead = -3 * time.Minute, 3 * time.Minute
	assignOf := func(insts ...gong.AssignedFlow) step {
		return step{status: 200, body: gong.AssignResponse{RequestID: "r", ProspectsAssigned: insts, ProspectsNotAssigned: []gong.AssignFailure{}}}
	}
	readBackOf := func(offset time.Duration, insts ...gong.AssignedFlow) step {
		return step{status: 200, offset: offset, body: gong.ProspectsFlowsResponse{RequestID: "rb", ProspectsAssigned: insts}}
	}
	elsewhere := instance("b", "2025-01-01T00:00:00.000Z")
	elsewhere.FlowID = "1702318845120411230"
	tests := []struct {
		name          string
		readBackFirst bool
		learned       int // a request size learned earlier: the chunk goes in parts
		doubt         func(line int) (time.Time, bool)
		assign        []step
		readBack      []step
		ids           []string
		wantCalls     []string
		want          map[string]string // CRM ID -> assigned or the failure code
	}{
		{
			name:      "an existing 2024 instance answered as assigned is not claimed",
			assign:    []step{assignOf(instance("a", "2024-03-01T10:00:00.000Z"), instance("b", "2026-01-01T00:00:00.004Z"))},
			ids:       []string{"a", "b"},
			wantCalls: []string{"assign:a,b"},
			want:      map[string]string{"a": "AlreadyInFlow", "b": "assigned"},
		},
		{
			name:      "answered as assigned, dated to the second of the send: within the uncertainty, claimed",
			assign:    []step{assignOf(instance("a", "2026-01-01T00:00:00Z"))},
			ids:       []string{"a"},
			wantCalls: []string{"assign:a"},
			want:      map[string]string{"a": "assigned"},
		},
		{
			name:      "answer lost; someone else's instance made 20 s before the send is not claimed",
			assign:    []step{{drop: true}},
			readBack:  []step{readBackOf(0, instance("a", "2025-12-31T23:59:40.000Z"), instance("b", "2026-01-01T00:00:00.300Z"))},
			ids:       []string{"a", "b"},
			wantCalls: []string{"assign:a,b", "read-back:a,b"},
			want:      map[string]string{"a": "AlreadyInFlow", "b": "assigned"},
		},
		{
			name:      "answer lost, Gong 3 min behind: its own instances, dated 3 min before the local send, are claimed",
			assign:    []step{{drop: true}},
			readBack:  []step{readBackOf(behind, instance("a", "2025-12-31T23:57:00.010Z"), instance("b", "2025-12-31T23:57:00.020Z"))},
			ids:       []string{"a", "b"},
			wantCalls: []string{"assign:a,b", "read-back:a,b"},
			want:      map[string]string{"a": "assigned", "b": "assigned"},
		},
		{
			name:      "answer lost, Gong 3 min ahead: an instance 30 s older than the send on Gong's clock is not claimed",
			assign:    []step{{drop: true}},
			readBack:  []step{readBackOf(ahead, instance("a", "2026-01-01T00:02:30.000Z"), instance("b", "2026-01-01T00:03:00.200Z"))},
			ids:       []string{"a", "b"},
			wantCalls: []string{"assign:a,b", "read-back:a,b"},
			want:      map[string]string{"a": "AlreadyInFlow", "b": "assigned"},
		},
		{
			name:          "read back first: a prospect in the flow fails without an assign; one in another flow is sent",
			readBackFirst: true,
			readBack:      []step{readBackOf(0, instance("a", "2026-01-01T00:00:00.000Z"), elsewhere)},
			assign:        []step{ok("b", "c")},
			ids:           []string{"a", "b", "c"},
			wantCalls:     []string{"read-back:a,b,c", "assign:b,c"},
			want:          map[string]string{"a": "AlreadyInFlow", "b": "assigned", "c": "assigned"},
		},
		{
			name:          "read back first: every prospect in the flow, no assign at all",
			readBackFirst: true,
			readBack:      []step{readBackOf(0, instance("a", "2025-12-31T23:59:59.000Z"))},
			ids:           []string{"a"},
			wantCalls:     []string{"read-back:a"},
			want:          map[string]string{"a": "AlreadyInFlow"},
		},
		{
			name:          "read back first: every part of a chunk cut to a learned size",
			readBackFirst: true, learned: 10,
			readBack:  []step{readBackOf(0, instance("b", "2025-12-31T23:59:59.000Z")), readBackOf(0)},
			assign:    []step{ok("a", "c", "d", "e", "f", "g", "h", "i", "j"), ok("k", "l")},
			ids:       []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"},
			wantCalls: []string{"read-back:a,b,c,d,e,f,g,h,i,j", "assign:a,c,d,e,f,g,h,i,j", "read-back:k,l", "assign:k,l"},
			want: map[string]string{"a": "assigned", "b": "AlreadyInFlow", "c": "assigned", "d": "assigned", "e": "assigned",
				"f": "assigned", "g": "assigned", "h": "assigned", "i": "assigned", "j": "assigned", "k": "assigned", "l": "assigned"},
		},
		{
			name: "an earlier run's row in doubt: its instance since then is claimed; a prospect the answer adds unasked is not judged",
			doubt: func(line int) (time.Time, bool) {
				return time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), line == 2
			},
			readBack:  []step{readBackOf(0, instance("a", "2025-12-31T23:00:00.500Z"), instance("b", "2024-01-01T00:00:00.000Z"))},
			assign:    []step{ok("b")},
			ids:       []string{"a", "b"},
			wantCalls: []string{"read-back:a", "assign:b"},
			want:      map[string]string{"a": "assigned", "b": "assigned"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, &script{assign: tt.assign, readBack: tt.readBack}, func(c *configs) {
				c.ReadBackFirst, c.LearnedSize, c.ChunkSize, c.Doubt = tt.readBackFirst, tt.learned, 200, tt.doubt
			})
			set := f.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows(tt.ids...)})
			got := map[string]string{}
			for _, o := range set.Assigned {
				got[o.Row.CRMProspectID] = "assigned"
			}
			for _, o := range append(set.Failed, set.Unprocessed...) {
				got[o.Row.CRMProspectID] = o.Code + o.Reason
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCalls, f.gong.Calls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// movingClock is a clock a test moves by hand.
type movingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *movingClock) advance(d time.Duration) func() {
	return func() {
		c.mu.Lock()
		c.now = c.now.Add(d)
		c.mu.Unlock()
	}
}

// TestWhichSendCounts: an instance is judged against the earliest send of
// its row that may have been applied. A request refused with 429 made
// nothing: an instance made after it, before the retry, is someone else's.
// A request whose answer was lost may have been applied late, after the
// read-back: the instance it made, dated before the next send, is ours.
func TestWhichSendCounts(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	between := instance("a", "2026-01-01T00:00:05.000Z") // after the first send, before the second (at 10 s)
	answer := step{status: 200, body: gong.AssignResponse{RequestID: "r", ProspectsAssigned: []gong.AssignedFlow{between}, ProspectsNotAssigned: []gong.AssignFailure{}}}
	tests := []struct {
		name     string
		first    step
		readBack []step
		want     string
	}{
		{name: "the first send refused with 429", first: step{status: 429, retryAfter: "1"}, want: "AlreadyInFlow"},
		{name: "the first send's answer lost", first: step{status: 503}, readBack: []step{readBackOf0()}, want: "assigned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &movingClock{now: start}
			first := tt.first
			first.at = clock.advance(10 * time.Second) // the retry goes 10 s later
			f := newFixture(t, &script{assign: []step{first, answer}, readBack: tt.readBack}, func(c *configs) {
				c.Now, c.Gateway.Now = clock.Now, clock.Now
			})
			set := f.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a")})
			got := ""
			if len(set.Assigned) == 1 {
				got = "assigned"
			}
			for _, o := range append(set.Failed, set.Unprocessed...) {
				got = o.Code + o.Reason
			}
			if got != tt.want {
				t.Errorf("a: %s, want %s", got, tt.want)
			}
		})
	}
}

// readBackOf0 is a read-back that finds nothing.
func readBackOf0() step {
	return step{status: 200, body: gong.ProspectsFlowsResponse{RequestID: "rb", ProspectsAssigned: []gong.AssignedFlow{}}}
}
