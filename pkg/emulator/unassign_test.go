package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// unassigned decodes a 200 answer of either unassign endpoint.
func unassigned(t *testing.T, a rawAnswer) []string {
	t.Helper()
	if a.Status != http.StatusOK {
		t.Fatalf("status %d: %s", a.Status, a.Body)
	}
	var res struct {
		RequestID string   `json:"requestId"`
		IDs       []string `json:"unassignedFlowInstanceIds"`
	}
	if err := json.Unmarshal(a.Body, &res); err != nil {
		t.Fatal(err)
	}
	checkRequestID(t, res.RequestID)
	return res.IDs
}

// keys names instances by prospect and flow.
func keys(ins []Instance) []string {
	out := []string{}
	for _, in := range ins {
		out = append(out, in.CRMProspectID+"@"+in.FlowID)
	}
	return out
}

func TestUnassignByInstanceID(t *testing.T) {
	e := newEnv(t, Config{Fixture: withExisting()})
	c := e.client(t, basic())
	ctx := context.Background()
	res, err := c.Assign(ctx, gong.AssignRequest{FlowID: flowDemo, FlowInstanceOwnerEmail: dan, CRMProspectsIDs: []string{"003NEW"}})
	if err != nil || len(res.ProspectsAssigned) != 1 {
		t.Fatalf("assign: %+v, %v", res, err)
	}
	newID := res.ProspectsAssigned[0].FlowInstanceID
	const old, done = "5000000000000000001", "5000000000000000003" // 003OLD open, 003DONE Finished

	body := fmt.Sprintf(`{"flowInstanceIds": [%q, %q, "9999999999999999999", %q], "unassignedByUserEmail": %q}`, done, newID, old, ava)
	got := unassigned(t, e.do(t, http.MethodPost, PathUnassignByInstance, body, nil))
	if diff := cmp.Diff([]string{newID, old}, got); diff != "" {
		t.Errorf("unassignedFlowInstanceIds: the finished and the unknown one left out (-want +got):\n%s", diff)
	}
	want := []string{"00QEXCL@" + flowExclusive, "003DONE@" + flowSDR}
	if diff := cmp.Diff(want, keys(e.srv.Instances())); diff != "" {
		t.Errorf("instances held (-want +got):\n%s", diff)
	}
	if n := len(e.srv.Created()); n != 1 {
		t.Errorf("Created has %d, want the 1 instance assign created", n)
	}

	// Read-back no longer lists them, by CRM ID or by instance ID.
	rb, err := c.ProspectsFlows(ctx, []string{"003OLD", "003NEW", "003DONE"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.ProspectsAssigned) != 0 {
		t.Errorf("read-back by CRM ID: %+v, want none", rb.ProspectsAssigned)
	}
	a := e.do(t, http.MethodPost, PathProspectsFlows, fmt.Sprintf(`{"flowInstanceIds": [%q, %q]}`, old, done), nil)
	var byInst gong.ProspectsFlowsResponse
	if err := json.Unmarshal(a.Body, &byInst); err != nil || len(byInst.ProspectsAssigned) != 1 || byInst.ProspectsAssigned[0].FlowInstanceID != done {
		t.Errorf("read-back by instance ID: %s, want only the finished instance", a.Body)
	}

	// The same again removes nothing; assign may put them back.
	if got := unassigned(t, e.do(t, http.MethodPost, PathUnassignByInstance, fmt.Sprintf(`{"flowInstanceIds": [%q]}`, old), nil)); len(got) != 0 {
		t.Errorf("second unassign: %q, want none", got)
	}
	res, err = c.Assign(ctx, gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ben, CRMProspectsIDs: []string{"003OLD"}})
	if err != nil || len(res.ProspectsAssigned) != 1 {
		t.Errorf("assign after unassign: %+v, %v, want 003OLD assigned again", res, err)
	}
	if st := e.srv.Stats(); st.Unassigned != 2 || st.Unassign != 2 {
		t.Errorf("Stats: Unassigned %d, Unassign %d, want 2 and 2", st.Unassigned, st.Unassign)
	}
}

func TestUnassignByCRMID(t *testing.T) {
	fixture := func() Fixture {
		f := withExisting()
		f.Existing = append(f.Existing,
			AssignedFlow{FlowID: flowWebinar, CRMProspectID: "003OLD", FlowInstanceID: "5000000000000000011", FlowInstanceOwnerEmail: ava},
			AssignedFlow{FlowID: flowDemo, CRMProspectID: "003OLD", FlowInstanceID: "5000000000000000012", FlowInstanceOwnerEmail: ava,
				FlowInstanceStatus: StatusFinishedNoReply})
		return f
	}
	tests := []struct {
		name   string
		modes  Modes
		body   string
		want   []string
		remain []string
	}{
		{name: "every open flow", body: `{"crmProspectId": "003OLD"}`,
			want:   []string{"5000000000000000001", "5000000000000000011"},
			remain: []string{"00QEXCL@" + flowExclusive, "003DONE@" + flowSDR, "003OLD@" + flowDemo}},
		{name: "one flow", body: `{"crmProspectId": "003OLD", "flowId": "` + flowWebinar + `", "unassignedByUserEmail": "` + ava + `"}`,
			want:   []string{"5000000000000000011"},
			remain: []string{"003OLD@" + flowSDR, "00QEXCL@" + flowExclusive, "003DONE@" + flowSDR, "003OLD@" + flowDemo}},
		{name: "answering flow IDs", modes: Modes{UnassignByCRMIDAnswer: UnassignAnswersFlowIDs}, body: `{"crmProspectId": "003OLD"}`,
			want:   []string{flowSDR, flowWebinar},
			remain: []string{"00QEXCL@" + flowExclusive, "003DONE@" + flowSDR, "003OLD@" + flowDemo}},
		{name: "a finished instance stays", body: `{"crmProspectId": "003DONE"}`, want: []string{},
			remain: []string{"003OLD@" + flowSDR, "00QEXCL@" + flowExclusive, "003DONE@" + flowSDR, "003OLD@" + flowWebinar, "003OLD@" + flowDemo}},
		{name: "unknown flow", body: `{"crmProspectId": "003OLD", "flowId": "1"}`, want: []string{},
			remain: []string{"003OLD@" + flowSDR, "00QEXCL@" + flowExclusive, "003DONE@" + flowSDR, "003OLD@" + flowWebinar, "003OLD@" + flowDemo}},
		{name: "unknown prospect", body: `{"crmProspectId": "003NOBODY"}`, want: []string{},
			remain: []string{"003OLD@" + flowSDR, "00QEXCL@" + flowExclusive, "003DONE@" + flowSDR, "003OLD@" + flowWebinar, "003OLD@" + flowDemo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{Fixture: fixture(), Modes: tt.modes})
			got := unassigned(t, e.do(t, http.MethodPost, PathUnassignByCRMID, tt.body, nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("unassignedFlowInstanceIds (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.remain, keys(e.srv.Instances())); diff != "" {
				t.Errorf("instances held (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnassignValidation(t *testing.T) {
	many := make([]string, MaxUnassignIDs+1)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprint(5000000000000000000+i))
	}
	tests := []struct {
		name, path, body string
		hdr              map[string]string
		status           int
		want             []string
	}{
		{"no IDs", PathUnassignByInstance, `{}`, nil, 400, []string{"flowInstanceIds is required"}},
		{"empty IDs", PathUnassignByInstance, `{"flowInstanceIds": []}`, nil, 400, []string{"flowInstanceIds must not be empty"}},
		{"too many IDs", PathUnassignByInstance, `{"flowInstanceIds": [` + strings.Join(many, ",") + `]}`, nil, 400,
			[]string{"flowInstanceIds has 201 IDs; at most 200 are allowed in one request"}},
		{"repeated ID", PathUnassignByInstance, `{"flowInstanceIds": ["1", "1"]}`, nil, 400,
			[]string{`flowInstanceIds must not repeat an ID: "1" appears more than once`}},
		{"numbers", PathUnassignByInstance, `{"flowInstanceIds": [1]}`, nil, 400, []string{"flowInstanceIds[0] must be a string"}},
		{"not a Gong user", PathUnassignByInstance, `{"flowInstanceIds": ["1"], "unassignedByUserEmail": "nobody@example.com"}`, nil, 400,
			[]string{"nobody@example.com is not a Gong user"}},
		{"by CRM ID without one", PathUnassignByCRMID, `{"flowId": "1"}`, nil, 400, []string{"crmProspectId is required"}},
		{"by CRM ID, null", PathUnassignByCRMID, `{"crmProspectId": null, "unassignedByUserEmail": null}`, nil, 400,
			[]string{"crmProspectId must not be null", "unassignedByUserEmail must not be null"}},
		{"by CRM ID, empty", PathUnassignByCRMID, `{"crmProspectId": ""}`, nil, 400, []string{"crmProspectId is required"}},
		{"by CRM ID, bad flow", PathUnassignByCRMID, `{"crmProspectId": "003A", "flowId": "SDR", "unassignedByUserEmail": 7}`, nil, 400,
			[]string{`flowId must be a string of digits, got "SDR"`, "unassignedByUserEmail must be a string"}},
		{"malformed", PathUnassignByCRMID, `{"crmProspectId": `, nil, 400, []string{"malformed JSON body: unexpected end of JSON input"}},
		// The spec lists 401 for unassign, and no 403: a token without
		// the write scope is refused with 401.
		{"read scope only", PathUnassignByInstance, `{"flowInstanceIds": ["1"]}`, map[string]string{"Authorization": "Bearer reader"}, 401,
			[]string{"the bearer token lacks the scope " + ScopeFlowsWrite}},
	}
	e := newEnv(t, Config{AccessKey: testKey, AccessKeySecret: testSecret,
		BearerTokens: map[string][]string{"reader": {ScopeFlowsRead}}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(t, http.MethodPost, tt.path, tt.body, tt.hdr)
			if a.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.Status, tt.status, a.Body)
			}
			if diff := cmp.Diff(tt.want, errorBody(t, a).Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	if n := e.srv.Stats().Unassigned; n != 0 {
		t.Errorf("Stats.Unassigned %d, want 0", n)
	}
}
