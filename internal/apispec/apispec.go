// Package apispec checks HTTP traffic against Gong's published OpenAPI spec
// of the Engage flow API (testdata/engage-flows.openapi.json, a copy of
// shared/gong-api/engage-flows.openapi.json). It is for tests only: the
// client's tests put Spec.Transport under the client, the emulator's tests
// put Spec.Handler in front of the server, and every request and answer that
// disagrees with the spec is reported with t.Errorf.
//
// The loaded document is changed in memory only where kin-openapi cannot
// read Gong's spelling, never to make traffic pass:
//   - the servers are dropped, so that routes match on the path alone (tests
//     serve from 127.0.0.1, not api.gong.io);
//   - parameter styles are lowercased: Gong publishes "FORM" and "SIMPLE",
//     OpenAPI 3.0 spells them "form" and "simple".
//
// The spec declares no security schemes; validation is nevertheless given an
// AuthenticationFunc that accepts, so that a later copy of the spec that
// declares Basic and Bearer schemes does not make every request fail.
package apispec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// SpecFile is the name of the spec under testdata/.
const SpecFile = "engage-flows.openapi.json"

// Spec is a loaded copy of the spec with a router over its operations.
type Spec struct {
	doc    *openapi3.T
	router routers.Router
	ignore func(status int, h http.Header) bool
}

// Option changes what Load loads.
type Option func(*options)

type options struct {
	maxItems int
	closed   bool
	ignore   func(status int, h http.Header) bool
}

// MaxItems100 gives crmProspectsIds of assign (AssignFlowRequestV2) a
// maxItems of 100, as the spec's prose says ("up to 100 prospects ... in a
// single request") though its schema does not.
func MaxItems100() Option {
	return func(o *options) { o.maxItems = 100 }
}

// NoExtraFields closes every object of the spec's answers
// (additionalProperties false), so that a field the spec does not name, such
// as a misspelt one, is a mismatch. Gong asks clients to tolerate new fields,
// so this suits checking a stand-in server, not real answers. Requests stay
// open: the spec lets them carry more.
func NoExtraFields() Option {
	return func(o *options) { o.closed = true }
}

// IgnoreResponses leaves out of the response checks every answer for which
// skip returns true, for answers a server spoils on purpose (the emulator's
// documented faults and modes, marked by a header): the answer is not
// checked, nor is a success to a request outside the spec. The request is
// still checked.
func IgnoreResponses(skip func(status int, h http.Header) bool) Option {
	return func(o *options) { o.ignore = skip }
}

// Load reads testdata/engage-flows.openapi.json next to this package's
// source, applies the options and validates the document; any failure is
// fatal to t.
func Load(t testing.TB, opts ...Option) *Spec {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("apispec: cannot locate the package source")
	}
	path := filepath.Join(filepath.Dir(self), "testdata", SpecFile)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		t.Fatalf("apispec: loading %s: %v", path, err)
	}
	normalize(doc)
	if o.maxItems > 0 {
		ref := doc.Components.Schemas["AssignFlowRequestV2"]
		if ref == nil || ref.Value == nil || ref.Value.Properties["crmProspectsIds"] == nil {
			t.Fatal("apispec: the spec has no AssignFlowRequestV2.crmProspectsIds")
		}
		n := uint64(o.maxItems)
		ref.Value.Properties["crmProspectsIds"].Value.MaxItems = &n
	}
	if o.closed {
		closeObjects(doc)
	}
	// Gong's schemas carry "types" and "exampleSetFlag" beside their keywords
	// (left over from its generator); they mean nothing to validation.
	if err := doc.Validate(context.Background(), openapi3.AllowExtraSiblingFields("types", "exampleSetFlag"),
		openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("apispec: %s is not a valid OpenAPI document: %v", path, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("apispec: routing %s: %v", path, err)
	}
	return &Spec{doc: doc, router: router, ignore: o.ignore}
}

// normalize makes the document readable by kin-openapi; see the package
// comment.
func normalize(doc *openapi3.T) {
	doc.Servers = nil
	lower := func(p *openapi3.Parameter) {
		p.Style = strings.ToLower(p.Style)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value != nil {
					lower(p.Value)
				}
			}
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, h := range r.Value.Headers {
					if h.Value != nil {
						lower(&h.Value.Parameter)
					}
				}
			}
		}
	}
}

// closeObjects sets additionalProperties false on every schema with
// properties that an answer uses, once each (schemas are shared through
// references). No answer schema is also a request schema in this spec.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var visit func(ref *openapi3.SchemaRef)
	visit = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		sc := ref.Value
		seen[sc] = true
		if len(sc.Properties) > 0 {
			closed := false
			sc.AdditionalProperties = openapi3.AdditionalProperties{Has: &closed}
		}
		for _, p := range sc.Properties {
			visit(p)
		}
		visit(sc.Items)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					visit(mt.Schema)
				}
			}
		}
	}
}

// Operation returns the operationId of the spec operation a request to
// method and path would reach, or "" if none.
func (s *Spec) Operation(method, path string) string {
	req, err := http.NewRequest(method, (&url.URL{Path: path}).String(), nil)
	if err != nil {
		return ""
	}
	route, _, err := s.router.FindRoute(req)
	if err != nil {
		return ""
	}
	return route.Operation.OperationID
}

// exchange is one request and its answer, in the form both checks need.
type exchange struct {
	req     *http.Request
	reqBody []byte
	status  int
	header  http.Header
	body    []byte
}

// check validates one exchange; problems are returned, one a line. client
// says whose side is checked: a client must send only requests the spec
// allows; a server must refuse (with a non-2xx status) the ones it does not.
func (s *Spec) check(x exchange, client bool) []string {
	var problems []string
	r := x.req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(x.reqBody))
	route, params, err := s.router.FindRoute(r)
	ignored := s.ignore != nil && s.ignore(x.status, x.header)
	if err != nil {
		if client || (x.status < 400 && !ignored) {
			problems = append(problems, fmt.Sprintf("%s %s is no operation of the spec (%v), answered %d",
				x.req.Method, x.req.URL.Path, err, x.status))
		}
		return problems
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		switch {
		case client:
			problems = append(problems, fmt.Sprintf("%s: request breaks the spec: %v", route.Operation.OperationID, err))
		case x.status < 300:
			problems = append(problems, fmt.Sprintf("%s: request breaks the spec (%v) but was answered %d",
				route.Operation.OperationID, err, x.status))
		}
	}
	if ignored {
		return problems
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: x.status, Header: x.header,
		Body: io.NopCloser(bytes.NewReader(x.body)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		problems = append(problems, fmt.Sprintf("%s: answer %d breaks the spec: %v (body %.300q)",
			route.Operation.OperationID, x.status, err, x.body))
	}
	return problems
}

// Transport returns a RoundTripper that sends each request through base
// (http.DefaultTransport if nil) and checks the request and its answer
// against the spec, reporting each mismatch with t.Errorf. An answer that
// fails to arrive (a transport error) is not checked. The body of the answer
// is read in full and handed on unchanged.
func (s *Spec) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{spec: s, t: t, base: base}
}

type roundTripper struct {
	spec *Spec
	t    testing.TB
	base http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		sent := req.Clone(req.Context())
		sent.Body = io.NopCloser(bytes.NewReader(b))
		sent.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req = sent
	}
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
	if rerr != nil {
		return resp, nil // a broken answer: the client must cope, there is nothing whole to check
	}
	x := exchange{req: req, reqBody: reqBody, status: resp.StatusCode, header: resp.Header, body: body}
	for _, p := range rt.spec.check(x, true) {
		rt.t.Errorf("apispec: %s", p)
	}
	return resp, nil
}

// errReader hands on the error that cut an answer's body short, or EOF.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}

// Handler returns middleware that serves each request with h and checks the
// exchange against the spec, reporting each mismatch with t.Errorf: every
// answer must be one the spec allows for its operation (status, headers,
// body); a request the spec refuses, or one to no operation of the spec,
// must not be answered with a success. Answers that never complete (h
// hijacks the connection without writing a status) are not checked.
func (s *Spec) Handler(t testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqBody []byte
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "apispec: reading the request body: "+err.Error(), http.StatusBadRequest)
				return
			}
			reqBody = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		rec.mu.Lock()
		status, body := rec.status, rec.body.Bytes()
		rec.mu.Unlock()
		if status == 0 {
			return
		}
		x := exchange{req: r, reqBody: reqBody, status: status, header: w.Header().Clone(), body: body}
		for _, p := range s.check(x, false) {
			t.Errorf("apispec: %s", p)
		}
	})
}

// recorder passes an answer through and keeps a copy. Unwrap lets
// http.ResponseController reach the real writer (to flush or hijack).
type recorder struct {
	http.ResponseWriter
	mu     sync.Mutex
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.mu.Lock()
	if r.status == 0 {
		r.status = code
	}
	r.mu.Unlock()
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	r.mu.Unlock()
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
