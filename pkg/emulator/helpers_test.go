package emulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/internal/apispec"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Fixture names used across the tests (see DefaultFixture).
const (
	ava   = "ava.reyes@example.com"
	ben   = "ben.okafor@example.com"
	chloe = "chloe.martin@example.com"
	dan   = "dan.kowalski@example.com"

	flowSDR       = "1695493301223590792" // Company
	flowExclusive = "1695493301223590801" // Company, exclusive
	flowWebinar   = "1702318845120411230" // Company
	flowBenWeb    = "1702318845120411245" // Personal of ben, same name as flowWebinar
	flowRenewal   = "1711046208531772904" // Shared by chloe with ava
	flowDemo      = "1711046208531772911" // Company

	workspace = "623457276584334"

	testKey    = "test-access-key"
	testSecret = "test-access-key-secret"
)

// basic is the credential the test servers accept unless a test says otherwise.
func basic() gong.Credentials {
	return gong.Credentials{AccessKey: testKey, AccessKeySecret: testSecret}
}

// start is the fake clock's first reading: a quarter past a second.
func start() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 250e6, time.UTC) }

// fakeClock is Config.Now for tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is an emulator behind a real HTTP server.
type env struct {
	srv   *Server
	hs    *httptest.Server
	clock *fakeClock
}

// newEnv starts a server. Unless cfg says otherwise it has the default
// fixture, accepts basic, has no rate limits (so a fake clock that does not
// move never trips them), and logs to t. Every exchange is checked against
// Gong's published spec (apispec, with opts), but for the answers the server
// marks with FaultHeader: its documented faults and modes. The spec's objects
// are closed (apispec.NoExtraFields), so a field the spec does not name, a
// misspelt one, is a mismatch too.
func newEnv(t *testing.T, cfg Config, opts ...apispec.Option) *env {
	t.Helper()
	clock := newFakeClock(start())
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.Fixture.Users == nil && cfg.Fixture.Flows == nil {
		cfg.Fixture = DefaultFixture()
	}
	if cfg.AccessKey == "" && cfg.BearerTokens == nil {
		cfg.AccessKey, cfg.AccessKeySecret = testKey, testSecret
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = -1
	}
	if cfg.DailyLimit == 0 {
		cfg.DailyLimit = -1
	}
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	opts = append([]apispec.Option{apispec.NoExtraFields(), apispec.IgnoreResponses(func(_ int, h http.Header) bool {
		return h.Get(FaultHeader) != ""
	})}, opts...)
	hs := httptest.NewServer(apispec.Load(t, opts...).Handler(t, s))
	t.Cleanup(hs.Close)
	return &env{srv: s, hs: hs, clock: clock}
}

// client is the real gong client pointed at the test server.
func (e *env) client(t *testing.T, creds gong.Credentials) *gong.Client {
	t.Helper()
	base, err := gong.ParseBaseURL(e.hs.URL)
	if err != nil {
		t.Fatalf("ParseBaseURL: %v", err)
	}
	return gong.NewClient(base, creds, e.hs.Client(), zaptest.NewLogger(t))
}

// rawAnswer is what a raw request got back.
type rawAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a raw request with the basic test credential unless header
// "Authorization" is given in hdr (an empty value sends none).
func (e *env) do(t *testing.T, method, path, body string, hdr map[string]string) rawAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.hs.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", basic().Header())
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawAnswer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// errorBody decodes an error answer and checks its requestId.
func errorBody(t *testing.T, a rawAnswer) gong.ErrorResponse {
	t.Helper()
	if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	var er gong.ErrorResponse
	if err := json.Unmarshal(a.Body, &er); err != nil {
		t.Fatalf("error body %q: %v", a.Body, err)
	}
	checkRequestID(t, er.RequestID)
	return er
}

func checkRequestID(t *testing.T, id string) {
	t.Helper()
	if !regexp.MustCompile(`^[a-z0-9]{19}$`).MatchString(id) {
		t.Errorf("requestId %q is not 19 lowercase letters and digits", id)
	}
}

// apiErr is the comparable part of an error from the client.
type apiErr struct {
	Status     int
	Errors     []string
	RetryAfter time.Duration
}

// asAPIErr returns the comparable part of err, which must be a
// *gong.APIError (or nil), checking its requestId.
func asAPIErr(t *testing.T, err error) *apiErr {
	t.Helper()
	if err == nil {
		return nil
	}
	ae, ok := err.(*gong.APIError)
	if !ok {
		t.Fatalf("error %T %v, want *gong.APIError", err, err)
	}
	checkRequestID(t, ae.RequestID)
	return &apiErr{Status: ae.StatusCode, Errors: ae.Errors, RetryAfter: ae.RetryAfter}
}

// basicHeader builds a Basic header value from any key and secret.
func basicHeader(key, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret))
}

// ignoreGenerated leaves out what the server generates: requestIds and
// flowInstanceIds.
func ignoreGenerated() cmp.Option {
	return cmp.Options{
		cmpopts.IgnoreFields(gong.AssignedFlow{}, "FlowInstanceID"),
		cmpopts.IgnoreFields(gong.AssignResponse{}, "RequestID", "Timing"),
		cmpopts.IgnoreFields(gong.ProspectsFlowsResponse{}, "RequestID", "Timing"),
		cmpopts.IgnoreFields(gong.FlowsResponse{}, "RequestID"),
	}
}

// asGong converts the server's records to the client's type, to compare
// them with what the client decoded.
func asGong(in []AssignedFlow) []gong.AssignedFlow {
	out := make([]gong.AssignedFlow, len(in))
	for i, a := range in {
		out[i] = gong.AssignedFlow(a)
	}
	return out
}
