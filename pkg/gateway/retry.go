package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/pace"
)

// operation is one operation retried as a whole under the one retry
// policy; each attempt may send several requests through send (a
// read-back, then an assign).
type operation struct {
	g   *Gateway
	log *zap.Logger
	ra  *retryAfter
	// Attempts counts the requests sent so far.
	Attempts int
}

// retryAfter is a BackOff that waits at least as long as the server asked.
type retryAfter struct {
	backoff.BackOff
	next time.Duration
}

func (b *retryAfter) NextBackOff() time.Duration {
	d := b.BackOff.NextBackOff()
	if d == backoff.Stop {
		return d
	}
	if b.next > d {
		d = b.next
	}
	b.next = 0
	return d
}

// retry runs attempt until it succeeds or fails for good: jittered
// exponential backoff from InitialInterval, at most a minute apart, for at
// most MaxRetryTime, never sooner than a 429's Retry-After, and never past a
// stop of the run (then the error is a *StopError).
func (g *Gateway) retry(ctx context.Context, log *zap.Logger, attempt func(op *operation) error) error {
	expo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(g.cfg.InitialInterval),
		backoff.WithMaxInterval(time.Minute),
		backoff.WithMaxElapsedTime(g.cfg.MaxRetryTime),
	)
	if g.cfg.Clock != nil {
		expo.Clock = g.cfg.Clock
		expo.Reset()
	}
	op := &operation{g: g, log: log, ra: &retryAfter{BackOff: expo}}
	notify := func(err error, wait time.Duration) {
		g.retries.Add(1)
		log.Info("retrying", zap.Int("attempt", op.Attempts), zap.Duration("wait", wait), zap.Error(err))
	}
	wctx, done := g.waitCtx(ctx)
	defer done()
	err := backoff.RetryNotifyWithTimer(func() error { return attempt(op) }, backoff.WithContext(op.ra, wctx), notify, g.cfg.Timer)
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		if reason := g.halted(); reason != "" {
			return &StopError{Reason: reason} // stopped during a backoff wait
		}
	}
	return err
}

// JournalError is a failure of the step between taking a request from the
// budget and sending it (the ledger): the run cannot go on.
type JournalError struct{ Err error }

func (e *JournalError) Error() string { return e.Err.Error() }
func (e *JournalError) Unwrap() error { return e.Err }

// send makes one request of kind k: it checks the stop, takes one request
// from the budget, runs before (journaling that rows may reach Gong; nil
// for none), waits its turn on the limiter, runs beforeWrite (the same,
// after the turn; nil for none), then runs do. The answer is classified
// once, here: what to retry, what stops the run.
func (op *operation) send(ctx context.Context, k Kind, before, beforeWrite func() error, do func() error) error {
	g := op.g
	turn, err := op.take(ctx, k, before)
	if err != nil {
		return err
	}
	if beforeWrite != nil {
		if err := beforeWrite(); err != nil {
			g.sent.Add(-1) // never sent; the pacer hears nothing of the turn, as of a lost answer
			return backoff.Permanent(&JournalError{err})
		}
	}
	op.Attempts++
	g.count(k)
	err = do()
	g.hear(err, k, turn)
	if err == nil {
		return nil
	}
	if stop := op.stopFor(k, err); stop != "" {
		g.Stop(stop)
		return backoff.Permanent(&StopError{stop, err})
	}
	if reason := g.Stopped(); reason == outcome.ReasonDailyQuota {
		return backoff.Permanent(&StopError{reason, err})
	}
	if ctx.Err() != nil {
		// Keep the answer with the cancellation: a request written before
		// the drain timeout cut it may have been applied, and the call
		// site must still tell that (InDoubt) from one never sent.
		return backoff.Permanent(errors.Join(ctx.Err(), err))
	}
	if !gong.Retryable(err) {
		return backoff.Permanent(err)
	}
	return err
}

// take checks the stop, takes a request from the budget, runs before and
// waits for the limiter's turn; a request not sent is given back.
func (op *operation) take(ctx context.Context, k Kind, before func() error) (pace.Turn, error) {
	g := op.g
	if reason := g.Stopped(); reason != "" {
		return pace.Turn{}, backoff.Permanent(&StopError{Reason: reason})
	}
	if err := ctx.Err(); err != nil {
		return pace.Turn{}, backoff.Permanent(err)
	}
	if !g.reserve() {
		return pace.Turn{}, backoff.Permanent(&StopError{Reason: outcome.ReasonRequestBudget})
	}
	if before != nil {
		if err := before(); err != nil {
			g.sent.Add(-1)
			return pace.Turn{}, backoff.Permanent(&JournalError{err})
		}
	}
	wctx, done := g.waitCtx(ctx)
	turn, werr := g.wait(wctx, k)
	done()
	if reason := g.halted(); reason != "" { // a stop while waiting: send nothing more
		g.sent.Add(-1)
		return pace.Turn{}, backoff.Permanent(&StopError{Reason: reason})
	}
	if werr != nil {
		g.sent.Add(-1) // never sent
		return pace.Turn{}, backoff.Permanent(werr)
	}
	return turn, nil
}

// wait takes the limiter's turn for a request of kind k.
func (g *Gateway) wait(ctx context.Context, k Kind) (pace.Turn, error) {
	return g.cfg.Limiter.Turn(ctx, k.String())
}

// stopFor returns the reason err stops the whole run, or "".
func (op *operation) stopFor(k Kind, err error) string {
	g := op.g
	if st := gong.StatusOf(err); st >= 300 && st < 400 {
		// Gong does not redirect its API: the base URL is wrong.
		what, _ := gong.Unreachable(err)
		op.log.Error("Gong's address answered with a redirect, which is not followed: check GONG_BASE_URL; stopping", zap.Int("status", st), zap.String("cause", what))
		return outcome.ReasonUnreachable
	}
	var api *gong.APIError
	if errors.As(err, &api) {
		switch api.StatusCode {
		case http.StatusTooManyRequests:
			g.rateLimited.Add(1)
			if api.RetryAfter > g.cfg.MaxWait {
				op.log.Warn("Gong asks to wait longer than --max-wait; stopping", zap.Duration("retryAfter", api.RetryAfter), zap.Duration("maxWait", g.cfg.MaxWait))
				return outcome.ReasonRateLimited
			}
			op.ra.next = api.RetryAfter
		case http.StatusUnauthorized:
			op.log.Error("Gong refused the credentials (401); stopping", zap.String("requestId", api.RequestID))
			return outcome.ReasonUnauthorized
		case http.StatusForbidden:
			switch k {
			case Assign, Unassign, BulkSubmit:
				op.log.Error("Gong refused the request (403): the token lacks the scope api:flows:write; stopping", zap.String("requestId", api.RequestID))
				return outcome.ReasonForbidden
			case BulkPoll:
				// Every job would go unread, and every chunk still be
				// submitted: stop; the next run, with the scope, reads the
				// journaled ids.
				op.log.Error("Gong refused to read a bulk assignment (403): the token lacks the scope api:flows:read; stopping", zap.String("requestId", api.RequestID))
				return outcome.ReasonForbidden
			}
		}
		return ""
	}
	if what, ok := gong.Unreachable(err); ok && !g.answered.Load() {
		op.log.Error("Gong cannot be reached, and no request has been answered yet: check GONG_BASE_URL and the network; stopping", zap.String("cause", what))
		return outcome.ReasonUnreachable
	}
	if timedOut(err) && !g.answered.Load() && g.silences.Add(1) >= silencesToStop {
		// Gong answers within seconds; an address that takes connections
		// and has never answered one is not Gong (a wrong port, a proxy
		// that swallows requests). One slow answer is not yet that: the
		// second timeout with nothing answered is (within twice --timeout).
		// A server that answered before and then went quiet is retried
		// instead: that is an outage, not a setup.
		op.log.Error("Gong's address accepted the connection but sent no answer within --timeout, and no request has been answered since the run began: check GONG_BASE_URL (your company's API address, e.g. https://us-12345.api.gong.io) and any proxy on the way; stopping", zap.Error(err))
		return outcome.ReasonUnreachable
	}
	return ""
}

// timedOut reports whether err is an attempt that got no answer in time
// (the HTTP client's --timeout), as opposed to a refused or reset one.
// silencesToStop is how many requests must time out, with nothing answered
// since the run began, before the run stops as Unreachable: two, so that
// one slow first answer is retried, and a silent address is still told in
// about twice --timeout (contract: exit 1 within twice --timeout).
const silencesToStop = 2

func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// quotaWatch tells the daily quota by its pattern: 429 after 429 with no
// other answer between, for longer than the per-second window could explain.
type quotaWatch struct {
	mu     sync.Mutex
	streak int
	first  time.Time
}

// The quota pattern: this many 429s in a row, the first this long before the last.
const (
	quotaStreak = 4
	quotaSpan   = 3 * time.Second
)

// limited notes a 429 and reports whether the pattern is the daily quota's.
func (q *quotaWatch) limited(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.streak == 0 {
		q.first = now
	}
	q.streak++
	return q.streak >= quotaStreak && now.Sub(q.first) >= quotaSpan
}

func (q *quotaWatch) answered() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.streak = 0
}
