package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/pace"
)

// script is a fake Gong that answers each request with the next status of
// its list (200 once the list is spent) and records the paths asked.
type script struct {
	mu       sync.Mutex
	statuses []int
	paths    []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.Path)
	status := http.StatusOK
	if len(s.statuses) > 0 {
		status, s.statuses = s.statuses[0], s.statuses[1:]
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	// Lists the assign's answer must hold; the other answers ignore them.
	_, _ = w.Write([]byte(`{"requestId":"r","id":"b1","prospectsAssigned":[],"prospectsNotAssigned":[]}`))
}

// instantTimer fires at once: the test does not sleep through backoff.
type instantTimer struct{ c chan time.Time }

func (t *instantTimer) Start(time.Duration) { t.c <- time.Time{} }
func (t *instantTimer) Stop()               {}
func (t *instantTimer) C() <-chan time.Time { return t.c }

// fixture is a Gong client over a scripted server, wrapped by a gateway
// whose limiter is l.
func fixture(t *testing.T, s *script, l Limiter) *Gong {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := gong.NewClient(base, gong.Credentials{BearerToken: "t"}, srv.Client(), nil)
	g := New(Config{Limiter: l, Timer: &instantTimer{c: make(chan time.Time, 1)}, InitialInterval: time.Millisecond,
		MaxRetryTime: 10 * time.Second}) // a bound should a retry never end, not a limit tested
	return g.Wrap(c)
}

// Every method of the decorator is paced, retried through a 429 and a 503,
// and counted under its own kind.
func TestEachMethodIsPacedRetriedAndCounted(t *testing.T) {
	ctx := context.Background()
	assign := gong.AssignRequest{CRMProspectsIDs: []string{"1"}, FlowID: "f", FlowInstanceOwnerEmail: "a@example.com"}
	for _, tc := range []struct {
		name string
		call func(c *Gong) error
		path string
		op   string
		want outcome.RequestCounts // besides Requests 3, Retries 2, RateLimited 1
	}{
		{"assign", func(c *Gong) error { _, err := c.Assign(ctx, assign); return err }, gong.PathAssign, "assign", outcome.RequestCounts{}},
		{"cool-off override counts as an assign", func(c *Gong) error { _, err := c.AssignCoolOffOverride(ctx, assign); return err },
			gong.PathAssignCoolOffOverride, "assign", outcome.RequestCounts{}},
		{"read-back", func(c *Gong) error { _, err := c.ProspectsFlows(ctx, []string{"1"}); return err }, gong.PathProspectsFlows, "read-back",
			outcome.RequestCounts{ReadBacks: 3}},
		{"flows", func(c *Gong) error { _, err := c.ListFlows(ctx, "a@example.com", ""); return err }, gong.PathFlows, "list flows",
			outcome.RequestCounts{FlowListings: 3}},
		{"users", func(c *Gong) error { _, err := c.ListUsers(ctx, ""); return err }, gong.PathUsers, "list users",
			outcome.RequestCounts{UserListings: 3}},
		{"unassign", func(c *Gong) error {
			_, err := c.UnassignByInstanceIDs(ctx, gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: []string{"i"}, UnassignedByUserEmail: "a@example.com"})
			return err
		}, gong.PathUnassignByInstanceIDs, "unassign", outcome.RequestCounts{Unassigns: 3}},
		{"bulk submit", func(c *Gong) error {
			_, err := c.SubmitBulk(ctx, gong.BulkRequest{Prospects: []gong.BulkProspect{{Email: "p@example.com"}}})
			return err
		}, gong.PathBulkAssignments, "bulk submit",
			outcome.RequestCounts{BulkSubmits: 3}},
		{"bulk read", func(c *Gong) error { _, err := c.BulkStatus(ctx, "b1"); return err }, gong.PathBulkAssignments + "/b1", "bulk read",
			outcome.RequestCounts{BulkReads: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{statuses: []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}}
			l := &learner{}
			c := fixture(t, s, l)
			if err := tc.call(c); err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff([]string{tc.path, tc.path, tc.path}, s.paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			want := tc.want
			want.Requests, want.Retries, want.RateLimited = 3, 2, 1
			if diff := cmp.Diff(want, c.Gateway().Counts()); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			heard := []pace.Answer{{Op: tc.op, Limited: true, RetryAfter: time.Second}, {Op: tc.op}, {Op: tc.op}}
			if diff := cmp.Diff(heard, l.heard); diff != "" || l.turns != 3 {
				t.Errorf("%d turns; heard (-want +got):\n%s", l.turns, diff)
			}
		})
	}
}

// orderLimiter records the turns and the Before hooks in one list.
type orderLimiter struct {
	learner
	steps *[]string
}

func (l *orderLimiter) Turn(ctx context.Context, op string) (pace.Turn, error) {
	*l.steps = append(*l.steps, "turn")
	return l.learner.Turn(ctx, op)
}

// A call's Before runs on each attempt after the budget admits it and
// before the limiter's turn, its Sending after the turn; Before's failure sends nothing and gives the
// request back.
func TestBeforeRunsBetweenBudgetAndTurn(t *testing.T) {
	var steps []string
	s := &script{statuses: []int{http.StatusServiceUnavailable}}
	c := fixture(t, s, &orderLimiter{steps: &steps})
	before := func() error {
		steps = append(steps, "before:"+map[bool]string{true: "budgeted", false: "not budgeted"}[c.Gateway().sent.Load() > 0])
		return nil
	}
	if _, err := c.ListUsers(WithCall(context.Background(), Call{Before: before, Sending: func() { steps = append(steps, "sending") }}), ""); err != nil {
		t.Fatal(err)
	}
	want := []string{"before:budgeted", "turn", "sending", "before:budgeted", "turn", "sending"}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}

	broken := errors.New("disk full")
	_, err := c.ListUsers(WithCall(context.Background(), Call{Before: func() error { return broken }}), "")
	var jerr *JournalError
	if !errors.As(err, &jerr) || !errors.Is(err, broken) {
		t.Errorf("error %v, want a JournalError of the hook's", err)
	}
	if got := c.Gateway().Counts().Requests; got != 2 || len(s.paths) != 2 {
		t.Errorf("%d requests counted, %d sent; want the failed hook's given back (2, 2)", got, len(s.paths))
	}
}

// A call's BeforeWrite runs after the limiter's turn, just before the
// request goes out (a kill while waiting for the turn leaves a bulk
// request's people unsent); its failure sends nothing and gives the
// request back.
func TestBeforeWriteRunsAfterTheTurn(t *testing.T) {
	var steps []string
	s := &script{statuses: []int{http.StatusOK}}
	c := fixture(t, s, &orderLimiter{steps: &steps})
	step := func(name string, err error) func() error {
		return func() error { steps = append(steps, name); return err }
	}
	call := Call{Before: step("before", nil), BeforeWrite: step("beforeWrite", nil), Sending: func() { steps = append(steps, "sending") }}
	if _, err := c.ListUsers(WithCall(context.Background(), call), ""); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"before", "turn", "beforeWrite", "sending"}, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}

	broken := errors.New("disk full")
	_, err := c.ListUsers(WithCall(context.Background(), Call{BeforeWrite: func() error { return broken }}), "")
	var jerr *JournalError
	if !errors.As(err, &jerr) || !errors.Is(err, broken) {
		t.Errorf("error %v, want a JournalError of the hook's", err)
	}
	if got := c.Gateway().Counts().Requests; got != 1 || len(s.paths) != 1 {
		t.Errorf("%d requests counted, %d sent; want the failed hook's given back (1, 1)", got, len(s.paths))
	}
}

// Calls made inside Together are retried as one operation: a 503 on the
// second sends both again.
func TestTogetherRetriesTheCallsAsOne(t *testing.T) {
	s := &script{statuses: []int{http.StatusOK, http.StatusServiceUnavailable}}
	c := fixture(t, s, nil)
	attempts := 0
	err := c.Gateway().Together(context.Background(), c.Gateway().Log(), func(ctx context.Context) error {
		attempts++
		if _, err := c.ProspectsFlows(ctx, []string{"1"}); err != nil {
			return err
		}
		_, err := c.Assign(ctx, gong.AssignRequest{CRMProspectsIDs: []string{"1"}, FlowID: "f", FlowInstanceOwnerEmail: "a@example.com"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{gong.PathProspectsFlows, gong.PathAssign, gong.PathProspectsFlows, gong.PathAssign}
	if diff := cmp.Diff(want, s.paths); diff != "" || attempts != 2 {
		t.Errorf("%d attempts; paths (-want +got):\n%s", attempts, diff)
	}
	if got := c.Gateway().Counts(); got.Requests != 4 || got.ReadBacks != 2 || got.Retries != 1 {
		t.Errorf("counts %+v, want 4 requests, 2 read-backs, 1 retry", got)
	}
}

// A 401 through the decorator stops the run and ends the call at once.
func TestDecoratorStops(t *testing.T) {
	s := &script{statuses: []int{http.StatusUnauthorized}}
	c := fixture(t, s, nil)
	_, err := c.ListFlows(context.Background(), "a@example.com", "")
	if reason, ok := StopReason(err); !ok || reason != outcome.ReasonUnauthorized {
		t.Errorf("error %v, want an Unauthorized stop", err)
	}
	if _, err := c.ListUsers(context.Background(), ""); err == nil || len(s.paths) != 1 {
		t.Errorf("after the stop: error %v, %d sent; want a stop and nothing sent", err, len(s.paths))
	}
}

// Every kind has its row in the one table: a name of its own (the pacer
// learns answer times by name), and a counter no other kind shares.
func TestEveryKindHasItsRow(t *testing.T) {
	names := map[string]Kind{}
	var c outcome.RequestCounts
	fields := map[*int64]Kind{}
	for k, info := range kindTable() {
		kind := Kind(k)
		if info.name == "" || kind.String() != info.name {
			t.Errorf("kind %d has no name of its own", k)
		}
		if other, ok := names[info.name]; ok {
			t.Errorf("kinds %d and %d share the name %q", other, k, info.name)
		}
		names[info.name] = kind
		if info.field == nil {
			continue
		}
		f := info.field(&c)
		if other, ok := fields[f]; ok {
			t.Errorf("kinds %d and %d share a counter", other, k)
		}
		fields[f] = kind
	}
}
