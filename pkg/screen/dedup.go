package screen

import (
	"github.com/bits-and-blooms/bloom/v3"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

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

func dedupKey(r outcome.Row) string {
	return chunk.GroupKey(r.FlowID, r.OwnerEmail) + "\x00" + r.CRMProspectID
}

// Seen records r and returns the line of an earlier row with the same CRM ID,
// flow and owner (compared case-insensitively), or 0 if r is the first.
func (d *Dedup) Seen(r outcome.Row) int {
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
	n      uint
}

// NewSuspects sizes the filter for about n rows at a 1% false-positive rate.
func NewSuspects(n uint) *Suspects {
	return &Suspects{filter: bloom.NewWithEstimates(max(n, 1000), 0.01), keys: map[string]struct{}{}, n: n}
}

// Observe notes one row of the first pass.
func (s *Suspects) Observe(r outcome.Row) {
	k := dedupKey(r)
	if s.filter.TestOrAddString(k) {
		s.keys[k] = struct{}{}
	}
}

// Capacity is the number of rows the filter was sized for.
func (s *Suspects) Capacity() uint { return s.n }

// Len is the number of keys flagged.
func (s *Suspects) Len() int { return len(s.keys) }

func (s *Suspects) has(k string) bool {
	_, ok := s.keys[k]
	return ok
}
