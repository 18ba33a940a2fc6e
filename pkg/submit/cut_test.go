package submit

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// cutClient writes each request (Sent) and then the run's request context
// is cancelled (the drain timeout after a signal) before the answer is read.
type cutClient struct {
	gateway.Client
	cancel context.CancelFunc
	sent   *int
}

func (g cutClient) SubmitBulk(context.Context, gong.BulkRequest) (*gong.BulkResponse, error) {
	*g.sent++
	g.cancel()
	return nil, &gong.TransportError{Op: "bulk assign", Host: "127.0.0.1:1", Err: context.Canceled, Sent: true}
}

func (g cutClient) Assign(context.Context, gong.AssignRequest) (*gong.AssignResponse, error) {
	*g.sent++
	g.cancel()
	return nil, &gong.TransportError{Op: "assign", Host: "127.0.0.1:1", Err: context.Canceled, Sent: true}
}

// TestRequestCutAfterSendingIsInDoubt: a request written to Gong whose
// answer the drain timeout cut may have been applied. Its rows are InDoubt
// (CRM-ID rows are read back by the next run; bulk rows are sent again only
// with --resend-in-doubt), never Interrupted, which would let the next run
// send them again blind.
func TestRequestCutAfterSendingIsInDoubt(t *testing.T) {
	tests := []struct {
		name string
		bulk bool
	}{
		{name: "bulk submit", bulk: true},
		{name: "assign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := zaptest.NewLogger(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sent, journaled := 0, 0
			before := func(chunk.Chunk, time.Time) error { journaled++; return nil }
			s := New(Config{Gateway: gateway.New(gateway.Config{Log: log, Timer: newFakeTimer()}), Client: cutClient{cancel: cancel, sent: &sent},
				Log: log, ChunkSize: 200, BeforeSend: before, Bulk: BulkConfig{BeforeSend: before}})
			var outs []outcome.Outcome
			var err error
			if tt.bulk {
				outs, err = s.SubmitBulk(ctx, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava.reyes@example.com", Bulk: true, Rows: bulkRows(3)})
			} else {
				outs, err = s.Submit(ctx, chunkOf(2))
			}
			if err != nil {
				t.Fatal(err)
			}
			if sent != 1 || journaled != 1 {
				t.Errorf("%d requests sent, %d journaled; want 1 and 1", sent, journaled)
			}
			for _, o := range outs {
				if o.Kind != outcome.Unprocessed || o.Reason != outcome.ReasonInDoubt {
					t.Errorf("line %d: %v %q, want unprocessed InDoubt", o.Row.Line, o.Kind, o.Reason)
				}
			}
		})
	}
}
