package submit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/gongclock"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// attempts is the state of some rows of a chunk across their attempts.
type attempts struct {
	s          *Submitter
	c          chunk.Chunk
	log        *zap.Logger
	done       []outcome.Outcome    // rows settled so far
	pending    []outcome.Row        // rows still to be answered
	doubt      map[string]time.Time // CRM ID -> earliest time Gong may have applied it
	applied    map[string]time.Time // CRM ID -> the earliest send that may have been applied unanswered (this run or an earlier one); never cleared
	probe      map[string]bool      // CRM IDs to read back before their first assign (--read-back-first)
	unverified map[string]bool      // in doubt, but the read-back was refused (shared by a chunk's parts)
	resolved   map[int]bool         // lines an earlier run left in doubt that a read-back settled (shared)
	journaled  bool                 // BeforeSend was called for these rows
	journalErr error                // BeforeSend failed: the run cannot go on
}

// newAttempts starts the attempts of rows; the parts of one chunk share
// what its read-backs learnt, so a half does not read a row back again.
func newAttempts(s *Submitter, c chunk.Chunk, log *zap.Logger, rows []outcome.Row, sh *shared) *attempts {
	a := &attempts{s: s, c: c, log: log, pending: rows, doubt: map[string]time.Time{}, applied: map[string]time.Time{},
		unverified: sh.unverified, resolved: sh.resolved, probe: map[string]bool{}}
	if s.cfg.ReadBackFirst {
		for _, r := range rows {
			if !sh.probed[r.Line] { // a half of a refused request was read back with it
				a.probe[r.CRMProspectID] = true
				sh.probed[r.Line] = true
			}
		}
	}
	if s.cfg.Doubt != nil {
		for _, r := range rows {
			at, ok := s.cfg.Doubt(r.Line)
			if !ok {
				continue
			}
			a.applied[r.CRMProspectID] = at
			if !sh.resolved[r.Line] {
				a.doubt[r.CRMProspectID] = at
			}
		}
	}
	return a
}

// shared is what the parts of one chunk learn together.
type shared struct {
	unverified map[string]bool
	resolved   map[int]bool
	probed     map[int]bool // lines read back before their first assign (--read-back-first)
}

func newShared() *shared {
	return &shared{unverified: map[string]bool{}, resolved: map[int]bool{}, probed: map[int]bool{}}
}

// settleDoubt marks the rows in doubt as settled by a read-back.
func (a *attempts) settleDoubt() {
	for _, r := range a.pending {
		if _, ok := a.doubt[r.CRMProspectID]; ok {
			a.resolved[r.Line] = true
		}
	}
	clear(a.doubt)
}

// attempt is one attempt: a read-back if rows are in doubt (or, with
// --read-back-first, before the first assign), then an assign of the rows
// still pending.
//
// ctx is the operation's (gateway.Together): a failure of either request
// retries both, so that rows a lost assign left in doubt are read back
// before they are sent again.
func (a *attempts) attempt(ctx context.Context) error {
	if len(a.doubt) > 0 || len(a.probe) > 0 {
		if err := a.readBack(ctx); err != nil {
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
	resp, err := a.s.assign(gateway.WithCall(ctx, gateway.Call{Before: a.journal, Sending: func() { sentAt = a.s.cfg.Now() }}), req)
	if err == nil {
		a.s.observe(sentAt, resp.Timing)
		err = checkAnswer(req, resp)
	}
	if err != nil {
		if mayHaveApplied(err) && !sentAt.IsZero() {
			for _, r := range a.pending {
				if _, ok := a.doubt[r.CRMProspectID]; !ok {
					a.doubt[r.CRMProspectID] = sentAt
				}
				if _, ok := a.applied[r.CRMProspectID]; !ok {
					a.applied[r.CRMProspectID] = sentAt
				}
			}
		}
		return err
	}
	a.s.size.answered(len(ids))
	a.settle(resp, sentAt)
	return nil
}

// journal records, once, that the pending rows may reach Gong from now on:
// after the budget lets the request go (rows a budget stop keeps back are
// not journaled) and before the pacer's turn (an fsync between the turn
// and the send would bunch requests up at Gong under disk load).
func (a *attempts) journal() error {
	if a.journaled || a.s.cfg.BeforeSend == nil {
		return nil
	}
	part := a.c
	part.Rows = a.pending
	if err := a.s.cfg.BeforeSend(part, a.s.cfg.Now()); err != nil {
		a.journalErr = err
		return err
	}
	a.journaled = true
	return nil
}

// mayHaveApplied reports whether Gong may have acted on a request that
// failed: the request went out and no clear answer came back.
func mayHaveApplied(err error) bool {
	var te *gong.TransportError
	if errors.As(err, &te) {
		return te.Sent
	}
	var bad *badAnswer
	if errors.As(err, &bad) {
		return true
	}
	return gong.StatusOf(err) >= 500 && gong.Retryable(err) // not 501: nothing was done
}

// readBack resolves the rows in doubt from their open flow instances (with
// --read-back-first, every pending row, before its first assign).
func (a *attempts) readBack(ctx context.Context) error {
	ids := make([]string, 0, len(a.pending))
	asked := map[string]bool{}
	for _, r := range a.pending {
		if _, ok := a.doubt[r.CRMProspectID]; ok || a.probe[r.CRMProspectID] {
			ids = append(ids, r.CRMProspectID)
			asked[r.CRMProspectID] = true
		}
	}
	var sentAt time.Time
	resp, err := a.s.gong.ProspectsFlows(gateway.WithCall(ctx, gateway.Call{Sending: func() { sentAt = a.s.cfg.Now() }}), ids)
	if st := gong.StatusOf(err); st >= 400 && st < 500 && st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
		// Gong refuses the read-back for good: a token without
		// api:flows:read (403, 404), or a request it will not take (400).
		// A refused read-back never fails a row, and rows stuck in doubt
		// for ever would help no one: send them, and say in their result,
		// if Gong refuses one, that it may be this tool's own. Rows read
		// back first are sent as if the flag were not given; the clock
		// still keeps Gong's older instances out of assigned.csv.
		a.log.Warn("the read-back was refused; rows in doubt (or to be read back first) are sent unverified", zap.Error(err))
		for id := range a.doubt {
			a.unverified[id] = true
		}
		a.settleDoubt()
		clear(a.probe)
		return nil
	}
	if err != nil {
		return err
	}
	a.s.observe(sentAt, resp.Timing)
	rest := a.pending[:0:0]
	found, before := 0, 0
	for _, r := range a.pending {
		o, ok := outcome.Outcome{}, false
		if asked[r.CRMProspectID] { // an answer may list prospects not asked about
			o, ok = a.judgeOpen(r, resp)
		}
		switch {
		case !ok:
			rest = append(rest, r)
		case o.Code == outcome.CodeAlreadyInFlow:
			before++
			a.done = append(a.done, o)
		default:
			found++
			a.done = append(a.done, o)
		}
	}
	a.log.Info("read back rows", zap.Int("read", len(ids)), zap.Int("foundAssigned", found), zap.Int("alreadyInFlow", before),
		zap.Int("readFirst", len(a.probe)), zap.String("requestId", resp.RequestID))
	a.settleDoubt()
	clear(a.probe)
	a.pending = rest
	return nil
}

// judgeOpen settles row r from a read-back, if it can: assigned when an
// open instance in this flow, for this owner, was not created before the
// row was first sent (on Gong's clock) and no other row took it;
// AlreadyInFlow when the prospect's only instances in this flow are older
// than that (or the row was never sent: --read-back-first). Otherwise the
// row is sent (again), so that Gong answers for it.
func (a *attempts) judgeOpen(r outcome.Row, resp *gong.ProspectsFlowsResponse) (outcome.Outcome, bool) {
	since, sent := a.doubt[r.CRMProspectID]
	if at, ok := a.applied[r.CRMProspectID]; ok && sent && at.Before(since) {
		since = at // an earlier lost request, read back before, may have been applied since
	}
	if sent {
		if inst, v, ok := a.s.ownInstance(r.CRMProspectID, a.c.FlowID, a.c.OwnerEmail, since, resp); ok {
			a.logInside(v, inst, since)
			return outcome.Assign(r, instanceOf(inst), resp.RequestID), true
		}
	}
	var older *gong.AssignedFlow
	for i, inst := range resp.ProspectsAssigned {
		if inst.CRMProspectID != r.CRMProspectID || inst.FlowID != a.c.FlowID {
			continue
		}
		if !sent {
			older = &resp.ProspectsAssigned[i] // never sent: whatever is there is not ours
			continue
		}
		// Undated: neither claimed nor held against the row.
		if created, perr := gongclock.ParseInstant(inst.FlowInstanceCreateDate); perr == nil && a.s.clock.Judge(created, since) == gongclock.Before {
			older = &resp.ProspectsAssigned[i]
		}
	}
	if older == nil {
		return outcome.Outcome{}, false
	}
	return a.alreadyInFlow(r, *older, since, sent, resp.RequestID), true
}

// ownInstance finds in a read-back the instance of prospect id in flowID,
// for owner, that a send at since may have made: not created before since
// on Gong's clock (undated ones are neither), and not already claimed by
// another row, which it then claims. It is the one rule by which a
// read-back owns an instance, for rows by CRM ID and people sent again.
func (s *Submitter) ownInstance(id, flowID, owner string, since time.Time, resp *gong.ProspectsFlowsResponse) (gong.AssignedFlow, gongclock.Verdict, bool) {
	for _, inst := range resp.ProspectsAssigned {
		if inst.CRMProspectID != id || inst.FlowID != flowID || !strings.EqualFold(inst.FlowInstanceOwnerEmail, owner) {
			continue
		}
		created, err := gongclock.ParseInstant(inst.FlowInstanceCreateDate)
		if err != nil {
			continue
		}
		v := s.clock.Judge(created, since)
		if v == gongclock.Before {
			continue
		}
		if _, taken := s.claimed.LoadOrStore(inst.FlowInstanceID, struct{}{}); taken {
			continue
		}
		return inst, v, true
	}
	return gong.AssignedFlow{}, 0, false
}

// alreadyInFlow fails row r for an instance that was there before the row
// was sent (sent false: it never was, and the instance was read back
// first).
func (a *attempts) alreadyInFlow(r outcome.Row, inst gong.AssignedFlow, since time.Time, sent bool, requestID string) outcome.Outcome {
	msg := fmt.Sprintf("Prospect %s is already in flow %s: instance %s, created %s, before this run sent it", r.CRMProspectID, inst.FlowID, inst.FlowInstanceID, inst.FlowInstanceCreateDate)
	if sent {
		earliest, _ := a.s.clock.SendWindow(since)
		msg += fmt.Sprintf(" (no earlier than %s on Gong's clock)", earliest.UTC().Format(time.RFC3339Nano))
	} else {
		msg += " (read back before assigning)"
	}
	return outcome.Fail(r, outcome.StageAPI, outcome.CodeAlreadyInFlow, msg+"; not this run's, undo leaves it").WithAnswer(http.StatusOK, requestID)
}

// logInside notes a claim the clock could not confirm: an instance dated
// within the uncertainty of the send (see package gongclock).
func (a *attempts) logInside(v gongclock.Verdict, inst gong.AssignedFlow, since time.Time) {
	if v != gongclock.Inside {
		return
	}
	if ce := a.log.Check(zap.DebugLevel, "claimed an instance dated within the clock's uncertainty of the send"); ce != nil {
		lo, hi, known := a.s.clock.Offset()
		ce.Write(zap.String("flowInstanceId", inst.FlowInstanceID), zap.String("created", inst.FlowInstanceCreateDate),
			zap.Time("sent", since), zap.Duration("offsetLow", lo), zap.Duration("offsetHigh", hi), zap.Bool("offsetKnown", known))
	}
}

func instanceOf(x gong.AssignedFlow) outcome.Instance {
	return outcome.Instance{
		FlowName: x.FlowName, ID: x.FlowInstanceID, OwnerFullName: x.FlowInstanceOwnerFullName,
		CreateDate: x.FlowInstanceCreateDate, Status: x.FlowInstanceStatus, WorkspaceID: x.WorkspaceID, Exclusive: x.Exclusive,
	}
}

// settle matches Gong's answer to the pending rows by CRM ID. An ID the
// answer names in neither list is a failure, never a silent loss.
func (a *attempts) settle(resp *gong.AssignResponse, sentAt time.Time) {
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
			a.done = append(a.done, a.assigned(r, x, resp.RequestID, sentAt))
			continue
		}
		if f, ok := failed[r.CRMProspectID]; ok {
			msg := f.ErrorMessage
			if a.unverified[r.CRMProspectID] {
				msg = "unverified: an earlier request for this row may have assigned it, and the read-back that would tell was refused; Gong says: " + msg
			}
			a.done = append(a.done, outcome.Fail(r, outcome.StageAPI, f.ErrorCode, msg).WithAnswer(http.StatusOK, resp.RequestID))
			continue
		}
		a.done = append(a.done, outcome.Fail(r, outcome.StageAPI, outcome.CodeMissingFromResponse,
			fmt.Sprintf("Gong's answer named %s in neither prospectsAssigned nor prospectsNotAssigned", r.CRMProspectID)).
			WithAnswer(http.StatusOK, resp.RequestID))
	}
	a.settleDoubt()
	a.pending = nil
}

// assigned settles a row Gong answered in prospectsAssigned, to the request
// sent at sentAt. Gong may answer a prospect already in the flow with its
// existing instance: one created (on Gong's clock) before this request, and
// before any earlier one that may have been applied unanswered, is not this
// run's, and the row fails AlreadyInFlow. An earlier request refused (429,
// 400) made nothing and does not count. An undated instance is Gong's word
// for this request and is taken.
func (a *attempts) assigned(r outcome.Row, x gong.AssignedFlow, requestID string, sentAt time.Time) outcome.Outcome {
	since := sentAt
	if at, ok := a.applied[r.CRMProspectID]; ok && at.Before(since) {
		since = at
	}
	if created, err := gongclock.ParseInstant(x.FlowInstanceCreateDate); err == nil {
		v := a.s.clock.Judge(created, since)
		if v == gongclock.Before {
			return a.alreadyInFlow(r, x, since, true, requestID)
		}
		a.logInside(v, x, since)
	}
	return outcome.Assign(r, instanceOf(x), requestID)
}

// settleError settles the rows still pending after the attempts gave up.
// Only a final answer (400, 404, another 4xx) fails them; anything else
// leaves them for the next run.
func (s *Submitter) settleError(ctx context.Context, a *attempts, err error) []outcome.Outcome {
	var out []outcome.Outcome
	rest := a.pending
	if len(a.doubt) > 0 {
		// Gong may have assigned these; saying "failed" could be false.
		// The next run reads them back before sending again.
		rest = nil
		for _, r := range a.pending {
			if _, ok := a.doubt[r.CRMProspectID]; ok {
				out = append(out, outcome.Leave(r, outcome.ReasonInDoubt))
			} else {
				rest = append(rest, r)
			}
		}
		a.log.Warn("giving up with rows in doubt; they are left unprocessed for the next run", zap.Int("rows", len(out)), zap.Error(err))
	}
	if reason, ok := gateway.StopReason(err); ok {
		return append(out, outcome.LeaveAll(rest, reason)...)
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return append(out, outcome.LeaveAll(rest, outcome.ReasonInterrupted)...)
	}
	api := apiError(err)
	if api == nil || gong.Retryable(err) {
		a.log.Warn("giving up after retrying; the rows are left for the next run", zap.Error(err))
		return append(out, outcome.LeaveAll(rest, outcome.ReasonRetriesExhausted)...)
	}
	o := outcome.Fail(outcome.Row{}, outcome.StageRequest, "", api.Message()).WithAnswer(api.StatusCode, api.RequestID)
	switch api.StatusCode {
	case http.StatusBadRequest:
		o.Code = outcome.CodeBadRequest
	case http.StatusNotFound:
		o.Code = outcome.CodeFlowNotFound
		nf := o
		nf.Message += " (not sent: Gong answered 404 for an earlier request for this flow and owner)"
		s.refused.LoadOrStore(chunk.GroupKey(a.c.FlowID, a.c.OwnerEmail), nf)
	default:
		o.Code = outcome.CodeHTTPPrefix + strconv.Itoa(api.StatusCode)
	}
	a.log.Warn("request refused", zap.String("code", o.Code), zap.Int("httpStatus", o.HTTPStatus), zap.String("requestId", o.RequestID))
	return append(out, sameFor(o, rest)...)
}

func apiError(err error) *gong.APIError {
	var api *gong.APIError
	if errors.As(err, &api) {
		return api
	}
	return nil
}

// badAnswer is a 200 whose body does not fit the request: the rows may or
// may not be in Gong, so they are read back before anything else.
type badAnswer struct{ err error }

func (e *badAnswer) Error() string { return "Gong's answer does not fit the request: " + e.err.Error() }
func (e *badAnswer) Unwrap() error { return e.err }

// checkAnswer checks an answer against what was asked: the flow, and only
// IDs that were sent, each in one list.
func checkAnswer(req gong.AssignRequest, resp *gong.AssignResponse) error {
	if err := gong.CheckAssignAnswer(req, resp); err != nil {
		// Retried like a dropped answer: the rows are read back first.
		return &gong.TransportError{Op: "assign", Err: &badAnswer{err}, Sent: true}
	}
	return nil
}
