package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

func TestResolveSuggestions(t *testing.T) {
	flows := []gong.Flow{
		{ID: "1", Name: "Inbound Demo Request"},
		{ID: "2", Name: "Inbound Demo Requests EMEA"},
		{ID: "3", Name: "Outbound Q3"},
		{ID: "4", Name: "Inbound Demo Follow-up"},
		{ID: "5", Name: "Renewals"},
		{ID: "1", Name: "Inbound Demo Request"}, // listed twice
	}
	for _, tc := range []struct{ name, want, code, msg string }{
		{name: "a typo", want: "Inbound Demo Reqest", code: outcome.CodeFlowNameNotFound,
			msg: `no flow named "Inbound Demo Reqest" is visible to ava@example.com; similar: "Inbound Demo Request" (1)`},
		{name: "a swap", want: "Renewlas", code: outcome.CodeFlowNameNotFound,
			msg: `no flow named "Renewlas" is visible to ava@example.com; similar: "Renewals" (5)`},
		{name: "case and a part", want: "inbound demo", code: outcome.CodeFlowNameNotFound,
			msg: `no flow named "inbound demo" is visible to ava@example.com; similar: "Inbound Demo Request" (1), "Inbound Demo Follow-up" (4), "Inbound Demo Requests EMEA" (2)`},
		{name: "nothing near", want: "Webinar", code: outcome.CodeFlowNameNotFound,
			msg: `no flow named "Webinar" is visible to ava@example.com`},
		{name: "listed twice is not ambiguous", want: "Inbound Demo Request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, code, msg := Resolve(flows, tc.want, "ava@example.com")
			wantID := ""
			if tc.code == "" {
				wantID = "1"
			}
			if diff := cmp.Diff([3]string{wantID, tc.code, tc.msg}, [3]string{id, code, msg}); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
}

// pager serves pages of flows from a script: cursor -> page.
func pager(pages map[string]*gong.FlowsResponse, calls *int) ListPage {
	return func(_ context.Context, _, cursor string) (*gong.FlowsResponse, error) {
		*calls++
		p, ok := pages[cursor]
		if !ok {
			return nil, fmt.Errorf("no page %q", cursor)
		}
		return p, nil
	}
}

func page(cursor string, total int, ids ...string) *gong.FlowsResponse {
	p := &gong.FlowsResponse{Records: gong.Records{Cursor: cursor, TotalRecords: total}}
	for _, id := range ids {
		p.Flows = append(p.Flows, gong.Flow{ID: id, Name: "Flow " + id})
	}
	return p
}

func TestCatalogListingIsBounded(t *testing.T) {
	tests := []struct {
		name           string
		pages          map[string]*gong.FlowsResponse
		wantIDs        []string
		wantCalls      int
		wantIncomplete string
	}{
		{
			name:      "stops at totalRecords even with a cursor",
			pages:     map[string]*gong.FlowsResponse{"": page("a", 3, "1", "2"), "a": page("b", 3, "3")},
			wantIDs:   []string{"1", "2", "3"},
			wantCalls: 2,
		},
		{
			name:      "stops at an empty page",
			pages:     map[string]*gong.FlowsResponse{"": page("a", 0, "1"), "a": page("b", 0)},
			wantIDs:   []string{"1"},
			wantCalls: 2,
		},
		{
			name:      "the last page has no cursor, whatever the total",
			pages:     map[string]*gong.FlowsResponse{"": page("a", 5, "1"), "a": page("", 5, "2")},
			wantIDs:   []string{"1", "2"},
			wantCalls: 2,
		},
		{
			name:           "an empty page short of the total is incomplete",
			pages:          map[string]*gong.FlowsResponse{"": page("a", 3, "1"), "a": page("b", 3)},
			wantIDs:        []string{"1"},
			wantCalls:      2,
			wantIncomplete: "an empty page with a cursor after 1 of the 3 records Gong counts",
		},
		{
			name:           "stops at a cursor seen before, flows kept once, incomplete",
			pages:          map[string]*gong.FlowsResponse{"": page("a", 0, "1"), "a": page("b", 0, "2", "1"), "b": page("a", 0, "3")},
			wantIDs:        []string{"1", "2", "3"},
			wantCalls:      3,
			wantIncomplete: "the cursor repeated after 3 records",
		},
		{
			name:           "the first page again and again (Modes.RepeatCursor)",
			pages:          map[string]*gong.FlowsResponse{"": page("a", 4, "1", "2"), "a": page("a", 4, "1", "2")},
			wantIDs:        []string{"1", "2"},
			wantCalls:      2,
			wantIncomplete: "the cursor repeated after 2 records of the 4 Gong counts",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			got, err := NewCatalog(pager(tt.pages, &calls)).List(context.Background(), "a@example.com")
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, f := range got.Flows {
				ids = append(ids, f.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("flows (-want +got):\n%s", diff)
			}
			if got.Incomplete != tt.wantIncomplete {
				t.Errorf("incomplete %q, want %q", got.Incomplete, tt.wantIncomplete)
			}
			if calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
		})
	}
	t.Run("a cursor that never ends stops at the cap, incomplete", func(t *testing.T) {
		calls := 0
		c := NewCatalog(func(_ context.Context, _, cursor string) (*gong.FlowsResponse, error) {
			calls++
			return page(fmt.Sprint(calls), 0, fmt.Sprint(calls)), nil
		})
		got, err := c.List(context.Background(), "a@example.com")
		want := "still not at the end after 50 pages (50 flows)"
		if err != nil || got.Incomplete != want || len(got.Flows) != MaxPagesPerOwner {
			t.Errorf("List = %d flows, incomplete %q, %v; want 50 flows, %q", len(got.Flows), got.Incomplete, err, want)
		}
		if calls != MaxPagesPerOwner {
			t.Errorf("%d calls, want %d", calls, MaxPagesPerOwner)
		}
	})
}

func users() []User {
	return []User{
		{ID: "1", EmailAddress: "zoe.durand@example.com", EmailAliases: []string{"zoe@example.fr"}, FirstName: "Zoë", LastName: "Durand", Active: true},
		{ID: "2", EmailAddress: "john.smith@example.com", FirstName: "John", LastName: "Smith", Active: true},
		{ID: "3", EmailAddress: "j.smith@example.com", FirstName: "john", LastName: "SMITH", Active: true},
		{ID: "4", EmailAddress: "old.lee@example.com", FirstName: "Ann", LastName: "Lee", Active: false},
		{ID: "5", EmailAddress: "ann.lee@example.com", FirstName: "Ann", LastName: "Leigh", Active: true},
	}
}

func TestDirectory(t *testing.T) {
	calls := 0
	all := users()
	d := NewDirectory(func(_ context.Context, cursor string) (UserPage, error) {
		calls++
		if cursor == "" {
			return UserPage{Users: all[:3], Cursor: "p2", TotalRecords: 5}, nil
		}
		return UserPage{Users: all[3:], TotalRecords: 5}, nil
	})
	tests := []struct{ owner, email, code, msg string }{
		{owner: "Zoe Durand", email: "zoe.durand@example.com"},
		{owner: "  ZOË   durand ", email: "zoe.durand@example.com"},
		{owner: "Durand, Zoé", email: "zoe.durand@example.com"},
		{owner: "zoe@EXAMPLE.fr", email: "zoe.durand@example.com"},
		{owner: "john.smith@example.com", email: "john.smith@example.com"},
		{owner: "John Smith", code: outcome.CodeOwnerAmbiguous,
			msg: `2 active Gong users are called "John Smith": John Smith <john.smith@example.com>, john SMITH <j.smith@example.com>; give the owner's email instead`},
		{owner: "Ann Lee", code: outcome.CodeOwnerNotFound,
			msg: `the Gong user called "Ann Lee" is not active: Ann Lee <old.lee@example.com>; give an active owner`},
		{owner: "Zoe Durant", code: outcome.CodeOwnerNotFound,
			msg: `no Gong user is called "Zoe Durant"; similar: Zoë Durand <zoe.durand@example.com>`},
		{owner: "Nobody Here", code: outcome.CodeOwnerNotFound, msg: `no Gong user is called "Nobody Here"`},
		{owner: "nobody@example.com", code: outcome.CodeOwnerNotFound, msg: `no Gong user has the email address or alias "nobody@example.com"`},
		{owner: "old.lee@example.com", code: outcome.CodeOwnerNotFound,
			msg: `the Gong user with "old.lee@example.com" is not active: Ann Lee <old.lee@example.com>; give an active owner`},
	}
	for _, tt := range tests {
		t.Run(tt.owner, func(t *testing.T) {
			email, code, msg, err := d.Resolve(context.Background(), tt.owner)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([3]string{tt.email, tt.code, tt.msg}, [3]string{email, code, msg}); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
	if calls != 2 {
		t.Errorf("%d listing calls, want 2: the users are listed once", calls)
	}
}

func TestDirectoryListingErrors(t *testing.T) {
	n := 0
	d := NewDirectory(func(context.Context, string) (UserPage, error) {
		if n++; n == 1 {
			return UserPage{}, errors.New("connection reset")
		}
		return UserPage{Users: users()}, nil
	})
	if _, _, _, err := d.Resolve(context.Background(), "Zoe Durand"); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("first: %v, want the listing error", err)
	}
	if email, _, _, err := d.Resolve(context.Background(), "Zoe Durand"); err != nil || email != "zoe.durand@example.com" {
		t.Errorf("second: %q, %v", email, err)
	}

	pages := 0
	endless := NewDirectory(func(_ context.Context, cursor string) (UserPage, error) {
		pages++
		return UserPage{Users: []User{{ID: fmt.Sprint(pages)}}, Cursor: fmt.Sprint(pages)}, nil
	})
	if _, _, _, err := endless.Resolve(context.Background(), "x"); !errors.Is(err, ErrListingIncomplete) || pages != MaxUserPages {
		t.Errorf("endless listing: %v after %d pages; want ErrListingIncomplete after %d", err, pages, MaxUserPages)
	}
}

// TestDirectoryIncomplete: a user listing that ended early answers only
// what the users read settle.
func TestDirectoryIncomplete(t *testing.T) {
	all := users()
	d := NewDirectory(func(_ context.Context, cursor string) (UserPage, error) {
		return UserPage{Users: all[:3], Cursor: "p2", TotalRecords: 9}, nil // the same page for ever
	})
	tests := []struct {
		owner, email, code string
		incomplete         bool
	}{
		{owner: "zoe@example.fr", email: "zoe.durand@example.com"},
		{owner: "john.smith@example.com", email: "john.smith@example.com"},
		{owner: "John Smith", code: outcome.CodeOwnerAmbiguous},
		{owner: "Zoe Durand", incomplete: true}, // another Zoë Durand may be on page 2
		{owner: "Ann Leigh", incomplete: true},  // on page 2
		{owner: "ann.lee@example.com", incomplete: true},
	}
	for _, tt := range tests {
		t.Run(tt.owner, func(t *testing.T) {
			email, code, _, err := d.Resolve(context.Background(), tt.owner)
			if got := errors.Is(err, ErrListingIncomplete); got != tt.incomplete || (err != nil && !got) {
				t.Fatalf("err %v; want incomplete %v", err, tt.incomplete)
			}
			if email != tt.email || code != tt.code {
				t.Errorf("Resolve = %q, %q; want %q, %q", email, code, tt.email, tt.code)
			}
		})
	}
}
