package gateway

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/pace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func status(code int) error { return &gong.APIError{StatusCode: code, RequestID: "r"} }

// send makes one request of kind k answered by err, with no retry.
func send(g *Gateway, k Kind, err error) error {
	return g.retry(context.Background(), g.Log(), func(op *operation) error {
		return op.send(context.Background(), k, nil, nil, func() error { return backoff.Permanent(err) })
	})
}

func TestStops(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kind   Kind
		answer error
		stop   string // "" when the run goes on
	}{
		{"401 stops the run", Assign, status(http.StatusUnauthorized), outcome.ReasonUnauthorized},
		{"403 on assign is the token's scope", Assign, status(http.StatusForbidden), outcome.ReasonForbidden},
		{"403 on a listing is the listing's", FlowListing, status(http.StatusForbidden), ""},
		{"307 is a wrong base URL", Assign, status(http.StatusTemporaryRedirect), outcome.ReasonUnreachable},
		{"400 is the request's", Assign, status(http.StatusBadRequest), ""},
		{"404 is the flow's", Assign, status(http.StatusNotFound), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(Config{})
			err := send(g, tc.kind, tc.answer)
			if got := g.Stopped(); got != tc.stop {
				t.Errorf("Stopped() = %q, want %q", got, tc.stop)
			}
			reason, stopped := StopReason(err)
			if stopped != (tc.stop != "") || reason != tc.stop {
				t.Errorf("error %v: stop %q (%v), want %q", err, reason, stopped, tc.stop)
			}
			if tc.stop != "" {
				// Nothing more is sent after a stop.
				sent := false
				_ = g.retry(context.Background(), g.Log(), func(op *operation) error {
					return op.send(context.Background(), Assign, nil, nil, func() error { sent = true; return nil })
				})
				if sent {
					t.Error("a request was sent after the stop")
				}
			}
		})
	}
}

func TestLongRetryAfterStopsRateLimited(t *testing.T) {
	g := New(Config{MaxWait: time.Minute})
	err := send(g, Assign, &gong.APIError{StatusCode: http.StatusTooManyRequests, RetryAfter: time.Hour})
	if reason, _ := StopReason(err); reason != outcome.ReasonRateLimited || g.Stopped() != outcome.ReasonRateLimited {
		t.Errorf("stop %q, Stopped() %q; want RateLimited", reason, g.Stopped())
	}
}

// clock is a fake clock moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func tooMany(retryAfter time.Duration) error {
	return &gong.APIError{StatusCode: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

func TestDailyQuotaByItsPattern(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []error // one a second
		want    string
	}{
		{"429s that keep coming", []error{tooMany(time.Second), tooMany(time.Second), tooMany(time.Second), tooMany(time.Second)}, outcome.ReasonDailyQuota},
		{"429s with no Retry-After", []error{tooMany(0), tooMany(0), tooMany(0), tooMany(0)}, outcome.ReasonDailyQuota},
		{"an answer between breaks the pattern", []error{tooMany(time.Second), tooMany(time.Second), nil, tooMany(time.Second), tooMany(time.Second)}, ""},
		{"three are the per-second window's", []error{tooMany(time.Second), tooMany(time.Second), tooMany(time.Second)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
			g := New(Config{Now: c.now})
			for _, a := range tc.answers {
				_ = send(g, Assign, a)
				c.add(time.Second)
			}
			if got := g.Stopped(); got != tc.want {
				t.Errorf("Stopped() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBudgetKeepsReservedRequests(t *testing.T) {
	// Two workers, a budget of one: the one that took the request sends
	// it, though the other found the budget spent meanwhile.
	g := New(Config{MaxRequests: 1})
	held := make(chan struct{})
	release := make(chan struct{})
	var sent int
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = g.retry(context.Background(), g.Log(), func(op *operation) error {
			before := func() error { close(held); <-release; return nil }
			return op.send(context.Background(), Assign, before, nil, func() error { sent++; return nil })
		})
	})
	<-held
	err := send(g, Assign, nil)
	close(release)
	wg.Wait()
	if reason, _ := StopReason(err); reason != outcome.ReasonRequestBudget {
		t.Errorf("second request: %v, want a RequestBudget stop", err)
	}
	if sent != 1 || g.Counts().Requests != 1 {
		t.Errorf("sent %d, counted %d; want the reserved request sent and counted", sent, g.Counts().Requests)
	}
}

func TestCounts(t *testing.T) {
	g := New(Config{})
	for _, k := range []Kind{Assign, ReadBack, FlowListing, UserListing, Unassign, Assign} {
		if err := send(g, k, nil); err != nil {
			t.Fatal(err)
		}
	}
	g.Split()
	want := outcome.RequestCounts{Requests: 6, ReadBacks: 1, FlowListings: 1, UserListings: 1, Unassigns: 1, Splits: 1}
	if diff := cmp.Diff(want, g.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

// timeout is what the HTTP client returns when --timeout passes with no
// answer.
type timeout struct{}

func (timeout) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (timeout) Timeout() bool   { return true }
func (timeout) Temporary() bool { return true }

// TestSilentServer: timeouts stop the run as Unreachable only if nothing
// has answered since the run began, and only at the second (one slow first
// answer is retried); after an answer, even one whose body was lost, they
// are retried.
func TestSilentServer(t *testing.T) {
	silent := &gong.TransportError{Op: "assign", Host: "127.0.0.1:1", Err: timeout{}, Sent: true}
	truncated := &gong.TransportError{Op: "list flows", Host: "127.0.0.1:1", Err: errors.New("reading answer: unexpected EOF"), Sent: true, Responded: true}
	for _, tc := range []struct {
		name   string
		before []error // what earlier requests got
		stop   string
	}{
		{"never answered, twice: a wrong base URL", []error{silent}, outcome.ReasonUnreachable},
		{"never answered, once: one slow answer, retried", nil, ""},
		{"answered before, then silent: an outage", []error{nil, silent}, ""},
		{"a truncated answer is an answer", []error{truncated, silent}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(Config{})
			for _, e := range tc.before {
				_ = send(g, FlowListing, e)
			}
			err := send(g, Assign, silent)
			if reason, _ := StopReason(err); reason != tc.stop || g.Stopped() != tc.stop {
				t.Errorf("error %v, Stopped() %q; want stop %q", err, g.Stopped(), tc.stop)
			}
		})
	}
}

// learner is a fake pace.Learner that records what it is told.
type learner struct {
	mu    sync.Mutex
	turns int
	heard []pace.Answer
	plain int // calls of Wait, RateLimited or Answered
}

func (l *learner) Wait(context.Context) error { l.mu.Lock(); l.plain++; l.mu.Unlock(); return nil }
func (l *learner) RateLimited(time.Duration)  { l.mu.Lock(); l.plain++; l.mu.Unlock() }
func (l *learner) Answered()                  { l.mu.Lock(); l.plain++; l.mu.Unlock() }
func (l *learner) Turn(context.Context, string) (pace.Turn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.turns++
	return pace.Turn{}, nil
}
func (l *learner) Heard(_ pace.Turn, a pace.Answer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.heard = append(l.heard, a)
}

// The limiter gives every turn through Turn and hears every answer through
// Heard, with its kind and its 429 (not one past --max-wait); a transport
// error is no answer.
func TestALearnerHearsEveryAnswerWithItsKind(t *testing.T) {
	l := &learner{}
	g := New(Config{Limiter: l, MaxWait: time.Minute})
	_ = send(g, Assign, nil)
	_ = send(g, FlowListing, nil)
	_ = send(g, ReadBack, &gong.APIError{StatusCode: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	_ = send(g, Unassign, status(http.StatusBadRequest))
	_ = send(g, Assign, &gong.APIError{StatusCode: http.StatusTooManyRequests, RetryAfter: time.Hour}) // past --max-wait
	want := []pace.Answer{{Op: "assign"}, {Op: "list flows"}, {Op: "read-back", Limited: true, RetryAfter: 2 * time.Second}, {Op: "unassign"}}
	if diff := cmp.Diff(want, l.heard); diff != "" {
		t.Errorf("heard (-want +got):\n%s", diff)
	}
	if l.turns != 5 || l.plain != 0 {
		t.Errorf("%d turns and %d plain calls, want 5 and 0", l.turns, l.plain)
	}
}
