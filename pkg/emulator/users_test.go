package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// userView is a user as a client reads GET /v2/users (UserMetadata).
type userView struct {
	ID           string   `json:"id"`
	EmailAddress string   `json:"emailAddress"`
	EmailAliases []string `json:"emailAliases"`
	FirstName    string   `json:"firstName"`
	LastName     string   `json:"lastName"`
	Active       bool     `json:"active"`
}

type usersView struct {
	RequestID string `json:"requestId"`
	Records   struct {
		TotalRecords      int    `json:"totalRecords"`
		CurrentPageSize   int    `json:"currentPageSize"`
		CurrentPageNumber int    `json:"currentPageNumber"`
		Cursor            string `json:"cursor"`
	} `json:"records"`
	Users []userView `json:"users"`
}

func TestListUsers(t *testing.T) {
	e := newEnv(t, Config{UserPageSize: 3})
	var got []userView
	var pages []int
	cursor := ""
	for page := 0; ; page++ {
		if page == 5 {
			t.Fatal("paging does not end")
		}
		path := PathUsers
		if cursor != "" {
			path += "?cursor=" + url.QueryEscape(cursor)
		}
		a := e.do(t, http.MethodGet, path, "", nil)
		if a.Status != http.StatusOK {
			t.Fatalf("page %d: status %d: %s", page, a.Status, a.Body)
		}
		var res usersView
		if err := json.Unmarshal(a.Body, &res); err != nil {
			t.Fatal(err)
		}
		checkRequestID(t, res.RequestID)
		if res.Records.TotalRecords != 7 || res.Records.CurrentPageNumber != page || res.Records.CurrentPageSize != len(res.Users) {
			t.Errorf("page %d: records %+v", page, res.Records)
		}
		got = append(got, res.Users...)
		pages = append(pages, len(res.Users))
		if cursor = res.Records.Cursor; cursor == "" {
			break
		}
	}
	want := []userView{
		{ID: "234599484848423", EmailAddress: ava, EmailAliases: []string{"ava@example.com"}, FirstName: "Ava", LastName: "Reyes", Active: true},
		{ID: "234599484848431", EmailAddress: ben, EmailAliases: []string{}, FirstName: "Ben", LastName: "Okafor", Active: true},
		{ID: "234599484848447", EmailAddress: chloe, EmailAliases: []string{}, FirstName: "Chloé", LastName: "Martin", Active: true},
		{ID: "234599484848452", EmailAddress: dan, EmailAliases: []string{}, FirstName: "Dan", LastName: "Kowalski", Active: true},
		{ID: "234599484848468", EmailAddress: "zoe.muller@example.com", EmailAliases: []string{}, FirstName: "Zoë", LastName: "Müller", Active: true},
		{ID: "234599484848475", EmailAddress: "zoe.mueller@example.com", EmailAliases: []string{}, FirstName: "Zoë", LastName: "Müller", Active: true},
		{ID: "234599484848483", EmailAddress: "elodie.durand@example.com", EmailAliases: []string{}, FirstName: "Élodie", LastName: "Durand"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{3, 3, 1}, pages); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if n := e.srv.Stats().ListUsers; n != 3 {
		t.Errorf("Stats.ListUsers %d, want 3", n)
	}

	errs := []struct {
		name, path string
		hdr        map[string]string
		status     int
		want       []string
	}{
		{"bad cursor", PathUsers + "?cursor=nonsense", nil, http.StatusBadRequest, []string{"invalid cursor"}},
		{"flows cursor", PathUsers + "?cursor=" + makeCursor(3, fingerprint(ava, "", "", false)), nil,
			http.StatusBadRequest, []string{"invalid cursor"}},
		{"includeAvatars not a boolean", PathUsers + "?includeAvatars=maybe", nil, http.StatusBadRequest,
			[]string{`includeAvatars must be true or false, got "maybe"`}},
		// The spec lists 403 ("Access denied") for users, and no 401.
		{"wrong credentials", PathUsers, map[string]string{"Authorization": basicHeader("k", "wrong")},
			http.StatusForbidden, []string{msgBadBasic}},
		{"no credentials", PathUsers, map[string]string{"Authorization": ""}, http.StatusForbidden, []string{msgNoAuth}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(t, http.MethodGet, tt.path, "", tt.hdr)
			if a.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.Status, tt.status, a.Body)
			}
			if diff := cmp.Diff(tt.want, errorBody(t, a).Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListUsersScope(t *testing.T) {
	e := newEnv(t, Config{BearerTokens: map[string][]string{
		"flows": {ScopeFlowsRead, ScopeFlowsWrite}, "users": {ScopeUsersRead}}})
	for _, tt := range []struct {
		token  string
		status int
	}{{"users", http.StatusOK}, {"flows", http.StatusForbidden}} {
		a := e.do(t, http.MethodGet, PathUsers+"?includeAvatars=true", "", map[string]string{"Authorization": "Bearer " + tt.token})
		if a.Status != tt.status {
			t.Errorf("token %s: status %d, want %d: %s", tt.token, a.Status, tt.status, a.Body)
		}
	}
}

func TestUserFixture(t *testing.T) {
	tests := []struct {
		name string
		in   User
		want User
	}{
		{"names from the full name", User{Email: "a@x", FullName: "María José López", ID: "1"},
			User{Email: "a@x", FullName: "María José López", FirstName: "María", LastName: "José López", ID: "1"}},
		{"full name from the names", User{Email: "a@x", FirstName: "Zoë", LastName: "Müller", ID: "1"},
			User{Email: "a@x", FullName: "Zoë Müller", FirstName: "Zoë", LastName: "Müller", ID: "1"}},
		{"an ID from the email", User{Email: "A@X", FullName: "A B"},
			User{Email: "A@X", FullName: "A B", FirstName: "A", LastName: "B", ID: User{Email: "a@x"}.complete().ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.complete()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if len(got.ID) > 20 || !allDigits(got.ID) {
				t.Errorf("ID %q is not up to 20 digits", got.ID)
			}
		})
	}
	f := DefaultFixture()
	f.Users = append(f.Users,
		User{Email: "x@example.com", FullName: "X", EmailAliases: []string{"ava@example.com"}},
		User{Email: "y@example.com", ID: "234599484848423"})
	want := "users[7]: alias \"ava@example.com\" is not an email address, or not unique\n" +
		"users[8]: no name\nusers[8]: id \"234599484848423\" is not a string of digits, or not unique"
	if err := f.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate: %v\nwant:\n%s", err, want)
	}
}
