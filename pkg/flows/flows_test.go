package flows

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

var catalogue = []gong.Flow{
	{ID: "11", Name: "SDR Outbound Q3", FolderName: "Outbound", Visibility: "Company"},
	{ID: "12", Name: "Webinar Follow-up", FolderName: "Inbound", Visibility: "Company"},
	{ID: "13", Name: "webinar follow-up ", FolderName: "Mine", Visibility: "Personal"},
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name, want, wantID, code, msg string
	}{
		{name: "exact", want: "SDR Outbound Q3", wantID: "11"},
		{name: "case and spaces", want: "  sdr OUTBOUND q3 ", wantID: "11"},
		{name: "ambiguous", want: "Webinar Follow-up", code: outcome.CodeFlowNameAmbiguous,
			msg: `2 flows named "Webinar Follow-up" are visible to ava@example.com: 12 (folder "Inbound", Company); 13 (folder "Mine", Personal); give the flowId instead`},
		{name: "not found, similar", want: "SDR Outbound", code: outcome.CodeFlowNameNotFound,
			msg: `no flow named "SDR Outbound" is visible to ava@example.com; similar: "SDR Outbound Q3" (11)`},
		{name: "not found", want: "Renewals", code: outcome.CodeFlowNameNotFound,
			msg: `no flow named "Renewals" is visible to ava@example.com`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, code, msg := Resolve(catalogue, tc.want, "ava@example.com")
			if diff := cmp.Diff([3]string{tc.wantID, tc.code, tc.msg}, [3]string{id, code, msg}); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCatalogPagesOncePerOwner(t *testing.T) {
	var calls []string
	c := NewCatalog(func(_ context.Context, owner, cursor string) (*gong.FlowsResponse, error) {
		calls = append(calls, owner+"@"+cursor)
		i := 0
		if cursor != "" {
			fmt.Sscan(cursor, &i)
		}
		resp := &gong.FlowsResponse{Flows: catalogue[i : i+1]}
		if i+1 < len(catalogue) {
			resp.Records.Cursor = fmt.Sprint(i + 1)
		}
		return resp, nil
	})
	for range 3 {
		got, err := c.Flows(context.Background(), "Ava@Example.com ")
		if err != nil || len(got) != 3 {
			t.Fatalf("Flows = %v, %v; want the 3 flows", got, err)
		}
	}
	if diff := cmp.Diff([]string{"Ava@Example.com @", "Ava@Example.com @1", "Ava@Example.com @2"}, calls); diff != "" {
		t.Errorf("listing calls (-want +got):\n%s", diff)
	}
	if !Visible(catalogue, "13") || Visible(catalogue, "99") {
		t.Error("Visible is wrong")
	}
}

func TestCatalogUnavailableAfter403(t *testing.T) {
	n := 0
	c := NewCatalog(func(context.Context, string, string) (*gong.FlowsResponse, error) {
		n++
		return nil, &gong.APIError{Op: "list flows", StatusCode: 403}
	})
	for _, owner := range []string{"a@example.com", "b@example.com"} {
		if _, err := c.Flows(context.Background(), owner); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: err %v, want ErrUnavailable", owner, err)
		}
	}
	if n != 1 {
		t.Errorf("%d listing calls, want 1: after a 403 the listing is not tried again", n)
	}
}

func TestCatalogDoesNotCacheOtherErrors(t *testing.T) {
	n := 0
	c := NewCatalog(func(context.Context, string, string) (*gong.FlowsResponse, error) {
		n++
		if n == 1 {
			return nil, errors.New("connection reset")
		}
		return &gong.FlowsResponse{Flows: catalogue}, nil
	})
	if _, err := c.Flows(context.Background(), "a@example.com"); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("first: err %v, want the transport error", err)
	}
	if got, err := c.Flows(context.Background(), "a@example.com"); err != nil || len(got) != 3 {
		t.Errorf("second: %v, %v; want the flows", got, err)
	}
}
