// Package worker runs the console's runs: the queue that takes them one at
// a time, and the pipeline it runs them through (pkg/enroll for checks and
// runs, pkg/reconcile for undos and verifies), the console's only door into
// it. It reads and updates the runs in the store; the HTTP side queues them.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"go.uber.org/zap"
)

// stopRequested is the cause a run's context ends with when a person
// stops it.
type stopRequested struct{}

func (stopRequested) Error() string { return "stopped by a person" }

// Queue runs the runs one at a time, first in first out, so that one server
// spends its Gong company's quota once however many people upload. Every
// run shares the pipeline's one pacer.
type Queue struct {
	st   *store.Store
	pipe Pipeline
	log  *zap.Logger
	rate float64 // for the time left
	// Sent hears of the requests runs send to Gong as they go (a run's at
	// each progress report, an undo's or a verify's when it ends), for the
	// count of requests sent today.
	Sent func(n int64)

	mu      sync.Mutex
	waiting []string // run IDs, next first
	current string
	cancel  context.CancelCauseFunc
	wake    chan struct{} // size 1: something was queued
}

// NewQueue returns an empty queue of the runs in st, run through pipe;
// rate (requests per second) is for the time a run has left.
func NewQueue(st *store.Store, pipe Pipeline, log *zap.Logger, rate float64) *Queue {
	return &Queue{st: st, pipe: pipe, log: log, rate: rate, Sent: func(int64) {}, wake: make(chan struct{}, 1)}
}

// Enqueue puts a run at the end of the queue.
func (q *Queue) Enqueue(id string) {
	q.mu.Lock()
	if !slices.Contains(q.waiting, id) && q.current != id {
		q.waiting = append(q.waiting, id)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Position is 1 for the next run to start, 0 for a run not waiting.
func (q *Queue) Position(id string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Index(q.waiting, id) + 1
}

// Stop takes a waiting run out of the queue (true), or asks the running
// one to drain (true); false if the run is neither.
func (q *Queue) Stop(id string) (waiting, running bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.waiting, id); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
		return true, false
	}
	if q.current == id && q.cancel != nil {
		q.cancel(stopRequested{})
		return false, true
	}
	return false, false
}

// next takes the next run, waiting for one; false once ctx ends.
func (q *Queue) next(ctx context.Context) (string, bool) {
	for {
		q.mu.Lock()
		if len(q.waiting) > 0 && ctx.Err() == nil {
			id := q.waiting[0]
			q.waiting = q.waiting[1:]
			q.current = id
			q.mu.Unlock()
			return id, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", false
		case <-q.wake:
		}
	}
}

// Loop runs the queue until ctx ends; the run going then drains and stays
// queued, to continue when the server starts again.
func (q *Queue) Loop(ctx context.Context) {
	for {
		id, ok := q.next(ctx)
		if !ok {
			return
		}
		q.execute(ctx, id)
		q.mu.Lock()
		q.current, q.cancel = "", nil
		q.mu.Unlock()
	}
}

// execute runs one run through the pipeline, from its ledger if it ran before.
func (q *Queue) execute(ctx context.Context, id string) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	q.mu.Lock()
	q.cancel = cancel
	q.mu.Unlock()
	r, err := q.st.Update(id, func(r *store.Run) error {
		r.Status = store.StatusRunning
		if r.StartedAt.IsZero() {
			r.StartedAt = q.st.Now()
		}
		return nil
	})
	if err != nil {
		q.log.Error("cannot start run", zap.String("run", id), zap.Error(err))
		return
	}
	log := q.log.With(zap.String("run", id), zap.String("kind", r.Kind), zap.String("startedBy", r.StartedBy))
	log.Info("run starting", zap.String("file", r.File), zap.String("of", r.Of))
	var res Result
	var runErr error
	switch r.Kind {
	case store.KindUndo, store.KindVerify:
		res, runErr = q.reconcile(rctx, r, log)
		q.Sent(res.figures().RequestsThisRun)
	default:
		tr := &tracker{st: q.st, id: id, rate: q.rate, sent: q.Sent}
		if r.Plan != nil {
			tr.planRows, tr.planRequests = r.Plan.Valid, r.Plan.Requests
		}
		res, runErr = q.pipe.Run(rctx, RunSpec{
			InputPath: filepath.Join(q.st.RunDir(id), r.InputFile()), OutDir: q.st.OutDir(id), Options: r.PipelineOptions(), Assigned: q.st.AssignedBy(id), Log: log,
			OverrideCoolOff: r.OverrideCoolOff != nil,
		}, tr)
		// The requests sent after the run's last progress report.
		tr.Requests(res.figures().RequestsThisRun)
	}
	q.finish(id, res, runErr, context.Cause(rctx), log)
}

// reconcile runs an undo or a verify on its run's out folder, then keeps
// a copy of the files it wrote there in its own: each undo and verify has
// the files of its own time.
func (q *Queue) reconcile(ctx context.Context, r store.Run, log *zap.Logger) (Result, error) {
	spec := ReconcileSpec{OutDir: q.st.OutDir(r.Of), UnassignedBy: r.UnassignedBy, Log: log}
	do, files := q.pipe.Verify, []string{VerifyFile}
	if r.Kind == store.KindUndo {
		do, files = q.pipe.Undo, []string{UndoneFile, UndoFailedFile}
	}
	res, err := do(ctx, spec)
	if kerr := keepFiles(spec.OutDir, q.st.OutDir(r.ID), files, res); kerr != nil && err == nil {
		res.ExitCode, err = 1, kerr
	}
	return res, err
}

// finish records how a run segment ended.
func (q *Queue) finish(id string, res Result, runErr, cause error, log *zap.Logger) {
	sum := res.figures()
	raw, jerr := res.summaryJSON()
	if jerr != nil && runErr == nil {
		runErr = jerr
	}
	code, now := res.ExitCode, q.st.Now()
	status := endStatus(code, cause)
	if cur, ok := q.st.Get(id); ok && cur.Kind == store.KindUndo && status == store.StatusFinished {
		// The run undone says so first, so that whoever sees the undo
		// ended also sees the run it undid marked.
		ref := &store.UndoRef{Run: id, By: cur.StartedBy, At: now, Complete: code == outcome.ExitOK}
		if _, err := q.st.Update(cur.Of, func(o *store.Run) error { o.UndoneBy = ref; return nil }); err != nil {
			log.Error("cannot record the undo on its run", zap.Error(err))
		}
	}
	r, err := q.st.Update(id, func(r *store.Run) error {
		clean := q.st.DisplayName(*r)
		r.ExitCode, r.Summary, r.Error = &code, nil, ""
		if raw != nil {
			r.Summary = json.RawMessage(clean(string(raw)))
		}
		r.Outcome = exitWords(r.Kind, code)
		if runErr != nil {
			r.Error = clean(runErr.Error())
		}
		if r.Error == "" {
			r.Error = stopWords(sum.StopReason)
		}
		r.Status = status
		switch status {
		case store.StatusQueued:
			// The server is stopping: queued again when it starts, and the
			// ledger resumes it.
			r.ExitCode, r.Outcome = nil, ""
		default:
			r.EndedAt = now
		}
		return nil
	})
	if err != nil {
		log.Error("cannot record the run's end", zap.Error(err))
		return
	}
	log.Info("run ended", zap.String("status", r.Status), zap.Int("exitCode", res.ExitCode),
		zap.Int("assigned", sum.Assigned), zap.Int("failed", sum.Failed), zap.Int("unprocessed", sum.Unprocessed),
		zap.Int64("requests", sum.RequestsThisRun), zap.NamedError("runError", runErr))
}

// endStatus is the status a run ends in: stopped when a person asked,
// queued again when the server is stopping, else finished.
func endStatus(code int, cause error) string {
	switch {
	case code == outcome.ExitStoppedEarly && errors.Is(cause, stopRequested{}):
		return store.StatusStopped
	case code == outcome.ExitStoppedEarly && cause != nil:
		return store.StatusQueued
	}
	return store.StatusFinished
}

// stopWords says, for a run Gong stopped, what stopped it and what to do:
// the cause would otherwise be in the server's log only.
func stopWords(reason string) string {
	switch reason {
	case outcome.ReasonUnauthorized:
		return "Gong refused this console's credentials (401) partway through the run. Whoever runs the console must check the Gong access key and secret; then continue this run: the rows not sent yet go then."
	case outcome.ReasonForbidden:
		return "Gong refused this console's requests (403) partway through the run: its token lacks the scope api:flows:write, or the key pair is wrong. Whoever runs the console must fix the key or grant the scope; then continue this run: the rows not sent yet go then."
	}
	return ""
}

// tracker is a run's Progress: it keeps the figures in the store, where
// the events stream and the API read them.
type tracker struct {
	st           *store.Store
	id           string
	rate         float64
	planRows     int
	planRequests int
	sent         func(n int64) // hears of requests as the run reports them

	mu       sync.Mutex
	l        store.Live
	reported int64 // requests passed on to sent
}

func (t *tracker) SetTotal(rows int)    { t.change(func(l *store.Live) { l.Total = rows }) }
func (t *tracker) Settled(rows int)     { t.change(func(l *store.Live) { l.Settled += rows }) }
func (t *tracker) Unprocessed(rows int) { t.change(func(l *store.Live) { l.Unprocessed += rows }) }
func (t *tracker) Requests(total int64) {
	t.change(func(l *store.Live) { l.Requests = total })
	t.mu.Lock()
	n := total - t.reported
	t.reported = max(t.reported, total)
	t.mu.Unlock()
	if n > 0 && t.sent != nil {
		t.sent(n)
	}
}

func (t *tracker) change(f func(*store.Live)) {
	t.mu.Lock()
	f(&t.l)
	t.l.Left = max(t.l.Total-t.l.Settled, 0)
	t.l.ETASeconds = 0
	if t.rate > 0 && t.planRows > 0 {
		// Requests left, as the check counted them for the rows left.
		left := float64(t.l.Left) * float64(t.planRequests) / float64(t.planRows)
		t.l.ETASeconds = float64(int(left/t.rate + 0.999))
	}
	l := t.l
	t.mu.Unlock()
	t.st.SetLive(t.id, l)
}

// exitWords says a run's exit code in words.
func exitWords(kind string, code int) string {
	switch {
	case kind == store.KindUndo && code == outcome.ExitOK:
		return "every flow instance the run created is removed"
	case kind == store.KindUndo && code == outcome.ExitSomeFailed:
		return "finished; Gong kept some flow instances (see undo-failed.csv)"
	case kind == store.KindUndo && code == outcome.ExitStoppedEarly:
		return "stopped early; some flow instances are not removed yet"
	case kind == store.KindVerify && code == outcome.ExitOK:
		return "every assigned row was read back"
	case kind == store.KindVerify && code == outcome.ExitStoppedEarly:
		return "stopped early; some rows were not read back"
	}
	switch code {
	case 0:
		return "every row was assigned"
	case 1:
		return "the run could not go on (see the error)"
	case 3:
		return "finished; some rows failed"
	case 4:
		return "stopped early; some rows were not sent yet"
	}
	return ""
}

// keepFiles copies the files an undo or a verify wrote in from into to,
// each replaced whole, and writes res's summary as to's summary.json.
func keepFiles(from, to string, files []string, res Result) error {
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, name := range files {
		err := copyFile(filepath.Join(from, name), filepath.Join(to, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	summary, err := res.summaryJSON()
	if err != nil || summary == nil {
		return err
	}
	return fsguard.WriteBytes(filepath.Join(to, SummaryFile), append(summary, '\n'))
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	return fsguard.WriteFile(to, func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}
