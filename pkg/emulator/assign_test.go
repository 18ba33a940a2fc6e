package emulator

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// ids returns n distinct well-formed CRM IDs.
func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("003X%012d", i)
	}
	return out
}

func TestAssignValidation(t *testing.T) {
	valid := func(mod func(*gong.AssignRequest)) *gong.AssignRequest {
		r := gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003A", "003B"}}
		mod(&r)
		return &r
	}
	tests := []struct {
		name string
		req  *gong.AssignRequest // sent by the client, or
		raw  string              // sent as is
		want []string
	}{
		{name: "missing flowId", req: valid(func(r *gong.AssignRequest) { r.FlowID = "" }),
			want: []string{`flowId must be a string of digits, got ""`}},
		{name: "flowId not digits", req: valid(func(r *gong.AssignRequest) { r.FlowID = "SDR Outbound Q3" }),
			want: []string{`flowId must be a string of digits, got "SDR Outbound Q3"`}},
		{name: "flowId with spaces", req: valid(func(r *gong.AssignRequest) { r.FlowID = " " + flowSDR }),
			want: []string{`flowId must be a string of digits, got " 1695493301223590792"`}},
		{name: "missing owner", req: valid(func(r *gong.AssignRequest) { r.FlowInstanceOwnerEmail = "" }),
			want: []string{"flowInstanceOwnerEmail is required"}},
		{name: "nil ID list", req: valid(func(r *gong.AssignRequest) { r.CRMProspectsIDs = nil }),
			want: []string{"crmProspectsIds is required"}},
		{name: "empty ID list", req: valid(func(r *gong.AssignRequest) { r.CRMProspectsIDs = []string{} }),
			want: []string{"crmProspectsIds must not be empty"}},
		{name: "too many IDs", req: valid(func(r *gong.AssignRequest) { r.CRMProspectsIDs = ids(4) }),
			want: []string{"crmProspectsIds has 4 IDs; at most 3 are allowed in one request"}},
		{name: "repeated ID", req: valid(func(r *gong.AssignRequest) { r.CRMProspectsIDs = []string{"003A", "003B", "003A"} }),
			want: []string{`crmProspectsIds must not repeat an ID: "003A" appears more than once`}},
		{name: "empty-string ID", req: valid(func(r *gong.AssignRequest) { r.CRMProspectsIDs = []string{"003A", ""} }),
			want: []string{"crmProspectsIds[1] is empty"}},
		{name: "every problem at once", req: &gong.AssignRequest{FlowID: "x", CRMProspectsIDs: []string{"", "", "a", "b"}},
			want: []string{
				`flowId must be a string of digits, got "x"`,
				"flowInstanceOwnerEmail is required",
				"crmProspectsIds has 4 IDs; at most 3 are allowed in one request",
				"crmProspectsIds[0] is empty",
				"crmProspectsIds[1] is empty",
				`crmProspectsIds must not repeat an ID: "" appears more than once`,
			}},
		{name: "malformed JSON", raw: `{"flowId": "1",`,
			want: []string{"malformed JSON body: unexpected end of JSON input"}},
		{name: "empty body", raw: ``,
			want: []string{"malformed JSON body: unexpected end of JSON input"}},
		{name: "trailing data", raw: `{"flowId":"1","flowInstanceOwnerEmail":"a","crmProspectsIds":["a"]} {}`,
			want: []string{"malformed JSON body: invalid character '{' after top-level value"}},
		{name: "not an object", raw: `["003A"]`,
			want: []string{"the request body must be a JSON object"}},
		{name: "null", raw: `null`,
			want: []string{"the request body must be a JSON object"}},
		{name: "flowId as number", raw: `{"flowId": 1695493301223590792, "flowInstanceOwnerEmail": "ava.reyes@example.com", "crmProspectsIds": ["003A"]}`,
			want: []string{"flowId must be a JSON string of digits, not a number: a 19-digit ID does not survive a float"}},
		{name: "flowId as bool", raw: `{"flowId": true, "flowInstanceOwnerEmail": "ava.reyes@example.com", "crmProspectsIds": ["003A"]}`,
			want: []string{"flowId must be a string"}},
		{name: "flowId null", raw: `{"flowId": null, "flowInstanceOwnerEmail": "ava.reyes@example.com", "crmProspectsIds": ["003A"]}`,
			want: []string{"flowId is required"}},
		{name: "all missing", raw: `{}`,
			want: []string{"flowId is required", "flowInstanceOwnerEmail is required", "crmProspectsIds is required"}},
		{name: "owner not a string", raw: `{"flowId": "1", "flowInstanceOwnerEmail": 7, "crmProspectsIds": ["003A"]}`,
			want: []string{"flowInstanceOwnerEmail must be a string"}},
		{name: "IDs not an array", raw: `{"flowId": "1", "flowInstanceOwnerEmail": "a@b", "crmProspectsIds": "003A,003B"}`,
			want: []string{"crmProspectsIds must be an array of strings"}},
		{name: "ID a number", raw: `{"flowId": "1", "flowInstanceOwnerEmail": "a@b", "crmProspectsIds": ["003A", 3]}`,
			want: []string{"crmProspectsIds[1] must be a string"}},
		{name: "description not a string", raw: `{"flowId": "1", "flowInstanceOwnerEmail": "a@b", "crmProspectsIds": ["003A"], "flowInstanceDescription": 1}`,
			want: []string{"flowInstanceDescription must be a string"}},
		{name: "description null", raw: `{"flowId": "1", "flowInstanceOwnerEmail": "a@b", "crmProspectsIds": ["003A"], "flowInstanceDescription": null, "overrides": null}`,
			want: []string{"flowInstanceDescription must be a string", "overrides must be an object"}},
		{name: "overrides not an object", raw: `{"flowId": "1", "flowInstanceOwnerEmail": "a@b", "crmProspectsIds": ["003A"], "overrides": []}`,
			want: []string{"overrides must be an object"}},
		{name: "body over 1 MiB", raw: `{"flowId": "1", "flowInstanceOwnerEmail": "a@b", "crmProspectsIds": ["` + strings.Repeat("a", MaxBodyBytes) + `"]}`,
			want: []string{"request body larger than 1048576 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{MaxIDs: 3})
			var got *apiErr
			if tt.req != nil {
				_, err := e.client(t, basic()).Assign(context.Background(), *tt.req)
				got = asAPIErr(t, err)
			} else {
				a := e.do(t, http.MethodPost, gong.PathAssign, tt.raw, nil)
				got = &apiErr{Status: a.Status, Errors: errorBody(t, a).Errors}
			}
			want := &apiErr{Status: http.StatusBadRequest, Errors: tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if n := len(e.srv.Created()); n != 0 {
				t.Errorf("%d instances created by a refused request", n)
			}
		})
	}
}

func TestAssignAcceptsUnknownAndOptionalFields(t *testing.T) {
	e := newEnv(t, Config{})
	a := e.do(t, http.MethodPost, gong.PathAssign, `{"flowId": "`+flowSDR+`", "flowInstanceOwnerEmail": "`+ava+`",
		"crmProspectsIds": ["003A"], "flowInstanceDescription": "Q3 push", "overrides": {"coolOffOverride": false}, "futureField": 1}`, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("status %d: %s", a.Status, a.Body)
	}
}

func TestAssignMaxIDsDefault(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(t, basic())
	res, err := c.Assign(context.Background(), gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: ids(200)})
	if err != nil {
		t.Fatalf("200 IDs: %v", err)
	}
	if len(res.ProspectsAssigned) != 200 {
		t.Errorf("%d assigned, want 200", len(res.ProspectsAssigned))
	}
	_, err = c.Assign(context.Background(), gong.AssignRequest{FlowID: flowDemo, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: ids(201)})
	want := &apiErr{Status: http.StatusBadRequest, Errors: []string{"crmProspectsIds has 201 IDs; at most 200 are allowed in one request"}}
	if diff := cmp.Diff(want, asAPIErr(t, err)); diff != "" {
		t.Errorf("201 IDs (-want +got):\n%s", diff)
	}
}

func TestAssignFlowAndOwner(t *testing.T) {
	notFound := func(id string) *apiErr {
		return &apiErr{Status: http.StatusNotFound, Errors: []string{"flow " + id + " not found"}}
	}
	tests := []struct {
		name  string
		cfg   Config
		flow  string
		owner string
		raw   string // body instead of flow and owner
		want  *apiErr
	}{
		{name: "company flow", flow: flowSDR, owner: dan},
		{name: "unknown flow", flow: "1234567890123456789", owner: ava, want: notFound("1234567890123456789")},
		{name: "own personal flow", flow: flowBenWeb, owner: ben},
		{name: "owner email in other case", flow: flowBenWeb, owner: "Ben.Okafor@Example.com"},
		{name: "someone else's personal flow", flow: flowBenWeb, owner: ava, want: notFound(flowBenWeb)},
		{name: "shared flow, owner", flow: flowRenewal, owner: chloe},
		{name: "shared flow, shared with", flow: flowRenewal, owner: ava},
		{name: "shared flow, not shared with", flow: flowRenewal, owner: dan, want: notFound(flowRenewal)},
		{name: "unknown owner refuses the request", flow: flowSDR, owner: "nobody@example.com",
			want: &apiErr{Status: http.StatusBadRequest, Errors: []string{"nobody@example.com is not a Gong user"}}},
		{name: "unknown flow before unknown owner", flow: "42", owner: "nobody@example.com", want: notFound("42")},
		{name: "numeric flowId, lossy", cfg: Config{NumericFlowID: NumericFlowIDLossy},
			raw:  `{"flowId": 1695493301223590792, "flowInstanceOwnerEmail": "ava.reyes@example.com", "crmProspectsIds": ["003A"]}`,
			want: notFound("1695493301223590912")},
		{name: "numeric flowId, lossy, negative", cfg: Config{NumericFlowID: NumericFlowIDLossy},
			raw: `{"flowId": -1, "flowInstanceOwnerEmail": "ava.reyes@example.com", "crmProspectsIds": ["003A"]}`,
			want: &apiErr{Status: http.StatusBadRequest,
				Errors: []string{"flowId must be a JSON string of digits, not a number: a 19-digit ID does not survive a float"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			var got *apiErr
			if tt.raw != "" {
				a := e.do(t, http.MethodPost, gong.PathAssign, tt.raw, nil)
				got = &apiErr{Status: a.Status, Errors: errorBody(t, a).Errors}
			} else {
				res, err := e.client(t, basic()).Assign(context.Background(),
					gong.AssignRequest{FlowID: tt.flow, FlowInstanceOwnerEmail: tt.owner, CRMProspectsIDs: []string{"003A"}})
				got = asAPIErr(t, err)
				if err == nil && (len(res.ProspectsAssigned) != 1 || res.ProspectsAssigned[0].FlowInstanceOwnerEmail != tt.owner) {
					t.Errorf("answer %+v, want one instance owned by %s as spelled", res, tt.owner)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssignUnknownOwnerPerProspect(t *testing.T) {
	e := newEnv(t, Config{UnknownOwner: UnknownOwnerProspect})
	res, err := e.client(t, basic()).Assign(context.Background(), gong.AssignRequest{
		FlowID: flowSDR, FlowInstanceOwnerEmail: "nobody@example.com", CRMProspectsIDs: []string{"003A", "bad id"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &gong.AssignResponse{
		ProspectsAssigned: []gong.AssignedFlow{},
		ProspectsNotAssigned: []gong.AssignFailure{
			{FlowID: flowSDR, CRMProspectID: "003A", ErrorCode: CodeInvalidArgument, ErrorMessage: "nobody@example.com is not a Gong user"},
			{FlowID: flowSDR, CRMProspectID: "bad id", ErrorCode: CodeInvalidArgument, ErrorMessage: "Invalid crmId bad id"},
		},
	}
	if diff := cmp.Diff(want, res, ignoreGenerated()); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}

// withExisting is the default fixture with three instances open or
// finished before the run.
func withExisting() Fixture {
	f := DefaultFixture()
	f.Existing = []AssignedFlow{
		{FlowID: flowSDR, CRMProspectID: "003OLD", FlowInstanceID: "5000000000000000001",
			FlowInstanceOwnerEmail: ben, FlowInstanceCreateDate: "2026-01-05T09:00:00.000Z"},
		{FlowID: flowExclusive, CRMProspectID: "00QEXCL", FlowInstanceOwnerEmail: ava,
			FlowInstanceCreateDate: "2026-02-01T10:30:00.000Z", FlowInstanceStatus: StatusPaused},
		{FlowID: flowSDR, CRMProspectID: "003DONE", FlowInstanceID: "5000000000000000003",
			FlowInstanceOwnerEmail: ben, FlowInstanceCreateDate: "2025-11-05T09:00:00.000Z", FlowInstanceStatus: StatusFinished},
	}
	return f
}

func TestAssignPerProspect(t *testing.T) {
	e := newEnv(t, Config{Fixture: withExisting()})
	c := e.client(t, basic())
	ctx := context.Background()
	const created = "2026-03-10T12:00:00.250Z"
	inst := func(flow, name, crm, owner, ownerName string, exclusive bool) gong.AssignedFlow {
		return gong.AssignedFlow{FlowID: flow, FlowName: name, CRMProspectID: crm, FlowInstanceOwnerEmail: owner,
			FlowInstanceOwnerFullName: ownerName, FlowInstanceCreateDate: created, FlowInstanceStatus: StatusRunning,
			WorkspaceID: workspace, Exclusive: exclusive}
	}
	fail := func(flow, crm, code, msg string) gong.AssignFailure {
		return gong.AssignFailure{FlowID: flow, CRMProspectID: crm, ErrorCode: code, ErrorMessage: msg}
	}
	steps := []struct {
		name string
		req  gong.AssignRequest
		want *gong.AssignResponse
	}{
		{
			name: "mixed batch into a company flow",
			req: gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava,
				CRMProspectsIDs: []string{"003NEW1", "not-a-crm-id", "003OLD", "00QEXCL", "003DONE"}},
			want: &gong.AssignResponse{
				ProspectsAssigned: []gong.AssignedFlow{
					inst(flowSDR, "SDR Outbound Q3", "003NEW1", ava, "Ava Reyes", false),
					inst(flowSDR, "SDR Outbound Q3", "003DONE", ava, "Ava Reyes", false),
				},
				ProspectsNotAssigned: []gong.AssignFailure{
					fail(flowSDR, "not-a-crm-id", CodeInvalidArgument, "Invalid crmId not-a-crm-id"),
					fail(flowSDR, "003OLD", CodeInvalidState, "Prospect 003OLD is already in flow "+flowSDR),
					fail(flowSDR, "00QEXCL", CodeInvalidState, "Prospect 00QEXCL is in exclusive flow "+flowExclusive+" (Enterprise Nurture (exclusive))"),
				},
			},
		},
		{
			name: "into the exclusive flow",
			req: gong.AssignRequest{FlowID: flowExclusive, FlowInstanceOwnerEmail: ben,
				CRMProspectsIDs: []string{"003NEW1", "003NEW2", "00QEXCL"}},
			want: &gong.AssignResponse{
				ProspectsAssigned: []gong.AssignedFlow{
					inst(flowExclusive, "Enterprise Nurture (exclusive)", "003NEW2", ben, "Ben Okafor", true),
				},
				ProspectsNotAssigned: []gong.AssignFailure{
					fail(flowExclusive, "003NEW1", CodeInvalidState, "Prospect 003NEW1 is in flow "+flowSDR+
						" (SDR Outbound Q3) and cannot join exclusive flow "+flowExclusive+" (Enterprise Nurture (exclusive))"),
					fail(flowExclusive, "00QEXCL", CodeInvalidState, "Prospect 00QEXCL is already in flow "+flowExclusive),
				},
			},
		},
		{
			name: "a prospect may be in two plain flows",
			req: gong.AssignRequest{FlowID: flowWebinar, FlowInstanceOwnerEmail: chloe,
				CRMProspectsIDs: []string{"003NEW1", "003NEW2"}},
			want: &gong.AssignResponse{
				ProspectsAssigned: []gong.AssignedFlow{
					inst(flowWebinar, "Webinar Follow-up", "003NEW1", chloe, "Chloé Martin", false),
				},
				ProspectsNotAssigned: []gong.AssignFailure{
					fail(flowWebinar, "003NEW2", CodeInvalidState, "Prospect 003NEW2 is in exclusive flow "+flowExclusive+" (Enterprise Nurture (exclusive))"),
				},
			},
		},
		{
			name: "the same request again assigns nobody",
			req: gong.AssignRequest{FlowID: flowWebinar, FlowInstanceOwnerEmail: chloe,
				CRMProspectsIDs: []string{"003NEW1"}},
			want: &gong.AssignResponse{
				ProspectsAssigned: []gong.AssignedFlow{},
				ProspectsNotAssigned: []gong.AssignFailure{
					fail(flowWebinar, "003NEW1", CodeInvalidState, "Prospect 003NEW1 is already in flow "+flowWebinar),
				},
			},
		},
	}
	var assigned []gong.AssignedFlow
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res, err := c.Assign(ctx, st.req)
			if err != nil {
				t.Fatal(err)
			}
			checkRequestID(t, res.RequestID)
			if diff := cmp.Diff(st.want, res, ignoreGenerated()); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			for _, in := range res.ProspectsAssigned {
				if len(in.FlowInstanceID) != 19 || !allDigits(in.FlowInstanceID) {
					t.Errorf("flowInstanceId %q is not 19 digits", in.FlowInstanceID)
				}
			}
			assigned = append(assigned, res.ProspectsAssigned...)
		})
	}

	// Created is exactly what the answers reported, in order, IDs included.
	if diff := cmp.Diff(assigned, asGong(e.srv.Created())); diff != "" {
		t.Errorf("Created (-answers +Created):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, in := range e.srv.Instances() {
		if seen[in.FlowInstanceID] {
			t.Errorf("flowInstanceId %s used twice", in.FlowInstanceID)
		}
		seen[in.FlowInstanceID] = true
	}
	if st := e.srv.Stats(); st.Created != 4 || st.Assign != 4 || st.Requests != 4 {
		t.Errorf("Stats %+v, want 4 requests, 4 assigns, 4 created", st)
	}
}

// TestAssignConcurrent runs under -race: many clients at once, distinct
// prospects, and one prospect raced into one flow by all of them.
func TestAssignConcurrent(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(t, basic())
	const workers, perWorker = 8, 5
	var wg sync.WaitGroup
	won := make([]int, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				_, err := c.Assign(context.Background(), gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava,
					CRMProspectsIDs: []string{fmt.Sprintf("003W%dI%d", w, i)}})
				if err != nil {
					t.Error(err)
				}
			}
			res, err := c.Assign(context.Background(), gong.AssignRequest{FlowID: flowDemo, FlowInstanceOwnerEmail: ava,
				CRMProspectsIDs: []string{"003CONTESTED"}})
			if err != nil {
				t.Error(err)
				return
			}
			won[w] = len(res.ProspectsAssigned)
		})
	}
	wg.Wait()
	total := 0
	for _, n := range won {
		total += n
	}
	if total != 1 {
		t.Errorf("the contested prospect was assigned %d times, want once", total)
	}
	if n := len(e.srv.Created()); n != workers*perWorker+1 {
		t.Errorf("%d created, want %d", n, workers*perWorker+1)
	}
}
