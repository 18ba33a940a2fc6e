package apispec

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// spy is a testing.TB that keeps what Errorf reports.
type spy struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (s *spy) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

func (s *spy) Helper() {}

func (s *spy) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.errs)
}

// fixed answers every request with one status, header set and body.
func fixed(status int, hdr map[string]string, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

const (
	assignPath = "/v2/flows/prospects/assign"
	okAssign   = `{"flowId":"1695493301223590792","flowInstanceOwnerEmail":"a@example.com","crmProspectsIds":["003A","003B"]}`
	okAnswer   = `{"requestId":"r","prospectsAssigned":[{"flowId":"1","crmProspectId":"003A","flowInstanceStatus":"Running","exclusive":false}],"prospectsNotAssigned":[{"flowId":"1","crmProspectId":"003B","errorCode":"InvalidState","errorMessage":"m"}]}`
	errAnswer  = `{"requestId":"r","errors":["bad"]}`
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name         string
		opts         []Option
		method, path string
		body         string
		status       int
		hdr          map[string]string
		answer       string
		// wantServer and wantClient are the numbers of problems Handler
		// and Transport report.
		wantServer, wantClient int
	}{
		{name: "valid assign", method: "POST", path: assignPath, body: okAssign, status: 200, answer: okAnswer},
		{name: "unknown status enum", method: "POST", path: assignPath, body: okAssign, status: 200,
			answer: `{"requestId":"r","prospectsAssigned":[{"flowInstanceStatus":"Done"}]}`, wantServer: 1, wantClient: 1},
		{name: "wrong type", method: "POST", path: assignPath, body: okAssign, status: 200,
			answer: `{"requestId":7}`, wantServer: 1, wantClient: 1},
		{name: "null body", method: "POST", path: assignPath, body: okAssign, status: 200,
			answer: `null`, wantServer: 1, wantClient: 1},
		{name: "status the operation does not list", method: "POST", path: assignPath, body: okAssign, status: 502,
			answer: errAnswer, wantServer: 1, wantClient: 1},
		{name: "ignored answer", method: "POST", path: assignPath, body: okAssign, status: 502,
			hdr: map[string]string{"X-Spoiled": "1"}, answer: "<html>",
			opts: []Option{IgnoreResponses(func(_ int, h http.Header) bool { return h.Get("X-Spoiled") != "" })}},
		{name: "429 with Retry-After", method: "POST", path: assignPath, body: okAssign, status: 429,
			hdr: map[string]string{"Retry-After": "1"}, answer: errAnswer},
		{name: "429 with a date in Retry-After", method: "POST", path: assignPath, body: okAssign, status: 429,
			hdr: map[string]string{"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, answer: errAnswer, wantServer: 1, wantClient: 1},
		{name: "repeated ID refused", method: "POST", path: assignPath, status: 400, answer: errAnswer,
			body: `{"flowId":"1","flowInstanceOwnerEmail":"a","crmProspectsIds":["x","x"]}`, wantClient: 1},
		{name: "repeated ID accepted", method: "POST", path: assignPath, status: 200, answer: okAnswer,
			body: `{"flowId":"1","flowInstanceOwnerEmail":"a","crmProspectsIds":["x","x"]}`, wantServer: 1, wantClient: 1},
		{name: "numeric flowId", method: "POST", path: assignPath, status: 400, answer: errAnswer,
			body: `{"flowId":1,"flowInstanceOwnerEmail":"a","crmProspectsIds":["x"]}`, wantClient: 1},
		{name: "101 IDs without maxItems", method: "POST", path: assignPath, status: 200, answer: okAnswer,
			body: assignOf(101)},
		{name: "101 IDs with maxItems 100, refused", opts: []Option{MaxItems100()}, method: "POST", path: assignPath,
			status: 400, answer: errAnswer, body: assignOf(101), wantClient: 1},
		{name: "101 IDs with maxItems 100, accepted", opts: []Option{MaxItems100()}, method: "POST", path: assignPath,
			status: 200, answer: okAnswer, body: assignOf(101), wantServer: 1, wantClient: 1},
		{name: "100 IDs with maxItems 100", opts: []Option{MaxItems100()}, method: "POST", path: assignPath,
			status: 200, answer: okAnswer, body: assignOf(100)},
		{name: "extra field", method: "POST", path: assignPath, body: okAssign, status: 200,
			answer: `{"requestId":"r","prospectsAssigned":[{"flowInstanceStatuss":"Running"}]}`},
		{name: "extra field, closed", opts: []Option{NoExtraFields()}, method: "POST", path: assignPath, body: okAssign, status: 200,
			answer: `{"requestId":"r","prospectsAssigned":[{"flowInstanceStatuss":"Running"}]}`, wantServer: 1, wantClient: 1},
		{name: "extra request field, closed answers", opts: []Option{NoExtraFields()}, method: "POST", path: assignPath, status: 400,
			body: `{"flowId":"1","flowInstanceOwnerEmail":"a","crmProspectsIds":["x"],"futureField":1}`, answer: errAnswer},
		{name: "valid assign, closed", opts: []Option{NoExtraFields()}, method: "POST", path: assignPath, body: okAssign, status: 200, answer: okAnswer},
		{name: "unknown path answered 404", method: "GET", path: "/v2/nothing", status: 404, answer: errAnswer, wantClient: 1},
		{name: "unknown path answered 200", method: "GET", path: "/v2/nothing", status: 200, answer: `{}`, wantServer: 1, wantClient: 1},
		{name: "list flows without owner", method: "GET", path: "/v2/flows", status: 400, answer: errAnswer, wantClient: 1},
		{name: "list flows", method: "GET", path: "/v2/flows?flowOwnerEmail=a%40b.c&mostRecentlyAssigned=false", status: 200,
			answer: `{"requestId":"r","records":{"totalRecords":1,"currentPageSize":1,"currentPageNumber":0},"flows":[{"id":"1","visibility":"Company"}]}`},
		{name: "users", method: "GET", path: "/v2/users?cursor=abc", status: 200,
			answer: `{"requestId":"r","records":{"totalRecords":1,"currentPageSize":1,"currentPageNumber":0},"users":[{"id":"1","firstName":"Zoë","active":true,"emailAliases":["z@x"]}]}`},
		{name: "users 401", method: "GET", path: "/v2/users", status: 401, answer: errAnswer, wantServer: 1, wantClient: 1},
		{name: "unassign", method: "POST", path: "/v2/flows/prospects/unassign-flows-by-instance-id",
			body: `{"flowInstanceIds":["1","2"]}`, status: 200, answer: `{"requestId":"r","unassignedFlowInstanceIds":["1"]}`},
		{name: "unassign repeated in answer", method: "POST", path: "/v2/flows/prospects/unassign-flows-by-instance-id",
			body: `{"flowInstanceIds":["1","2"]}`, status: 200, answer: `{"requestId":"r","unassignedFlowInstanceIds":["1","1"]}`,
			wantServer: 1, wantClient: 1},
		{name: "unassign by CRM ID without it", method: "POST", path: "/v2/flows/prospects/unassign-flows-by-crm-id",
			body: `{"flowId":"1"}`, status: 400, answer: errAnswer, wantClient: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Load(t, tt.opts...)
			h := fixed(tt.status, tt.hdr, tt.answer)

			server := &spy{TB: t}
			hs := httptest.NewServer(spec.Handler(server, h))
			defer hs.Close()
			send(t, hs.Client(), hs.URL, tt.method, tt.path, tt.body)
			if got := server.count(); got != tt.wantServer {
				t.Errorf("Handler reported %d problems, want %d: %q", got, tt.wantServer, server.errs)
			}

			client := &spy{TB: t}
			plain := httptest.NewServer(h)
			defer plain.Close()
			c := &http.Client{Transport: spec.Transport(client, plain.Client().Transport)}
			got := send(t, c, plain.URL, tt.method, tt.path, tt.body)
			if n := client.count(); n != tt.wantClient {
				t.Errorf("Transport reported %d problems, want %d: %q", n, tt.wantClient, client.errs)
			}
			if got != tt.answer {
				t.Errorf("Transport handed on body %q, want %q", got, tt.answer)
			}
		})
	}
}

func assignOf(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf(`"003X%05d"`, i)
	}
	return `{"flowId":"1","flowInstanceOwnerEmail":"a@example.com","crmProspectsIds":[` + strings.Join(ids, ",") + `]}`
}

// send makes one request and returns the body of the answer.
func send(t *testing.T, c *http.Client, base, method, path, body string) string {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic a2V5OnNlY3JldA==")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOperation(t *testing.T) {
	spec := Load(t)
	got := []string{
		spec.Operation("POST", "/v2/flows/prospects/assign"),
		spec.Operation("POST", "/v2/flows/prospects"),
		spec.Operation("GET", "/v2/flows"),
		spec.Operation("GET", "/v2/users"),
		spec.Operation("POST", "/v2/flows/prospects/unassign-flows-by-instance-id"),
		spec.Operation("POST", "/v2/flows/prospects/unassign-flows-by-crm-id"),
		spec.Operation("GET", "/v2/flows/prospects/assign"),
	}
	want := []string{"assignProspects", "getProspectsAssignedFlows", "listFlows", "listUsers", "unassignFlows", "unassignProspectFlows", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
}
