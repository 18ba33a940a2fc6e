package screen

import (
	"context"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/flows"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// TestIncompleteListing: with listings that end before their last page
// (the same page and cursor for ever), only what the pages read settle is
// decided; everything else is left ListingIncomplete, never failed.
func TestIncompleteListing(t *testing.T) {
	repeat := func(context.Context, string, string) (*gong.FlowsResponse, error) {
		return &gong.FlowsResponse{Records: gong.Records{Cursor: "c", TotalRecords: 9}, Flows: []gong.Flow{
			{ID: "11", Name: "Outbound"}, {ID: "12", Name: "Twice"}, {ID: "13", Name: "twice"}}}, nil
	}
	users := func(context.Context, string) (flows.UserPage, error) {
		return flows.UserPage{Cursor: "c", TotalRecords: 9, Users: []flows.User{
			{ID: "1", EmailAddress: "ava@example.com", FirstName: "Ava", LastName: "Reyes", Active: true}}}, nil
	}
	s := New(Config{Name: "in.csv", Preflight: true, Catalog: flows.NewCatalog(repeat), Directory: flows.NewDirectory(users)})
	for _, tc := range []struct {
		name string
		p    input.Prospect
		want string // "" sent, else outcome kind:code
	}{
		{"flow on the pages read", input.Prospect{FlowID: "11", OwnerEmail: "ava@example.com"}, ""},
		{"flow not on them", input.Prospect{FlowID: "99", OwnerEmail: "ava@example.com"}, "unprocessed:" + outcome.ReasonListingIncomplete},
		{"name not on them", input.Prospect{FlowName: "Renewals", OwnerEmail: "ava@example.com"}, "unprocessed:" + outcome.ReasonListingIncomplete},
		{"name found once", input.Prospect{FlowName: "Outbound", OwnerEmail: "ava@example.com"}, "unprocessed:" + outcome.ReasonListingIncomplete},
		{"name found twice", input.Prospect{FlowName: "Twice", OwnerEmail: "ava@example.com"}, "failed:" + outcome.CodeFlowNameAmbiguous},
		{"owner name found once", input.Prospect{FlowID: "11", OwnerName: "Ava Reyes"}, "unprocessed:" + outcome.ReasonListingIncomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.CRMProspectID = "003" + tc.name
			_, o := s.Check(context.Background(), tc.p, nil)
			got := ""
			if o != nil {
				got = o.Kind.String() + ":" + o.Code + o.Reason
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
