// Package chunk groups prospects into assign requests: one flow and one owner
// per request, at most a fixed number of distinct CRM IDs each. It is a plain
// type with no goroutines; the same rows in the same order always give the
// same chunks.
package chunk

import (
	"strings"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// Row is one valid input row on its way to Gong.
type Row = outcome.Row

// Chunk is the rows of one assign request: one flow, one owner, distinct IDs.
type Chunk struct {
	// Seq numbers chunks in the order they leave the chunker, from 1.
	Seq        int
	FlowID     string
	OwnerEmail string // as written in the group's first row
	Rows       []Row
	// Bulk: the rows are people without a CRM ID, for a bulk assignment;
	// BulkID, if set, is the one an earlier run was answered: read its
	// results, never send it again.
	Bulk   bool
	BulkID string
}

// IDs returns the chunk's CRM IDs in row order.
func (c Chunk) IDs() []string {
	ids := make([]string, len(c.Rows))
	for i, r := range c.Rows {
		ids[i] = r.CRMProspectID
	}
	return ids
}

// GroupKey identifies a (flow, owner) group; owners compare case-insensitively.
func GroupKey(flowID, owner string) string {
	return flowID + "\x00" + strings.ToLower(owner)
}

// Chunker collects rows into per-group chunks. Memory is bounded by the
// number of open groups times the chunk size, not by the number of rows.
type Chunker struct {
	size   int
	seq    int
	opened int // counts group openings, to tell a reopened group from its past
	open   map[string]*openGroup
	order  []opening // openings in order, for a stable Flush; compacted as chunks leave
}

type openGroup struct {
	chunk  *Chunk
	opened int
	ids    map[string]bool // CRM IDs in the chunk: Gong refuses a repeated one
}

type opening struct {
	key    string
	opened int
}

// New returns a chunker that lets a chunk leave at size rows (1 to 200).
func New(size int) *Chunker {
	if size < 1 {
		size = 1
	}
	return &Chunker{size: size, open: make(map[string]*openGroup)}
}

// Add adds a row and returns the group's chunk if the row filled it, or if
// the row repeats a CRM ID of the open chunk (the rows differ otherwise: one
// names its flow by ID, the other by name), which then leaves early.
func (c *Chunker) Add(r Row) *Chunk {
	k := GroupKey(r.FlowID, r.OwnerEmail)
	var early *Chunk
	if g, ok := c.open[k]; ok && g.ids[r.Ident()] {
		// The same ID twice in one request is a 400 (uniqueItems): the
		// chunk leaves early, and the row opens the next one.
		early = c.leave(k)
	}
	g, ok := c.open[k]
	if !ok {
		c.opened++
		g = &openGroup{chunk: &Chunk{FlowID: r.FlowID, OwnerEmail: r.OwnerEmail, Rows: make([]Row, 0, c.size)}, opened: c.opened, ids: map[string]bool{}}
		c.open[k] = g
		c.order = append(c.order, opening{k, c.opened})
	}
	g.chunk.Rows = append(g.chunk.Rows, r)
	g.ids[r.Ident()] = true
	if early != nil {
		return early // at most one chunk a call: size > 1, so this row did not fill its own
	}
	if len(g.chunk.Rows) < c.size {
		return nil
	}
	return c.leave(k)
}

// leave takes the group's open chunk out, numbered.
func (c *Chunker) leave(k string) *Chunk {
	ch := c.open[k].chunk
	delete(c.open, k)
	if len(c.order) > 2*len(c.open)+64 {
		c.compact()
	}
	c.seq++
	ch.Seq = c.seq
	return ch
}

// compact drops the openings of groups that have left, so that the order
// kept for Flush is bounded by the open groups, not by the chunks.
func (c *Chunker) compact() {
	live := c.order[:0]
	for _, o := range c.order {
		if c.current(o) {
			live = append(live, o)
		}
	}
	clear(c.order[len(live):])
	c.order = live
}

func (c *Chunker) current(o opening) bool {
	g, ok := c.open[o.key]
	return ok && g.opened == o.opened
}

// Open is the number of groups holding rows that have not left yet.
func (c *Chunker) Open() int { return len(c.open) }

// Flush returns the partly filled chunks, in the order their groups were
// (last) opened, and empties the chunker.
func (c *Chunker) Flush() []Chunk {
	var out []Chunk
	for _, o := range c.order {
		if !c.current(o) {
			continue
		}
		ch := c.open[o.key].chunk
		c.seq++
		ch.Seq = c.seq
		out = append(out, *ch)
		delete(c.open, o.key)
	}
	c.order = c.order[:0]
	return out
}
