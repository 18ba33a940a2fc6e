// Package flows knows which Engage flows each owner can see, through GET
// /v2/flows: it resolves flow names to IDs and checks, before a request is
// spent, that a (flow, owner) pair exists. Each owner's flows are listed once
// per run, following the cursor through every page.
package flows

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/similar"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// ListPage reads one page of an owner's flows; cursor is "" for the first.
type ListPage func(ctx context.Context, owner, cursor string) (*gong.FlowsResponse, error)

// MaxPagesPerOwner bounds the pages of one owner's listing: a cursor that
// never ends (a server that keeps answering) must not hold a run forever.
// At 100 flows a page it is 5,000 flows, far past any real company.
const MaxPagesPerOwner = 50

// ErrListingIncomplete means a listing ended before its last page: the
// cursor repeated, the page cap was reached, or the pages ran out short of
// the total Gong gave. What it holds is true, but what it lacks is
// unknown: a flow or user missing from it may be on a page not read.
var ErrListingIncomplete = errors.New("listing incomplete")

// ErrUnavailable means the listing cannot be used at all (Gong answered 403
// or 404 to it: a token without api:flows:read, say).
var ErrUnavailable = errors.New("flow listing unavailable")

// Catalog caches each owner's visible flows. It is safe for concurrent use.
type Catalog struct {
	list ListPage

	mu          sync.Mutex
	byOwner     map[string]Listing
	unavailable error // set once the listing is known not to work
}

// Listing is one owner's flows as listed: Incomplete says why the listing
// ended before its last page ("" when it reached it).
type Listing struct {
	Flows      []gong.Flow
	Incomplete string
}

// NewCatalog returns a catalog that lists through list.
func NewCatalog(list ListPage) *Catalog {
	return &Catalog{list: list, byOwner: map[string]Listing{}}
}

// Flows returns the flows owner can see: for a listing that ended early
// (see List), those it read. It returns an error wrapping ErrUnavailable
// once Gong has refused the listing with 403 or 404, and the listing's own
// error (a stop, a budget) otherwise; a failed listing is not cached.
func (c *Catalog) Flows(ctx context.Context, owner string) ([]gong.Flow, error) {
	l, err := c.List(ctx, owner)
	return l.Flows, err
}

// List is Flows that also says whether the listing reached its end. An
// incomplete listing is cached like a complete one: listing again in the
// same run would meet the same cursor.
func (c *Catalog) List(ctx context.Context, owner string) (Listing, error) {
	key := strings.ToLower(strings.TrimSpace(owner))
	c.mu.Lock()
	defer c.mu.Unlock() // one listing at a time: they share the request budget anyway
	if c.unavailable != nil {
		return Listing{}, c.unavailable
	}
	if l, ok := c.byOwner[key]; ok {
		return l, nil
	}
	l, err := c.listAll(ctx, owner)
	if err != nil {
		return Listing{}, err
	}
	c.byOwner[key] = l
	return l, nil
}

// listAll follows the cursor through an owner's pages; a flow listed on two
// pages is kept once. It ends complete at the last page (no cursor), once
// it has totalRecords flows, or at an empty page when Gong gives no total;
// it ends incomplete at a cursor seen before, at an empty page short of the
// total, or at the page cap.
func (c *Catalog) listAll(ctx context.Context, owner string) (Listing, error) {
	var all []gong.Flow
	ids := map[string]bool{}
	seen := map[string]bool{"": true}
	cursor := ""
	for pages := 1; ; pages++ {
		if pages > MaxPagesPerOwner {
			return Listing{Flows: all, Incomplete: fmt.Sprintf("still not at the end after %d pages (%d flows)", MaxPagesPerOwner, len(all))}, nil
		}
		page, err := c.list(ctx, owner, cursor)
		if err != nil {
			if s := gong.StatusOf(err); s == http.StatusForbidden || s == http.StatusNotFound {
				c.unavailable = fmt.Errorf("%w: %v", ErrUnavailable, err)
				return Listing{}, c.unavailable
			}
			return Listing{}, err
		}
		for _, f := range page.Flows {
			if !ids[f.ID] {
				ids[f.ID] = true
				all = append(all, f)
			}
		}
		if why := pageEnd(len(page.Flows), len(all), page.Records.TotalRecords, page.Records.Cursor, seen); why != "more" {
			return Listing{Flows: all, Incomplete: why}, nil
		}
		seen[page.Records.Cursor] = true
		cursor = page.Records.Cursor
	}
}

// pageEnd decides after one page of a listing: "more" to read the next
// page, "" when the listing is complete, or why it ended incomplete. n is
// the page's items, have those kept so far, total what Gong says it holds
// (0: not given), next the page's cursor and seen the cursors followed.
func pageEnd(n, have, total int, next string, seen map[string]bool) string {
	switch {
	case next == "", total > 0 && have >= total:
		return ""
	case n == 0 && total == 0:
		return "" // an empty page and no total: nothing says more exists
	case n == 0:
		return fmt.Sprintf("an empty page with a cursor after %d of the %d records Gong counts", have, total)
	case seen[next]:
		return fmt.Sprintf("the cursor repeated after %d records%s", have, ofTotal(total))
	}
	return "more"
}

func ofTotal(total int) string {
	if total == 0 {
		return ""
	}
	return fmt.Sprintf(" of the %d Gong counts", total)
}

// Visible reports whether flowID is among flows.
func Visible(flows []gong.Flow, flowID string) bool {
	for _, f := range flows {
		if f.ID == flowID {
			return true
		}
	}
	return false
}

// Resolve finds the one flow called name (case and surrounding spaces
// ignored). It returns the flow's ID, or a code and message naming the
// candidates.
func Resolve(flows []gong.Flow, name, owner string) (id, code, msg string) {
	want := strings.ToLower(strings.TrimSpace(name))
	var hits []gong.Flow
	for _, f := range flows {
		// A flow listed twice is one flow, not two of the same name.
		if strings.ToLower(strings.TrimSpace(f.Name)) == want && !slices.ContainsFunc(hits, func(h gong.Flow) bool { return h.ID == f.ID }) {
			hits = append(hits, f)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0].ID, "", ""
	case 0:
		return "", outcome.CodeFlowNameNotFound, fmt.Sprintf("no flow named %q is visible to %s%s", name, owner, suggest(flows, want))
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].ID < hits[j].ID })
	var c []string
	for _, f := range hits {
		c = append(c, fmt.Sprintf("%s (folder %q, %s)", f.ID, f.FolderName, f.Visibility))
	}
	return "", outcome.CodeFlowNameAmbiguous, fmt.Sprintf("%d flows named %q are visible to %s: %s; give the flowId instead", len(hits), name, owner, strings.Join(c, "; "))
}

// maxSuggestions is how many similar names a message offers.
const maxSuggestions = 3

// suggest lists the flow names nearest the wanted one, to help a typo:
// those within a few edits of it (Damerau-Levenshtein, case ignored:
// "Inbound Demo Reqest" finds "Inbound Demo Request"), and those that
// contain it or that it contains, nearest first, at most three.
func suggest(flows []gong.Flow, want string) string {
	if want == "" {
		return ""
	}
	type near struct {
		f    gong.Flow
		dist int
	}
	var cands []near
	w := []rune(want)
	limit := max(2, len(w)/3)
	seen := map[string]bool{}
	for _, f := range flows {
		n := strings.ToLower(strings.TrimSpace(f.Name))
		if seen[f.ID] || n == "" {
			continue
		}
		d := similar.Distance(w, []rune(n))
		if d <= limit || strings.Contains(n, want) || strings.Contains(want, n) {
			seen[f.ID] = true
			cands = append(cands, near{f, d})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].dist != cands[j].dist {
			return cands[i].dist < cands[j].dist
		}
		return cands[i].f.Name < cands[j].f.Name
	})
	var out []string
	for _, c := range cands[:min(len(cands), maxSuggestions)] {
		out = append(out, fmt.Sprintf("%q (%s)", c.f.Name, c.f.ID))
	}
	if len(out) == 0 {
		return ""
	}
	return "; similar: " + strings.Join(out, ", ")
}
