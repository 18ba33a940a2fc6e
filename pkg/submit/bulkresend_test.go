package submit

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"go.uber.org/zap/zaptest"
)

// TestSubmitBulkResentClaims: people enrolled by an earlier bulk request
// are sent again (--resend-in-doubt) and Gong refuses them
// FLOW_ASSIGNMENT_FAILED. One read-back tells whether the earlier request
// was the run's own: an instance not created before the row was first
// sent is claimed (assigned, with it); an older one is not, and a row not
// in doubt is not read back.
func TestSubmitBulkResentClaims(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name         string
		doubt        func(int) (time.Time, bool)
		refuseRead   bool
		failRead     bool   // 5xx past the retry time: the read-back does not finish
		want         string // outcome key of every row
		wantReadBack int
		unverified   bool
	}{
		{name: "first sent before the instance", doubt: func(int) (time.Time, bool) { return now.Add(-time.Hour), true },
			want: "assigned", wantReadBack: 1},
		{name: "first sent after the instance", doubt: func(int) (time.Time, bool) { return now.Add(time.Hour), true },
			want: "failed:" + outcome.CodeFlowAssignmentFailed, wantReadBack: 1},
		{name: "not in doubt", doubt: func(int) (time.Time, bool) { return time.Time{}, false },
			want: "failed:" + outcome.CodeFlowAssignmentFailed},
		{name: "the read-back is refused", doubt: func(int) (time.Time, bool) { return now.Add(-time.Hour), true }, refuseRead: true,
			want: "failed:" + outcome.CodeFlowAssignmentFailed, unverified: true},
		{name: "the read-back does not finish", doubt: func(int) (time.Time, bool) { return now.Add(-time.Hour), true }, failRead: true,
			want: "unprocessed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := emulator.Config{Fixture: emulator.DefaultFixture(), RatePerSecond: -1}
			if tt.refuseRead {
				cfg.Hook = func(op string, _ []byte) (int, bool) { return http.StatusBadRequest, op == emulator.OpReadBack }
			}
			if tt.failRead {
				cfg.Hook = func(op string, _ []byte) (int, bool) { return http.StatusServiceUnavailable, op == emulator.OpReadBack }
			}
			emu, err := emulator.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var j bulkJournal
			sub := newBulkSubmitter(t, emu, &j)
			c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava.reyes@example.com", Bulk: true, Rows: bulkRows(3)}
			first, err := sub.SubmitBulk(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			sub.cfg.Doubt = tt.doubt
			if tt.failRead {
				sub.gw = gateway.New(gateway.Config{Log: zaptest.NewLogger(t), Timer: newFakeTimer(), MaxRetryTime: time.Nanosecond})
			}
			outs, err := sub.SubmitBulk(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range outs {
				k := o.Kind.String()
				if o.Kind == outcome.Failed {
					k += ":" + o.Code
				}
				if o.Kind == outcome.Unprocessed && o.Reason != outcome.ReasonInDoubt {
					k += ":" + o.Reason
				}
				if k != tt.want {
					t.Errorf("line %d: %s %s, want %s", o.Row.Line, k, o.Message, tt.want)
				}
				if o.Kind == outcome.Assigned && (o.Instance.ID != first[i].Instance.ID || o.Row.CRMProspectID != first[i].Row.CRMProspectID) {
					t.Errorf("line %d claimed %s/%s, want the first request's %s/%s", o.Row.Line, o.Row.CRMProspectID, o.Instance.ID,
						first[i].Row.CRMProspectID, first[i].Instance.ID)
				}
				if got := strings.HasPrefix(o.Message, "unverified"); got != tt.unverified {
					t.Errorf("line %d: message %q; unverified %v, want %v", o.Row.Line, o.Message, got, tt.unverified)
				}
			}
			if n := emu.Stats().ReadBack; !tt.refuseRead && !tt.failRead && n != tt.wantReadBack {
				t.Errorf("%d read-backs, want %d", n, tt.wantReadBack)
			}
		})
	}
}
