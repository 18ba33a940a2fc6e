package worker

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// usersClient answers GET /v2/users from pages, keyed by cursor; the
// other calls of Client are not made by a listing.
type usersClient struct {
	Client
	pages map[string]gong.UsersResponse
}

func (c usersClient) ListUsers(_ context.Context, cursor string) (*gong.UsersResponse, error) {
	p := c.pages[cursor]
	return &p, nil
}

func user(id, first, last, email string, active bool) gong.User {
	return gong.User{ID: id, FirstName: first, LastName: last, EmailAddress: email, Active: active}
}

// The owner picker lists users as a run's directory does (flows.ListAllUsers):
// each user once, the active ones with an email, sorted by name; a listing
// that does not reach its end (a cursor repeated, pages short of Gong's
// total) is no list at all, since the owner wanted may be on a page not read.
func TestUsersListing(t *testing.T) {
	ann, bo := user("1", "Ann", "Lee", "ann@example.com", true), user("2", "Bo", "Dahl", "bo@example.com", true)
	gone, noMail := user("3", "Cy", "Old", "cy@example.com", false), user("4", "Di", "Nomail", "", true)
	for _, tc := range []struct {
		name    string
		pages   map[string]gong.UsersResponse
		want    []Person
		wantErr string
	}{
		{"two pages, a user on both", map[string]gong.UsersResponse{
			"":   {Records: gong.Records{TotalRecords: 4, Cursor: "p2"}, Users: []gong.User{bo, gone}},
			"p2": {Records: gong.Records{TotalRecords: 4}, Users: []gong.User{ann, noMail, bo}},
		}, []Person{{Name: "Ann Lee", Email: "ann@example.com"}, {Name: "Bo Dahl", Email: "bo@example.com"}}, ""},
		{"the cursor repeats", map[string]gong.UsersResponse{
			"":   {Records: gong.Records{TotalRecords: 9, Cursor: "p2"}, Users: []gong.User{ann}},
			"p2": {Records: gong.Records{TotalRecords: 9, Cursor: "p2"}, Users: []gong.User{bo}},
		}, nil, "Gong's list of users did not end; try again later."},
		{"an empty page short of the total", map[string]gong.UsersResponse{
			"":   {Records: gong.Records{TotalRecords: 9, Cursor: "p2"}, Users: []gong.User{ann}},
			"p2": {Records: gong.Records{TotalRecords: 9, Cursor: "p3"}},
		}, nil, "Gong's list of users did not end; try again later."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &EnrollPipeline{Client: usersClient{pages: tc.pages}}
			got, err := p.Users(context.Background())
			var ue *UnavailableError
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (!errors.As(err, &ue) || ue.Msg != tc.wantErr):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got.Items); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
			if got.Requests != int64(len(tc.pages)) {
				t.Errorf("%d requests, want %d", got.Requests, len(tc.pages))
			}
		})
	}
}
