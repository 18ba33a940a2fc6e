// Package enroll wires the stages of a run together: the input reader, the
// chunker, a fixed pool of submit workers and one writer that owns the result
// files and the ledger. Every data row of the input ends in exactly one of
// assigned.csv, failed.csv and unprocessed.csv.
package enroll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/report"
	"github.com/flowenroll/flowenroll/pkg/submit"
)

// Exit codes of the contract.
const (
	ExitOK           = 0
	ExitFatal        = 1
	ExitUsage        = 2
	ExitSomeFailed   = 3
	ExitStoppedEarly = 4
)

// Codes of failed.csv decided here.
const (
	StageInput    = "input"
	CodeDuplicate = "Duplicate"
)

// Config is one run.
type Config struct {
	InputPath string    // a file, or "-" for Stdin
	Stdin     io.Reader // read when InputPath is "-"
	OutDir    string
	Restart   bool
	// Input holds the reading options: --map, --encoding, --delimiter, --crm.
	Input input.Options

	ChunkSize    int
	Concurrency  int
	Client       submit.Client
	Limiter      submit.Limiter
	MaxRequests  int64
	MaxRetryTime time.Duration
	MaxWait      time.Duration
	// DrainTimeout is how long requests in flight may finish after ctx ends.
	DrainTimeout time.Duration
	// Preflight checks, through the flow listing, that each row's flow is
	// visible to its owner before a request is spent on it.
	Preflight bool

	// Progress, if set, hears of the total, every row settled (replayed
	// ones first) and the requests so far.
	Progress Progress

	Log   *zap.Logger
	Now   func() time.Time
	Timer backoff.Timer // nil: real time
	Clock backoff.Clock
}

// Progress is told how a run advances.
type Progress interface {
	SetTotal(rows int)
	Settled(rows int)
	Requests(total int64)
}

type noProgress struct{}

func (noProgress) SetTotal(int)   {}
func (noProgress) Settled(int)    {}
func (noProgress) Requests(int64) {}

// FatalError is a run that could not go on (exit 1); Summary, if not nil,
// describes what was written before it stopped.
type FatalError struct {
	Err error
}

func (e *FatalError) Error() string { return e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// event is what the writer receives: rows settled or left, from the reader
// (input failures, duplicates, rows not sent) or from a worker.
type event struct {
	failed      []report.FailedRecord
	unprocessed []report.UnprocessedRecord
	settlement  *submit.Settlement
}

// Run enrolls the input. It returns the summary (also written to
// summary.json) and an error only when the run could not go on (exit 1).
// ctx ending means SIGTERM: reading and dispatching stop, requests in flight
// get DrainTimeout to finish, and the rest is written as unprocessed.
func Run(ctx context.Context, cfg Config) (report.Summary, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	start := now()
	sum := report.Summary{StartedAt: start.UTC().Format(time.RFC3339)}

	if err := os.MkdirAll(cfg.OutDir, 0o700); err != nil {
		return sum, &FatalError{fmt.Errorf("output directory: %w", err)}
	}
	src, err := openSource(cfg.InputPath, cfg.Stdin, cfg.OutDir, cfg.Input)
	if err != nil {
		return sum, &FatalError{err}
	}
	defer src.Close()
	name, hash := src.name, src.sha256
	sum.Input, sum.InputSHA256 = name, hash
	rd, err := src.reader()
	if err != nil {
		return sum, &FatalError{err}
	}

	led, state, err := ledger.Open(cfg.OutDir, hash, name, cfg.Restart, start)
	if err != nil {
		return sum, &FatalError{err}
	}
	defer led.Close()
	if err := src.keep(); err != nil {
		return sum, &FatalError{err}
	}
	// A summary.json left by an earlier run would describe a state this run
	// (now that the ledger accepted it) is about to change: it is written again at the end.
	if err := os.Remove(filepath.Join(cfg.OutDir, report.SummaryFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return sum, &FatalError{fmt.Errorf("output directory: %w", err)}
	}
	sum.Resumed = state.Resumed
	if state.Resumed {
		log.Info("resuming: rows settled by earlier runs are not sent again",
			zap.String("out", cfg.OutDir), zap.Int("inDoubt", len(state.InDoubt)))
	}

	w, err := report.Create(cfg.OutDir)
	if err != nil {
		return sum, &FatalError{err}
	}
	defer w.Close()
	prog := cfg.Progress
	if prog == nil {
		prog = noProgress{}
	}
	prog.SetTotal(src.rows)
	if err := led.Replay(func(s ledger.Settled) error {
		prog.Settled(len(s.Assigned) + len(s.Failed))
		if err := w.Assigned(s.Assigned...); err != nil {
			return err
		}
		return w.Failed(s.Failed...)
	}); err != nil {
		return sum, &FatalError{err}
	}

	sub := submit.New(submit.Config{
		Client: cfg.Client, Limiter: cfg.Limiter, Log: log,
		MaxRetryTime: cfg.MaxRetryTime, MaxWait: cfg.MaxWait, MaxRequests: cfg.MaxRequests,
		Timer: cfg.Timer, Clock: cfg.Clock, Now: now,
		BeforeSend: func(c chunk.Chunk, at time.Time) error {
			lines := make([]int, len(c.Rows))
			for i, r := range c.Rows {
				lines[i] = r.Line
			}
			return led.Sent(ledger.Sent{FlowID: c.FlowID, Owner: c.OwnerEmail, Lines: lines, IDs: c.IDs(), At: at})
		},
		Doubt: func(line int) (time.Time, bool) {
			d, ok := state.InDoubt[line]
			return d.SentAt, ok
		},
	})

	rowsRead, err := pipeline(ctx, cfg, log, name, rd, src.dedup(), state.Settled, sub, led, w, prog)
	st := sub.Stats()
	sum.RowsRead = rowsRead
	sum.Requests = st.Requests + state.Runs.Requests
	sum.RequestsThisRun = st.Requests
	sum.Retries = st.Retries + state.Runs.Retries
	sum.RateLimited = st.RateLimited + state.Runs.RateLimited
	sum.ReadBacks = st.ReadBacks + state.Runs.ReadBacks
	sum.Splits = st.Splits + state.Runs.Splits
	sum.FlowListings = st.FlowListings + state.Runs.FlowListings
	if lerr := led.Run(ledger.RunStats{Requests: st.Requests, Retries: st.Retries, RateLimited: st.RateLimited, ReadBacks: st.ReadBacks, Splits: st.Splits, FlowListings: st.FlowListings}); lerr != nil && err == nil {
		err = lerr
	}
	if cerr := w.Close(); cerr != nil && err == nil {
		err = cerr
	}
	sum.Counts = w.Counts()
	sum.StopReason = sub.Stopped()
	end := now()
	sum.FinishedAt = end.UTC().Format(time.RFC3339)
	sum.WallTimeSeconds = end.Sub(start).Seconds()
	sum.ExitCode = exitCode(sum, err)
	if serr := report.WriteSummary(cfg.OutDir, sum); serr != nil && err == nil {
		err = serr
		sum.ExitCode = ExitFatal
	}
	if err != nil {
		return sum, &FatalError{err}
	}
	return sum, nil
}

func exitCode(sum report.Summary, err error) int {
	switch {
	case err != nil, sum.StopReason == submit.ReasonUnauthorized:
		return ExitFatal
	case sum.Unprocessed > 0:
		return ExitStoppedEarly
	case sum.Failed > 0:
		return ExitSomeFailed
	}
	return ExitOK
}

// pipeline runs reader, workers and writer; it returns the data rows read.
func pipeline(ctx context.Context, cfg Config, log *zap.Logger, name string, rd *input.Reader, dedup *chunk.Dedup, settled *ledger.Lines, sub *submit.Submitter, led *ledger.Ledger, w *report.Writer, prog Progress) (int, error) {
	// The group's context ends only on an internal failure; a signal (ctx)
	// must not stop the writer from writing what is left.
	g, gctx := errgroup.WithContext(context.WithoutCancel(ctx))
	chunks := make(chan chunk.Chunk)
	events := make(chan event, 1)

	// Requests in flight get DrainTimeout after a signal, then are cut.
	reqCtx, cancelReq := context.WithCancel(gctx)
	defer cancelReq()
	done := make(chan struct{})
	g.Go(func() error {
		select {
		case <-ctx.Done():
			sub.Stop(submit.ReasonInterrupted)
			log.Warn("stopping: no new requests; requests in flight may finish", zap.Duration("drainTimeout", cfg.DrainTimeout))
			t := time.NewTimer(cfg.DrainTimeout)
			defer t.Stop()
			select {
			case <-t.C:
				cancelReq()
			case <-done:
			}
		case <-done:
		}
		return nil
	})

	emit := func(ev event) error {
		select {
		case events <- ev:
			return nil
		case <-gctx.Done():
			return gctx.Err()
		}
	}
	stopped := func() string {
		if ctx.Err() != nil {
			return submit.ReasonInterrupted
		}
		return sub.Stopped()
	}
	leave := func(rows []chunk.Row, reason string) error {
		recs := make([]report.UnprocessedRecord, len(rows))
		for i, r := range rows {
			recs[i] = unprocessedRecord(r, reason)
		}
		return emit(event{unprocessed: recs})
	}

	var producers sync.WaitGroup
	rowsRead := 0
	producers.Add(1)
	g.Go(func() error {
		defer producers.Done()
		defer close(chunks)
		dispatch := func(c chunk.Chunk) error {
			if reason := stopped(); reason != "" {
				return leave(c.Rows, reason)
			}
			select {
			case chunks <- c:
				return nil
			case <-ctx.Done():
				return leave(c.Rows, submit.ReasonInterrupted)
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		chunker := chunk.New(cfg.ChunkSize)
		sc := newScreen(name, log, dedup, newCatalog(sub, cfg.Client), cfg.Preflight)
		for {
			p, rej, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			rowsRead++
			line := p.Line
			if rej != nil {
				line = rej.Line
			}
			if settled.Has(line) {
				// Settled by an earlier run, whose result was replayed (even
				// if this run reads the line otherwise); it still counts for
				// duplicates.
				if rej == nil {
					dedup.Seen(identity(p))
				}
				continue
			}
			v := sc.check(reqCtx, p, rej)
			if v.fail != nil {
				if err := emit(event{failed: []report.FailedRecord{*v.fail}}); err != nil {
					return err
				}
				continue
			}
			row := v.row
			if v.leave != "" {
				if err := leave([]chunk.Row{{Line: p.Line, CRMProspectID: p.CRMProspectID, FlowID: p.FlowID, OwnerEmail: p.OwnerEmail}}, v.leave); err != nil {
					return err
				}
				continue
			}
			if reason := stopped(); reason != "" {
				if err := leave([]chunk.Row{row}, reason); err != nil {
					return err
				}
				continue
			}
			if full := chunker.Add(row); full != nil {
				if err := dispatch(*full); err != nil {
					return err
				}
			}
		}
		for _, c := range chunker.Flush() {
			if err := dispatch(c); err != nil {
				return err
			}
		}
		return nil
	})

	workers := max(cfg.Concurrency, 1)
	for range workers {
		producers.Add(1)
		g.Go(func() error {
			defer producers.Done()
			for c := range chunks {
				if reason := stopped(); reason != "" {
					if err := leave(c.Rows, reason); err != nil {
						return err
					}
					continue
				}
				set, err := sub.Submit(reqCtx, c)
				if err != nil {
					return err
				}
				if err := emit(event{settlement: &set}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	go func() {
		producers.Wait()
		close(events)
	}()

	// The writer: the only goroutine that touches the result files.
	g.Go(func() error {
		defer close(done)
		for ev := range events {
			n, err := write(ev, led, w)
			prog.Settled(n)
			prog.Requests(sub.Stats().Requests)
			if err != nil {
				// Keep draining so producers are not blocked forever.
				go func() {
					for range events {
					}
				}()
				return err
			}
		}
		return nil
	})
	err := g.Wait()
	return rowsRead, err
}

// write journals a settlement, then writes every row of the event; it
// returns the number of rows written.
func write(ev event, led *ledger.Ledger, w *report.Writer) (int, error) {
	n := len(ev.failed) + len(ev.unprocessed)
	if ev.settlement != nil {
		n += len(ev.settlement.Assigned) + len(ev.settlement.Failed) + len(ev.settlement.Unprocessed)
	}
	return n, writeEvent(ev, led, w)
}

func writeEvent(ev event, led *ledger.Ledger, w *report.Writer) error {
	if ev.settlement != nil {
		s := ev.settlement
		var st ledger.Settled
		for _, a := range s.Assigned {
			st.Assigned = append(st.Assigned, assignedRecord(a))
		}
		for _, f := range s.Failed {
			st.Failed = append(st.Failed, failedRecord(f))
		}
		if err := led.Settle(st); err != nil {
			return err
		}
		if err := w.Assigned(st.Assigned...); err != nil {
			return err
		}
		if err := w.Failed(st.Failed...); err != nil {
			return err
		}
		for _, u := range s.Unprocessed {
			ev.unprocessed = append(ev.unprocessed, unprocessedRecord(u.Row, u.Reason))
		}
	}
	if err := w.Failed(ev.failed...); err != nil {
		return err
	}
	return w.Unprocessed(ev.unprocessed...)
}

func assignedRecord(a submit.Assigned) report.AssignedRecord {
	i := a.Instance
	return report.AssignedRecord{
		Line: a.Row.Line, CRMProspectID: report.Cell(a.Row.CRMProspectID), FlowID: report.Cell(a.Row.FlowID),
		FlowInstanceOwnerEmail: report.Cell(a.Row.OwnerEmail), FlowName: report.Cell(i.FlowName),
		FlowInstanceID: report.Cell(i.FlowInstanceID), FlowInstanceOwnerFullName: report.Cell(i.FlowInstanceOwnerFullName),
		FlowInstanceCreateDate: report.Cell(i.FlowInstanceCreateDate), FlowInstanceStatus: report.Cell(i.FlowInstanceStatus),
		WorkspaceID: report.Cell(i.WorkspaceID), Exclusive: i.Exclusive, RequestID: report.Cell(a.RequestID),
	}
}

func failedRecord(f submit.Failed) report.FailedRecord {
	return report.FailedRecord{
		Line: f.Row.Line, CRMProspectID: report.Cell(f.Row.CRMProspectID), FlowID: report.Cell(f.Row.FlowID),
		FlowInstanceOwnerEmail: report.Cell(f.Row.OwnerEmail), Stage: report.Cell(f.Stage), ErrorCode: report.Cell(f.Code),
		ErrorMessage: report.Cell(f.Message), HTTPStatus: report.Status(f.HTTPStatus), RequestID: report.Cell(f.RequestID),
	}
}

func rejectionRecord(r *input.Rejection) report.FailedRecord {
	return report.FailedRecord{
		Line: r.Line, CRMProspectID: report.Cell(r.CRMProspectID), FlowID: report.Cell(r.FlowID),
		FlowInstanceOwnerEmail: report.Cell(r.OwnerEmail), Stage: StageInput, ErrorCode: report.Cell(r.Code),
		ErrorMessage: report.Cell(r.Message),
	}
}

func duplicateRecord(name string, r chunk.Row, first int) report.FailedRecord {
	return report.FailedRecord{
		Line: r.Line, CRMProspectID: report.Cell(r.CRMProspectID), FlowID: report.Cell(r.FlowID),
		FlowInstanceOwnerEmail: report.Cell(r.OwnerEmail), Stage: StageInput, ErrorCode: CodeDuplicate,
		ErrorMessage: report.Cell(fmt.Sprintf("%s:%d: the same crmProspectId, flowId and flowInstanceOwnerEmail as line %d, which is sent instead", name, r.Line, first)),
	}
}

func unprocessedRecord(r chunk.Row, reason string) report.UnprocessedRecord {
	return report.UnprocessedRecord{
		Line: r.Line, CRMProspectID: report.Cell(r.CRMProspectID), FlowID: report.Cell(r.FlowID),
		FlowInstanceOwnerEmail: report.Cell(r.OwnerEmail), Reason: report.Cell(reason),
	}
}
