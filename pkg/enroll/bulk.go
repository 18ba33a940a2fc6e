package enroll

import (
	"slices"
	"time"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/submit"
)

// bulkRouter takes the rows of people without a CRM ID: into bulk requests
// of at most gong.MaxBulkProspects per flow and owner, or, for rows an
// earlier run's bulk request carried, to the reading of its id (never sent
// again), or, if that request got no answer, to unprocessed InDoubt unless
// --resend-in-doubt.
type bulkRouter struct {
	chunker *chunk.Chunker
	doubt   map[int]string // line -> bulk id ("" if unanswered), from the ledger
	resend  bool
	pending map[string]*chunk.Chunk // bulk id -> the rows to read it for
	order   []string
}

func newBulkRouter(doubt map[int]string, resend bool) *bulkRouter {
	return &bulkRouter{chunker: chunk.New(gong.MaxBulkProspects), doubt: doubt, resend: resend, pending: map[string]*chunk.Chunk{}}
}

// route takes one bulk row: a full chunk to send, or the row's outcome
// (InDoubt), or neither.
func (b *bulkRouter) route(row outcome.Row) (*chunk.Chunk, *outcome.Outcome) {
	id, sent := b.doubt[row.Line]
	switch {
	case sent && id != "":
		c, ok := b.pending[id]
		if !ok {
			c = &chunk.Chunk{FlowID: row.FlowID, OwnerEmail: row.OwnerEmail, Bulk: true, BulkID: id}
			b.pending[id] = c
			b.order = append(b.order, id)
		}
		c.Rows = append(c.Rows, row)
		return nil, nil
	case sent && !b.resend:
		o := outcome.Leave(row, outcome.ReasonInDoubt)
		return nil, &o
	}
	c := b.chunker.Add(row)
	if c != nil {
		c.Bulk = true
	}
	return c, nil
}

// flush returns the chunks left: jobs to read first, then partly filled
// bulk requests.
func (b *bulkRouter) flush() []chunk.Chunk {
	var out []chunk.Chunk
	for _, id := range b.order {
		out = append(out, *b.pending[id])
	}
	for _, c := range b.chunker.Flush() {
		c.Bulk = true
		out = append(out, c)
	}
	return out
}

// bulkJournal is how a run's bulk requests are journaled, and read for
// at most maxPoll.
func bulkJournal(led *ledger.Ledger, maxPoll time.Duration, doubt map[int]ledger.Doubt) submit.BulkConfig {
	lines := func(c chunk.Chunk) []int {
		out := make([]int, len(c.Rows))
		for i, r := range c.Rows {
			out[i] = r.Line
		}
		return out
	}
	return submit.BulkConfig{
		MaxPoll: maxPoll,
		BeforeSend: func(c chunk.Chunk, at time.Time) error {
			return led.Sent(ledger.Sent{FlowID: c.FlowID, Owner: c.OwnerEmail, Lines: lines(c), IDs: c.IDs(), At: at, Bulk: true})
		},
		Unsent: func(c chunk.Chunk) error { return led.Release(releasable(lines(c), doubt)) },
		Submitted: func(c chunk.Chunk, id string) error {
			return led.BulkSubmitted(ledger.BulkJob{ID: id, FlowID: c.FlowID, Owner: c.OwnerEmail, Lines: lines(c)})
		},
		Forget: func(c chunk.Chunk, _ string) error {
			return led.BulkForgotten(c.FlowID, c.OwnerEmail, lines(c))
		},
	}
}

// releasable is lines without those in doubt when the run began: a row an
// earlier run sent may have been applied then, whatever this run's own
// send came to (a 429, an interruption), so it stays in doubt with its
// first send's time, which a read-back judges instances against.
func releasable(lines []int, doubt map[int]ledger.Doubt) []int {
	return slices.DeleteFunc(lines, func(ln int) bool {
		_, was := doubt[ln]
		return was
	})
}
