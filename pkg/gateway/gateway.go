// Package gateway is the one way a run reaches Gong: every request, an
// assign, a read-back or a listing, takes one request from the run's budget,
// waits its turn on the shared limiter, is retried under one policy, tells
// the limiter how it was answered, and is counted once. The counts it keeps
// are the only request figures of a run: summary.json, the metrics and the
// progress line are derived from them.
//
// The one way to make a request is the decorator: gw.Wrap(client) returns
// a *Gong with the plain client's methods, so a call site writes
// c.Assign(ctx, req) and nothing else (see Gong for the hooks a call site
// gives through its context: a journal before the turn, the moment it is
// sent, several calls retried as one). The hooks ride on the context, not
// on extra parameters, so that *Gong keeps the plain client's signatures
// and satisfies the same interface (as restic's backend/retry does), and a
// call that needs none stays plain. Each method names its Kind; the
// kinds, their names and their counters are one table (kindTable), and
// Counts derives summary.json's figures from the counters indexed by kind.
//
// It also holds why a run stopped dispatching (a signal, the budget, a
// quota, credentials Gong refused), so that every waiting worker gives up at
// once when that happens.
package gateway

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/pace"
)

// Limiter paces requests and learns from Gong's answers: RateLimited after
// a 429 that pacing did not prevent, Answered after any other answer
// (pace.Pacer is the one the commands use).
type Limiter = pace.Limiter

// Config is what a Gateway needs; the limiter, logger and clocks are built
// by the caller and shared.
type Config struct {
	Limiter Limiter // nil: no pacing
	Log     *zap.Logger
	// MaxRequests caps the requests of the whole run; 0 means no cap.
	MaxRequests int64
	// MaxRetryTime bounds the time spent retrying one operation.
	MaxRetryTime time.Duration
	// MaxWait is the longest Retry-After the run sleeps through; a longer
	// one (a daily quota) stops the run with ReasonRateLimited.
	MaxWait time.Duration
	// InitialInterval is the first retry delay (default 500ms).
	InitialInterval time.Duration
	// Timer and Clock drive backoff; nil means real time.
	Timer backoff.Timer
	Clock backoff.Clock
	// Now is the clock of the quota pattern; nil means time.Now.
	Now func() time.Time
}

// Gateway is shared by every worker of a run; it is safe for concurrent use.
type Gateway struct {
	cfg Config

	sent, retries, rateLimited, splits atomic.Int64
	byKind                             [numKinds]atomic.Int64 // requests sent, per kind
	answered                           atomic.Bool            // some request got an answer other than 429
	silences                           atomic.Int32           // timeouts with nothing answered yet
	budgetOut                          atomic.Bool            // the request budget is spent
	quota                              quotaWatch
	mu                                 sync.Mutex
	reason                             string
	stopped                            context.Context
	stopWaits                          context.CancelFunc
}

// New returns a Gateway.
func New(cfg Config) *Gateway {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Limiter == nil {
		cfg.Limiter = noPacing{}
	}
	if cfg.MaxRetryTime <= 0 {
		cfg.MaxRetryTime = 10 * time.Minute
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 5 * time.Minute
	}
	if cfg.InitialInterval <= 0 {
		cfg.InitialInterval = 500 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Gateway{cfg: cfg}
	g.stopped, g.stopWaits = context.WithCancel(context.Background())
	return g
}

type noPacing struct{}

func (noPacing) Wait(ctx context.Context) error { return ctx.Err() }
func (noPacing) RateLimited(time.Duration)      {}
func (noPacing) Answered()                      {}
func (noPacing) Turn(ctx context.Context, _ string) (pace.Turn, error) {
	return pace.Turn{}, ctx.Err()
}
func (noPacing) Heard(pace.Turn, pace.Answer) {}

// Counts returns the request figures so far.
func (g *Gateway) Counts() outcome.RequestCounts {
	c := outcome.RequestCounts{Requests: g.sent.Load(), Retries: g.retries.Load(), RateLimited: g.rateLimited.Load(), Splits: g.splits.Load()}
	for k, info := range kindTable() {
		if info.field != nil {
			*info.field(&c) = g.byKind[k].Load()
		}
	}
	return c
}

// Split counts a request refused with 400 and split in halves.
func (g *Gateway) Split() { g.splits.Add(1) }

// Stopped returns why the run stopped dispatching, or "".
func (g *Gateway) Stopped() string {
	if r := g.halted(); r != "" {
		return r
	}
	if g.budgetOut.Load() {
		return outcome.ReasonRequestBudget
	}
	return ""
}

// halted returns the reason of a stop that ends every wait: a spent
// budget is not one, since requests already reserved still go out.
func (g *Gateway) halted() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reason
}

// Stop makes every later request end with reason; the first reason wins.
func (g *Gateway) Stop(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reason == "" {
		g.reason = reason
		g.stopWaits()
	}
}

// Log is the gateway's logger.
func (g *Gateway) Log() *zap.Logger { return g.cfg.Log }

// waitCtx is ctx that also ends when the run stops dispatching: for waits,
// never for a request already sent.
func (g *Gateway) waitCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(g.stopped, cancel)
	return wctx, func() { unhook(); cancel() }
}

// reserve takes one request from the budget.
func (g *Gateway) reserve() bool {
	n := g.sent.Add(1)
	if g.cfg.MaxRequests > 0 && n > g.cfg.MaxRequests {
		g.sent.Add(-1)
		g.budgetOut.Store(true)
		return false
	}
	return true
}

// StopError ends an operation because the run stops dispatching. Err is
// the answer that stopped it, if a request's: a call site still learns
// from it whether Gong may have acted on the request (a timeout).
type StopError struct {
	Reason string
	Err    error
}

func (e *StopError) Error() string { return "stopped: " + e.Reason }

// Unwrap returns the answer that stopped the run, or nil.
func (e *StopError) Unwrap() error { return e.Err }

// StopReason reports whether err is the run stopping dispatch, and why.
func StopReason(err error) (string, bool) {
	var stop *StopError
	if errors.As(err, &stop) {
		return stop.Reason, true
	}
	return "", false
}

// count counts a request of kind k as sent.
func (g *Gateway) count(k Kind) { g.byKind[k].Add(1) }

// hear tells the limiter and the quota watch how the request of kind k
// sent on turn was answered.
func (g *Gateway) hear(err error, k Kind, turn pace.Turn) {
	switch st := gong.StatusOf(err); {
	case st == http.StatusTooManyRequests:
		var api *gong.APIError
		errors.As(err, &api)
		// A wait past --max-wait stops the run instead: no worker may sleep
		// through a daily quota in the pacer.
		if api.RetryAfter <= g.cfg.MaxWait {
			g.cfg.Limiter.Heard(turn, pace.Answer{Op: k.String(), Limited: true, RetryAfter: api.RetryAfter})
		}
		if g.quota.limited(g.cfg.Now()) {
			g.cfg.Log.Warn("Gong keeps answering 429 long after its per-second window: the daily quota is spent; stopping")
			g.Stop(outcome.ReasonDailyQuota)
		}
	case err == nil || gong.Responded(err):
		g.answered.Store(true)
		g.quota.answered()
		g.cfg.Limiter.Heard(turn, pace.Answer{Op: k.String()})
	}
}
