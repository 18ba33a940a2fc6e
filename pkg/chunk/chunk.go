// Package chunk groups prospects into assign requests: one flow and one owner
// per request, at most a fixed number of distinct CRM IDs each. It is a plain
// type with no goroutines; the same rows in the same order always give the
// same chunks.
package chunk

import (
	"strings"

	"github.com/bits-and-blooms/bloom/v3"
)

// Row is one valid input row on its way to Gong.
type Row struct {
	Line          int
	CRMProspectID string
	FlowID        string
	OwnerEmail    string
}

// Chunk is the rows of one assign request: one flow, one owner, distinct IDs.
type Chunk struct {
	// Seq numbers chunks in the order they leave the chunker, from 1.
	Seq        int
	FlowID     string
	OwnerEmail string // as written in the group's first row
	Rows       []Row
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
	if g, ok := c.open[k]; ok && g.ids[r.CRMProspectID] {
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
	g.ids[r.CRMProspectID] = true
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

// Dedup finds repeated (CRM ID, flow, owner) rows, so that a row is not sent
// twice, and names the line of the first.
//
// Remembering every key costs memory in proportion to the rows (about 120
// bytes a row). With a Suspects from a first pass over the input, Dedup
// remembers only the keys that pass flagged as possibly repeated: the true
// repeats and the Bloom filter's false positives (at most 1% of the rows),
// so memory stays near the filter's 1.2 bytes a row.
type Dedup struct {
	first    map[string]int
	suspects *Suspects
}

// NewDedup returns a Dedup that remembers every key.
func NewDedup() *Dedup { return &Dedup{first: make(map[string]int)} }

// NewDedupOf returns a Dedup that remembers only the keys s flagged; s must
// have seen every row that Seen will be asked about.
func NewDedupOf(s *Suspects) *Dedup { return &Dedup{first: make(map[string]int), suspects: s} }

func dedupKey(r Row) string {
	return GroupKey(r.FlowID, r.OwnerEmail) + "\x00" + r.CRMProspectID
}

// Seen records r and returns the line of an earlier row with the same CRM ID,
// flow and owner (compared case-insensitively), or 0 if r is the first.
func (d *Dedup) Seen(r Row) int {
	k := dedupKey(r)
	if d.suspects != nil && !d.suspects.has(k) {
		return 0 // seen once in the whole input: nothing to remember
	}
	if line, ok := d.first[k]; ok {
		return line
	}
	d.first[k] = r.Line
	return 0
}

// Suspects is the first pass of duplicate detection: a Bloom filter of every
// key, and the exact keys it saw twice (repeats, and false positives).
type Suspects struct {
	filter *bloom.BloomFilter
	keys   map[string]struct{}
}

// NewSuspects sizes the filter for about n rows at a 1% false-positive rate.
func NewSuspects(n uint) *Suspects {
	return &Suspects{filter: bloom.NewWithEstimates(max(n, 1000), 0.01), keys: map[string]struct{}{}}
}

// Observe notes one row of the first pass.
func (s *Suspects) Observe(r Row) {
	k := dedupKey(r)
	if s.filter.TestOrAddString(k) {
		s.keys[k] = struct{}{}
	}
}

// Len is the number of keys flagged.
func (s *Suspects) Len() int { return len(s.keys) }

func (s *Suspects) has(k string) bool {
	_, ok := s.keys[k]
	return ok
}
