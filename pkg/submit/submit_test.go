package submit

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/flowenroll/flowenroll/internal/testkit"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/pace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTimer fires at once and records every wait it was asked for.
type fakeTimer struct {
	mu    sync.Mutex
	waits []time.Duration
	c     chan time.Time
}

func newFakeTimer() *fakeTimer { return &fakeTimer{c: make(chan time.Time, 1)} }

func (t *fakeTimer) Start(d time.Duration) {
	t.mu.Lock()
	t.waits = append(t.waits, d)
	t.mu.Unlock()
	t.c <- time.Time{}
}
func (t *fakeTimer) Stop()               {}
func (t *fakeTimer) C() <-chan time.Time { return t.c }
func (t *fakeTimer) Waits() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Duration(nil), t.waits...)
}

// step is one scripted answer of the fake Gong.
type step struct {
	status     int
	retryAfter string
	body       any  // JSON; nil means an ErrorResponse for non-200
	drop       bool // close the connection without answering
	// offset shifts this answer's Date header from the script's clock.
	offset time.Duration
	// at, if set, runs as Gong takes the request: to move a test's clock.
	at func()
}

// script is a fake Gong that answers assign and read-back from lists.
type script struct {
	t        *testing.T
	mu       sync.Mutex
	assign   []step
	readBack []step
	calls    []string // "assign:N ids" or "read-back:N ids"
	// now is Gong's clock, for the Date header: the submitter's.
	now func() time.Time
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var ids struct {
		IDs []string `json:"crmProspectsIds"`
	}
	_ = json.NewDecoder(r.Body).Decode(&ids)
	var st step
	var list *[]step
	switch r.URL.Path {
	case gong.PathAssign, gong.PathAssignCoolOffOverride:
		list = &s.assign
	case gong.PathProspectsFlows:
		list = &s.readBack
	default:
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	name := map[string]string{gong.PathAssign: "assign", gong.PathProspectsFlows: "read-back", gong.PathAssignCoolOffOverride: "cool-off"}[r.URL.Path]
	s.calls = append(s.calls, fmt.Sprintf("%s:%s", name, strings.Join(ids.IDs, ",")))
	if len(*list) == 0 {
		s.mu.Unlock()
		s.t.Errorf("unexpected %s call", name)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	st, *list = (*list)[0], (*list)[1:]
	s.mu.Unlock()
	if st.at != nil {
		st.at()
	}
	if st.drop {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
		return
	}
	if st.retryAfter != "" {
		w.Header().Set("Retry-After", st.retryAfter)
	}
	if s.now != nil {
		w.Header().Set("Date", s.now().Add(st.offset).UTC().Format(http.TimeFormat))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st.status)
	body := st.body
	if body == nil {
		body = gong.ErrorResponse{RequestID: fmt.Sprintf("req%d", st.status), Errors: []string{http.StatusText(st.status)}}
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (s *script) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

const flow = "1695493301223590792"

func rows(ids ...string) []outcome.Row {
	var out []outcome.Row
	for i, id := range ids {
		out = append(out, outcome.Row{Line: i + 2, CRMProspectID: id, FlowID: flow, OwnerEmail: "ava@example.com"})
	}
	return out
}

func instance(id, created string) gong.AssignedFlow {
	return gong.AssignedFlow{FlowID: flow, FlowName: "SDR", CRMProspectID: id, FlowInstanceID: "9" + id, FlowInstanceOwnerEmail: "ava@example.com",
		FlowInstanceOwnerFullName: "Ava", FlowInstanceCreateDate: created, FlowInstanceStatus: "Running", WorkspaceID: "1"}
}

func ok(ids ...string) step {
	resp := gong.AssignResponse{RequestID: "ok1", ProspectsNotAssigned: []gong.AssignFailure{}}
	for _, id := range ids {
		resp.ProspectsAssigned = append(resp.ProspectsAssigned, instance(id, "2026-01-01T00:00:00.000Z"))
	}
	return step{status: 200, body: resp}
}

type fixture struct {
	sub   *Submitter
	gong  *script
	timer *fakeTimer
}

// configs are the submitter's and its gateway's.
type configs struct {
	Config
	Gateway gateway.Config
}

func newFixture(t *testing.T, s *script, mod func(*configs)) fixture {
	t.Helper()
	s.t = t
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	base, err := gong.ParseBaseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t)
	timer := newFakeTimer()
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	cfg := configs{
		Config: Config{
			Client: gong.NewClient(base, gong.Credentials{AccessKey: "k", AccessKeySecret: "s"}, srv.Client(), log),
			Log:    log, Now: now,
		},
		Gateway: gateway.Config{Log: log, Timer: timer, Now: now},
	}
	if mod != nil {
		mod(&cfg)
	}
	cfg.Config.Gateway = gateway.New(cfg.Gateway)
	s.now = cfg.Config.Now
	return fixture{sub: New(cfg.Config), gong: s, timer: timer}
}

// settlement is a chunk's outcomes by kind, in order.
type settlement struct {
	Assigned, Failed, Unprocessed []outcome.Outcome
}

func settled(outs []outcome.Outcome) settlement {
	var s settlement
	for _, o := range outs {
		switch o.Kind {
		case outcome.Assigned:
			s.Assigned = append(s.Assigned, o)
		case outcome.Failed:
			s.Failed = append(s.Failed, o)
		default:
			s.Unprocessed = append(s.Unprocessed, o)
		}
	}
	return s
}

// submit sends c and returns its outcomes by kind.
func (f fixture) submit(t *testing.T, c chunk.Chunk) settlement {
	t.Helper()
	outs, err := f.sub.Submit(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != len(c.Rows) {
		t.Errorf("%d outcomes for %d rows", len(outs), len(c.Rows))
	}
	return settled(outs)
}

func assigned(r outcome.Row, x gong.AssignedFlow, requestID string) outcome.Outcome {
	return outcome.Assign(r, instanceOf(x), requestID)
}

func failed(r outcome.Row, stage, code, msg string, status int, requestID string) outcome.Outcome {
	return outcome.Fail(r, stage, code, msg).WithAnswer(status, requestID)
}

func TestRetryAfterIsHonoured(t *testing.T) {
	f := newFixture(t, &script{assign: []step{{status: 429, retryAfter: "2"}, ok("a")}}, nil)
	set := f.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a")})
	waits := f.timer.Waits()
	if len(waits) != 1 || waits[0] < 2*time.Second {
		t.Errorf("waits before the next attempt = %v, want one of at least 2s", waits)
	}
	if len(set.Assigned) != 1 {
		t.Errorf("assigned = %+v, want the row", set)
	}
	if got, want := f.sub.Gateway().Counts(), (outcome.RequestCounts{Requests: 2, Retries: 1, RateLimited: 1}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
}

func TestServerErrorsThenSuccess(t *testing.T) {
	// A 500 may have been applied in part, so each is followed by a read-back
	// of the chunk's IDs before the next assign.
	empty := step{status: 200, body: gong.ProspectsFlowsResponse{RequestID: "rb"}}
	f := newFixture(t, &script{
		assign:   []step{{status: 500}, {status: 500}, ok("a", "b")},
		readBack: []step{empty, empty},
	}, nil)
	set := f.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a", "b")})
	want := []string{"assign:a,b", "read-back:a,b", "assign:a,b", "read-back:a,b", "assign:a,b"}
	if diff := cmp.Diff(want, f.gong.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(set.Assigned) != 2 || len(set.Failed)+len(set.Unprocessed) != 0 {
		t.Errorf("settlement = %+v, want both assigned", set)
	}
	if got := f.sub.Gateway().Counts(); got.Retries != 2 || got.Requests != 5 || got.ReadBacks != 2 {
		t.Errorf("stats = %+v, want 2 retries, 5 requests, 2 read-backs", got)
	}
}

func TestPermanentErrorsAreTriedOnce(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
	}{
		{400, outcome.CodeBadRequest},
		{404, outcome.CodeFlowNotFound},
		{501, "HTTP501"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := newFixture(t, &script{assign: []step{{status: tc.status}}}, nil)
			c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a")}
			set := f.submit(t, c)
			var want []outcome.Outcome
			for _, r := range c.Rows {
				want = append(want, failed(r, outcome.StageRequest, tc.code, http.StatusText(tc.status), tc.status, fmt.Sprintf("req%d", tc.status)))
			}
			if diff := cmp.Diff(settlement{Failed: want}, set); diff != "" {
				t.Errorf("settlement (-want +got):\n%s", diff)
			}
			if n := len(f.gong.Calls()); n != 1 {
				t.Errorf("%d calls, want 1", n)
			}
		})
	}
}

func TestUnauthorizedStopsTheRun(t *testing.T) {
	f := newFixture(t, &script{assign: []step{{status: 401}}}, nil)
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a")}
	set := f.submit(t, c)
	if diff := cmp.Diff(settlement{Unprocessed: []outcome.Outcome{outcome.Leave(c.Rows[0], outcome.ReasonUnauthorized)}}, set); diff != "" {
		t.Errorf("settlement (-want +got):\n%s", diff)
	}
	if got := f.sub.Gateway().Stopped(); got != outcome.ReasonUnauthorized {
		t.Errorf("Stopped() = %q, want %q", got, outcome.ReasonUnauthorized)
	}
	// Later chunks are not sent at all.
	c2 := chunk.Chunk{Seq: 2, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("b")}
	set2 := f.submit(t, c2)
	if len(set2.Unprocessed) != 1 || len(f.gong.Calls()) != 1 {
		t.Errorf("after 401: settlement %+v with %d calls, want unprocessed and no new call", set2, len(f.gong.Calls()))
	}
}

func TestMissingFromResponse(t *testing.T) {
	resp := gong.AssignResponse{RequestID: "r1",
		ProspectsAssigned:    []gong.AssignedFlow{instance("a", "2026-01-01T00:00:00Z")},
		ProspectsNotAssigned: []gong.AssignFailure{{FlowID: flow, CRMProspectID: "b", ErrorCode: "InvalidState", ErrorMessage: "already in flow"}},
	}
	f := newFixture(t, &script{assign: []step{{status: 200, body: resp}}}, nil)
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a", "b", "c")}
	set := f.submit(t, c)
	want := settlement{
		Assigned: []outcome.Outcome{assigned(c.Rows[0], resp.ProspectsAssigned[0], "r1")},
		Failed: []outcome.Outcome{
			failed(c.Rows[1], outcome.StageAPI, "InvalidState", "already in flow", 200, "r1"),
			failed(c.Rows[2], outcome.StageAPI, outcome.CodeMissingFromResponse, "Gong's answer named c in neither prospectsAssigned nor prospectsNotAssigned", 200, "r1"),
		},
	}
	if diff := cmp.Diff(want, set); diff != "" {
		t.Errorf("settlement (-want +got):\n%s", diff)
	}
}

func TestLongRetryAfterStopsWithRateLimited(t *testing.T) {
	f := newFixture(t, &script{assign: []step{{status: 429, retryAfter: "3600"}}}, func(c *configs) { c.Gateway.MaxWait = time.Minute })
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a")}
	set := f.submit(t, c)
	if diff := cmp.Diff([]outcome.Outcome{outcome.Leave(c.Rows[0], outcome.ReasonRateLimited)}, set.Unprocessed); diff != "" {
		t.Errorf("unprocessed (-want +got):\n%s", diff)
	}
	if len(f.timer.Waits()) != 0 {
		t.Errorf("slept %v, want no wait", f.timer.Waits())
	}
}

func TestRequestBudget(t *testing.T) {
	f := newFixture(t, &script{assign: []step{ok("a")}}, func(c *configs) { c.Gateway.MaxRequests = 1 })
	s1 := f.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a")})
	s2 := f.submit(t, chunk.Chunk{Seq: 2, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("b")})
	if len(s1.Assigned) != 1 || len(s2.Unprocessed) != 1 || s2.Unprocessed[0].Reason != outcome.ReasonRequestBudget {
		t.Errorf("got %+v and %+v, want the first assigned and the second left for the budget", s1, s2)
	}
	if got := f.sub.Gateway().Counts().Requests; got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestDroppedAnswerIsReadBackNotResent(t *testing.T) {
	// The first assign is applied by Gong but the connection drops. The
	// read-back shows "a" created after the send (ours), "b" in the flow
	// since long before (not ours: AlreadyInFlow, not sent again) and
	// nothing for "c", which is sent again.
	rb := gong.ProspectsFlowsResponse{RequestID: "rb1", ProspectsAssigned: []gong.AssignedFlow{
		instance("a", "2026-01-01T00:00:01.000Z"),
		instance("b", "2025-06-01T00:00:00.000Z"),
	}}
	f := newFixture(t, &script{
		assign:   []step{{drop: true}, ok("c")},
		readBack: []step{{status: 200, body: rb}},
	}, nil)
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a", "b", "c")}
	set := f.submit(t, c)
	if diff := cmp.Diff([]string{"assign:a,b,c", "read-back:a,b,c", "assign:c"}, f.gong.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	want := settlement{
		Assigned: []outcome.Outcome{assigned(c.Rows[0], rb.ProspectsAssigned[0], "rb1"), assigned(c.Rows[2], instance("c", "2026-01-01T00:00:00.000Z"), "ok1")},
		Failed: []outcome.Outcome{failed(c.Rows[1], outcome.StageAPI, outcome.CodeAlreadyInFlow,
			"Prospect b is already in flow 1695493301223590792: instance 9b, created 2025-06-01T00:00:00.000Z, before this run sent it (no earlier than 2026-01-01T00:00:00Z on Gong's clock); not this run's, undo leaves it", 200, "rb1")},
	}
	if diff := cmp.Diff(want, set); diff != "" {
		t.Errorf("settlement (-want +got):\n%s", diff)
	}
}

func TestEarlierRunsDoubtIsReadBackFirst(t *testing.T) {
	rb := gong.ProspectsFlowsResponse{RequestID: "rb1", ProspectsAssigned: []gong.AssignedFlow{instance("a", "2026-01-01T00:00:00.500Z")}}
	f := newFixture(t, &script{assign: []step{ok("b")}, readBack: []step{{status: 200, body: rb}}}, func(c *configs) {
		sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		c.Doubt = func(line int) (time.Time, bool) { return sent, line == 2 } // row "a"
	})
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a", "b")}
	set := f.submit(t, c)
	if diff := cmp.Diff([]string{"read-back:a", "assign:b"}, f.gong.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(set.Assigned) != 2 {
		t.Errorf("settlement = %+v, want both assigned", set)
	}
}

func TestGivingUpInDoubtLeavesRowsUnprocessed(t *testing.T) {
	// Retries run out while Gong may have applied the request: saying
	// "failed" could be false, so the rows wait for the next run.
	f := newFixture(t, &script{
		assign:   []step{{status: 503}},
		readBack: []step{{status: 500}},
	}, func(c *configs) { c.Gateway.MaxRetryTime = time.Nanosecond })
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a")}
	set := f.submit(t, c)
	if diff := cmp.Diff([]outcome.Outcome{outcome.Leave(c.Rows[0], outcome.ReasonInDoubt)}, set.Unprocessed); diff != "" {
		t.Errorf("unprocessed (-want +got):\n%s", diff)
	}
}

// poisonGong answers 400 to any assign carrying a poison ID or more than
// maxIDs IDs, and assigns everything else.
type poisonGong struct {
	mu     sync.Mutex
	poison map[string]bool
	maxIDs int
	calls  []int // sizes of assign requests
	// vague: the 400 does not name the ID at fault, as a server may not.
	vague bool
}

func (p *poisonGong) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req gong.AssignRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	p.mu.Lock()
	p.calls = append(p.calls, len(req.CRMProspectsIDs))
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	for _, id := range req.CRMProspectsIDs {
		if p.poison[id] {
			w.WriteHeader(400)
			msg := "Invalid crmProspectsIds: " + id
			if p.vague {
				msg = "Invalid crmProspectsIds"
			}
			_ = json.NewEncoder(w).Encode(gong.ErrorResponse{RequestID: "bad", Errors: []string{msg}})
			return
		}
	}
	if len(req.CRMProspectsIDs) > p.maxIDs {
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(gong.ErrorResponse{RequestID: "big", Errors: []string{"too many crmProspectsIds"}})
		return
	}
	resp := gong.AssignResponse{RequestID: "ok"}
	for _, id := range req.CRMProspectsIDs {
		resp.ProspectsAssigned = append(resp.ProspectsAssigned, instance(id, time.Now().UTC().Format(time.RFC3339Nano)))
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func newPoisonSubmitter(t *testing.T, p *poisonGong) fixture {
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	base, _ := gong.ParseBaseURL(srv.URL)
	log := zaptest.NewLogger(t)
	gw := gateway.New(gateway.Config{Log: log, Timer: newFakeTimer()})
	return fixture{sub: New(Config{Gateway: gw, Client: gong.NewClient(base, gong.Credentials{BearerToken: "t"}, srv.Client(), log), Log: log, ChunkSize: 200})}
}

func TestPoisonRowIsIsolated(t *testing.T) {
	p := &poisonGong{poison: map[string]bool{"c": true}, maxIDs: 100}
	fx := newPoisonSubmitter(t, p)
	sub := fx.sub
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a", "b", "c", "d", "e", "f", "g", "h")}
	set := fx.submit(t, c)
	want := []outcome.Outcome{failed(c.Rows[2], outcome.StageRequest, outcome.CodeBadRequest, "Invalid crmProspectsIds: c", 400, "bad")}
	if diff := cmp.Diff(want, set.Failed); diff != "" {
		t.Errorf("failed (-want +got):\n%s", diff)
	}
	if len(set.Assigned) != 7 || len(set.Unprocessed) != 0 {
		t.Errorf("assigned %d, unprocessed %d; want 7 and 0", len(set.Assigned), len(set.Unprocessed))
	}
	// Gong's 400 names c: it fails with what Gong said of it, and the other
	// 7 rows are sent again at once, with no splitting.
	if diff := cmp.Diff([]int{8, 7}, p.calls); diff != "" {
		t.Errorf("request sizes (-want +got):\n%s", diff)
	}
	if got := sub.Gateway().Counts(); got.Splits != 0 || got.Requests != 2 {
		t.Errorf("stats = %+v, want no split in 2 requests", got)
	}
	if got := sub.ChunkCap(8); got != 8 {
		t.Errorf("chunk cap = %d after a poison row, want 8 (unchanged)", got)
	}
}

func TestRefusedSizeLowersTheCap(t *testing.T) {
	p := &poisonGong{maxIDs: 20}
	fx := newPoisonSubmitter(t, p)
	ids := func(prefix string) []string {
		var out []string
		for i := range 40 {
			out = append(out, fmt.Sprintf("%s%02d", prefix, i))
		}
		return out
	}
	c1 := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows(ids("a")...)}
	c2 := chunk.Chunk{Seq: 2, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows(ids("b")...)}
	s1 := fx.submit(t, c1)
	s2 := fx.submit(t, c2)
	if len(s1.Assigned)+len(s2.Assigned) != 80 {
		t.Errorf("assigned %d + %d, want 80", len(s1.Assigned), len(s2.Assigned))
	}
	// The first chunk learns the size (40 refused, 20 + 20 pass); the second is cut up front.
	if diff := cmp.Diff([]int{40, 20, 20, 20, 20}, p.calls); diff != "" {
		t.Errorf("request sizes (-want +got):\n%s", diff)
	}
}

func TestRefusedPairDoesNotTeachASize(t *testing.T) {
	// Two rows Gong will not take together (say the same ID twice) are no
	// reason to send one ID a request from then on.
	p := &poisonGong{maxIDs: 1}
	fx := newPoisonSubmitter(t, p)
	fx.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a", "b")})
	if got := fx.sub.ChunkCap(200); got != 200 {
		t.Errorf("chunk cap = %d after a refused pair, want 200", got)
	}
}

func TestNotFoundFlowSpendsNoMoreRequests(t *testing.T) {
	f := newFixture(t, &script{assign: []step{{status: 404}}}, nil)
	c1 := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a")}
	c2 := chunk.Chunk{Seq: 2, FlowID: flow, OwnerEmail: "AVA@example.com", Rows: rows("b")}
	f.sub.Submit(context.Background(), c1)
	s2 := f.submit(t, c2)
	if len(f.gong.Calls()) != 1 || len(s2.Failed) != 1 || s2.Failed[0].Code != outcome.CodeFlowNotFound || s2.Failed[0].HTTPStatus != 404 {
		t.Errorf("calls %v, second chunk %+v; want one call and the second chunk failed FlowNotFound without a request", f.gong.Calls(), s2)
	}
}

func TestQuotaStopEndsEveryWorkersWait(t *testing.T) {
	// Gong's daily quota: the first answer is a 429 asking for two hours.
	// No worker may sleep through it, in the pacer or in a backoff: all
	// chunks end RateLimited within seconds of (fake) time.
	synctest.Test(t, func(t *testing.T) {
		s := &script{t: t, assign: []step{{status: 429, retryAfter: "7200"}}}
		base, _ := gong.ParseBaseURL("http://127.0.0.1:1")
		sub := New(Config{
			Client:  gong.NewClient(base, gong.Credentials{BearerToken: "t"}, &http.Client{Transport: testkit.Transport{Handler: s}}, nil),
			Gateway: gateway.New(gateway.Config{Limiter: pace.New(3, pace.DefaultMargin), MaxWait: 5 * time.Minute}),
		})
		start := time.Now()
		var wg sync.WaitGroup
		sets := make([]settlement, 4)
		for i := range sets {
			wg.Go(func() {
				outs, _ := sub.Submit(context.Background(), chunk.Chunk{Seq: i + 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows(fmt.Sprint("id", i))})
				sets[i] = settled(outs)
			})
		}
		wg.Wait()
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("the workers took %v of fake time to stop, want seconds", took)
		}
		for i, set := range sets {
			if len(set.Unprocessed) != 1 || set.Unprocessed[0].Reason != outcome.ReasonRateLimited {
				t.Errorf("chunk %d: %+v, want its row unprocessed RateLimited", i+1, set)
			}
		}
		if n := len(s.Calls()); n != 1 {
			t.Errorf("%d requests, want 1: nothing is sent after the quota's 429", n)
		}
	})
}

func TestReadBackClaimsOnlyTheOwnersInstance(t *testing.T) {
	// Ben's row is in doubt; the read-back shows only Ava's instance of the
	// same prospect in the same flow. It is not Ben's: his row is sent.
	ava := instance("a", "2026-01-01T00:00:01.000Z") // owner ava@example.com
	rb := gong.ProspectsFlowsResponse{RequestID: "rb1", ProspectsAssigned: []gong.AssignedFlow{ava}}
	f := newFixture(t, &script{assign: []step{ok("a")}, readBack: []step{{status: 200, body: rb}}}, func(c *configs) {
		sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		c.Doubt = func(int) (time.Time, bool) { return sent, true }
	})
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ben@example.com", Rows: []chunk.Row{{Line: 2, CRMProspectID: "a", FlowID: flow, OwnerEmail: "ben@example.com"}}}
	set := f.submit(t, c)
	if diff := cmp.Diff([]string{"read-back:a", "assign:a"}, f.gong.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(set.Assigned) != 1 || set.Assigned[0].RequestID != "ok1" {
		t.Errorf("settlement %+v, want the row assigned by its own request", set)
	}
}

func TestRefusedReadBackSendsUnverified(t *testing.T) {
	// A token without api:flows:read: the read-back is 403. The row is sent
	// rather than left in doubt for ever, and Gong's refusal says so.
	again := gong.AssignResponse{RequestID: "r2", ProspectsNotAssigned: []gong.AssignFailure{{FlowID: flow, CRMProspectID: "a", ErrorCode: "InvalidState", ErrorMessage: "already in flow"}}}
	f := newFixture(t, &script{assign: []step{{status: 200, body: again}}, readBack: []step{{status: 403}}}, func(c *configs) {
		c.Doubt = func(int) (time.Time, bool) { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), true }
	})
	set := f.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a")})
	if len(set.Failed) != 1 || !strings.HasPrefix(set.Failed[0].Message, "unverified:") || set.Failed[0].Code != "InvalidState" {
		t.Errorf("settlement %+v, want the row failed InvalidState, marked unverified", set)
	}
}

func TestTwoBadRowsAreNotTheGroupsFault(t *testing.T) {
	// One bad ID in each half, and a 400 that names neither: the halves are
	// refused alike, but one row sent alone passes, so the group is not at
	// fault. Only the two bad rows fail, and later chunks are still sent.
	p := &poisonGong{poison: map[string]bool{"b": true, "g": true}, maxIDs: 100, vague: true}
	fx := newPoisonSubmitter(t, p)
	c := chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a", "b", "c", "d", "e", "f", "g", "h")}
	set := fx.submit(t, c)
	var bad []string
	for _, o := range set.Failed {
		bad = append(bad, o.Row.CRMProspectID)
	}
	slices.Sort(bad)
	if diff := cmp.Diff([]string{"b", "g"}, bad); diff != "" || len(set.Assigned) != 6 {
		t.Errorf("failed (-want +got):\n%s\nassigned %d, want 6", diff, len(set.Assigned))
	}
	later := fx.submit(t, chunk.Chunk{Seq: 2, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("x")})
	if len(later.Assigned) != 1 {
		t.Errorf("a later chunk of the group: %+v, want it sent and assigned", later)
	}
}

func TestRefusedReadBack400SendsUnverified(t *testing.T) {
	// A read-back refused with 400 never fails a row: the row in doubt is
	// sent, marked unverified, and the rows with it are sent as usual.
	f := newFixture(t, &script{assign: []step{ok("a", "b")}, readBack: []step{{status: 400}}}, func(c *configs) {
		c.Doubt = func(line int) (time.Time, bool) { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), line == 2 }
	})
	set := f.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows("a", "b")})
	if len(set.Assigned) != 2 || len(set.Failed) != 0 {
		t.Errorf("settlement %+v, want both rows assigned", set)
	}
}

func TestNoSizeLearntFromHalvesNotAnswered(t *testing.T) {
	// A 400, then the request budget ends before the halves are answered:
	// that says nothing of the size Gong takes.
	var learnt []int
	f := newFixture(t, &script{assign: []step{{status: 400}}}, func(c *configs) {
		c.Gateway.MaxRequests = 1
		c.ChunkSize = 200
		c.OnSize = func(n int) { learnt = append(learnt, n) }
	})
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = fmt.Sprintf("id%02d", i)
	}
	set := f.submit(t, chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows(ids...)})
	if len(set.Unprocessed) != 40 || len(learnt) != 0 {
		t.Errorf("unprocessed %d, sizes learnt %v; want 40 left and nothing learnt", len(set.Unprocessed), learnt)
	}
}
