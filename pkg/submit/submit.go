// Package submit sends chunks to Gong's assign endpoint through the run's
// gateway and returns an outcome for every row of a chunk: assigned, failed
// with a final answer, or unprocessed with the reason it waits.
//
// A row is in doubt when a request carrying it may have reached Gong
// without an answer (a dropped connection after the body was sent, a
// timeout, a 5xx, an answer that does not fit what was asked), or when an
// earlier run sent it and never recorded the answer. Before such a row is
// sent again, its open flow instances are read back: an instance in this
// flow, for this owner, created since the row was first sent is this tool's
// doing and the row is assigned; an older one is not claimed, and the row is
// sent so that Gong gives its own answer for it. A request answered 429 or
// 4xx, or never sent, leaves no doubt.
//
// Creation dates are judged on Gong's clock (package gongclock), fed by
// every answer's Date header: an instance created before the row was first
// sent, whether Gong returns it in an assign answer or a read-back finds
// it, is not this run's; the row fails AlreadyInFlow and undo never sees
// it. With ReadBackFirst, each chunk is read back before its first assign,
// and rows already in the flow fail AlreadyInFlow without one.
package submit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/gongclock"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// Config is what a Submitter needs.
type Config struct {
	Gateway *gateway.Gateway
	Client  gateway.Client
	Log     *zap.Logger
	// Now is the clock for send times; nil means time.Now.
	Now func() time.Time
	// BeforeSend is called once per request's rows, after the budget lets
	// the request go and before its turn, to journal that they may be in
	// Gong from now on. An error ends the run.
	BeforeSend func(c chunk.Chunk, at time.Time) error
	// Doubt tells whether an earlier run sent the row on this line without
	// recording the answer, and when.
	Doubt func(line int) (time.Time, bool)
	// ChunkSize is the configured request size, which a learned smaller
	// size is probed back up to after calm answers.
	ChunkSize int
	// LearnedSize is a request size learned by an earlier run (0: none).
	LearnedSize int
	// OnSize hears of every change of the learned size, to journal it.
	OnSize func(size int)
	// ReadBackFirst reads each chunk's prospects back before its first
	// assign: rows already in the flow fail AlreadyInFlow, unsent.
	ReadBackFirst bool
	// Clock is Gong's clock as the answers show it; nil: the Submitter's
	// own, fed by the answers it gets.
	Clock *gongclock.Clock
	// OverrideCoolOff sends every assign through the cool-off-override
	// endpoint (--override-cool-off), in requests of at most
	// gong.MaxCoolOffOverrideIDs.
	OverrideCoolOff bool
	// Bulk is how people without a CRM ID are sent (SubmitBulk).
	Bulk BulkConfig
}

// Submitter sends chunks; it is safe for use by many workers.
type Submitter struct {
	cfg      Config
	gw       *gateway.Gateway
	gong     *gateway.Gong // cfg.Client through gw
	size     sizeCap
	refused  sync.Map // group key -> outcome.Outcome: Gong refused the flow and owner as a whole
	claimed  sync.Map // flowInstanceId -> struct{}: instances a read-back took
	attempts atomic.Int64
	clock    *gongclock.Clock
	bulk     BulkConfig
}

// New returns a Submitter.
func New(cfg Config) *Submitter {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Gateway == nil {
		cfg.Gateway = gateway.New(gateway.Config{Log: cfg.Log})
	}
	if cfg.Clock == nil {
		cfg.Clock = &gongclock.Clock{}
	}
	if cfg.OverrideCoolOff && (cfg.ChunkSize <= 0 || cfg.ChunkSize > gong.MaxCoolOffOverrideIDs) {
		cfg.ChunkSize = gong.MaxCoolOffOverrideIDs
	}
	s := &Submitter{cfg: cfg, gw: cfg.Gateway, gong: cfg.Gateway.Wrap(cfg.Client), clock: cfg.Clock, bulk: cfg.Bulk}
	s.size.init(cfg.ChunkSize, cfg.LearnedSize, cfg.OnSize, cfg.Log)
	return s
}

// Submit sends one chunk, retrying as needed, and returns an outcome for
// each of its rows. ctx bounds the requests themselves: when it ends, rows
// not yet answered are unprocessed (ReasonInterrupted). An error is returned
// only when the journal could not be written; no outcome is returned then.
func (s *Submitter) Submit(ctx context.Context, c chunk.Chunk) ([]outcome.Outcome, error) {
	log := s.cfg.Log.With(zap.Int("chunk", c.Seq), zap.String("flowId", c.FlowID), zap.Int("ids", len(c.Rows)))
	var out []outcome.Outcome
	size := s.size.cap(len(c.Rows))
	if s.cfg.OverrideCoolOff {
		size = min(size, gong.MaxCoolOffOverrideIDs)
	}
	sh := newShared()
	for start := 0; start < len(c.Rows); start += size {
		part := c.Rows[start:min(start+size, len(c.Rows))]
		if o, ok := s.refused.Load(chunk.GroupKey(c.FlowID, c.OwnerEmail)); ok {
			// Gong refused this flow and owner as a whole already (404,
			// or a 400 naming them): spend no request.
			out = append(out, sameFor(o.(outcome.Outcome), part)...)
			continue
		}
		sp := &splitter{s: s, c: c, log: log, sh: sh}
		res, err := sp.send(ctx, part)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// sameFor gives every row the outcome o (a failure decided for the group).
func sameFor(o outcome.Outcome, rows []outcome.Row) []outcome.Outcome {
	out := make([]outcome.Outcome, len(rows))
	for i, r := range rows {
		out[i] = o
		out[i].Row = r
	}
	return out
}

// observe feeds Gong's clock with the Date of an answer to a request sent
// at sent. The local side is the Submitter's own clock (Config.Now), the
// one send times are judged by, not the client's.
func (s *Submitter) observe(sent time.Time, tm gong.Timing) {
	s.clock.Observe(sent, s.cfg.Now(), tm.Date)
}

// ChunkCap is the largest request that Gong has not refused for its size,
// at most n (and at most gong.MaxCoolOffOverrideIDs with OverrideCoolOff).
func (s *Submitter) ChunkCap(n int) int {
	if s.cfg.OverrideCoolOff {
		n = min(n, gong.MaxCoolOffOverrideIDs)
	}
	return s.size.cap(n)
}

// assign sends one assign request, through the cool-off-override endpoint
// with OverrideCoolOff: the same request, the same answer.
func (s *Submitter) assign(ctx context.Context, req gong.AssignRequest) (*gong.AssignResponse, error) {
	if s.cfg.OverrideCoolOff {
		return s.gong.AssignCoolOffOverride(ctx, req)
	}
	return s.gong.Assign(ctx, req)
}

// Gateway is the gateway the submitter sends through.
func (s *Submitter) Gateway() *gateway.Gateway { return s.gw }
