package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// wireFlows is DefaultFixture's flows as GET /v2/flows shows them, by ID.
func wireFlows() map[string]gong.Flow {
	out := map[string]gong.Flow{}
	for _, f := range DefaultFixture().Flows {
		out[f.ID] = gong.Flow{ID: f.ID, Name: f.Name, FolderID: f.FolderID, FolderName: f.FolderName,
			Visibility: f.Visibility, CreationDate: f.CreationDate, Exclusive: f.Exclusive}
	}
	return out
}

func flowsOf(ids ...string) []gong.Flow {
	all := wireFlows()
	out := []gong.Flow{}
	for _, id := range ids {
		out = append(out, all[id])
	}
	return out
}

func TestListFlowsPaging(t *testing.T) {
	e := newEnv(t, Config{PageSize: 2})
	c := e.client(t, basic())
	ctx := context.Background()

	var got []gong.FlowsResponse
	cursor := ""
	for page := 0; ; page++ {
		if page == 5 {
			t.Fatal("paging does not end")
		}
		res, err := c.ListFlows(ctx, ava, cursor)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		checkRequestID(t, res.RequestID)
		got = append(got, *res)
		if res.Records.Cursor == "" {
			break
		}
		cursor = res.Records.Cursor
	}
	// The cursors are opaque: take them from what came back.
	want := []gong.FlowsResponse{
		{Records: gong.Records{TotalRecords: 5, CurrentPageSize: 2, CurrentPageNumber: 0, Cursor: got[0].Records.Cursor},
			Flows: flowsOf(flowSDR, flowExclusive)},
		{Records: gong.Records{TotalRecords: 5, CurrentPageSize: 2, CurrentPageNumber: 1, Cursor: got[1].Records.Cursor},
			Flows: flowsOf(flowWebinar, flowRenewal)},
		{Records: gong.Records{TotalRecords: 5, CurrentPageSize: 1, CurrentPageNumber: 2},
			Flows: flowsOf(flowDemo)},
	}
	if diff := cmp.Diff(want, got, ignoreGenerated()); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if got[0].Records.Cursor == "" || got[0].Records.Cursor == got[1].Records.Cursor {
		t.Errorf("cursors %q and %q: want two distinct ones", got[0].Records.Cursor, got[1].Records.Cursor)
	}

	t.Run("cursor of another owner", func(t *testing.T) {
		_, err := c.ListFlows(ctx, dan, got[0].Records.Cursor)
		want := &apiErr{Status: http.StatusBadRequest, Errors: []string{"invalid cursor"}}
		if diff := cmp.Diff(want, asAPIErr(t, err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestListFlowsVisibility(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(t, basic())
	bad := func(msg string) *apiErr { return &apiErr{Status: http.StatusBadRequest, Errors: []string{msg}} }
	tests := []struct {
		name, owner, cursor string
		want                []gong.Flow
		wantErr             *apiErr
	}{
		{name: "shared with", owner: ava, want: flowsOf(flowSDR, flowExclusive, flowWebinar, flowRenewal, flowDemo)},
		{name: "personal flow sharing a company flow's name", owner: ben,
			want: flowsOf(flowSDR, flowExclusive, flowWebinar, flowBenWeb, flowDemo)},
		{name: "sharer", owner: chloe, want: flowsOf(flowSDR, flowExclusive, flowWebinar, flowRenewal, flowDemo)},
		{name: "company only", owner: dan, want: flowsOf(flowSDR, flowExclusive, flowWebinar, flowDemo)},
		{name: "email case", owner: "DAN.Kowalski@example.com", want: flowsOf(flowSDR, flowExclusive, flowWebinar, flowDemo)},
		{name: "missing owner", owner: "", wantErr: bad("flowOwnerEmail is required")},
		{name: "unknown owner", owner: "nobody@example.com", wantErr: bad("nobody@example.com is not a Gong user")},
		{name: "garbage cursor", owner: ava, cursor: "not-a-cursor", wantErr: bad("invalid cursor")},
		{name: "cursor past the end", owner: ava, cursor: makeCursor(5, fingerprint(ava, "", "", false)), wantErr: bad("invalid cursor")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.ListFlows(context.Background(), tt.owner, tt.cursor)
			if diff := cmp.Diff(tt.wantErr, asAPIErr(t, err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			want := &gong.FlowsResponse{
				Records: gong.Records{TotalRecords: len(tt.want), CurrentPageSize: len(tt.want)},
				Flows:   tt.want,
			}
			if diff := cmp.Diff(want, res, ignoreGenerated()); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListFlowsFilters(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(t, basic())
	for _, flow := range []string{flowSDR, flowBenWeb, flowDemo, flowSDR} {
		// The last one is refused (already in flow) and so assigns nothing.
		if _, err := c.Assign(context.Background(), gong.AssignRequest{FlowID: flow, FlowInstanceOwnerEmail: ben,
			CRMProspectsIDs: []string{"003A"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Assign(context.Background(), gong.AssignRequest{FlowID: flowWebinar, FlowInstanceOwnerEmail: ava,
		CRMProspectsIDs: []string{"003B"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		query   url.Values
		status  int
		want    []gong.Flow
		wantErr []string
	}{
		{name: "folder", query: url.Values{"flowOwnerEmail": {ben}, "folderId": {"1702318845120345117"}},
			want: flowsOf(flowWebinar, flowBenWeb, flowDemo)},
		{name: "workspace", query: url.Values{"flowOwnerEmail": {dan}, "workspaceId": {workspace}},
			want: flowsOf(flowSDR, flowExclusive, flowWebinar, flowDemo)},
		{name: "other workspace", query: url.Values{"flowOwnerEmail": {dan}, "workspaceId": {"1"}},
			want: flowsOf()},
		{name: "most recently assigned, newest first", query: url.Values{"flowOwnerEmail": {ben}, "mostRecentlyAssigned": {"true"}},
			want: flowsOf(flowDemo, flowBenWeb, flowSDR)},
		{name: "most recently assigned false", query: url.Values{"flowOwnerEmail": {dan}, "mostRecentlyAssigned": {"false"}},
			want: flowsOf(flowSDR, flowExclusive, flowWebinar, flowDemo)},
		{name: "most recently assigned not a bool", query: url.Values{"flowOwnerEmail": {dan}, "mostRecentlyAssigned": {"yes"}},
			wantErr: []string{`mostRecentlyAssigned must be true or false, got "yes"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(t, http.MethodGet, gong.PathFlows+"?"+tt.query.Encode(), "", nil)
			if tt.wantErr != nil {
				got := &apiErr{Status: a.Status, Errors: errorBody(t, a).Errors}
				if diff := cmp.Diff(&apiErr{Status: http.StatusBadRequest, Errors: tt.wantErr}, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			var got gong.FlowsResponse
			if err := json.Unmarshal(a.Body, &got); err != nil || a.Status != http.StatusOK {
				t.Fatalf("status %d, body %s, %v", a.Status, a.Body, err)
			}
			if diff := cmp.Diff(tt.want, got.Flows); diff != "" {
				t.Errorf("flows (-want +got):\n%s", diff)
			}
		})
	}
}
