package gong_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

func TestClientBadAnswers(t *testing.T) {
	tests := []struct {
		name               string
		call               call
		body               string
		wantError          string
		wantMayHaveApplied bool
	}{
		{name: "assign: null", call: assign(assignOne), body: `null`,
			wantError: "gong assign: answer is JSON null (HTTP 200)", wantMayHaveApplied: true},
		{name: "assign: null with spaces", call: assign(assignOne), body: " null\n",
			wantError: "gong assign: answer is JSON null (HTTP 200)", wantMayHaveApplied: true},
		{name: "assign: an array", call: assign(assignOne), body: `[]`,
			wantError: "gong assign: answer is not a JSON object (HTTP 200, 2 bytes)", wantMayHaveApplied: true},
		{name: "assign: a string", call: assign(assignOne), body: `"ok"`,
			wantError: "gong assign: answer is not a JSON object (HTTP 200, 4 bytes)", wantMayHaveApplied: true},
		{name: "assign: not JSON", call: assign(assignOne), body: `<html>OK</html>`,
			wantError: "gong assign: undecodable answer (HTTP 200, 15 bytes): invalid character '<' looking for beginning of value", wantMayHaveApplied: true},
		{name: "assign: an empty object", call: assign(assignOne), body: `{}`,
			wantError: "gong assign: answer lists neither prospectsAssigned nor prospectsNotAssigned (HTTP 200)", wantMayHaveApplied: true},
		{name: "assign: both lists null", call: assign(assignOne), body: `{"requestId":"r-7","prospectsAssigned":null,"prospectsNotAssigned":null}`,
			wantError: "gong assign: answer lists neither prospectsAssigned nor prospectsNotAssigned (HTTP 200, requestId r-7)", wantMayHaveApplied: true},
		{name: "unassign: null", call: unassign(gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: []string{"1"}}), body: `null`,
			wantError: "gong unassign: answer is JSON null (HTTP 200)", wantMayHaveApplied: true},
		{name: "read-back: null", call: prospectsFlows("0031"), body: `null`,
			wantError: "gong read-back: answer is JSON null (HTTP 200)"},
		{name: "list users: an array", call: listUsers(""), body: `[{"id":"1"}]`,
			wantError: "gong list users: answer is not a JSON object (HTTP 200, 12 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{got: make(chan captured, 1), answer: answerJSON(200, tt.body)}
			c := newClient(t, rec, basicCreds(), nil)
			got, err := tt.call(context.Background(), c)
			if got := errString(err); got != tt.wantError {
				t.Errorf("error %q, want %q", got, tt.wantError)
			}
			bad, ok := errors.AsType[*gong.BadAnswerError](err)
			if !ok {
				t.Fatalf("error %v (%T), want a *gong.BadAnswerError in it", err, err)
			}
			if bad.MayHaveApplied() != tt.wantMayHaveApplied {
				t.Errorf("MayHaveApplied = %v, want %v", bad.MayHaveApplied(), tt.wantMayHaveApplied)
			}
			// Code that knows only TransportError keeps treating it as in doubt.
			te, ok := errors.AsType[*gong.TransportError](err)
			if !ok || !te.Sent || !gong.Retryable(err) {
				t.Errorf("TransportError %+v, Retryable %v; want Sent and retryable", te, gong.Retryable(err))
			}
			if _, ok := gong.Unreachable(err); ok {
				t.Errorf("Unreachable(%v) = true", err)
			}
			if !isNilAnswer(got) {
				t.Errorf("answer %#v with an error, want nil", got)
			}
		})
	}
}

func TestUnassignRefusesBeforeSending(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strconv.Itoa(1000 + i)
		}
		return out
	}
	tests := []struct {
		name      string
		ids       []string
		wantError string
	}{
		{name: "none", ids: nil, wantError: "gong unassign: request not sent: no flow instance IDs"},
		{name: "one too many", ids: ids(gong.MaxUnassignIDs + 1), wantError: "gong unassign: request not sent: 201 flow instance IDs; at most 200 a request"},
		{name: "repeated", ids: []string{"7", "8", "7"}, wantError: "gong unassign: request not sent: flow instance ID 7 repeated; IDs must be unique"},
		{name: "empty", ids: []string{"7", ""}, wantError: "gong unassign: request not sent: an empty flow instance ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("the server got %s %s", r.Method, r.URL.Path)
			}), bearerCreds(), nil)
			got, err := c.UnassignByInstanceIDs(context.Background(), gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: tt.ids})
			if got := errString(err); got != tt.wantError {
				t.Errorf("error %q, want %q", got, tt.wantError)
			}
			if _, ok := errors.AsType[*gong.InvalidRequestError](err); !ok || gong.Retryable(err) {
				t.Errorf("error %T, Retryable %v; want *gong.InvalidRequestError, not retryable", err, gong.Retryable(err))
			}
			if got != nil {
				t.Errorf("answer %+v with an error", got)
			}
		})
	}

	t.Run("exactly the limit is sent", func(t *testing.T) {
		rec := &recorder{got: make(chan captured, 1), answer: answerJSON(200, `{"unassignedFlowInstanceIds":[]}`)}
		c := newClient(t, rec, bearerCreds(), nil)
		got, err := c.UnassignByInstanceIDs(context.Background(), gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: ids(gong.MaxUnassignIDs)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&gong.UnassignResponse{UnassignedFlowInstanceIDs: []string{}}, got); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
	})
}

func TestCheckAssignAnswer(t *testing.T) {
	const otherFlow = "1695493301223590793"
	req := gong.AssignRequest{CRMProspectsIDs: []string{"a", "b", "c"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava}
	ok := func(id string) gong.AssignedFlow {
		return gong.AssignedFlow{FlowID: flowSDR, CRMProspectID: id, FlowInstanceID: "i-" + id}
	}
	no := func(id string) gong.AssignFailure {
		return gong.AssignFailure{FlowID: flowSDR, CRMProspectID: id, ErrorCode: outcome.CodeInvalidState, ErrorMessage: "already in flow"}
	}
	tests := []struct {
		name      string
		resp      *gong.AssignResponse
		wantError string
	}{
		{name: "all accounted for", resp: &gong.AssignResponse{ProspectsAssigned: []gong.AssignedFlow{ok("a"), ok("c")}, ProspectsNotAssigned: []gong.AssignFailure{no("b")}}},
		{name: "some missing is the caller's to account for", resp: &gong.AssignResponse{ProspectsAssigned: []gong.AssignedFlow{ok("a")}}},
		{name: "no flowId in the answer", resp: &gong.AssignResponse{ProspectsNotAssigned: []gong.AssignFailure{{CRMProspectID: "a", ErrorCode: outcome.CodeUnexpectedError}}}},
		{
			name:      "another flow in prospectsAssigned",
			resp:      &gong.AssignResponse{ProspectsAssigned: []gong.AssignedFlow{ok("a"), {FlowID: otherFlow, CRMProspectID: "b"}}},
			wantError: `gong assign: the answer names flow "1695493301223590793" for "b" in prospectsAssigned; flow "1695493301223590792" was sent`,
		},
		{
			name:      "another flow in prospectsNotAssigned",
			resp:      &gong.AssignResponse{ProspectsNotAssigned: []gong.AssignFailure{{FlowID: otherFlow, CRMProspectID: "c"}}},
			wantError: `gong assign: the answer names flow "1695493301223590793" for "c" in prospectsNotAssigned; flow "1695493301223590792" was sent`,
		},
		{
			name:      "an ID in both lists",
			resp:      &gong.AssignResponse{ProspectsAssigned: []gong.AssignedFlow{ok("a"), ok("b")}, ProspectsNotAssigned: []gong.AssignFailure{no("c"), no("b")}},
			wantError: `gong assign: the answer lists "b" both in prospectsAssigned and in prospectsNotAssigned`,
		},
		{
			name:      "an ID never sent, assigned",
			resp:      &gong.AssignResponse{ProspectsAssigned: []gong.AssignedFlow{ok("a"), ok("z")}},
			wantError: `gong assign: the answer lists "z" in prospectsAssigned, an ID that was not sent`,
		},
		{
			name:      "an ID never sent, not assigned",
			resp:      &gong.AssignResponse{ProspectsNotAssigned: []gong.AssignFailure{no("A")}},
			wantError: `gong assign: the answer lists "A" in prospectsNotAssigned, an ID that was not sent`,
		},
		{name: "no answer", resp: nil, wantError: "gong assign: no answer to check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errString(gong.CheckAssignAnswer(req, tt.resp)); got != tt.wantError {
				t.Errorf("error %q, want %q", got, tt.wantError)
			}
		})
	}
}
