// Package submit sends chunks to Gong's assign endpoint: every attempt waits
// on one shared rate limiter, failures are retried with jittered exponential
// backoff that honours Retry-After, and each answer is split into a result
// per row so that no row of a chunk goes unaccounted.
package submit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

// Client is the part of the Gong client the submitter uses.
type Client interface {
	Assign(ctx context.Context, req gong.AssignRequest) (*gong.AssignResponse, error)
	ProspectsFlows(ctx context.Context, crmIDs []string) (*gong.ProspectsFlowsResponse, error)
}

// Reasons a row ends in unprocessed.csv.
const (
	ReasonInterrupted   = "Interrupted"
	ReasonUnauthorized  = "Unauthorized"
	ReasonRequestBudget = "RequestBudget"
	ReasonRateLimited   = "RateLimited"
	ReasonInDoubt       = "InDoubt"
)

// Stages and codes of failed.csv that this package decides.
const (
	StageAPI     = "api"
	StageRequest = "request"

	CodeMissingFromResponse = "MissingFromResponse"
	CodeRetriesExhausted    = "RetriesExhausted"
	CodeBadRequest          = "BadRequest"
	CodeForbidden           = "Forbidden"
	CodeFlowNotFound        = "FlowNotFound"
)

// Limiter paces requests; every attempt, retries and read-backs included,
// waits on the one shared Limiter.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Feedback is what a Limiter may want to hear of the answers, to slow down
// after a 429 pacing did not prevent and creep back up after.
type Feedback interface {
	RateLimited(retryAfter time.Duration)
	Answered()
}

// Config is what a Submitter needs; the limiter, logger and clocks are built
// by the caller and shared.
type Config struct {
	Client  Client
	Limiter Limiter
	Log     *zap.Logger
	// MaxRetryTime bounds the time spent retrying one chunk.
	MaxRetryTime time.Duration
	// MaxWait is the longest Retry-After the run will sleep through; a longer
	// one (a daily quota) stops dispatching with ReasonRateLimited.
	MaxWait time.Duration
	// MaxRequests caps the attempts of the whole run; 0 means no cap.
	MaxRequests int64
	// Timer and Clock drive backoff; nil means real time.
	Timer backoff.Timer
	Clock backoff.Clock
	// InitialInterval is the first retry delay (default 500ms).
	InitialInterval time.Duration
	// Now is the clock for send times; nil means time.Now.
	Now func() time.Time
	// BeforeSend is called once per request's rows, just before the first
	// assign carrying them goes out, to journal that they may be in Gong
	// from now on. An error ends the run.
	BeforeSend func(c chunk.Chunk, at time.Time) error
	// Doubt tells whether an earlier run sent the row on this line without
	// recording the answer, and when.
	Doubt func(line int) (time.Time, bool)
}

// Assigned is a row Gong assigned.
type Assigned struct {
	Row       chunk.Row
	Instance  gong.AssignedFlow
	RequestID string
}

// Failed is a row that will not be assigned by this run.
type Failed struct {
	Row        chunk.Row
	Stage      string
	Code       string
	Message    string
	HTTPStatus int
	RequestID  string
}

// Unprocessed is a row that was not settled: the same command continues it.
type Unprocessed struct {
	Row    chunk.Row
	Reason string
}

// Settlement is the outcome of one chunk: every row of the chunk is in
// exactly one of its lists.
type Settlement struct {
	Chunk       chunk.Chunk
	Assigned    []Assigned
	Failed      []Failed
	Unprocessed []Unprocessed
}

// Stats are the run's request figures.
type Stats struct {
	Requests    int64 // every request, read-backs included
	Retries     int64
	RateLimited int64 // 429 answers
	ReadBacks   int64
	// Splits counts requests refused with 400 and split in halves; each
	// costs the requests of its halves on top.
	Splits int64
	// FlowListings counts GET /v2/flows requests (also in Requests).
	FlowListings int64
}

// Submitter sends chunks; it is safe for use by many workers.
type Submitter struct {
	cfg         Config
	requests    atomic.Int64
	retries     atomic.Int64
	rateLimited atomic.Int64
	readBacks   atomic.Int64
	splits      atomic.Int64
	listings    atomic.Int64
	chunkCap    atomic.Int64 // 0: no cap learnt
	notFound    sync.Map     // group key -> Failed, for flows Gong answered 404

	mu     sync.Mutex
	reason string // why dispatching stopped; "" while it goes on

	// stopped ends with the first Stop: every wait (pacer, backoff) gives up
	// then, so no worker sleeps through a quota's Retry-After or a drain.
	stopped   context.Context
	stopWaits context.CancelFunc
	claimed   sync.Map // flowInstanceId -> struct{}: instances a read-back took
}

// New returns a Submitter.
func New(cfg Config) *Submitter {
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
	sub := &Submitter{cfg: cfg}
	sub.stopped, sub.stopWaits = context.WithCancel(context.Background())
	return sub
}

// waitCtx is ctx that also ends when the run stops dispatching: for waits,
// never for a request already sent.
func (s *Submitter) waitCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(s.stopped, cancel)
	return wctx, func() { unhook(); cancel() }
}

// Stats returns the figures so far.
func (s *Submitter) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Retries: s.retries.Load(), RateLimited: s.rateLimited.Load(), ReadBacks: s.readBacks.Load(), Splits: s.splits.Load(), FlowListings: s.listings.Load()}
}

func (s *Submitter) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Stopped returns why the run must stop dispatching, or "".
func (s *Submitter) Stopped() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// Stop makes every later attempt end with reason; the first reason wins.
func (s *Submitter) Stop(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason == "" {
		s.reason = reason
		s.stopWaits()
	}
}

type noPacing struct{}

func (noPacing) Wait(ctx context.Context) error { return ctx.Err() }

// reserve takes one request from the budget.
func (s *Submitter) reserve() bool {
	n := s.requests.Add(1)
	if s.cfg.MaxRequests > 0 && n > s.cfg.MaxRequests {
		s.requests.Add(-1)
		s.Stop(ReasonRequestBudget)
		return false
	}
	return true
}

// stopError ends a chunk's attempts because the run stops dispatching.
type stopError struct{ reason string }

func (e *stopError) Error() string { return "stopped: " + e.reason }

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

// Submit sends one chunk, retrying as needed, and accounts for each of its
// rows. ctx bounds the requests themselves: when it ends, rows not yet
// answered are Unprocessed with ReasonInterrupted. An error is returned only
// when the journal could not be written; the settlement is then empty.
//
// A row is in doubt when a request carrying it may have reached Gong without
// an answer (a dropped connection, a timeout, a 5xx), or when an earlier run
// sent it and never recorded the answer (Config.Doubt). Before such a row is
// sent again, its open flow instances are read back: an instance in this
// flow created since the row was first sent is this tool's doing and the row
// is assigned; an older one is not claimed, and the row is sent so that Gong
// gives its own answer for it.
func (s *Submitter) Submit(ctx context.Context, c chunk.Chunk) (Settlement, error) {
	log := s.cfg.Log.With(zap.Int("chunk", c.Seq), zap.String("flowId", c.FlowID), zap.Int("ids", len(c.Rows)))
	set := Settlement{Chunk: c}
	if nf, ok := s.notFound.Load(chunk.GroupKey(c.FlowID, c.OwnerEmail)); ok {
		// Gong said 404 for this flow and owner already: spend no request.
		f := nf.(Failed)
		for _, r := range c.Rows {
			g := f
			g.Row = r
			set.Failed = append(set.Failed, g)
		}
		return set, nil
	}
	// A chunk larger than what Gong has been seen to take is cut up front.
	size := s.ChunkCap(len(c.Rows))
	for start := 0; start < len(c.Rows); start += size {
		if err := s.sendPart(ctx, c, c.Rows[start:min(start+size, len(c.Rows))], &set, log); err != nil {
			return Settlement{}, err
		}
	}
	return set, nil
}

// ChunkCap is the largest request that Gong has not refused for its size,
// at most n.
func (s *Submitter) ChunkCap(n int) int {
	if c := int(s.chunkCap.Load()); c > 0 && c < n {
		return c
	}
	return max(n, 1)
}

// sendPart sends rows of c (with retries) and adds their results to set. It
// reports whether Gong refused the request as malformed (400). Such a
// request is split in halves, and halves again, until the rows that cause the
// refusal are isolated, so that one bad ID does not fail 199 good ones. When
// both halves of a refused request are accepted, the refusal was about its
// size, and later requests are cut to the half's size: the help page says
// 200 IDs a request, the newer spec 100.
func (s *Submitter) sendPart(ctx context.Context, c chunk.Chunk, rows []chunk.Row, set *Settlement, log *zap.Logger) (journalErr error) {
	_, err := s.sendRows(ctx, c, rows, set, log)
	return err
}

// sendRows is sendPart; refused reports a 400 for the rows as a whole.
func (s *Submitter) sendRows(ctx context.Context, c chunk.Chunk, rows []chunk.Row, set *Settlement, log *zap.Logger) (refused bool, journalErr error) {
	a := &attempts{s: s, c: c, log: log, set: Settlement{Chunk: c}, pending: rows, doubt: map[string]time.Time{}, unverified: map[string]bool{}}
	if s.cfg.Doubt != nil {
		for _, r := range rows {
			if at, ok := s.cfg.Doubt(r.Line); ok {
				a.doubt[r.CRMProspectID] = at
			}
		}
	}
	err := s.retry(ctx, a, func() error { return a.once(ctx) })
	merge := func(part Settlement) {
		set.Assigned = append(set.Assigned, part.Assigned...)
		set.Failed = append(set.Failed, part.Failed...)
		set.Unprocessed = append(set.Unprocessed, part.Unprocessed...)
	}
	if a.journalErr != nil {
		return false, a.journalErr
	}
	if err == nil {
		merge(a.set)
		return false, nil
	}
	refused = gong.StatusOf(err) == http.StatusBadRequest
	if refused && len(a.pending) > 1 && len(a.doubt) == 0 {
		merge(a.set) // rows a read-back settled before the refusal
		half := len(a.pending) / 2
		s.splits.Add(1)
		log.Info("Gong refused the request (400); splitting it to isolate the rows at fault", zap.Int("rows", len(a.pending)), zap.Error(err))
		rest := append([]chunk.Row(nil), a.pending[half:]...)
		r1, jerr := s.sendRows(ctx, c, a.pending[:half], set, log)
		if jerr != nil {
			return false, jerr
		}
		r2, jerr := s.sendRows(ctx, c, rest, set, log)
		if jerr != nil {
			return false, jerr
		}
		if !r1 && !r2 && half >= minCap {
			s.lowerCap(half, log)
		}
		return true, nil
	}
	if gong.StatusOf(err) == http.StatusNotFound {
		var api *gong.APIError
		errors.As(err, &api)
		s.notFound.LoadOrStore(chunk.GroupKey(c.FlowID, c.OwnerEmail), Failed{
			Stage: StageRequest, Code: CodeFlowNotFound, HTTPStatus: http.StatusNotFound, RequestID: api.RequestID,
			Message: api.Message() + " (not sent: Gong answered 404 for an earlier request for this flow and owner)",
		})
	}
	merge(s.settleError(ctx, a, err))
	return refused, nil
}

// retry runs op under the one retry policy: jittered exponential backoff
// from InitialInterval, at most a minute apart, for at most MaxRetryTime,
// and never sooner than a 429's Retry-After.
func (s *Submitter) retry(ctx context.Context, a *attempts, op func() error) error {
	expo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(s.cfg.InitialInterval),
		backoff.WithMaxInterval(time.Minute),
		backoff.WithMaxElapsedTime(s.cfg.MaxRetryTime),
	)
	if s.cfg.Clock != nil {
		expo.Clock = s.cfg.Clock
		expo.Reset()
	}
	a.ra = &retryAfter{BackOff: expo}
	notify := func(err error, wait time.Duration) {
		s.retries.Add(1)
		a.log.Info("retrying", zap.Int("attempt", a.n), zap.Duration("wait", wait), zap.Error(err))
	}
	wctx, done := s.waitCtx(ctx)
	defer done()
	err := backoff.RetryNotifyWithTimer(op, backoff.WithContext(a.ra, wctx), notify, s.cfg.Timer)
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		if reason := s.Stopped(); reason != "" {
			return &stopError{reason} // stopped during a backoff wait
		}
	}
	return err
}

// Do makes a request other than assign (a flow listing) under the same
// pacing, request budget, retries and stop rules. A stop comes back as an
// error for which StopReason reports the reason.
func (s *Submitter) Do(ctx context.Context, what string, fn func(context.Context) error) error {
	a := &attempts{s: s, log: s.cfg.Log.With(zap.String("op", what))}
	return s.retry(ctx, a, func() error {
		return a.call(ctx, func() error {
			s.listings.Add(1)
			return fn(ctx)
		})
	})
}

// StopReason reports whether err is the run stopping dispatch, and why.
func StopReason(err error) (string, bool) {
	var stop *stopError
	if errors.As(err, &stop) {
		return stop.reason, true
	}
	return "", false
}

// minCap is the smallest request size a refusal may teach: a refused pair
// whose halves pass is two rows that cannot share a request, not a size.
const minCap = 10

func (s *Submitter) lowerCap(n int, log *zap.Logger) {
	for {
		cur := s.chunkCap.Load()
		if cur > 0 && cur <= int64(n) {
			return
		}
		if s.chunkCap.CompareAndSwap(cur, int64(n)) {
			log.Warn("Gong refused a request its halves passed: sending at most this many IDs a request from now on", zap.Int("chunkSize", n))
			return
		}
	}
}

// attempts is the state of one chunk across its attempts.
type attempts struct {
	s       *Submitter
	c       chunk.Chunk
	log     *zap.Logger
	ra      *retryAfter
	n       int
	set     Settlement           // rows settled so far
	pending []chunk.Row          // rows still to be answered
	doubt   map[string]time.Time // CRM ID -> earliest time Gong may have applied it

	journaled  bool            // BeforeSend was called for these rows
	journalErr error           // BeforeSend failed: the run cannot go on
	unverified map[string]bool // in doubt, but the read-back was refused
}

// call makes one request: it checks the stop flag, spends one request of the
// budget and waits its turn on the limiter.
func (a *attempts) call(ctx context.Context, fn func() error) error {
	return a.callAfter(ctx, nil, fn)
}

// callAfter is call with a step (the journal) between taking the request
// from the budget and waiting for the pacer's turn.
func (a *attempts) callAfter(ctx context.Context, before func() error, fn func() error) error {
	s := a.s
	if reason := s.Stopped(); reason != "" {
		return backoff.Permanent(&stopError{reason})
	}
	if err := ctx.Err(); err != nil {
		return backoff.Permanent(err)
	}
	if !s.reserve() {
		return backoff.Permanent(&stopError{ReasonRequestBudget})
	}
	if before != nil {
		if err := before(); err != nil {
			s.requests.Add(-1)
			return err
		}
	}
	wctx, done := s.waitCtx(ctx)
	werr := s.cfg.Limiter.Wait(wctx)
	done()
	if reason := s.Stopped(); reason != "" { // a stop while waiting: send nothing more
		s.requests.Add(-1)
		return backoff.Permanent(&stopError{reason})
	}
	if werr != nil {
		s.requests.Add(-1) // never sent
		return backoff.Permanent(werr)
	}
	a.n++
	err := fn()
	if fb, ok := s.cfg.Limiter.(Feedback); ok {
		if gong.StatusOf(err) == http.StatusTooManyRequests {
			var api *gong.APIError
			errors.As(err, &api)
			// A wait past --max-wait stops the run instead: no worker may
			// sleep through a daily quota in the pacer.
			if api.RetryAfter <= s.cfg.MaxWait {
				fb.RateLimited(api.RetryAfter)
			}
		} else if err == nil || gong.StatusOf(err) != 0 {
			fb.Answered()
		}
	}
	if err == nil {
		return nil
	}
	var api *gong.APIError
	if errors.As(err, &api) {
		switch api.StatusCode {
		case http.StatusTooManyRequests:
			s.rateLimited.Add(1)
			if api.RetryAfter > s.cfg.MaxWait {
				a.log.Warn("Gong asks to wait longer than --max-wait; stopping", zap.Duration("retryAfter", api.RetryAfter), zap.Duration("maxWait", s.cfg.MaxWait))
				s.Stop(ReasonRateLimited)
				return backoff.Permanent(&stopError{ReasonRateLimited})
			}
			a.ra.next = api.RetryAfter
		case http.StatusUnauthorized:
			a.log.Error("Gong refused the credentials (401); stopping", zap.String("requestId", api.RequestID))
			s.Stop(ReasonUnauthorized)
			return backoff.Permanent(&stopError{ReasonUnauthorized})
		}
	}
	if ctx.Err() != nil {
		return backoff.Permanent(ctx.Err())
	}
	if !gong.Retryable(err) {
		return backoff.Permanent(err)
	}
	return err
}

// once is one attempt: a read-back if rows are in doubt, then an assign of
// the rows still pending.
func (a *attempts) once(ctx context.Context) error {
	if len(a.doubt) > 0 {
		if err := a.call(ctx, func() error { return a.readBack(ctx) }); err != nil {
			return err
		}
		if len(a.pending) == 0 {
			return nil
		}
	}
	ids := make([]string, len(a.pending))
	for i, r := range a.pending {
		ids[i] = r.CRMProspectID
	}
	req := gong.AssignRequest{CRMProspectsIDs: ids, FlowID: a.c.FlowID, FlowInstanceOwnerEmail: a.c.OwnerEmail}
	var sentAt time.Time
	journal := func() error {
		if a.journaled || a.s.cfg.BeforeSend == nil {
			return nil
		}
		// Journaled once the budget lets the request go (rows a budget
		// stop keeps back are not left in doubt), and before the pacer's
		// turn: an fsync between the turn and the send would bunch requests
		// up at Gong under disk load.
		part := a.c
		part.Rows = a.pending
		if err := a.s.cfg.BeforeSend(part, a.s.now()); err != nil {
			a.journalErr = err
			return backoff.Permanent(err)
		}
		a.journaled = true
		return nil
	}
	return a.callAfter(ctx, journal, func() error {
		sentAt = a.s.now()
		resp, err := a.s.cfg.Client.Assign(ctx, req)
		if err != nil {
			if mayHaveApplied(err) {
				for _, r := range a.pending {
					if _, ok := a.doubt[r.CRMProspectID]; !ok {
						a.doubt[r.CRMProspectID] = sentAt
					}
				}
			}
			return err
		}
		a.settle(resp)
		return nil
	})
}

// mayHaveApplied reports whether Gong may have acted on a request that
// failed: the request went out and no clear refusal came back.
func mayHaveApplied(err error) bool {
	var te *gong.TransportError
	if errors.As(err, &te) {
		return te.Sent
	}
	return gong.StatusOf(err) >= 500 && gong.Retryable(err) // not 501: nothing was done
}

// readBack resolves the rows in doubt from their open flow instances.
func (a *attempts) readBack(ctx context.Context) error {
	ids := make([]string, 0, len(a.doubt))
	for _, r := range a.pending {
		if _, ok := a.doubt[r.CRMProspectID]; ok {
			ids = append(ids, r.CRMProspectID)
		}
	}
	a.s.readBacks.Add(1)
	resp, err := a.s.cfg.Client.ProspectsFlows(ctx, ids)
	if st := gong.StatusOf(err); st == http.StatusForbidden || st == http.StatusNotFound {
		// A token without api:flows:read cannot read back. Rows stuck in
		// doubt for ever would help no one: send them, and say in their
		// result, if Gong refuses one, that it may be this tool's own.
		a.log.Warn("the read-back was refused; rows in doubt are sent again unverified", zap.Error(err))
		for id := range a.doubt {
			a.unverified[id] = true
		}
		clear(a.doubt)
		return nil
	}
	if err != nil {
		return err
	}
	ours := map[string]gong.AssignedFlow{}
	for _, inst := range resp.ProspectsAssigned {
		since, ok := a.doubt[inst.CRMProspectID]
		if !ok || inst.FlowID != a.c.FlowID || !strings.EqualFold(inst.FlowInstanceOwnerEmail, a.c.OwnerEmail) {
			continue
		}
		created, perr := time.Parse(time.RFC3339Nano, inst.FlowInstanceCreateDate)
		if perr != nil || created.Before(since.Add(-ClockSkew)) {
			continue // there before we sent it: not ours to claim
		}
		if _, taken := a.s.claimed.LoadOrStore(inst.FlowInstanceID, struct{}{}); taken {
			continue // another row already owns this instance
		}
		ours[inst.CRMProspectID] = inst
	}
	rest := a.pending[:0:0]
	for _, r := range a.pending {
		if inst, ok := ours[r.CRMProspectID]; ok {
			a.set.Assigned = append(a.set.Assigned, Assigned{Row: r, Instance: inst, RequestID: resp.RequestID})
		} else {
			rest = append(rest, r)
		}
	}
	a.log.Info("read back rows in doubt", zap.Int("inDoubt", len(ids)), zap.Int("foundAssigned", len(ours)), zap.String("requestId", resp.RequestID))
	a.pending = rest
	clear(a.doubt)
	return nil
}

// ClockSkew is how much earlier than this machine's send time Gong's clock
// may date an instance this tool created.
const ClockSkew = time.Minute

// settle matches Gong's answer to the pending rows by CRM ID. An ID the
// answer names in neither list is a failure, never a silent loss.
func (a *attempts) settle(resp *gong.AssignResponse) {
	assigned := make(map[string]gong.AssignedFlow, len(resp.ProspectsAssigned))
	for _, x := range resp.ProspectsAssigned {
		assigned[x.CRMProspectID] = x
	}
	failed := make(map[string]gong.AssignFailure, len(resp.ProspectsNotAssigned))
	for _, f := range resp.ProspectsNotAssigned {
		failed[f.CRMProspectID] = f
	}
	for _, r := range a.pending {
		if x, ok := assigned[r.CRMProspectID]; ok {
			a.set.Assigned = append(a.set.Assigned, Assigned{Row: r, Instance: x, RequestID: resp.RequestID})
			continue
		}
		if f, ok := failed[r.CRMProspectID]; ok {
			msg := f.ErrorMessage
			if a.unverified[r.CRMProspectID] {
				msg = "unverified: an earlier request for this row may have assigned it, and the read-back that would tell was refused; Gong says: " + msg
			}
			a.set.Failed = append(a.set.Failed, Failed{Row: r, Stage: StageAPI, Code: f.ErrorCode, Message: msg, HTTPStatus: http.StatusOK, RequestID: resp.RequestID})
			continue
		}
		a.set.Failed = append(a.set.Failed, Failed{
			Row: r, Stage: StageAPI, Code: CodeMissingFromResponse, HTTPStatus: http.StatusOK, RequestID: resp.RequestID,
			Message: fmt.Sprintf("Gong's answer named %s in neither prospectsAssigned nor prospectsNotAssigned", r.CRMProspectID),
		})
	}
	a.pending = nil
	clear(a.doubt)
}

func (s *Submitter) settleError(ctx context.Context, a *attempts, err error) Settlement {
	set := a.set
	unprocessed := func(reason string) Settlement {
		for _, r := range a.pending {
			set.Unprocessed = append(set.Unprocessed, Unprocessed{Row: r, Reason: reason})
		}
		return set
	}
	if len(a.doubt) > 0 {
		// Gong may have assigned these; saying "failed" could be false.
		// The next run reads them back before sending again. The rest of
		// the rows are settled below as the error says.
		var rest []chunk.Row
		for _, r := range a.pending {
			if _, ok := a.doubt[r.CRMProspectID]; ok {
				set.Unprocessed = append(set.Unprocessed, Unprocessed{Row: r, Reason: ReasonInDoubt})
			} else {
				rest = append(rest, r)
			}
		}
		a.log.Warn("giving up with rows in doubt; they are left unprocessed for the next run", zap.Int("rows", len(a.pending)-len(rest)), zap.Error(err))
		a.pending = rest
	}
	var stop *stopError
	if errors.As(err, &stop) {
		return unprocessed(stop.reason)
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return unprocessed(ReasonInterrupted)
	}
	f := Failed{Stage: StageRequest, Message: err.Error()}
	var api *gong.APIError
	if errors.As(err, &api) {
		f.HTTPStatus, f.RequestID, f.Message = api.StatusCode, api.RequestID, api.Message()
		switch {
		case gong.Retryable(err):
			f.Code = CodeRetriesExhausted
			f.Message = "gave up after retrying: " + f.Message
		case api.StatusCode == http.StatusBadRequest:
			f.Code = CodeBadRequest
		case api.StatusCode == http.StatusForbidden:
			f.Code = CodeForbidden
		case api.StatusCode == http.StatusNotFound:
			f.Code = CodeFlowNotFound
		default:
			f.Code = "HTTP" + strconv.Itoa(api.StatusCode)
		}
	} else {
		f.Code = CodeRetriesExhausted
		f.Message = "gave up after retrying: " + err.Error()
	}
	a.log.Warn("chunk failed", zap.String("code", f.Code), zap.Int("httpStatus", f.HTTPStatus), zap.String("requestId", f.RequestID))
	for _, r := range a.pending {
		g := f
		g.Row = r
		set.Failed = append(set.Failed, g)
	}
	return set
}
