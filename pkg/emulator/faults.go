package emulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// Faults configures the failures the server injects, for testing how a
// client copes with an unreliable network and an unreliable Gong. The zero
// value injects none.
//
// Every admitted request to an operation in Ops (past authentication, the
// limits and Config.Hook) draws one number in [0, 1) from a generator seeded
// with Seed, under the server's mutex. The rates split [0, 1) into bands in
// the order of the fields below, so at most one fault hits a request, each
// rate is the share of those requests it hits, and the rates must add up to
// at most 1. The same Seed and the same sequence of requests give the same
// faults; concurrent requests draw in the order they reach the mutex.
//
// Faults that fail before applying (ServerError, Storm, ResetBefore) leave
// nothing behind. Faults that fail after applying (DropAfterApply,
// SlowAnswer, TruncatedBody, InvalidJSON) first validate and apply the
// request exactly as without the fault, so Created and Instances show what
// Gong would have done, and then spoil the answer, whatever its status.
//
// Dropping a connection needs an HTTP/1 http.ResponseWriter that can be
// hijacked (httptest.NewServer gives one). Otherwise the handler panics with
// http.ErrAbortHandler, which net/http's server turns into a reset stream or
// a closed connection; an httptest.ResponseRecorder sees the panic.
//
// Go's http.Transport silently sends a GET again once when a reused
// connection is dropped before any answer, so with OpListFlows in Ops one
// ListFlows call may reach the server twice; the POSTs are never replayed.
type Faults struct {
	// Seed seeds the fault generator, separately from Config.Seed, so that
	// faults can change without changing the generated IDs.
	Seed int64
	// Ops lists the operations faults apply to: OpAssign, OpReadBack,
	// OpListFlows, OpListUsers, OpUnassign, OpUnassignCRM, OpAssignCoolOff,
	// OpBulkSubmit (DropAfterApplyRate there is a lost 202), OpBulkStatus.
	// Default: OpAssign only.
	Ops []string

	// ServerErrorRate is the share of requests answered with a 5xx and an
	// error body instead of being applied. The status is drawn from
	// ServerErrorStatuses, each 500-599, with equal chances; default 500.
	ServerErrorRate     float64
	ServerErrorStatuses []int

	// StormRate is the share of requests that start a rate-limit storm: that
	// request and the next StormLength-1 requests to Ops (default length 1)
	// are answered 429 with Retry-After StormRetryAfter (rounded up to whole
	// seconds, default 1s) instead of being applied. Requests in a storm still
	// draw, so the storm does not shift the faults that follow it. These
	// 429s count in Stats.Faults.RateLimitStorm, not Stats.RateLimited.
	StormRate       float64
	StormLength     int
	StormRetryAfter time.Duration

	// ResetBeforeRate is the share of requests whose connection is reset
	// (TCP RST) without an answer and before anything is applied.
	ResetBeforeRate float64

	// DropAfterApplyRate is the share of requests applied and then reset
	// without an answer: the client cannot know what happened ("rows in
	// doubt"), though the instances exist.
	DropAfterApplyRate float64

	// SlowAnswerRate is the share of requests applied and then answered only
	// after SlowAnswerDelay (required with a rate), meant to outlast the
	// client's timeout. If the request's context ends first (the client gave
	// up), the handler returns without answering and the request counts in
	// Stats.Abandoned too; what was applied stays applied.
	SlowAnswerRate  float64
	SlowAnswerDelay time.Duration

	// TruncatedBodyRate is the share of requests applied and then answered
	// with the status and a Content-Length for the whole JSON body, but only
	// the first half of it, after which the connection is closed.
	TruncatedBodyRate float64

	// InvalidJSONRate is the share of requests applied and then answered with
	// the status and an HTML error page (Content-Type text/html), as a proxy
	// in front of Gong might send.
	InvalidJSONRate float64
}

// FaultCounts counts injected faults: one per request hit, or per 429 for
// storms.
type FaultCounts struct {
	ServerError, RateLimitStorm, ResetBefore               int
	DropAfterApply, SlowAnswer, TruncatedBody, InvalidJSON int
	// Poisoned counts assign requests refused for Config.PoisonIDs.
	Poisoned int
}

// Total is the number of faults injected.
func (c FaultCounts) Total() int {
	return c.ServerError + c.RateLimitStorm + c.ResetBefore +
		c.DropAfterApply + c.SlowAnswer + c.TruncatedBody + c.InvalidJSON + c.Poisoned
}

// fault is the kind of fault drawn for one request.
type fault int

const (
	noFault fault = iota
	faultServerError
	faultStorm
	faultResetBefore
	faultDropAfterApply
	faultSlowAnswer
	faultTruncatedBody
	faultInvalidJSON
)

func (f fault) String() string {
	switch f {
	case faultServerError:
		return "server error"
	case faultStorm:
		return "rate-limit storm"
	case faultResetBefore:
		return "reset before apply"
	case faultDropAfterApply:
		return "drop after apply"
	case faultSlowAnswer:
		return "slow answer"
	case faultTruncatedBody:
		return "truncated body"
	case faultInvalidJSON:
		return "invalid JSON"
	}
	return "none"
}

// injection is the fault drawn for one request, with what it needs.
type injection struct {
	kind       fault
	status     int           // faultServerError
	retryAfter time.Duration // faultStorm
	delay      time.Duration // faultSlowAnswer
}

// faultState is the live fault configuration, guarded by the server's mutex.
type faultState struct {
	cfg       Faults // normalized
	rng       *rand.Rand
	stormLeft int // requests still to refuse in the current storm
}

func newFaultState(f Faults) faultState {
	return faultState{cfg: f, rng: rand.New(rand.NewPCG(uint64(f.Seed), 0x6a09e667f3bcc909))}
}

// normalize checks f and fills in its defaults.
func (f Faults) normalize() (Faults, error) {
	var errs []error
	rates := []struct {
		name string
		rate float64
	}{
		{"ServerErrorRate", f.ServerErrorRate}, {"StormRate", f.StormRate}, {"ResetBeforeRate", f.ResetBeforeRate},
		{"DropAfterApplyRate", f.DropAfterApplyRate}, {"SlowAnswerRate", f.SlowAnswerRate},
		{"TruncatedBodyRate", f.TruncatedBodyRate}, {"InvalidJSONRate", f.InvalidJSONRate},
	}
	sum := 0.0
	for _, r := range rates {
		if math.IsNaN(r.rate) || r.rate < 0 || r.rate > 1 {
			errs = append(errs, fmt.Errorf("%s %v is not between 0 and 1", r.name, r.rate))
			continue
		}
		sum += r.rate
	}
	if sum > 1+1e-9 {
		errs = append(errs, fmt.Errorf("the fault rates add up to %v, more than 1", sum))
	}

	if len(f.Ops) == 0 {
		f.Ops = []string{OpAssign}
	} else {
		f.Ops = slices.Clone(f.Ops)
	}
	for _, op := range f.Ops {
		if route(pathOf(op)).op == "" {
			errs = append(errs, fmt.Errorf("Ops: unknown operation %q", op))
		}
	}

	if len(f.ServerErrorStatuses) == 0 {
		f.ServerErrorStatuses = []int{http.StatusInternalServerError}
	} else {
		f.ServerErrorStatuses = slices.Clone(f.ServerErrorStatuses)
	}
	for _, st := range f.ServerErrorStatuses {
		if st < 500 || st > 599 {
			errs = append(errs, fmt.Errorf("ServerErrorStatuses: %d is not a 5xx status", st))
		}
	}

	switch {
	case f.StormLength < 0:
		errs = append(errs, fmt.Errorf("StormLength %d is negative", f.StormLength))
	case f.StormLength == 0:
		f.StormLength = 1
	}
	switch {
	case f.StormRetryAfter < 0:
		errs = append(errs, fmt.Errorf("StormRetryAfter %v is negative", f.StormRetryAfter))
	case f.StormRetryAfter == 0:
		f.StormRetryAfter = time.Second
	case f.StormRetryAfter > math.MaxInt64-time.Second:
		errs = append(errs, fmt.Errorf("StormRetryAfter %v is too long", f.StormRetryAfter))
	default:
		f.StormRetryAfter = (f.StormRetryAfter + time.Second - 1).Truncate(time.Second)
	}

	switch {
	case f.SlowAnswerDelay < 0:
		errs = append(errs, fmt.Errorf("SlowAnswerDelay %v is negative", f.SlowAnswerDelay))
	case f.SlowAnswerRate > 0 && f.SlowAnswerDelay == 0:
		errs = append(errs, errors.New("SlowAnswerRate needs a SlowAnswerDelay"))
	}
	if err := errors.Join(errs...); err != nil {
		return Faults{}, fmt.Errorf("faults: %w", err)
	}
	return f, nil
}

// SetFaults replaces the faults from the next request on and restarts their
// generator from f.Seed, ending any storm in progress: a test can run with
// faults, then without them (a resume), or with the same faults again.
// Requests that already drew keep their fault; Stats keep counting. An
// invalid f is an error and changes nothing.
func (s *Server) SetFaults(f Faults) error {
	f, err := f.normalize()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = newFaultState(f)
	return nil
}

// drawFault decides the fault for one admitted request and counts it; the
// caller holds s.mu.
func (s *Server) drawFault(op string) injection {
	fs := &s.faults
	f := &fs.cfg
	if !slices.Contains(f.Ops, op) {
		return injection{}
	}
	u := fs.rng.Float64()
	if fs.stormLeft > 0 {
		fs.stormLeft--
		s.stats.Faults.RateLimitStorm++
		return injection{kind: faultStorm, retryAfter: f.StormRetryAfter}
	}
	bands := []struct {
		rate  float64
		kind  fault
		count *int
	}{
		{f.ServerErrorRate, faultServerError, &s.stats.Faults.ServerError},
		{f.StormRate, faultStorm, &s.stats.Faults.RateLimitStorm},
		{f.ResetBeforeRate, faultResetBefore, &s.stats.Faults.ResetBefore},
		{f.DropAfterApplyRate, faultDropAfterApply, &s.stats.Faults.DropAfterApply},
		{f.SlowAnswerRate, faultSlowAnswer, &s.stats.Faults.SlowAnswer},
		{f.TruncatedBodyRate, faultTruncatedBody, &s.stats.Faults.TruncatedBody},
		{f.InvalidJSONRate, faultInvalidJSON, &s.stats.Faults.InvalidJSON},
	}
	lo := 0.0
	for _, b := range bands {
		if u >= lo+b.rate {
			lo += b.rate
			continue
		}
		*b.count++
		in := injection{kind: b.kind}
		switch b.kind {
		case faultServerError:
			// Where u falls within the band picks the status, so each
			// request still takes exactly one draw.
			i := int((u - lo) / b.rate * float64(len(f.ServerErrorStatuses)))
			in.status = f.ServerErrorStatuses[min(i, len(f.ServerErrorStatuses)-1)]
		case faultStorm:
			fs.stormLeft = f.StormLength - 1
			in.retryAfter = f.StormRetryAfter
		case faultSlowAnswer:
			in.delay = f.SlowAnswerDelay
		}
		return in
	}
	return injection{}
}

// htmlErrorPage is the body of an InvalidJSON answer.
const htmlErrorPage = `<!DOCTYPE html>
<html><head><title>Service Temporarily Unavailable</title></head>
<body><h1>Service Temporarily Unavailable</h1><p>The server is temporarily unable to service your request.</p></body></html>
`

// hangUp closes the connection under w without finishing the answer; with
// reset, the close is a TCP RST, as a crashed server or a load balancer
// gives. The caller flushes first whatever must reach the client.
func hangUp(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// No connection to take (HTTP/2, a recorder): net/http aborts the
		// stream or connection for this panic, without logging it.
		panic(http.ErrAbortHandler)
	}
	if reset {
		if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
			_ = tc.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// sleep waits d; it reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
