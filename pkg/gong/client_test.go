package gong_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// The HTTP tests start servers and connections.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	flowSDR = "1695493301223590792" // 19 digits: more than a float64 holds
	ava     = "ava.reyes+gong@example.com"
)

// captured is what the server saw of one request.
type captured struct {
	Method        string
	Path          string
	RawQuery      string
	Authorization string
	ContentType   string
	Accept        string
	UserAgent     string
	Body          string
}

// recorder is a handler that records each request and answers as told.
type recorder struct {
	got    chan captured
	answer http.HandlerFunc
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.got <- captured{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
		Accept: r.Header.Get("Accept"), UserAgent: r.Header.Get("User-Agent"), Body: string(b),
	}
	rec.answer(w, r)
}

func answerJSON(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// newClient starts a server for h and returns a client for it.
func newClient(t *testing.T, h http.Handler, creds gong.Credentials, log *zap.Logger) *gong.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base, err := gong.ParseBaseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = zaptest.NewLogger(t)
	}
	return gong.NewClient(base, creds, srv.Client(), log)
}

// call runs one of the client's calls and returns its answer.
type call func(ctx context.Context, c *gong.Client) (any, error)

func assign(req gong.AssignRequest) call {
	return func(ctx context.Context, c *gong.Client) (any, error) { return c.Assign(ctx, req) }
}

func prospectsFlows(ids ...string) call {
	return func(ctx context.Context, c *gong.Client) (any, error) { return c.ProspectsFlows(ctx, ids) }
}

func listFlows(owner, cursor string) call {
	return func(ctx context.Context, c *gong.Client) (any, error) { return c.ListFlows(ctx, owner, cursor) }
}

func listUsers(cursor string) call {
	return func(ctx context.Context, c *gong.Client) (any, error) { return c.ListUsers(ctx, cursor) }
}

func unassign(req gong.UnassignByInstanceIDsRequest) call {
	return func(ctx context.Context, c *gong.Client) (any, error) { return c.UnassignByInstanceIDs(ctx, req) }
}

var basicHeader = basicCreds().Header()

func TestClientRequests(t *testing.T) {
	tests := []struct {
		name      string
		creds     gong.Credentials
		userAgent string
		call      call
		want      captured
	}{
		{
			name:  "assign: flowId as a JSON string",
			creds: basicCreds(),
			call:  assign(gong.AssignRequest{CRMProspectsIDs: []string{"0031U00001", "00Q5e00002"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava}),
			want: captured{
				Method: "POST", Path: "/v2/flows/prospects/assign", Authorization: basicHeader,
				ContentType: "application/json", Accept: "application/json", UserAgent: "flowenroll",
				Body: `{"crmProspectsIds":["0031U00001","00Q5e00002"],"flowId":"1695493301223590792","flowInstanceOwnerEmail":"ava.reyes+gong@example.com"}`,
			},
		},
		{
			name:  "assign with a description, bearer",
			creds: bearerCreds(),
			call:  assign(gong.AssignRequest{CRMProspectsIDs: []string{"0031"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava, FlowInstanceDescription: "Q2 import"}),
			want: captured{
				Method: "POST", Path: "/v2/flows/prospects/assign", Authorization: "Bearer " + testToken,
				ContentType: "application/json", Accept: "application/json", UserAgent: "flowenroll",
				Body: `{"crmProspectsIds":["0031"],"flowId":"1695493301223590792","flowInstanceOwnerEmail":"ava.reyes+gong@example.com","flowInstanceDescription":"Q2 import"}`,
			},
		},
		{
			name:  "read-back",
			creds: basicCreds(),
			call:  prospectsFlows("0031", "0032"),
			want: captured{
				Method: "POST", Path: "/v2/flows/prospects", Authorization: basicHeader,
				ContentType: "application/json", Accept: "application/json", UserAgent: "flowenroll",
				Body: `{"crmProspectsIds":["0031","0032"]}`,
			},
		},
		{
			name:      "list flows, first page, own user agent",
			creds:     bearerCreds(),
			userAgent: "flowenroll/1.2.3",
			call:      listFlows(ava, ""),
			want: captured{
				Method: "GET", Path: "/v2/flows", RawQuery: "flowOwnerEmail=ava.reyes%2Bgong%40example.com",
				Authorization: "Bearer " + testToken, Accept: "application/json", UserAgent: "flowenroll/1.2.3",
			},
		},
		{
			name:  "list flows, next page",
			creds: basicCreds(),
			call:  listFlows(ava, "eyJwYWdlIjoyfQ=="),
			want: captured{
				Method: "GET", Path: "/v2/flows", RawQuery: "cursor=eyJwYWdlIjoyfQ%3D%3D&flowOwnerEmail=ava.reyes%2Bgong%40example.com",
				Authorization: basicHeader, Accept: "application/json", UserAgent: "flowenroll",
			},
		},
		{
			name:  "list users, first page",
			creds: bearerCreds(),
			call:  listUsers(""),
			want: captured{
				Method: "GET", Path: "/v2/users",
				Authorization: "Bearer " + testToken, Accept: "application/json", UserAgent: "flowenroll",
			},
		},
		{
			name:  "list users, next page",
			creds: basicCreds(),
			call:  listUsers("eyJwYWdlIjoyfQ=="),
			want: captured{
				Method: "GET", Path: "/v2/users", RawQuery: "cursor=eyJwYWdlIjoyfQ%3D%3D",
				Authorization: basicHeader, Accept: "application/json", UserAgent: "flowenroll",
			},
		},
		{
			name:  "unassign by instance IDs",
			creds: bearerCreds(),
			call:  unassign(gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: []string{"234599484848423", "234599484848424"}}),
			want: captured{
				Method: "POST", Path: "/v2/flows/prospects/unassign-flows-by-instance-id", Authorization: "Bearer " + testToken,
				ContentType: "application/json", Accept: "application/json", UserAgent: "flowenroll",
				Body: `{"flowInstanceIds":["234599484848423","234599484848424"]}`,
			},
		},
		{
			name:  "unassign naming who asks",
			creds: basicCreds(),
			call:  unassign(gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: []string{"234599484848423"}, UnassignedByUserEmail: ava}),
			want: captured{
				Method: "POST", Path: "/v2/flows/prospects/unassign-flows-by-instance-id", Authorization: basicHeader,
				ContentType: "application/json", Accept: "application/json", UserAgent: "flowenroll",
				Body: `{"flowInstanceIds":["234599484848423"],"unassignedByUserEmail":"ava.reyes+gong@example.com"}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{got: make(chan captured, 1), answer: answerJSON(200, `{"requestId":"r-1","prospectsAssigned":[]}`)}
			c := newClient(t, rec, tt.creds, nil)
			if tt.userAgent != "" {
				c.UserAgent = tt.userAgent
			}
			if _, err := tt.call(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, <-rec.got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientDecodes200(t *testing.T) {
	tests := []struct {
		name string
		call call
		body string
		want any
	}{
		{
			name: "assign",
			call: assign(gong.AssignRequest{CRMProspectsIDs: []string{"0031", "0032"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava}),
			body: `{
				"requestId": "4al018gzaztcr8nbukw",
				"prospectsAssigned": [{
					"flowId": "1695493301223590792", "flowName": "SDR outbound", "crmProspectId": "0031",
					"flowInstanceId": "7324155624958719", "flowInstanceOwnerEmail": "ava.reyes+gong@example.com",
					"flowInstanceOwnerFullName": "Ava Reyes", "flowInstanceCreateDate": "2026-03-10T12:00:00Z",
					"flowInstanceStatus": "Pending", "workspaceId": "623457276584334", "exclusive": true,
					"somethingNew": 1
				}],
				"prospectsNotAssigned": [{
					"flowId": "1695493301223590792", "crmProspectId": "0032",
					"errorCode": "InvalidState", "errorMessage": "Prospect is already in an exclusive flow"
				}]
			}`,
			want: &gong.AssignResponse{
				RequestID: "4al018gzaztcr8nbukw",
				ProspectsAssigned: []gong.AssignedFlow{{
					FlowID: flowSDR, FlowName: "SDR outbound", CRMProspectID: "0031", FlowInstanceID: "7324155624958719",
					FlowInstanceOwnerEmail: ava, FlowInstanceOwnerFullName: "Ava Reyes", FlowInstanceCreateDate: "2026-03-10T12:00:00Z",
					FlowInstanceStatus: "Pending", WorkspaceID: "623457276584334", Exclusive: true,
				}},
				ProspectsNotAssigned: []gong.AssignFailure{{
					FlowID: flowSDR, CRMProspectID: "0032", ErrorCode: outcome.CodeInvalidState, ErrorMessage: "Prospect is already in an exclusive flow",
				}},
			},
		},
		{
			name: "read-back, unknown ID gives an empty list",
			call: prospectsFlows("0099"),
			body: `{"requestId":"r-2","prospectsAssigned":[]}`,
			want: &gong.ProspectsFlowsResponse{RequestID: "r-2", ProspectsAssigned: []gong.AssignedFlow{}},
		},
		{
			name: "list flows",
			call: listFlows(ava, ""),
			body: `{"requestId":"r-3","records":{"totalRecords":2,"currentPageSize":1,"currentPageNumber":0,"cursor":"c2"},
				"flows":[{"id":"1695493301223590792","name":"SDR outbound","folderId":"f1","folderName":"Company","visibility":"Company","creationDate":"2025-01-02T03:04:05Z","exclusive":false}]}`,
			want: &gong.FlowsResponse{
				RequestID: "r-3",
				Records:   gong.Records{TotalRecords: 2, CurrentPageSize: 1, CurrentPageNumber: 0, Cursor: "c2"},
				Flows:     []gong.Flow{{ID: flowSDR, Name: "SDR outbound", FolderID: "f1", FolderName: "Company", Visibility: "Company", CreationDate: "2025-01-02T03:04:05Z"}},
			},
		},
		{
			name: "list users",
			call: listUsers(""),
			body: `{"requestId":"r-4","records":{"totalRecords":3,"currentPageSize":1,"currentPageNumber":0,"cursor":"c2"},
				"users":[{"id":"234599484848423","emailAddress":"ava.reyes@example.com","created":"2018-02-17T02:30:00-08:00",
				"active":true,"emailAliases":["ava@example.com"],"trustedEmailAddress":"ava.reyes@example.com",
				"firstName":"Ava","lastName":"Reyes","title":"SDR","phoneNumber":"+1 123","managerId":"563515258458745",
				"settings":{"emailsImported":true},"spokenLanguages":[{"language":"en-US","primary":true}]}]}`,
			want: &gong.UsersResponse{
				RequestID: "r-4",
				Records:   gong.Records{TotalRecords: 3, CurrentPageSize: 1, Cursor: "c2"},
				Users: []gong.User{{
					ID: "234599484848423", EmailAddress: "ava.reyes@example.com", EmailAliases: []string{"ava@example.com"},
					TrustedEmailAddress: "ava.reyes@example.com", FirstName: "Ava", LastName: "Reyes", Title: "SDR",
					Active: true, Created: "2018-02-17T02:30:00-08:00", ManagerID: "563515258458745",
				}},
			},
		},
		{
			name: "unassign",
			call: unassign(gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: []string{"234599484848423", "234599484848424"}}),
			body: `{"requestId":"r-5","unassignedFlowInstanceIds":["234599484848423"]}`,
			want: &gong.UnassignResponse{RequestID: "r-5", UnassignedFlowInstanceIDs: []string{"234599484848423"}},
		},
		{
			name: "assign answer with only one list",
			call: assign(gong.AssignRequest{CRMProspectsIDs: []string{"0032"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava}),
			body: `{"requestId":"r-6","prospectsNotAssigned":[{"flowId":"1695493301223590792","crmProspectId":"0032","errorCode":"InvalidArgument","errorMessage":"Invalid crmId"}]}`,
			want: &gong.AssignResponse{RequestID: "r-6", ProspectsNotAssigned: []gong.AssignFailure{{FlowID: flowSDR, CRMProspectID: "0032", ErrorCode: outcome.CodeInvalidArgument, ErrorMessage: "Invalid crmId"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{got: make(chan captured, 1), answer: answerJSON(200, tt.body)}
			c := newClient(t, rec, basicCreds(), nil)
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreTypes(gong.Timing{})); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientAPIErrors(t *testing.T) {
	req := assign(gong.AssignRequest{CRMProspectsIDs: []string{"0031"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava})
	tests := []struct {
		name          string
		call          call
		answer        http.HandlerFunc
		want          *gong.APIError
		wantError     string
		wantRetryable bool
	}{
		{
			name:          "429 with Retry-After seconds",
			call:          req,
			answer:        answerJSON(429, `{"requestId":"r-429","errors":["API request limit exceeded"]}`, "Retry-After", "7"),
			want:          &gong.APIError{Op: "assign", StatusCode: 429, RequestID: "r-429", Errors: []string{"API request limit exceeded"}, RetryAfter: 7 * time.Second},
			wantError:     "gong assign: HTTP 429: API request limit exceeded (requestId r-429)",
			wantRetryable: true,
		},
		{
			name:      "400 with several errors",
			call:      req,
			answer:    answerJSON(400, `{"requestId":"r-400","errors":["flowId: must be digits","crmProspectsIds: duplicates"]}`),
			want:      &gong.APIError{Op: "assign", StatusCode: 400, RequestID: "r-400", Errors: []string{"flowId: must be digits", "crmProspectsIds: duplicates"}},
			wantError: "gong assign: HTTP 400: flowId: must be digits; crmProspectsIds: duplicates (requestId r-400)",
		},
		{
			name:      "401",
			call:      req,
			answer:    answerJSON(401, `{"requestId":"r-401","errors":["Unauthorized"]}`),
			want:      &gong.APIError{Op: "assign", StatusCode: 401, RequestID: "r-401", Errors: []string{"Unauthorized"}},
			wantError: "gong assign: HTTP 401: Unauthorized (requestId r-401)",
		},
		{
			name:      "404 on list flows",
			call:      listFlows(ava, ""),
			answer:    answerJSON(404, `{"requestId":"r-404","errors":["user not found"]}`),
			want:      &gong.APIError{Op: "list flows", StatusCode: 404, RequestID: "r-404", Errors: []string{"user not found"}},
			wantError: "gong list flows: HTTP 404: user not found (requestId r-404)",
		},
		{
			name: "503 with a non-JSON body and an HTTP-date Retry-After in the past",
			call: prospectsFlows("0031"),
			answer: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "Mon, 01 Jan 2001 00:00:00 GMT")
				http.Error(w, "<html>upstream busy</html>", 503)
			},
			want:          &gong.APIError{Op: "read-back", StatusCode: 503},
			wantError:     "gong read-back: HTTP 503",
			wantRetryable: true,
		},
		{
			name:      "403 on assign names the write scope",
			call:      req,
			answer:    answerJSON(403, `{"requestId":"r-403","errors":["Forbidden"]}`),
			want:      &gong.APIError{Op: "assign", StatusCode: 403, RequestID: "r-403", Errors: []string{"Forbidden"}, Scope: "api:flows:write"},
			wantError: "gong assign: HTTP 403: Forbidden; with a Bearer token this call needs the scope api:flows:write (requestId r-403)",
		},
		{
			name:      "403 on unassign names the write scope",
			call:      unassign(gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: []string{"1"}}),
			answer:    answerJSON(403, `{"requestId":"r-403"}`),
			want:      &gong.APIError{Op: "unassign", StatusCode: 403, RequestID: "r-403", Scope: "api:flows:write"},
			wantError: "gong unassign: HTTP 403; with a Bearer token this call needs the scope api:flows:write (requestId r-403)",
		},
		{
			name:      "403 on the read-back names the read scope",
			call:      prospectsFlows("0031"),
			answer:    answerJSON(403, `{"requestId":"r-403"}`),
			want:      &gong.APIError{Op: "read-back", StatusCode: 403, RequestID: "r-403", Scope: "api:flows:read"},
			wantError: "gong read-back: HTTP 403; with a Bearer token this call needs the scope api:flows:read (requestId r-403)",
		},
		{
			name:      "403 on list flows names the read scope",
			call:      listFlows(ava, ""),
			answer:    answerJSON(403, `{}`),
			want:      &gong.APIError{Op: "list flows", StatusCode: 403, Scope: "api:flows:read"},
			wantError: "gong list flows: HTTP 403; with a Bearer token this call needs the scope api:flows:read",
		},
		{
			name:      "403 on list users names the users scope",
			call:      listUsers(""),
			answer:    answerJSON(403, `{"errors":["Access denied"]}`),
			want:      &gong.APIError{Op: "list users", StatusCode: 403, Errors: []string{"Access denied"}, Scope: "api:users:read"},
			wantError: "gong list users: HTTP 403: Access denied; with a Bearer token this call needs the scope api:users:read",
		},
		{
			name:      "307 elsewhere, not followed; the Location loses its query and user info",
			call:      req,
			answer:    answerJSON(307, ``, "Location", "https://user:"+testSecret+"@us-9.api.gong.io/v2/flows/prospects/assign?token="+testToken+"#frag"),
			want:      &gong.APIError{Op: "assign", StatusCode: 307, Location: "https://us-9.api.gong.io/v2/flows/prospects/assign"},
			wantError: "gong assign: HTTP 307; redirect to https://us-9.api.gong.io/v2/flows/prospects/assign not followed",
		},
		{
			name:      "301 without a Location",
			call:      listUsers(""),
			answer:    func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(301) },
			want:      &gong.APIError{Op: "list users", StatusCode: 301},
			wantError: "gong list users: HTTP 301; redirect not followed",
		},
		{
			name:      "501 with an empty body",
			call:      req,
			answer:    func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(501) },
			want:      &gong.APIError{Op: "assign", StatusCode: 501},
			wantError: "gong assign: HTTP 501",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{got: make(chan captured, 1), answer: tt.answer}
			c := newClient(t, rec, basicCreds(), nil)
			got, err := tt.call(context.Background(), c)
			var api *gong.APIError
			if !errors.As(err, &api) {
				t.Fatalf("error %v (%T), want *gong.APIError", err, err)
			}
			if diff := cmp.Diff(tt.want, api); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if got := errString(err); got != tt.wantError {
				t.Errorf("error %q, want %q", got, tt.wantError)
			}
			if l := leaked(errString(err)); l != nil {
				t.Errorf("error shows %q", l)
			}
			if got := gong.Retryable(err); got != tt.wantRetryable {
				t.Errorf("Retryable = %v, want %v", got, tt.wantRetryable)
			}
			if !isNilAnswer(got) {
				t.Errorf("answer %#v with an error, want nil", got)
			}
		})
	}
}

// isNilAnswer reports whether a call's answer is a nil pointer.
func isNilAnswer(v any) bool {
	switch v := v.(type) {
	case *gong.AssignResponse:
		return v == nil
	case *gong.ProspectsFlowsResponse:
		return v == nil
	case *gong.FlowsResponse:
		return v == nil
	case *gong.UsersResponse:
		return v == nil
	case *gong.UnassignResponse:
		return v == nil
	}
	return v == nil
}

func TestClientTransportErrors(t *testing.T) {
	req := assign(gong.AssignRequest{CRMProspectsIDs: []string{"0031"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava})
	bigJSON := func(n int) string {
		const head, tail = `{"requestId":"`, `"}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	// streamBody writes n bytes in small flushed pieces, with no Content-Length.
	streamBody := func(status, n int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			piece := []byte(strings.Repeat("x", 32<<10))
			for n > 0 {
				k := min(n, len(piece))
				if _, err := w.Write(piece[:k]); err != nil {
					return // the client stopped reading
				}
				w.(http.Flusher).Flush()
				n -= k
			}
		}
	}
	tests := []struct {
		name          string
		call          call
		answer        http.HandlerFunc
		want          transportView
		wantError     string
		wantRetryable bool
	}{
		{
			name:          "undecodable 200",
			call:          req,
			answer:        answerJSON(200, "not json"),
			want:          transportView{Op: "assign", Sent: true, Err: "undecodable answer (HTTP 200, 8 bytes): invalid character 'o' in literal null (expecting 'u')"},
			wantError:     "gong assign: undecodable answer (HTTP 200, 8 bytes): invalid character 'o' in literal null (expecting 'u')",
			wantRetryable: true,
		},
		{
			name:          "200 of the wrong shape",
			call:          listFlows(ava, ""),
			answer:        answerJSON(200, `{"flows":{"id":1}}`),
			want:          transportView{Op: "list flows", Sent: true, Err: "undecodable answer (HTTP 200, 18 bytes): json: cannot unmarshal object into Go struct field FlowsResponse.flows of type []gong.Flow"},
			wantError:     "gong list flows: undecodable answer (HTTP 200, 18 bytes): json: cannot unmarshal object into Go struct field FlowsResponse.flows of type []gong.Flow",
			wantRetryable: true,
		},
		{
			name:          "200 body over MaxBodyBytes, streamed",
			call:          req,
			answer:        streamBody(200, gong.MaxBodyBytes+1),
			want:          transportView{Op: "assign", Sent: true, Err: "answer body larger than 10485760 bytes refused"},
			wantError:     "gong assign: answer body larger than 10485760 bytes refused",
			wantRetryable: true,
		},
		{
			name:          "error body over MaxBodyBytes, streamed",
			call:          prospectsFlows("0031"),
			answer:        streamBody(500, 3*gong.MaxBodyBytes),
			want:          transportView{Op: "read-back", Sent: true, Err: "answer body larger than 10485760 bytes refused"},
			wantError:     "gong read-back: answer body larger than 10485760 bytes refused",
			wantRetryable: true,
		},
		{
			name:          "body over MaxBodyBytes with Content-Length",
			call:          req,
			answer:        answerJSON(200, bigJSON(gong.MaxBodyBytes+1)),
			want:          transportView{Op: "assign", Sent: true, Err: "answer body larger than 10485760 bytes refused"},
			wantError:     "gong assign: answer body larger than 10485760 bytes refused",
			wantRetryable: true,
		},
		{
			name: "connection dropped before an answer",
			call: req,
			answer: func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			want:          transportView{Op: "assign", Sent: true, Err: "EOF"},
			wantError:     "gong assign: EOF",
			wantRetryable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{got: make(chan captured, 1), answer: tt.answer}
			c := newClient(t, rec, basicCreds(), nil)
			got, err := tt.call(context.Background(), c)
			var te *gong.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T), want *gong.TransportError", err, err)
			}
			if diff := cmp.Diff(tt.want, viewTransport(te)); diff != "" {
				t.Errorf("TransportError (-want +got):\n%s", diff)
			}
			if got := errString(err); got != tt.wantError {
				t.Errorf("error %q, want %q", got, tt.wantError)
			}
			if got := gong.Retryable(err); got != tt.wantRetryable {
				t.Errorf("Retryable = %v, want %v", got, tt.wantRetryable)
			}
			if !isNilAnswer(got) {
				t.Errorf("answer with an error, want nil")
			}
		})
	}
}

func TestClientBodyOfExactlyMaxBodyBytes(t *testing.T) {
	const head, tail = `{"prospectsAssigned":[],"requestId":"`, `"}`
	id := strings.Repeat("x", gong.MaxBodyBytes-len(head)-len(tail))
	rec := &recorder{got: make(chan captured, 1), answer: answerJSON(200, head+id+tail)}
	c := newClient(t, rec, basicCreds(), nil)
	got, err := c.Assign(context.Background(), gong.AssignRequest{CRMProspectsIDs: []string{"0031"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava})
	if err != nil {
		t.Fatal(err)
	}
	if got.RequestID != id {
		t.Errorf("requestId of %d bytes, want %d", len(got.RequestID), len(id))
	}
}

func TestClientConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base, err := gong.ParseBaseURL("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := gong.NewClient(base, basicCreds(), &http.Client{Transport: tr}, zaptest.NewLogger(t))
	_, err = c.Assign(context.Background(), gong.AssignRequest{CRMProspectsIDs: []string{"0031"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava})
	var te *gong.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T), want *gong.TransportError", err, err)
	}
	want := transportView{Op: "assign", Sent: false, Err: "dial tcp " + addr + ": connect: connection refused"}
	if diff := cmp.Diff(want, viewTransport(te)); diff != "" {
		t.Errorf("TransportError (-want +got):\n%s", diff)
	}
	if got, want := err.Error(), "gong assign: dial tcp "+addr+": connect: connection refused"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if !gong.Retryable(err) {
		t.Errorf("Retryable(%v) = false, want true", err)
	}
}

func TestClientCanceled(t *testing.T) {
	req := gong.AssignRequest{CRMProspectsIDs: []string{"0031"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava}

	t.Run("before sending", func(t *testing.T) {
		rec := &recorder{got: make(chan captured, 1), answer: answerJSON(200, "{}")}
		c := newClient(t, rec, basicCreds(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Assign(ctx, req)
		var te *gong.TransportError
		if !errors.As(err, &te) {
			t.Fatalf("error %v (%T), want *gong.TransportError", err, err)
		}
		if diff := cmp.Diff(transportView{Op: "assign", Sent: false, Err: "context canceled"}, viewTransport(te)); diff != "" {
			t.Errorf("TransportError (-want +got):\n%s", diff)
		}
		if gong.Retryable(err) {
			t.Errorf("Retryable(%v) = true, want false", err)
		}
		select {
		case got := <-rec.got:
			t.Errorf("server saw a canceled request: %+v", got)
		default:
		}
	})

	t.Run("while the server holds the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rec := &recorder{got: make(chan captured, 1), answer: func(w http.ResponseWriter, r *http.Request) {
			cancel()
			<-r.Context().Done()
		}}
		c := newClient(t, rec, basicCreds(), nil)
		_, err := c.Assign(ctx, req)
		var te *gong.TransportError
		if !errors.As(err, &te) {
			t.Fatalf("error %v (%T), want *gong.TransportError", err, err)
		}
		if diff := cmp.Diff(transportView{Op: "assign", Sent: true, Err: "context canceled"}, viewTransport(te)); diff != "" {
			t.Errorf("TransportError (-want +got):\n%s", diff)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("errors.Is(%v, context.Canceled) = false", err)
		}
		if gong.Retryable(err) {
			t.Errorf("Retryable(%v) = true, want false", err)
		}
	})
}

// Requests that exercise every logging path of the client.
func exerciseClient(t *testing.T, creds gong.Credentials, log *zap.Logger) (body string) {
	t.Helper()
	answers := []http.HandlerFunc{
		answerJSON(200, `{"requestId":"r-1","prospectsAssigned":[],"prospectsNotAssigned":[]}`),
		answerJSON(429, `{"requestId":"r-2","errors":["limit"]}`, "Retry-After", "1"),
		answerJSON(401, `{"requestId":"r-3","errors":["bad credentials"]}`),
		answerJSON(200, `not json`),
		answerJSON(200, `{"requestId":"r-5","flows":[]}`),
	}
	var mu sync.Mutex
	i := 0
	rec := &recorder{got: make(chan captured, len(answers)), answer: func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		answer := answers[i]
		i++
		mu.Unlock()
		answer(w, r)
	}}
	c := newClient(t, rec, creds, log)
	req := gong.AssignRequest{CRMProspectsIDs: []string{"00Q5e0000PRIVATE"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava}
	ctx := context.Background()
	var errs []error
	for _, call := range []call{assign(req), assign(req), prospectsFlows("00Q5e0000PRIVATE"), assign(req), listFlows(ava, "")} {
		_, err := call(ctx, c)
		errs = append(errs, err)
	}
	for _, err := range errs {
		if l := leaked(errString(err)); l != nil {
			t.Errorf("error %q shows %q", err, l)
		}
	}
	if n := len(rec.got); n != len(answers) {
		t.Fatalf("server saw %d requests, want %d", n, len(answers))
	}
	return `{"crmProspectsIds":["00Q5e0000PRIVATE"],"flowId":"1695493301223590792","flowInstanceOwnerEmail":"ava.reyes+gong@example.com"}`
}

func entryText(e observer.LoggedEntry) string {
	return e.Message + " " + fmt.Sprint(e.ContextMap())
}

func TestClientLogsNoSecrets(t *testing.T) {
	for _, creds := range []gong.Credentials{basicCreds(), bearerCreds()} {
		t.Run(creds.Kind(), func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			body := exerciseClient(t, creds, zap.New(core))
			if logs.Len() == 0 {
				t.Fatal("no log entries at debug level: the test checks nothing")
			}
			sawBody := false
			for _, e := range logs.All() {
				text := entryText(e)
				if l := leaked(text); l != nil {
					t.Errorf("log entry %q shows %q", text, l)
				}
				sawBody = sawBody || strings.Contains(text, body)
			}
			// The debug level is where bodies go; seeing one proves the
			// observer sees what the info-level test must not.
			if !sawBody {
				t.Errorf("no debug entry holds the request body %s", body)
			}
		})
	}
}

func TestClientInfoLogsNoBodies(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	body := exerciseClient(t, basicCreds(), zap.New(core))
	for _, e := range logs.All() {
		text := entryText(e)
		for _, private := range []string{body, "00Q5e0000PRIVATE", ava} {
			if strings.Contains(text, private) {
				t.Errorf("info entry %q shows %q", text, private)
			}
		}
		if l := leaked(text); l != nil {
			t.Errorf("info entry %q shows %q", text, l)
		}
	}
}

func TestNewClientNilLogger(t *testing.T) {
	rec := &recorder{got: make(chan captured, 1), answer: answerJSON(200, `{"requestId":"r"}`)}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	base, err := gong.ParseBaseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := gong.NewClient(base, basicCreds(), srv.Client(), nil)
	got, err := c.ProspectsFlows(context.Background(), []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&gong.ProspectsFlowsResponse{RequestID: "r"}, got, cmpopts.IgnoreTypes(gong.Timing{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestAnswerTiming: assign and read-back answers carry Gong's Date header
// and the local send and receipt around it; an answer without a Date (or
// with one that does not parse) carries a zero Date.
func TestAnswerTiming(t *testing.T) {
	stamp := time.Date(2026, 12, 7, 9, 57, 3, 0, time.UTC)
	tests := []struct {
		name string
		date []string // the Date header's values; nil: none
		want time.Time
	}{
		{name: "Gong's Date", date: []string{stamp.Format(http.TimeFormat)}, want: stamp},
		{name: "no Date", date: nil},
		{name: "an unreadable Date", date: []string{"yesterday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Date"] = tt.date // nil keeps net/http from adding one
				body := `{"requestId":"r","prospectsAssigned":[]}`
				if r.URL.Path == gong.PathAssign {
					body = `{"requestId":"r","prospectsAssigned":[],"prospectsNotAssigned":[]}`
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, body)
			}))
			defer srv.Close()
			base, err := gong.ParseBaseURL(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			c := gong.NewClient(base, basicCreds(), srv.Client(), nil)
			before := time.Now()
			a, err := c.Assign(context.Background(), gong.AssignRequest{CRMProspectsIDs: []string{"1"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava})
			if err != nil {
				t.Fatal(err)
			}
			rb, err := c.ProspectsFlows(context.Background(), []string{"1"})
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			for _, tm := range []gong.Timing{a.Timing, rb.Timing} {
				if !tm.Date.Equal(tt.want) {
					t.Errorf("Date %v, want %v", tm.Date, tt.want)
				}
				if tm.Sent.Before(before) || tm.Received.Before(tm.Sent) || after.Before(tm.Received) {
					t.Errorf("sent %v, received %v: not within the call (%v to %v)", tm.Sent, tm.Received, before, after)
				}
			}
		})
	}
}
