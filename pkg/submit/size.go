package submit

import (
	"sync"

	"go.uber.org/zap"
)

// minCap is the smallest request size a refusal may teach: a refused pair
// whose halves pass is two rows that cannot share a request, not a size.
const minCap = 10

// probeAfter is how many answers at a learned size, without a refusal for
// size, before a larger request is tried again.
const probeAfter = 20

// sizeCap is the request size Gong has been seen to take. The help page
// says 200 IDs a request, the newer spec 100: when both halves of a refused
// request pass, later requests are cut to the half's size; after calm
// answers the size is probed back up toward the configured one.
type sizeCap struct {
	mu         sync.Mutex
	configured int
	learned    int // 0: none
	calm       int
	onChange   func(int)
	log        *zap.Logger
}

func (c *sizeCap) init(configured, learned int, onChange func(int), log *zap.Logger) {
	c.configured, c.onChange, c.log = configured, onChange, log
	if learned >= minCap && (configured == 0 || learned < configured) {
		c.learned = learned
	}
}

// cap is the size to send n rows in.
func (c *sizeCap) cap(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.learned > 0 && c.learned < n {
		return c.learned
	}
	return max(n, 1)
}

// refusedAt learns from a request of size whole refused while its halves
// of size half passed.
func (c *sizeCap) refusedAt(half, whole int) {
	if half < minCap {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calm = 0
	if c.learned > 0 && c.learned <= half {
		return
	}
	c.learned = half
	c.log.Warn("Gong refused a request its halves passed: sending at most this many IDs a request for now", zap.Int("chunkSize", half), zap.Int("refused", whole))
	if c.onChange != nil {
		c.onChange(half)
	}
}

// answered notes a request of size n accepted; after calm answers at the
// learned size, the size is raised by a quarter, to the configured size at
// most.
func (c *sizeCap) answered(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.learned == 0 || n < c.learned {
		return
	}
	c.calm++
	if c.calm < probeAfter {
		return
	}
	c.calm = 0
	next := c.learned + max(c.learned/4, 1)
	if c.configured > 0 && next >= c.configured {
		next = 0 // back to the configured size
	}
	c.learned = next
	if c.onChange != nil {
		c.onChange(next)
	}
}
