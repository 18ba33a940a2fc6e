package enroll

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/flows"
	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

// catalogFile keeps the flow listings with the run, so that a resumed run
// (a CronJob's next schedule, a migration's next day) spends its requests
// on assignments, not on listing the same flows again.
const catalogFile = "flows.json"

// CatalogFreshness is how long a kept listing is used: flows are created
// and deleted rarely, and a 404 on assign drops the owner's listing anyway.
const CatalogFreshness = 12 * time.Hour

// catalogCache is the kept pages of GET /v2/flows, per owner and cursor.
type catalogCache struct {
	path string
	now  func() time.Time
	log  *zap.Logger

	mu    sync.Mutex
	Pages map[string]keptPage `json:"pages"` // owner \x00 cursor -> page
}

type keptPage struct {
	Owner string              `json:"owner"`
	At    time.Time           `json:"at"`
	Page  gong.FlowsResponse  `json:"page"`
	Users *gong.UsersResponse `json:"users,omitempty"`
}

func pageKey(owner, cursor string) string {
	return strings.ToLower(strings.TrimSpace(owner)) + "\x00" + cursor
}

// openCatalog reads the kept listings of dir, dropping stale ones; with
// restart, or when there are none, it starts empty.
func openCatalog(dir string, restart bool, clock func() time.Time, log *zap.Logger) *catalogCache {
	now := clock()
	c := &catalogCache{path: filepath.Join(dir, catalogFile), now: clock, log: log, Pages: map[string]keptPage{}}
	if restart {
		return c
	}
	b, err := os.ReadFile(c.path)
	if err != nil {
		return c
	}
	var kept catalogCache
	if json.Unmarshal(b, &kept) != nil {
		return c
	}
	for k, p := range kept.Pages {
		if now.Sub(p.At) < CatalogFreshness {
			c.Pages[k] = p
		}
	}
	return c
}

// lister lists flows through the gateway, paced, budgeted and counted,
// and keeps every page it gets.
func (c *catalogCache) lister(gw *gateway.Gateway, client gateway.Client) flows.ListPage {
	return func(ctx context.Context, owner, cursor string) (*gong.FlowsResponse, error) {
		c.mu.Lock()
		p, ok := c.Pages[pageKey(owner, cursor)]
		c.mu.Unlock()
		if ok {
			page := p.Page
			return &page, nil
		}
		page, err := gw.Wrap(client).ListFlows(ctx, owner, cursor)
		if err != nil {
			return nil, err
		}
		c.keep(owner, cursor, page)
		return page, nil
	}
}

// userLister lists users through the gateway and keeps every page, under
// the owner key "" (no flow owner has an empty email).
func (c *catalogCache) userLister(gw *gateway.Gateway, client gateway.Client) flows.ListUsers {
	return func(ctx context.Context, cursor string) (flows.UserPage, error) {
		c.mu.Lock()
		p, ok := c.Pages[pageKey("", cursor)]
		c.mu.Unlock()
		if ok && p.Users != nil {
			return flows.UserPageOf(p.Users), nil
		}
		page, err := gw.Wrap(client).ListUsers(ctx, cursor)
		if err != nil {
			return flows.UserPage{}, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.Pages[pageKey("", cursor)] = keptPage{At: c.now(), Users: page}
		c.save()
		return flows.UserPageOf(page), nil
	}
}

func (c *catalogCache) keep(owner, cursor string, page *gong.FlowsResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Pages[pageKey(owner, cursor)] = keptPage{Owner: owner, At: c.now(), Page: *page}
	c.save()
}

// forget drops an owner's pages: Gong said 404 for one of their flows.
func (c *catalogCache) forget(owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := pageKey(owner, "")
	n := len(c.Pages)
	for k := range c.Pages {
		if strings.HasPrefix(k, prefix) {
			delete(c.Pages, k)
		}
	}
	if len(c.Pages) != n {
		c.save()
	}
}

func (c *catalogCache) save() {
	b, err := json.Marshal(c)
	if err == nil {
		err = fsguard.WriteBytes(c.path, b)
	}
	if err != nil {
		c.log.Warn("keeping the flow listings failed; the next run lists them again", zap.Error(err))
	}
}
