package submit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/pace"
)

// bulkRows are n people without a CRM ID, for flow SDR and Ava.
func bulkRows(n int) []outcome.Row {
	out := make([]outcome.Row, n)
	for i := range out {
		out[i] = outcome.Row{Line: i + 2, FlowID: flow, OwnerEmail: "ava.reyes@example.com",
			Person: &outcome.Person{Email: fmt.Sprintf("Guest%d@Example.org", i), FirstName: "Pat", LastName: fmt.Sprintf("Guest%d", i)}}
	}
	return out
}

type bulkJournal struct {
	sent, ids int
	lastID    string
}

func newBulkSubmitter(t *testing.T, emu *emulator.Server, j *bulkJournal) *Submitter {
	t.Helper()
	return newBulkSubmitterWith(t, emu, j, gong.Credentials{AccessKey: "k", AccessKeySecret: "s"})
}

func newBulkSubmitterWith(t *testing.T, emu *emulator.Server, j *bulkJournal, creds gong.Credentials) *Submitter {
	t.Helper()
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	base, err := gong.ParseBaseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t)
	return New(Config{
		Client: gong.NewClient(base, creds, srv.Client(), log), Log: log,
		Gateway: gateway.New(gateway.Config{Log: log, Timer: newFakeTimer()}),
		Bulk: BulkConfig{
			BeforeSend: func(chunk.Chunk, time.Time) error { j.sent++; return nil },
			Submitted:  func(_ chunk.Chunk, id string) error { j.ids++; j.lastID = id; return nil },
			Wait:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		},
	})
}

func TestSubmitBulk(t *testing.T) {
	tests := []struct {
		name      string
		modes     emulator.BulkModes
		lost      bool
		want      map[string]int // outcome key -> rows
		wantPolls int
	}{
		{name: "done after one read in progress", modes: emulator.BulkModes{BulkPolls: 1},
			want: map[string]int{"assigned": 3}, wantPolls: 2},
		{name: "some people fail", modes: emulator.BulkModes{BulkFailProspect: map[string]string{"guest1@example.org": emulator.BulkCRMOperationFailed}},
			want: map[string]int{"assigned": 2, "failed:" + outcome.CodeCRMOperationFailed: 1}, wantPolls: 1},
		{name: "the job fails", modes: emulator.BulkModes{BulkFailJob: map[string]bool{"guest0@example.org": true}},
			want: map[string]int{"failed:" + outcome.CodeBulkFailed: 3}, wantPolls: 1},
		{name: "the 202 is lost", lost: true, want: map[string]int{"unprocessed:" + outcome.ReasonInDoubt: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := emulator.Config{Fixture: emulator.DefaultFixture(), RatePerSecond: -1}
			cfg.BulkModes = tt.modes
			if tt.lost {
				cfg.Faults = emulator.Faults{Ops: []string{emulator.OpBulkSubmit}, DropAfterApplyRate: 1}
			}
			emu, err := emulator.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var j bulkJournal
			sub := newBulkSubmitter(t, emu, &j)
			outs, err := sub.SubmitBulk(context.Background(), chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava.reyes@example.com", Bulk: true, Rows: bulkRows(3)})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, o := range outs {
				k := o.Kind.String()
				switch o.Kind {
				case outcome.Failed:
					k += ":" + o.Code
				case outcome.Unprocessed:
					k += ":" + o.Reason
				default:
					if o.Row.CRMProspectID == "" || o.Instance.ID == "" {
						t.Errorf("line %d assigned without Gong's crmId or flowInstanceId", o.Row.Line)
					}
				}
				got[k]++
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("outcomes %v, want %v", got, tt.want)
			}
			st := emu.Stats()
			if st.BulkSubmit != 1 || st.BulkStatus != tt.wantPolls {
				t.Errorf("%d submits and %d reads, want 1 and %d", st.BulkSubmit, st.BulkStatus, tt.wantPolls)
			}
			if j.sent != 1 || (j.ids == 1) == tt.lost {
				t.Errorf("journaled %d sends and %d ids", j.sent, j.ids)
			}
		})
	}
}

// TestSubmitBulkResumes reads the job of an id journaled by an earlier run:
// no request is sent again.
func TestSubmitBulkResumes(t *testing.T) {
	emu, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(), RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	var j bulkJournal
	sub := newBulkSubmitter(t, emu, &j)
	// Stopped while waiting for the first read.
	sub.bulk.Wait = func(context.Context, time.Duration) error { return context.Canceled }
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava.reyes@example.com", Bulk: true, Rows: bulkRows(2)}
	outs, err := sub.SubmitBulk(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Reason != outcome.ReasonBulkPending || j.ids != 1 {
		t.Fatalf("first run: %s, %d ids journaled; want BulkPending and 1", outs[0].Reason, j.ids)
	}
	c.BulkID = j.lastID
	outs, err = newBulkSubmitter(t, emu, &bulkJournal{}).SubmitBulk(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Kind != outcome.Assigned {
			t.Errorf("line %d: %v %s, want assigned", o.Row.Line, o.Kind, o.Reason)
		}
	}
	if st := emu.Stats(); st.BulkSubmit != 1 {
		t.Errorf("%d bulk submits, want 1", st.BulkSubmit)
	}
}

// TestSubmitBulkJobUnreadable: a job Gong will not read. A token without
// api:flows:read (403) stops the run as Forbidden, like a 403 on assign:
// the job's rows are BulkPending (the next run, with the scope, reads the
// journaled id) and no further chunk is submitted. An id Gong does not
// know (404) leaves its rows InDoubt with the id forgotten in the journal,
// so that only --resend-in-doubt sends them again.
func TestSubmitBulkJobUnreadable(t *testing.T) {
	tests := []struct {
		name       string
		scopes     []string // the Bearer token's; nil: key pair
		id         string   // a journaled id; "": submitted by this run
		wantReason string
		wantStop   string
		wantForget int
	}{
		{name: "403: no read scope", scopes: []string{emulator.ScopeFlowsWrite}, wantReason: outcome.ReasonBulkPending, wantStop: outcome.ReasonForbidden},
		{name: "404: unknown id", id: "no-such-job", wantReason: outcome.ReasonInDoubt, wantForget: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := emulator.Config{Fixture: emulator.DefaultFixture(), RatePerSecond: -1}
			creds := gong.Credentials{AccessKey: "k", AccessKeySecret: "s"}
			if tt.scopes != nil {
				cfg.BearerTokens = map[string][]string{"tok": tt.scopes}
				creds = gong.Credentials{BearerToken: "tok"}
			}
			emu, err := emulator.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var j bulkJournal
			sub := newBulkSubmitterWith(t, emu, &j, creds)
			forgot := 0
			sub.bulk.Forget = func(_ chunk.Chunk, id string) error {
				if id != tt.id {
					t.Errorf("forgot %q, want %q", id, tt.id)
				}
				forgot++
				return nil
			}
			c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava.reyes@example.com", Bulk: true, Rows: bulkRows(2), BulkID: tt.id}
			outs, err := sub.SubmitBulk(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range outs {
				if o.Kind != outcome.Unprocessed || o.Reason != tt.wantReason {
					t.Errorf("line %d: %v %q, want unprocessed %s", o.Row.Line, o.Kind, o.Reason, tt.wantReason)
				}
			}
			if got := sub.Gateway().Stopped(); got != tt.wantStop {
				t.Errorf("run stopped %q, want %q", got, tt.wantStop)
			}
			if forgot != tt.wantForget {
				t.Errorf("forgot the id %d times, want %d", forgot, tt.wantForget)
			}
			if tt.wantStop == "" {
				return
			}
			before := emu.Stats().BulkSubmit
			outs, err = sub.SubmitBulk(context.Background(), chunk.Chunk{Seq: 2, FlowID: flow, OwnerEmail: "ava.reyes@example.com", Bulk: true, Rows: bulkRows(1)})
			if err != nil {
				t.Fatal(err)
			}
			if after := emu.Stats().BulkSubmit; after != before || outs[0].Reason != tt.wantStop {
				t.Errorf("after the stop: %d more bulk submits, row %q; want none and %s", after-before, outs[0].Reason, tt.wantStop)
			}
		})
	}
}

// jobClient answers a bulk submit with job "j1" and its read with resp.
type jobClient struct {
	gateway.Client
	resp gong.BulkResponse
}

func (g jobClient) SubmitBulk(context.Context, gong.BulkRequest) (*gong.BulkResponse, error) {
	return &gong.BulkResponse{ID: "j1", Status: gong.BulkInProgress}, nil
}

func (g jobClient) BulkStatus(context.Context, string) (*gong.BulkResponse, error) {
	r := g.resp
	return &r, nil
}

// TestSubmitBulkResultsMissPeople: a COMPLETED job whose results name one
// of the people sent under another email. That person is not failed (Gong
// may have enrolled them, and nothing reads a person back): the row is
// InDoubt, the job's id forgotten for it so that --resend-in-doubt can act,
// and the result that matched no row is logged by Gong's IDs, no email.
// Results ASSIGNED without a flowInstanceId or crmId are InDoubt too:
// assigned.csv claims only what undo and verify can act on.
func TestSubmitBulkResultsMissPeople(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	resp := gong.BulkResponse{ID: "j1", Status: gong.BulkCompleted, TotalCount: 2, ProcessedCount: 2, SuccessCount: 2,
		Results: []gong.BulkResult{
			{Prospect: gong.BulkProspect{Email: "guest0@example.org"}, Status: gong.BulkAssigned, CRMID: "C0", FlowInstanceID: "I0"},
			{Prospect: gong.BulkProspect{Email: "pat.guest1@crm.example.org"}, Status: gong.BulkAssigned, CRMID: "C1", FlowInstanceID: "I1"},
			{Prospect: gong.BulkProspect{Email: "guest2@example.org"}, Status: gong.BulkAssigned, CRMID: "C2"},
			{Prospect: gong.BulkProspect{Email: "guest3@example.org"}, Status: gong.BulkAssigned, FlowInstanceID: "I3"},
		}}
	var forgot []int
	s := New(Config{Gateway: gateway.New(gateway.Config{Log: log, Timer: newFakeTimer()}), Client: jobClient{resp: resp}, Log: log,
		Bulk: BulkConfig{
			Wait: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
			Forget: func(c chunk.Chunk, id string) error {
				for _, r := range c.Rows {
					forgot = append(forgot, r.Line)
				}
				return nil
			},
		}})
	outs, err := s.SubmitBulk(context.Background(), chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava.reyes@example.com", Bulk: true, Rows: bulkRows(4)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"assigned I0", "unprocessed InDoubt", "unprocessed InDoubt", "unprocessed InDoubt"}
	for i, o := range outs {
		got := o.Kind.String() + " " + o.Instance.ID + o.Reason
		if o.Kind == outcome.Failed {
			got = "failed " + o.Code
		}
		if got != want[i] {
			t.Errorf("line %d: %s, want %s", o.Row.Line, got, want[i])
		}
	}
	if fmt.Sprint(forgot) != "[3 4 5]" {
		t.Errorf("forgot the job's id for lines %v, want [3 4 5]", forgot)
	}
	warned := logs.FilterMessageSnippet("do not match").All()
	if len(warned) != 1 {
		t.Fatalf("%d warnings of unmatched results, want 1", len(warned))
	}
	fields := fmt.Sprint(warned[0].ContextMap())
	if !strings.Contains(fields, "I1") || strings.Contains(fields, "@") {
		t.Errorf("the warning's fields %s: want the unmatched instance I1 and no email", fields)
	}
}

// TestSubmitBulkJobNeverDone: a job that stays IN_PROGRESS is read for at
// most MaxPoll from its first read (the waits double up to a minute), then
// its rows are BulkPending, for the next run to read again.
func TestSubmitBulkJobNeverDone(t *testing.T) {
	cfg := emulator.Config{Fixture: emulator.DefaultFixture(), RatePerSecond: -1}
	cfg.BulkModes = emulator.BulkModes{BulkPolls: 1000}
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var j bulkJournal
	sub := newBulkSubmitter(t, emu, &j)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sub.cfg.Now = func() time.Time { return now }
	sub.bulk.MaxPoll = 10 * time.Minute
	sub.bulk.Wait = func(ctx context.Context, d time.Duration) error { now = now.Add(d); return ctx.Err() }
	outs, err := sub.SubmitBulk(context.Background(), chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava.reyes@example.com", Bulk: true, Rows: bulkRows(2)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Kind != outcome.Unprocessed || o.Reason != outcome.ReasonBulkPending {
			t.Errorf("line %d: %v %q, want unprocessed BulkPending", o.Row.Line, o.Kind, o.Reason)
		}
	}
	// After the first read, reads 1.5, 3, 6, 12 and 24 s apart (46.5 s),
	// then a minute apart, the last no later than 10 minutes after the
	// first (586.5 s): 6 + 9 reads.
	if st := emu.Stats(); st.BulkStatus != 15 {
		t.Errorf("%d reads, want 15", st.BulkStatus)
	}
}

// flakyBulk answers the first bulk submit 429 and the next 202, noting
// each write in steps.
type flakyBulk struct {
	gateway.Client
	steps *[]string
}

func (g flakyBulk) SubmitBulk(context.Context, gong.BulkRequest) (*gong.BulkResponse, error) {
	*g.steps = append(*g.steps, "write")
	if len(*g.steps) < 5 {
		return nil, &gong.APIError{StatusCode: http.StatusTooManyRequests, RequestID: "r"}
	}
	return &gong.BulkResponse{ID: "j1", Status: gong.BulkInProgress}, nil
}

// stepLimiter is a Limiter that notes each turn in steps.
type stepLimiter struct {
	pace.Limiter
	steps *[]string
}

func (l stepLimiter) Turn(ctx context.Context, _ string) (pace.Turn, error) {
	*l.steps = append(*l.steps, "turn")
	return pace.Turn{}, ctx.Err()
}

func (stepLimiter) Heard(pace.Turn, pace.Answer) {}

// TestSubmitBulkJournalsAtTheWrite: a bulk request's people are journaled
// sent after the pacer's turn, just before the write, and journaled unsent
// again when Gong refused the request without acting on it (429): a kill
// while waiting for a turn or in the backoff leaves them unsent, not
// InDoubt (which only a person's --resend-in-doubt settles).
func TestSubmitBulkJournalsAtTheWrite(t *testing.T) {
	var steps []string
	log := zaptest.NewLogger(t)
	gw := gateway.New(gateway.Config{Log: log, Timer: newFakeTimer(), Limiter: stepLimiter{steps: &steps}, MaxWait: time.Minute})
	s := New(Config{Gateway: gw, Client: flakyBulk{steps: &steps}, Log: log,
		Bulk: BulkConfig{
			BeforeSend: func(chunk.Chunk, time.Time) error { steps = append(steps, "journal sent"); return nil },
			Unsent:     func(chunk.Chunk) error { steps = append(steps, "journal unsent"); return nil },
			Submitted:  func(chunk.Chunk, string) error { steps = append(steps, "journal id"); return nil },
			Wait:       func(context.Context, time.Duration) error { return context.Canceled },
		}})
	if _, err := s.SubmitBulk(context.Background(), chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava.reyes@example.com", Bulk: true, Rows: bulkRows(2)}); err != nil {
		t.Fatal(err)
	}
	want := []string{"turn", "journal sent", "write", "journal unsent", "turn", "journal sent", "write", "journal id"}
	if fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Errorf("steps %v\nwant  %v", steps, want)
	}
}
