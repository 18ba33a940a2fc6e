package reconcile

import (
	"context"
	"errors"
	"net/http"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// unassign sends one batch under the retry policy. Before an attempt that
// follows one Gong may have applied, the batch is read back, so that an
// instance the lost answer removed is found gone rather than sent again
// (a second unassign would not list it: it would look kept). The request
// itself is not cancelled by a signal: its answer is journaled.
func (u *undo) unassign(ctx context.Context, ids []string) error {
	pending, doubtful := ids, false
	var resp *gong.UnassignResponse
	log := u.log.With(zap.String("op", "unassign"), zap.Int("instances", len(ids)))
	err := u.cfg.Gateway.Together(ctx, log, func(ctx context.Context) error {
		resp = nil
		if doubtful {
			open, err := u.settleGone(ctx, pending)
			if err != nil {
				return err
			}
			pending, doubtful = open, false
			if len(pending) == 0 {
				return nil
			}
		}
		req := gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: pending, UnassignedByUserEmail: u.cfg.UnassignedBy}
		sent := func() error { return u.note(journalEntry{Sent: &idList{IDs: pending, At: u.cfg.Now()}}) }
		r, err := u.gong.UnassignByInstanceIDs(gateway.WithCall(ctx, gateway.Call{Before: sent, Detach: true}), req)
		resp = r
		if err != nil && mayHaveApplied(err) {
			doubtful = true
		}
		return err
	})
	switch {
	case err == nil && resp != nil:
		return u.answered(pending, resp)
	case err == nil:
		return nil // every instance was found gone
	case doubtful:
		return err // left in doubt: the next undo reads them back
	}
	if st := gong.StatusOf(err); st >= 400 && st < 500 && st != http.StatusTooManyRequests && !isStop(err) {
		var api *gong.APIError
		errors.As(err, &api)
		log.Warn("Gong refused the request; its instances are kept", zap.Error(err))
		if nerr := u.note(journalEntry{Done: &settled{Kept: pending, Code: outcome.CodeRequestRefused, Message: err.Error(),
			HTTPStatus: st, RequestID: api.RequestID}}); nerr != nil {
			return &gateway.JournalError{Err: nerr}
		}
		return nil
	}
	// Nothing of the batch reached Gong, or it was refused with nothing done.
	if rerr := u.note(journalEntry{Released: &idList{IDs: pending}}); rerr != nil {
		return &gateway.JournalError{Err: rerr}
	}
	return err
}

func isStop(err error) bool {
	_, ok := gateway.StopReason(err)
	return ok
}

// answered journals Gong's answer: the instances it lists are removed, the
// others of the batch kept.
func (u *undo) answered(sent []string, resp *gong.UnassignResponse) error {
	listed := map[string]bool{}
	for _, id := range resp.UnassignedFlowInstanceIDs {
		listed[id] = true
	}
	s := settled{How: ByAnswer, Code: outcome.CodeNotUnassigned, RequestID: resp.RequestID,
		Message: "Gong did not list the instance as removed: it is still assigned (finished, or not removable)"}
	for _, id := range sent {
		if listed[id] {
			s.Removed = append(s.Removed, id)
		} else {
			s.Kept = append(s.Kept, id)
		}
	}
	if len(listed) > len(s.Removed) {
		u.log.Warn("Gong listed instances the request did not carry; ignored", zap.Int("listed", len(listed)), zap.Int("sent", len(sent)))
	}
	if err := u.note(journalEntry{Done: &s}); err != nil {
		return &gateway.JournalError{Err: err}
	}
	return nil
}

// settleGone reads back the CRM IDs of ids (at most MaxReadBackIDs
// instances) and journals as removed those no longer open; it returns the
// ones still open. If Gong refuses the read-back (a token without
// api:flows:read), every instance is taken as still open.
func (u *undo) settleGone(ctx context.Context, ids []string) ([]string, error) {
	var crm []string
	seen := map[string]bool{}
	for _, id := range ids {
		if c := u.crmOf[id]; !seen[c] {
			seen[c] = true
			crm = append(crm, c)
		}
	}
	resp, err := u.gong.ProspectsFlows(ctx, crm)
	if st := gong.StatusOf(err); st == http.StatusForbidden || st == http.StatusNotFound {
		u.log.Warn("the read-back was refused; instances in doubt are sent again unverified", zap.Error(err))
		return ids, nil
	}
	if err != nil {
		return nil, err
	}
	open := map[string]bool{}
	for _, in := range resp.ProspectsAssigned {
		open[in.FlowInstanceID] = true
	}
	var still, gone []string
	for _, id := range ids {
		if open[id] {
			still = append(still, id)
		} else {
			gone = append(gone, id)
		}
	}
	u.log.Info("read back instances in doubt", zap.Int("inDoubt", len(ids)), zap.Int("gone", len(gone)), zap.String("requestId", resp.RequestID))
	if err := u.note(journalEntry{Done: &settled{Removed: gone, How: ByReadBack, RequestID: resp.RequestID}}); err != nil {
		return nil, backoff.Permanent(&gateway.JournalError{Err: err})
	}
	return still, nil
}

// mayHaveApplied reports whether Gong may have acted on a request that
// failed: it went out and no clear answer came back (a 5xx other than 501,
// a lost connection, a timeout, an unreadable 200).
func mayHaveApplied(err error) bool {
	var te *gong.TransportError
	if errors.As(err, &te) {
		return te.Sent
	}
	st := gong.StatusOf(err)
	return st >= 500 && st != http.StatusNotImplemented
}
