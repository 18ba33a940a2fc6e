package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// outcome is the comparable part of what one client call got.
type outcome struct {
	API *apiErr
	// Transport names the kind of *gong.TransportError, "" if none.
	Transport string
	Sent      bool
}

func outcomeOf(t *testing.T, err error) outcome {
	t.Helper()
	var te *gong.TransportError
	if !errors.As(err, &te) {
		return outcome{API: asAPIErr(t, err)}
	}
	o := outcome{Sent: te.Sent}
	var syntax *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		o.Transport = "body cut short"
	case errors.As(err, &syntax):
		o.Transport = "not JSON"
	case errors.Is(err, context.Canceled):
		o.Transport = "canceled"
	default: // EOF or a reset, depending on timing
		o.Transport = "connection lost"
	}
	return o
}

func assignReq(ids ...string) gong.AssignRequest {
	return gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: ids}
}

// TestFaults sends one assign of two prospects, then one read-back and one
// list of flows, under each fault at rate 1.
func TestFaults(t *testing.T) {
	lost := outcome{Transport: "connection lost", Sent: true}
	ok := outcome{}
	tests := []struct {
		name     string
		faults   Faults
		assign   outcome
		created  int     // instances the assign leaves
		readBack outcome // then a read-back of the two
		list     outcome // then a list of flows
		counts   FaultCounts
		answered [2]map[int]int // Stats.ClientErrors, ServerErrors
	}{
		{name: "server error, default status", faults: Faults{ServerErrorRate: 1},
			assign: outcome{API: &apiErr{Status: 500, Errors: []string{"emulator fault: Internal Server Error"}}},
			counts: FaultCounts{ServerError: 1}, answered: [2]map[int]int{{}, {500: 1}}},
		{name: "server error, given status", faults: Faults{ServerErrorRate: 1, ServerErrorStatuses: []int{503}},
			assign: outcome{API: &apiErr{Status: 503, Errors: []string{"emulator fault: Service Unavailable"}}},
			counts: FaultCounts{ServerError: 1}, answered: [2]map[int]int{{}, {503: 1}}},
		{name: "storm with a long Retry-After", faults: Faults{StormRate: 1, StormRetryAfter: 90*time.Second + 1},
			assign: outcome{API: &apiErr{Status: 429, Errors: []string{"emulator fault: API rate limit exceeded"}, RetryAfter: 91 * time.Second}},
			counts: FaultCounts{RateLimitStorm: 1}, answered: [2]map[int]int{{429: 1}, {}}},
		{name: "reset before apply", faults: Faults{ResetBeforeRate: 1},
			assign: lost, counts: FaultCounts{ResetBefore: 1}, answered: [2]map[int]int{{}, {}}},
		{name: "drop after apply", faults: Faults{DropAfterApplyRate: 1},
			assign: lost, created: 2,
			counts: FaultCounts{DropAfterApply: 1}, answered: [2]map[int]int{{}, {}}},
		{name: "truncated body", faults: Faults{TruncatedBodyRate: 1},
			assign: outcome{Transport: "body cut short", Sent: true}, created: 2,
			counts: FaultCounts{TruncatedBody: 1}, answered: [2]map[int]int{{}, {}}},
		{name: "HTML instead of JSON", faults: Faults{InvalidJSONRate: 1},
			assign: outcome{Transport: "not JSON", Sent: true}, created: 2,
			counts: FaultCounts{InvalidJSON: 1}, answered: [2]map[int]int{{}, {}}},
		{name: "slow answer within the client's patience", faults: Faults{SlowAnswerRate: 1, SlowAnswerDelay: time.Nanosecond},
			assign: ok, created: 2,
			counts: FaultCounts{SlowAnswer: 1}, answered: [2]map[int]int{{}, {}}},
		{name: "read-back too", faults: Faults{ServerErrorRate: 1, Ops: []string{OpReadBack}},
			assign: ok, created: 2,
			readBack: outcome{API: &apiErr{Status: 500, Errors: []string{"emulator fault: Internal Server Error"}}},
			counts:   FaultCounts{ServerError: 1}, answered: [2]map[int]int{{}, {500: 1}}},
		{name: "every operation", faults: Faults{DropAfterApplyRate: 1, Ops: []string{OpAssign, OpReadBack, OpListFlows}},
			assign: lost, created: 2, readBack: lost, list: lost,
			counts: FaultCounts{DropAfterApply: 3}, answered: [2]map[int]int{{}, {}}},
		{name: "all rates zero", faults: Faults{Seed: 1, Ops: []string{OpAssign, OpReadBack, OpListFlows}},
			assign: ok, created: 2, answered: [2]map[int]int{{}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{Faults: tt.faults})
			c := e.client(t, basic())
			ctx := context.Background()

			res, err := c.Assign(ctx, assignReq("003A", "003B"))
			if diff := cmp.Diff(tt.assign, outcomeOf(t, err)); diff != "" {
				t.Errorf("assign (-want +got):\n%s", diff)
			}
			created := e.srv.Created()
			if len(created) != tt.created {
				t.Errorf("%d instances created, want %d", len(created), tt.created)
			}
			if res != nil {
				if diff := cmp.Diff(asGong(created), res.ProspectsAssigned); diff != "" {
					t.Errorf("answer and record differ (-record +answer):\n%s", diff)
				}
			}
			// A fault that failed after applying left what Gong would have.
			if got := len(e.srv.Instances()); got != tt.created {
				t.Errorf("%d instances held, want %d", got, tt.created)
			}

			_, err = c.ProspectsFlows(ctx, []string{"003A", "003B"})
			if diff := cmp.Diff(tt.readBack, outcomeOf(t, err)); diff != "" {
				t.Errorf("read-back (-want +got):\n%s", diff)
			}
			_, err = c.ListFlows(ctx, ava, "")
			if diff := cmp.Diff(tt.list, outcomeOf(t, err)); diff != "" {
				t.Errorf("list flows (-want +got):\n%s", diff)
			}

			st := e.srv.Stats()
			if diff := cmp.Diff(tt.counts, st.Faults); diff != "" {
				t.Errorf("Stats.Faults (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.answered, [2]map[int]int{st.ClientErrors, st.ServerErrors}); diff != "" {
				t.Errorf("Stats.ClientErrors, ServerErrors (-want +got):\n%s", diff)
			}
			if st.Created != tt.created || st.RateLimited != 0 || st.Abandoned != 0 {
				t.Errorf("Stats %+v: want %d created, none rate-limited or abandoned", st, tt.created)
			}
		})
	}
}

// TestDroppedGETIsReplayed shows what the Faults comment warns of: Go's
// transport sends a GET again when a reused connection is dropped.
func TestDroppedGETIsReplayed(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(t, basic())
	if _, err := c.ListFlows(context.Background(), ava, ""); err != nil { // leaves an idle connection
		t.Fatal(err)
	}
	if err := e.srv.SetFaults(Faults{ResetBeforeRate: 1, Ops: []string{OpListFlows}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.ListFlows(context.Background(), ava, "")
	if diff := cmp.Diff(outcome{Transport: "connection lost", Sent: true}, outcomeOf(t, err)); diff != "" {
		t.Errorf("list flows (-want +got):\n%s", diff)
	}
	if st := e.srv.Stats(); st.ListFlows != 3 || st.Faults.ResetBefore != 2 {
		t.Errorf("Stats %+v: want the second call sent twice, reset twice", st)
	}
}

func TestInvalidJSONAnswer(t *testing.T) {
	e := newEnv(t, Config{Faults: Faults{InvalidJSONRate: 1}})
	a := e.do(t, http.MethodPost, gong.PathAssign, `{"flowId": "`+flowSDR+`", "flowInstanceOwnerEmail": "`+ava+`", "crmProspectsIds": ["003A"]}`, nil)
	got := rawAnswer{Status: a.Status, Header: http.Header{"Content-Type": a.Header.Values("Content-Type")}, Body: a.Body}
	want := rawAnswer{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: []byte(htmlErrorPage)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	if n := len(e.srv.Created()); n != 1 {
		t.Errorf("%d instances created, want 1", n)
	}
}

// TestSlowAnswer: the client gives up while the answer is delayed by an
// hour. The test cancels the call once the server logs the delay, which is
// after the assign was applied; the handler must then return at once, or
// closing the test server waits out the hour.
func TestSlowAnswer(t *testing.T) {
	delayed := make(chan struct{})
	var once sync.Once
	logger := zaptest.NewLogger(t, zaptest.WrapOptions(zap.Hooks(func(en zapcore.Entry) error {
		if en.Message == "emulator answer delayed" {
			once.Do(func() { close(delayed) })
		}
		return nil
	})))
	e := newEnv(t, Config{Logger: logger, Faults: Faults{SlowAnswerRate: 1, SlowAnswerDelay: time.Hour}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-delayed:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := e.client(t, basic()).Assign(ctx, assignReq("003A", "003B"))
	if diff := cmp.Diff(outcome{Transport: "canceled", Sent: true}, outcomeOf(t, err)); diff != "" {
		t.Errorf("assign (-want +got):\n%s", diff)
	}
	e.hs.Close() // waits for the handler
	if n := len(e.srv.Created()); n != 2 {
		t.Errorf("%d instances created, want 2: the assignment stays applied", n)
	}
	st := e.srv.Stats()
	if st.Faults != (FaultCounts{SlowAnswer: 1}) || st.Abandoned != 1 {
		t.Errorf("Stats %+v: want one slow answer, abandoned", st)
	}
}

// faultScript sends n assigns of one new prospect each, with a client that
// never retries, and returns what each got, the counts and the record.
func faultScript(t *testing.T, f Faults, n int) (outs []outcome, counts FaultCounts, created []AssignedFlow) {
	t.Helper()
	e := newEnv(t, Config{Faults: f})
	c := e.client(t, basic())
	for i, id := range ids(n) {
		_, err := c.Assign(context.Background(), assignReq(id))
		o := outcomeOf(t, err)
		if o.API != nil && o.API.RetryAfter > 0 {
			o.API.RetryAfter = time.Duration(i) // keep only which requests had one
		}
		outs = append(outs, o)
	}
	return outs, e.srv.Stats().Faults, e.srv.Created()
}

func mixedFaults(seed int64) Faults {
	return Faults{Seed: seed, ServerErrorRate: 0.15, ServerErrorStatuses: []int{500, 502, 503},
		StormRate: 0.05, StormLength: 3, ResetBeforeRate: 0.1, DropAfterApplyRate: 0.1,
		TruncatedBodyRate: 0.1, InvalidJSONRate: 0.1}
}

func TestFaultsDeterminism(t *testing.T) {
	type run struct {
		Outs    []outcome
		Counts  FaultCounts
		Created []AssignedFlow
	}
	do := func(seed int64) run {
		o, c, cr := faultScript(t, mixedFaults(seed), 40)
		return run{o, c, cr}
	}
	first, again, other := do(7), do(7), do(8)
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("same Faults.Seed, different faults (-first +again):\n%s", diff)
	}
	if cmp.Equal(first.Outs, other.Outs) {
		t.Error("Faults.Seed 7 and 8 gave the same faults")
	}
	// Each kind shows up over 40 requests with these rates and this seed, and
	// the outcomes agree with the counts.
	c := first.Counts
	if c.ServerError == 0 || c.RateLimitStorm == 0 || c.ResetBefore == 0 || c.DropAfterApply == 0 ||
		c.TruncatedBody == 0 || c.InvalidJSON == 0 || c.SlowAnswer != 0 || c.Poisoned != 0 {
		t.Errorf("counts %+v: want every configured fault at least once", c)
	}
	failed := 0
	for _, o := range first.Outs {
		if o != (outcome{}) {
			failed++
		}
	}
	if failed != c.Total() {
		t.Errorf("%d calls failed, %d faults counted", failed, c.Total())
	}
	// Created: the calls that succeeded or failed after applying.
	if want := len(first.Outs) - c.ServerError - c.RateLimitStorm - c.ResetBefore; len(first.Created) != want {
		t.Errorf("%d created, want %d", len(first.Created), want)
	}
}

func TestStormLength(t *testing.T) {
	for _, length := range []int{1, 3} {
		s, err := New(Config{Fixture: DefaultFixture(), Faults: Faults{Seed: 3, StormRate: 0.3, StormLength: length}})
		if err != nil {
			t.Fatal(err)
		}
		var runs []int // lengths of the runs of 429s
		prev := false
		for range 200 {
			storm := s.drawFault(OpAssign).kind == faultStorm
			switch {
			case storm && prev:
				runs[len(runs)-1]++
			case storm:
				runs = append(runs, 1)
			}
			prev = storm
		}
		if len(runs) < 10 {
			t.Fatalf("length %d: only %d storms in 200 draws", length, len(runs))
		}
		// A storm may start right after another; the last may be cut short.
		for i, n := range runs[:len(runs)-1] {
			if n%length != 0 {
				t.Errorf("length %d: storm %d lasted %d requests", length, i, n)
			}
		}
		if st := s.Stats(); st.Faults.RateLimitStorm == 0 {
			t.Errorf("length %d: no storm counted", length)
		}
	}
}

func TestSetFaults(t *testing.T) {
	e := newEnv(t, Config{Faults: Faults{ServerErrorRate: 1}})
	c := e.client(t, basic())
	ctx := context.Background()
	if _, err := c.Assign(ctx, assignReq("003A")); err == nil {
		t.Fatal("assign passed under ServerErrorRate 1")
	}

	bad := Faults{DropAfterApplyRate: 2}
	if err := e.srv.SetFaults(bad); err == nil {
		t.Error("SetFaults took a rate of 2")
	}
	if _, err := c.Assign(ctx, assignReq("003A")); err == nil {
		t.Fatal("a refused SetFaults changed the faults")
	}

	if err := e.srv.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Assign(ctx, assignReq("003A")); err != nil {
		t.Errorf("with faults off: %v", err)
	}

	// The generator restarts: the same faults again give the same sequence.
	run := func() []outcome {
		if err := e.srv.SetFaults(mixedFaults(11)); err != nil {
			t.Fatal(err)
		}
		var outs []outcome
		for range 20 {
			// The same ID each time: repeats fail per prospect, not per request.
			_, err := c.Assign(ctx, assignReq("003B"))
			outs = append(outs, outcomeOf(t, err))
		}
		return outs
	}
	if diff := cmp.Diff(run(), run()); diff != "" {
		t.Errorf("SetFaults with the same seed, different faults (-first +second):\n%s", diff)
	}
	if st := e.srv.Stats(); st.Faults.ServerError < 2 {
		t.Errorf("Stats.Faults %+v: the counts must survive SetFaults", st.Faults)
	}
}

// TestSetFaultsConcurrent changes the faults while requests run (for -race).
func TestSetFaultsConcurrent(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(t, basic())
	var wg sync.WaitGroup
	for i, id := range ids(8) {
		wg.Go(func() {
			_, _ = c.Assign(context.Background(), assignReq(id))
		})
		wg.Go(func() {
			if err := e.srv.SetFaults(mixedFaults(int64(i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if st := e.srv.Stats(); st.Assign != 8 {
		t.Errorf("Stats %+v: want 8 assigns", st)
	}
}

func TestFaultsConfig(t *testing.T) {
	tests := []struct {
		name string
		in   Faults
		want Faults
		err  string
	}{
		{name: "defaults", in: Faults{},
			want: Faults{Ops: []string{OpAssign}, ServerErrorStatuses: []int{500}, StormLength: 1, StormRetryAfter: time.Second}},
		{name: "Retry-After rounded up",
			in: Faults{Ops: []string{OpListFlows}, ServerErrorStatuses: []int{502, 503}, StormLength: 4, StormRetryAfter: 1500 * time.Millisecond,
				SlowAnswerRate: 0.5, SlowAnswerDelay: time.Minute, DropAfterApplyRate: 0.5},
			want: Faults{Ops: []string{OpListFlows}, ServerErrorStatuses: []int{502, 503}, StormLength: 4, StormRetryAfter: 2 * time.Second,
				SlowAnswerRate: 0.5, SlowAnswerDelay: time.Minute, DropAfterApplyRate: 0.5}},
		{name: "rates add up to 1 with rounding",
			in:   Faults{ServerErrorRate: 0.1, ResetBeforeRate: 0.2, DropAfterApplyRate: 0.7},
			want: Faults{ServerErrorRate: 0.1, ResetBeforeRate: 0.2, DropAfterApplyRate: 0.7, Ops: []string{OpAssign}, ServerErrorStatuses: []int{500}, StormLength: 1, StormRetryAfter: time.Second}},
		{name: "bad rates", in: Faults{ServerErrorRate: 1.5, ResetBeforeRate: -0.1, InvalidJSONRate: math.NaN()},
			err: "faults: ServerErrorRate 1.5 is not between 0 and 1\nResetBeforeRate -0.1 is not between 0 and 1\nInvalidJSONRate NaN is not between 0 and 1"},
		{name: "rates over 1", in: Faults{ServerErrorRate: 0.6, TruncatedBodyRate: 0.6},
			err: "faults: the fault rates add up to 1.2, more than 1"},
		{name: "everything else wrong",
			in: Faults{Ops: []string{"delete flow"}, ServerErrorStatuses: []int{404}, StormLength: -1, StormRetryAfter: -1, SlowAnswerRate: 0.1},
			err: `faults: Ops: unknown operation "delete flow"` +
				"\nServerErrorStatuses: 404 is not a 5xx status\nStormLength -1 is negative\nStormRetryAfter -1ns is negative\nSlowAnswerRate needs a SlowAnswerDelay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.normalize()
			var gotErr string
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.err {
				t.Errorf("error:\n%s\nwant:\n%s", gotErr, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("normalized (-want +got):\n%s", diff)
			}
			_, err = New(Config{Fixture: DefaultFixture(), Faults: tt.in})
			if (err != nil) != (tt.err != "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("New: %v, want %q", err, tt.err)
			}
		})
	}
}

func TestPoisonIDs(t *testing.T) {
	poison := map[string]bool{"003BAD": true, "003WORSE": true}
	tests := []struct {
		name     string
		req      gong.AssignRequest
		want     *apiErr
		created  int
		poisoned int
	}{
		{name: "one poisoned ID refuses the whole request", req: assignReq("003A", "003BAD", "003B"),
			want: &apiErr{Status: http.StatusBadRequest, Errors: []string{"Invalid crmProspectsIds: 003BAD"}}, poisoned: 1},
		{name: "each poisoned ID named, in request order", req: assignReq("003WORSE", "003A", "003BAD"),
			want: &apiErr{Status: http.StatusBadRequest, Errors: []string{"Invalid crmProspectsIds: 003WORSE", "Invalid crmProspectsIds: 003BAD"}}, poisoned: 1},
		{name: "clean request", req: assignReq("003A", "003B"), created: 2},
		{name: "other problems first", req: gong.AssignRequest{FlowID: flowSDR, CRMProspectsIDs: []string{"003BAD"}},
			want: &apiErr{Status: http.StatusBadRequest, Errors: []string{"flowInstanceOwnerEmail is required"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{PoisonIDs: poison})
			c := e.client(t, basic())
			_, err := c.Assign(context.Background(), tt.req)
			if diff := cmp.Diff(tt.want, asAPIErr(t, err)); diff != "" {
				t.Errorf("assign (-want +got):\n%s", diff)
			}
			if n := len(e.srv.Created()); n != tt.created {
				t.Errorf("%d created, want %d", n, tt.created)
			}
			if st := e.srv.Stats(); st.Faults != (FaultCounts{Poisoned: tt.poisoned}) {
				t.Errorf("Stats.Faults %+v, want %d poisoned", st.Faults, tt.poisoned)
			}
			// Read-back is not affected.
			if _, err := c.ProspectsFlows(context.Background(), []string{"003BAD"}); err != nil {
				t.Errorf("read-back: %v", err)
			}
		})
	}

	t.Run("the caller's map is copied", func(t *testing.T) {
		m := map[string]bool{"003BAD": true}
		e := newEnv(t, Config{PoisonIDs: m})
		delete(m, "003BAD")
		if _, err := e.client(t, basic()).Assign(context.Background(), assignReq("003BAD")); err == nil {
			t.Error("a poisoned ID passed once the caller's map changed")
		}
	})
}
