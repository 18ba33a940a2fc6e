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
	"sort"
	"strings"
	"sync"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// Codes of failed.csv (stage input) decided here.
const (
	CodeFlowNameNotFound    = "FlowNameNotFound"
	CodeFlowNameAmbiguous   = "FlowNameAmbiguous"
	CodeFlowNameNotResolved = "FlowNameNotResolved"
	CodeFlowNotVisible      = "FlowNotVisible"
)

// ListPage reads one page of an owner's flows; cursor is "" for the first.
type ListPage func(ctx context.Context, owner, cursor string) (*gong.FlowsResponse, error)

// ErrUnavailable means the listing cannot be used at all (Gong answered 403
// or 404 to it: a token without api:flows:read, say).
var ErrUnavailable = errors.New("flow listing unavailable")

// Catalog caches each owner's visible flows. It is safe for concurrent use.
type Catalog struct {
	list ListPage

	mu          sync.Mutex
	byOwner     map[string][]gong.Flow
	unavailable error // set once the listing is known not to work
}

// NewCatalog returns a catalog that lists through list.
func NewCatalog(list ListPage) *Catalog {
	return &Catalog{list: list, byOwner: map[string][]gong.Flow{}}
}

// Flows returns the flows owner can see. It returns an error wrapping
// ErrUnavailable once Gong has refused the listing with 403 or 404, and the
// listing's own error (a stop, a budget) otherwise; a failed listing is not
// cached.
func (c *Catalog) Flows(ctx context.Context, owner string) ([]gong.Flow, error) {
	key := strings.ToLower(strings.TrimSpace(owner))
	c.mu.Lock()
	defer c.mu.Unlock() // one listing at a time: they share the request budget anyway
	if c.unavailable != nil {
		return nil, c.unavailable
	}
	if fl, ok := c.byOwner[key]; ok {
		return fl, nil
	}
	var all []gong.Flow
	cursor := ""
	for {
		page, err := c.list(ctx, owner, cursor)
		if err != nil {
			if s := gong.StatusOf(err); s == http.StatusForbidden || s == http.StatusNotFound {
				c.unavailable = fmt.Errorf("%w: %v", ErrUnavailable, err)
				return nil, c.unavailable
			}
			return nil, err
		}
		all = append(all, page.Flows...)
		if page.Records.Cursor == "" || page.Records.Cursor == cursor {
			break
		}
		cursor = page.Records.Cursor
	}
	c.byOwner[key] = all
	return all, nil
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
		if strings.ToLower(strings.TrimSpace(f.Name)) == want {
			hits = append(hits, f)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0].ID, "", ""
	case 0:
		return "", CodeFlowNameNotFound, fmt.Sprintf("no flow named %q is visible to %s%s", name, owner, suggest(flows, want))
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].ID < hits[j].ID })
	var c []string
	for _, f := range hits {
		c = append(c, fmt.Sprintf("%s (folder %q, %s)", f.ID, f.FolderName, f.Visibility))
	}
	return "", CodeFlowNameAmbiguous, fmt.Sprintf("%d flows named %q are visible to %s: %s; give the flowId instead", len(hits), name, owner, strings.Join(c, "; "))
}

// suggest lists up to five flow names that contain the wanted one, or the
// other way round, to help a typo.
func suggest(flows []gong.Flow, want string) string {
	var near []string
	for _, f := range flows {
		n := strings.ToLower(strings.TrimSpace(f.Name))
		if want != "" && (strings.Contains(n, want) || strings.Contains(want, n)) {
			near = append(near, fmt.Sprintf("%q (%s)", f.Name, f.ID))
		}
		if len(near) == 5 {
			break
		}
	}
	if len(near) == 0 {
		return ""
	}
	return "; similar: " + strings.Join(near, ", ")
}
