package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

func TestReadBack(t *testing.T) {
	e := newEnv(t, Config{Fixture: withExisting()})
	c := e.client(t, basic())
	ctx := context.Background()
	res, err := c.Assign(ctx, gong.AssignRequest{FlowID: flowDemo, FlowInstanceOwnerEmail: dan, CRMProspectsIDs: []string{"003OLD", "003NEW"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ProspectsAssigned) != 2 {
		t.Fatalf("assign: %+v", res)
	}
	old := gong.AssignedFlow(e.srv.Instances()[0].AssignedFlow) // 003OLD in SDR, from the fixture
	done := gong.AssignedFlow(e.srv.Instances()[2].AssignedFlow)
	newOld, newNew := res.ProspectsAssigned[0], res.ProspectsAssigned[1]

	tests := []struct {
		name string
		ids  []string
		want []gong.AssignedFlow
	}{
		{"one prospect in two flows, in creation order", []string{"003OLD"}, []gong.AssignedFlow{old, newOld}},
		{"request order", []string{"003NEW", "003OLD"}, []gong.AssignedFlow{newNew, old, newOld}},
		{"finished instances are not open", []string{"003DONE"}, []gong.AssignedFlow{}},
		{"unknown ID", []string{"003NOBODY"}, []gong.AssignedFlow{}},
		{"malformed ID is just unknown", []string{"not a crm id"}, []gong.AssignedFlow{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ProspectsFlows(ctx, tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			checkRequestID(t, got.RequestID)
			if diff := cmp.Diff(tt.want, got.ProspectsAssigned); diff != "" {
				t.Errorf("prospectsAssigned (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("by instance ID, finished included", func(t *testing.T) {
		a := e.do(t, http.MethodPost, gong.PathProspectsFlows,
			`{"flowInstanceIds": ["`+newNew.FlowInstanceID+`", "`+done.FlowInstanceID+`", "1"]}`, nil)
		if a.Status != http.StatusOK {
			t.Fatalf("status %d: %s", a.Status, a.Body)
		}
		var got gong.ProspectsFlowsResponse
		if err := json.Unmarshal(a.Body, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]gong.AssignedFlow{newNew, done}, got.ProspectsAssigned); diff != "" {
			t.Errorf("prospectsAssigned (-want +got):\n%s", diff)
		}
	})
}

func TestReadBackValidation(t *testing.T) {
	e := newEnv(t, Config{})
	t.Run("client with no IDs", func(t *testing.T) {
		_, err := e.client(t, basic()).ProspectsFlows(context.Background(), nil)
		want := &apiErr{Status: http.StatusBadRequest, Errors: []string{"crmProspectsIds or flowInstanceIds is required"}}
		if diff := cmp.Diff(want, asAPIErr(t, err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	tests := []struct {
		name, body string
		want       []string
	}{
		{"neither", `{}`, []string{"crmProspectsIds or flowInstanceIds is required"}},
		{"both empty", `{"crmProspectsIds": []}`, []string{"crmProspectsIds or flowInstanceIds is required"}},
		{"null", `{"crmProspectsIds": ["003A"], "flowInstanceIds": null}`, []string{"flowInstanceIds must not be null"}},
		{"both", `{"crmProspectsIds": ["003A"], "flowInstanceIds": ["1"]}`, []string{"give crmProspectsIds or flowInstanceIds, not both"}},
		{"repeated CRM ID", `{"crmProspectsIds": ["003A", "003A"]}`, []string{`crmProspectsIds must not repeat an ID: "003A" appears more than once`}},
		{"repeated instance ID", `{"flowInstanceIds": ["1", "1"]}`, []string{`flowInstanceIds must not repeat an ID: "1" appears more than once`}},
		{"not strings", `{"crmProspectsIds": [1]}`, []string{"crmProspectsIds[0] must be a string"}},
		{"not an array", `{"flowInstanceIds": "1"}`, []string{"flowInstanceIds must be an array of strings"}},
		{"malformed", `{"crmProspectsIds": [`, []string{"malformed JSON body: unexpected end of JSON input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(t, http.MethodPost, gong.PathProspectsFlows, tt.body, nil)
			got := &apiErr{Status: a.Status, Errors: errorBody(t, a).Errors}
			if diff := cmp.Diff(&apiErr{Status: http.StatusBadRequest, Errors: tt.want}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
