package enroll

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/flows"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/screen"
	"github.com/flowenroll/flowenroll/pkg/submit"
)

// runner is one run's stages: a reader that screens and chunks, workers
// that submit, and one writer. Stages hand each other chunks and outcomes.
type runner struct {
	cfg   Config
	st    *stores
	start time.Time
	gw    *gateway.Gateway
	sub   *submit.Submitter
	bulk  *bulkRouter // people without a CRM ID
	// overrode: this process journaled an assign sent through the
	// cool-off override (the ledger says whether an earlier one did).
	overrode *atomic.Bool

	sig    context.Context // ends on a signal: stop reading and dispatching
	gctx   context.Context // ends on an internal failure
	reqCtx context.Context // bounds requests: a signal gives them DrainTimeout

	chunks chan chunk.Chunk
	outs   chan batch
}

// batch is outcomes on their way to the writer; sent marks those of rows a
// worker handled, whose journal entry a non-doubt outcome releases.
type batch struct {
	outs []outcome.Outcome
	sent bool
}

func newRunner(cfg Config, st *stores, start time.Time) *runner {
	gw := gateway.New(gateway.Config{
		Limiter: cfg.Limiter, Log: cfg.Log, MaxRequests: cfg.MaxRequests, MaxRetryTime: cfg.MaxRetryTime,
		MaxWait: cfg.MaxWait, Timer: cfg.Timer, Clock: cfg.Clock, Now: cfg.Now,
	})
	doubt := st.state.InDoubt
	overrode := new(atomic.Bool)
	sub := submit.New(submit.Config{
		Gateway: gw, Client: cfg.Client, Log: cfg.Log, Now: cfg.Now,
		ChunkSize: cfg.ChunkSize, LearnedSize: st.state.ChunkSize, ReadBackFirst: cfg.ReadBackFirst, OverrideCoolOff: cfg.OverrideCoolOff, OnSize: func(n int) { _ = st.led.ChunkSize(n) },
		BeforeSend: func(c chunk.Chunk, at time.Time) error {
			lines := make([]int, len(c.Rows))
			for i, r := range c.Rows {
				lines[i] = r.Line
			}
			if err := st.led.Sent(ledger.Sent{FlowID: c.FlowID, Owner: c.OwnerEmail, Lines: lines, IDs: c.IDs(), At: at, CoolOffOverride: cfg.OverrideCoolOff}); err != nil {
				return err
			}
			if cfg.OverrideCoolOff {
				overrode.Store(true)
			}
			return nil
		},
		Doubt: func(line int) (time.Time, bool) {
			d, ok := doubt[line]
			return d.SentAt, ok
		},
		Bulk: bulkJournal(st.led, cfg.MaxRetryTime, doubt),
	})
	return &runner{cfg: cfg, st: st, start: start, gw: gw, sub: sub, bulk: newBulkRouter(st.state.BulkDoubt, cfg.ResendInDoubt), overrode: overrode}
}

func (r *runner) interrupted() bool { return r.sig != nil && r.sig.Err() != nil }

// stopped returns why dispatching has stopped, or "".
func (r *runner) stopped() string {
	if r.sig.Err() != nil {
		return outcome.ReasonInterrupted
	}
	return r.gw.Stopped()
}

// run runs the stages; it returns the data rows read.
func (r *runner) run(ctx context.Context) (int, error) {
	r.sig = ctx
	// The group's context ends only on an internal failure; a signal must
	// not stop the writer from writing what is left.
	g, gctx := errgroup.WithContext(context.WithoutCancel(ctx))
	reqCtx, cancelReq := context.WithCancel(gctx)
	defer cancelReq()
	r.gctx, r.reqCtx = gctx, reqCtx
	r.chunks, r.outs = make(chan chunk.Chunk), make(chan batch, 1)
	done := make(chan struct{})
	g.Go(func() error { r.drain(cancelReq, done); return nil })

	var producers sync.WaitGroup
	rowsRead := 0
	producers.Add(1 + max(r.cfg.Concurrency, 1))
	g.Go(func() error {
		defer producers.Done()
		defer close(r.chunks)
		n, err := r.read()
		rowsRead = n
		return err
	})
	for range max(r.cfg.Concurrency, 1) {
		g.Go(func() error { defer producers.Done(); return r.work() })
	}
	go func() { producers.Wait(); close(r.outs) }()
	g.Go(func() error { defer close(done); return r.write() })
	err := g.Wait()
	return rowsRead, err
}

// drain waits for a signal, then stops dispatching and gives requests in
// flight DrainTimeout before cutting them.
func (r *runner) drain(cancelReq context.CancelFunc, done <-chan struct{}) {
	select {
	case <-r.sig.Done():
		r.gw.Stop(outcome.ReasonInterrupted)
		r.cfg.Log.Warn("stopping: no new requests; requests in flight may finish", zap.Duration("drainTimeout", r.cfg.DrainTimeout))
		t := time.NewTimer(r.cfg.DrainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancelReq()
		case <-done:
		}
	case <-done:
	}
}

func (r *runner) emit(b batch) error {
	select {
	case r.outs <- b:
		return nil
	case <-r.gctx.Done():
		return r.gctx.Err()
	}
}

// read reads and screens every row, and dispatches full chunks; it
// returns the data rows read.
func (r *runner) read() (int, error) {
	rd, err := r.st.src.reader()
	if err != nil {
		return 0, err
	}
	sc := screen.New(screen.Config{
		Name: r.st.src.name, Log: r.cfg.Log, Dedup: r.st.src.dedup(), Preflight: r.cfg.Preflight, Assigned: r.cfg.Assigned,
		Catalog:   flows.NewCatalog(r.st.catalog.lister(r.gw, r.cfg.Client)),
		Directory: flows.NewDirectory(r.st.catalog.userLister(r.gw, r.cfg.Client)),
	})
	chunker := chunk.New(r.cfg.ChunkSize)
	rows := 0
	for {
		if err := r.gctx.Err(); err != nil {
			return rows, err
		}
		p, rej, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rows, err
		}
		rows++
		if err := r.screened(sc, chunker, p, rej); err != nil {
			return rows, err
		}
	}
	for _, c := range append(chunker.Flush(), r.bulk.flush()...) {
		if err := r.dispatch(c); err != nil {
			return rows, err
		}
	}
	if rows == 0 {
		r.cfg.Log.Warn("the file has a header and no data rows: nothing to do", zap.String("input", r.st.src.name))
	}
	return rows, nil
}

// screened passes one row read through the screen to the chunker.
func (r *runner) screened(sc *screen.Screen, chunker *chunk.Chunker, p input.Prospect, rej *input.Rejection) error {
	line := p.Line
	if rej != nil {
		line = rej.Line
	}
	if r.st.state.Settled.Has(line) {
		// Settled by an earlier run, whose result was replayed; it still
		// counts for duplicates.
		if rej == nil {
			sc.Settled(p)
		}
		return nil
	}
	row, o := sc.Check(r.reqCtx, p, rej)
	if o != nil && o.Reason == outcome.ReasonListingIncomplete {
		// The kept pages would end the next run's listing at the same
		// place: it must list again.
		r.st.catalog.forget(o.Row.OwnerEmail)
		r.st.catalog.forget("")
	}
	if o != nil {
		return r.emit(batch{outs: []outcome.Outcome{*o}})
	}
	if reason := r.stopped(); reason != "" {
		return r.emit(batch{outs: []outcome.Outcome{outcome.Leave(row, reason)}})
	}
	if row.Person != nil {
		full, o := r.bulk.route(row)
		switch {
		case o != nil:
			return r.emit(batch{outs: []outcome.Outcome{*o}})
		case full != nil:
			return r.dispatch(*full)
		}
		return nil
	}
	if full := chunker.Add(row); full != nil {
		return r.dispatch(*full)
	}
	return nil
}

// dispatch hands a chunk to a worker, or leaves its rows if the run stopped.
func (r *runner) dispatch(c chunk.Chunk) error {
	if reason := r.stopped(); reason != "" {
		return r.emit(batch{outs: outcome.LeaveAll(c.Rows, reason)})
	}
	select {
	case r.chunks <- c:
		return nil
	case <-r.sig.Done():
		return r.emit(batch{outs: outcome.LeaveAll(c.Rows, outcome.ReasonInterrupted)})
	case <-r.gctx.Done():
		return r.gctx.Err()
	}
}

// work submits chunks until there are no more.
func (r *runner) work() error {
	for c := range r.chunks {
		if reason := r.stopped(); reason != "" {
			if err := r.emit(batch{outs: outcome.LeaveAll(c.Rows, reason)}); err != nil {
				return err
			}
			continue
		}
		submit := r.sub.Submit
		if c.Bulk {
			submit = r.sub.SubmitBulk
		}
		outs, err := submit(r.reqCtx, c)
		if err != nil {
			return err
		}
		if err := r.emit(batch{outs: outs, sent: true}); err != nil {
			return err
		}
	}
	return nil
}

// write is the only goroutine that touches the journal and the result
// files: it journals each batch, then writes it.
func (r *runner) write() error {
	for b := range r.outs {
		err := r.journal(b)
		if err == nil {
			err = r.st.w.Write(b.outs...)
		}
		r.progress(b.outs)
		r.cfg.Progress.Requests(r.gw.Counts().Requests)
		if err != nil {
			// Keep draining so producers are not blocked forever.
			go func() {
				for range r.outs {
				}
			}()
			return err
		}
	}
	return nil
}

// journal records a batch: settled rows, rows a worker sent that are known
// not to be in Gong (released), and owners whose flow listing is stale.
//
// Rows the screen settled are not journaled: the same input gives the same
// verdicts again.
func (r *runner) journal(b batch) error {
	if !b.sent {
		return nil
	}
	if err := r.st.led.Settle(b.outs...); err != nil {
		return err
	}
	var lines []int
	for _, o := range b.outs {
		// A bulk job Gong accepted is read again by the next run, never sent.
		if o.Kind == outcome.Unprocessed && o.Reason != outcome.ReasonInDoubt && o.Reason != outcome.ReasonBulkPending {
			lines = append(lines, o.Row.Line)
		}
		if o.Kind == outcome.Failed && o.Code == outcome.CodeFlowNotFound {
			r.st.catalog.forget(o.Row.OwnerEmail)
		}
	}
	return r.st.led.Release(releasable(lines, r.st.state.InDoubt))
}

func (r *runner) progress(outs []outcome.Outcome) {
	left := 0
	for _, o := range outs {
		if o.Kind == outcome.Unprocessed {
			left++
		}
	}
	r.cfg.Progress.Settled(len(outs) - left)
	r.cfg.Progress.Unprocessed(left)
}
