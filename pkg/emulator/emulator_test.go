package emulator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowenroll/flowenroll/internal/apispec"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

func TestRouting(t *testing.T) {
	tests := []struct {
		name, method, path string
		status             int
		allow              string
		errors             []string
	}{
		{"unknown path", http.MethodGet, "/v2/calls", http.StatusNotFound, "", []string{"no such endpoint: /v2/calls"}},
		{"trailing slash", http.MethodGet, "/v2/flows/", http.StatusNotFound, "", []string{"no such endpoint: /v2/flows/"}},
		{"GET assign", http.MethodGet, gong.PathAssign, http.StatusMethodNotAllowed, "POST",
			[]string{"method GET not allowed on /v2/flows/prospects/assign; use POST"}},
		{"PUT read-back", http.MethodPut, gong.PathProspectsFlows, http.StatusMethodNotAllowed, "POST",
			[]string{"method PUT not allowed on /v2/flows/prospects; use POST"}},
		{"POST flows", http.MethodPost, gong.PathFlows, http.StatusMethodNotAllowed, "GET",
			[]string{"method POST not allowed on /v2/flows; use GET"}},
		{"POST users", http.MethodPost, PathUsers, http.StatusMethodNotAllowed, "GET",
			[]string{"method POST not allowed on /v2/users; use GET"}},
		{"GET unassign", http.MethodGet, PathUnassignByInstance, http.StatusMethodNotAllowed, "POST",
			[]string{"method GET not allowed on " + PathUnassignByInstance + "; use POST"}},
		{"DELETE unassign by CRM ID", http.MethodDelete, PathUnassignByCRMID, http.StatusMethodNotAllowed, "POST",
			[]string{"method DELETE not allowed on " + PathUnassignByCRMID + "; use POST"}},
		{"GET bulk assignments without an id", http.MethodGet, PathBulkAssignments, http.StatusMethodNotAllowed, "POST",
			[]string{"method GET not allowed on " + PathBulkAssignments + "; use POST"}},
		{"bulk assignment below an id", http.MethodGet, PathBulkAssignments + "/a/b", http.StatusNotFound, "",
			[]string{"no such endpoint: " + PathBulkAssignments + "/a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Neither needs credentials nor counts against a limit of one call.
			e := newEnv(t, Config{RatePerSecond: 1})
			a := e.do(t, tt.method, tt.path, "{}", map[string]string{"Authorization": ""})
			if a.Status != tt.status || a.Header.Get("Allow") != tt.allow {
				t.Errorf("status %d Allow %q, want %d %q", a.Status, a.Header.Get("Allow"), tt.status, tt.allow)
			}
			if diff := cmp.Diff(tt.errors, errorBody(t, a).Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if _, err := e.client(t, basic()).ListFlows(context.Background(), ava, ""); err != nil {
				t.Errorf("the next call: %v", err)
			}
		})
	}
}

func TestHook(t *testing.T) {
	var seen []string
	hook := func(op string, body []byte) (int, bool) {
		seen = append(seen, op)
		if op == OpAssign && len(seen) == 1 {
			return http.StatusServiceUnavailable, true
		}
		return 0, false
	}
	e := newEnv(t, Config{Hook: hook})
	c := e.client(t, basic())
	req := gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003A"}}
	_, err := c.Assign(context.Background(), req)
	want := &apiErr{Status: http.StatusServiceUnavailable, Errors: []string{"emulator hook: Service Unavailable"}}
	if diff := cmp.Diff(want, asAPIErr(t, err)); diff != "" {
		t.Errorf("first call (-want +got):\n%s", diff)
	}
	if n := len(e.srv.Created()); n != 0 {
		t.Errorf("a hooked call created %d instances", n)
	}
	if _, err := c.Assign(context.Background(), req); err != nil {
		t.Errorf("second call: %v", err)
	}
	if _, err := e.client(t, gong.Credentials{AccessKey: "x", AccessKeySecret: "y"}).ListFlows(context.Background(), ava, ""); err == nil {
		t.Error("an unauthenticated call passed")
	}
	if diff := cmp.Diff([]string{OpAssign, OpAssign}, seen); diff != "" {
		t.Errorf("hook saw (-want +got):\n%s", diff)
	}
	st := e.srv.Stats()
	if diff := cmp.Diff(map[int]int{http.StatusServiceUnavailable: 1}, st.ServerErrors); diff != "" {
		t.Errorf("ServerErrors (-want +got):\n%s", diff)
	}
}

// script makes the same calls on a fresh server and returns every answer.
func script(t *testing.T, seed int64) []any {
	t.Helper()
	e := newEnv(t, Config{Seed: seed, Fixture: withExisting()})
	c := e.client(t, basic())
	ctx := context.Background()
	var out []any
	record := func(v any, err error) {
		if err != nil {
			out = append(out, asAPIErrWithID(err))
			return
		}
		out = append(out, v)
	}
	record(c.ListFlows(ctx, ava, ""))
	record(c.Assign(ctx, gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003A", "003B", "003OLD"}}))
	record(c.Assign(ctx, gong.AssignRequest{FlowID: flowDemo, FlowInstanceOwnerEmail: ben, CRMProspectsIDs: []string{"003A", "003C"}}))
	record(c.Assign(ctx, gong.AssignRequest{FlowID: "404", FlowInstanceOwnerEmail: ben, CRMProspectsIDs: []string{"003A"}}))
	record(c.ProspectsFlows(ctx, []string{"003A", "00QEXCL"}))
	out = append(out, e.srv.Instances())
	return out
}

func asAPIErrWithID(err error) any {
	if ae, ok := err.(*gong.APIError); ok {
		return *ae
	}
	return err.Error()
}

func TestDeterminism(t *testing.T) {
	first, again, other := script(t, 42), script(t, 42), script(t, 43)
	// The local send and receipt of each answer are the client's real clock.
	local := cmpopts.IgnoreFields(gong.Timing{}, "Sent", "Received")
	if diff := cmp.Diff(first, again, local); diff != "" {
		t.Errorf("same seed, different answers (-first +again):\n%s", diff)
	}
	if cmp.Equal(first, other, local) {
		t.Error("seeds 42 and 43 gave the same answers")
	}
}

// TestLatency runs in a synctest bubble, whose clock is fake: the sleep
// takes no real time and its length is exact.
func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{Fixture: DefaultFixture(), Latency: 2 * time.Second, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		newReq := func(ctx context.Context) *http.Request {
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, gong.PathFlows+"?flowOwnerEmail="+ava, nil)
			r.Header.Set("Authorization", basicHeader("k", "s"))
			return r
		}

		begin := time.Now()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, newReq(context.Background()))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if took := time.Since(begin); took != 2*time.Second {
			t.Errorf("answer took %v, want the 2s latency", took)
		}

		// A request whose client gives up during the latency.
		ctx, cancel := context.WithCancel(context.Background())
		abandoned := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeHTTP(abandoned, newReq(ctx))
		}()
		synctest.Wait() // the request is asleep in its latency
		// The lock is free meanwhile: Stats does not block.
		if st := s.Stats(); st.Requests != 2 {
			t.Errorf("Requests %d while sleeping, want 2", st.Requests)
		}
		cancel()
		<-done
		if took := time.Since(begin); took != 2*time.Second {
			t.Errorf("the abandoned request took %v of fake time, want none", took-2*time.Second)
		}
		if abandoned.Body.Len() != 0 {
			t.Errorf("abandoned request got an answer: %s", abandoned.Body)
		}
		if st := s.Stats(); st.Abandoned != 1 || st.MaxInWindow != 1 {
			t.Errorf("Stats %+v: want 1 abandoned and 1 admitted", st)
		}
	})
}

func TestLogNeverShowsCredentials(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	e := newEnv(t, Config{Logger: zap.New(core), BearerTokens: map[string][]string{"sekrit-token": {ScopeFlowsRead}},
		AccessKey: testKey, AccessKeySecret: testSecret})
	ctx := context.Background()
	_, _ = e.client(t, basic()).ListFlows(ctx, ava, "")
	_, _ = e.client(t, gong.Credentials{BearerToken: "sekrit-token"}).Assign(ctx, gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003A"}})
	_, _ = e.client(t, gong.Credentials{AccessKey: testKey, AccessKeySecret: "wrong-secret"}).ListFlows(ctx, ava, "")
	if logs.Len() != 3 {
		t.Errorf("%d log entries, want one per request", logs.Len())
	}
	secrets := []string{testKey, testSecret, "sekrit-token", "wrong-secret",
		strings.TrimPrefix(basic().Header(), "Basic "), "Authorization", ava}
	for _, entry := range logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += " " + k + "=" + fmt.Sprint(v)
		}
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log entry shows %q: %s", s, line)
			}
		}
	}
}

// TestClientThroughSpec runs the real client through apispec's Transport:
// what pkg/gong sends and what the emulator answers both match the spec.
func TestClientThroughSpec(t *testing.T) {
	e := newEnv(t, Config{PageSize: 2})
	base, err := gong.ParseBaseURL(e.hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	spec := apispec.Load(t, apispec.NoExtraFields())
	hc := &http.Client{Transport: spec.Transport(t, e.hs.Client().Transport)}
	c := gong.NewClient(base, basic(), hc, zaptest.NewLogger(t))
	ctx := context.Background()
	if _, err := c.Assign(ctx, gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava,
		CRMProspectsIDs: []string{"003A", "bad id"}, FlowInstanceDescription: "Q3"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ProspectsFlows(ctx, []string{"003A", "003B"}); err != nil {
		t.Fatal(err)
	}
	res, err := c.ListFlows(ctx, ava, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListFlows(ctx, ava, res.Records.Cursor); err != nil {
		t.Fatal(err)
	}
	// An error answer is checked too.
	if _, err := c.Assign(ctx, gong.AssignRequest{FlowID: "1", FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003A"}}); err == nil {
		t.Error("assign to an unknown flow: no error")
	}
}

// TestRoutesAreSpecOperations: every endpoint served is one of the spec's
// operations, with the method the spec gives it.
func TestRoutesAreSpecOperations(t *testing.T) {
	spec := apispec.Load(t)
	got := map[string]string{}
	for _, p := range []string{PathAssign, PathProspectsFlows, PathFlows, PathUsers, PathUnassignByInstance, PathUnassignByCRMID} {
		ep := route(p)
		got[ep.op] = spec.Operation(ep.method, p)
	}
	want := map[string]string{
		OpAssign: "assignProspects", OpReadBack: "getProspectsAssignedFlows", OpListFlows: "listFlows",
		OpListUsers: "listUsers", OpUnassign: "unassignFlows", OpUnassignCRM: "unassignProspectFlows",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
}
