package submit

import (
	"context"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// silentGong is a fake Gong client whose assign and read-back get no
// answer in time; the other methods are not called.
type silentGong struct {
	gateway.Client
	sent *int
}

func (g silentGong) Assign(context.Context, gong.AssignRequest) (*gong.AssignResponse, error) {
	*g.sent++
	return nil, &gong.TransportError{Op: "assign", Host: "127.0.0.1:1", Err: noAnswer{}, Sent: true}
}

func (g silentGong) ProspectsFlows(context.Context, []string) (*gong.ProspectsFlowsResponse, error) {
	*g.sent++
	return nil, &gong.TransportError{Op: "read back", Host: "127.0.0.1:1", Err: noAnswer{}, Sent: true}
}

// noAnswer is what the HTTP client returns when --timeout passes.
type noAnswer struct{}

func (noAnswer) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (noAnswer) Timeout() bool   { return true }
func (noAnswer) Temporary() bool { return true }

// An assign sent with no answer, then its read-back with none either, stop
// the run (nothing has answered yet: a wrong address; one slow answer alone
// is retried), and its rows are left InDoubt, not Unreachable: Gong may
// have applied the request, so the next run reads them back first. The
// stop keeps the answer that caused it, for the call site to judge.
func TestAStopKeepsTheRowsInDoubt(t *testing.T) {
	log := zaptest.NewLogger(t)
	sent := 0
	client := silentGong{sent: &sent}
	gw := gateway.New(gateway.Config{Log: log, Timer: newFakeTimer()})
	s := New(Config{Gateway: gw, Client: client, Log: log, ChunkSize: 200})
	out, err := s.Submit(context.Background(), chunkOf(3))
	if err != nil {
		t.Fatal(err)
	}
	if gw.Stopped() != outcome.ReasonUnreachable || sent != 2 {
		t.Fatalf("Stopped() %q after %d sends, want Unreachable after two (the assign, then its read-back)", gw.Stopped(), sent)
	}
	for _, o := range out {
		if o.Kind != outcome.Unprocessed || o.Reason != outcome.ReasonInDoubt {
			t.Errorf("row %s: %v %q, want unprocessed InDoubt", o.Row.CRMProspectID, o.Kind, o.Reason)
		}
	}
	if len(out) != 3 {
		t.Errorf("%d outcomes, want 3", len(out))
	}
}
