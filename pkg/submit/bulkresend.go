package submit

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// resent is a person of a bulk request sent again (--resend-in-doubt)
// whom Gong refused FLOW_ASSIGNMENT_FAILED: the lost request that left the
// row InDoubt may have enrolled them.
type resent struct {
	i     int       // index in the chunk's outcomes
	since time.Time // when the row was first sent (the journal)
}

// claimResent settles, among the outcomes of a bulk request this run sent
// (not one read by an earlier run's id), the people refused
// FLOW_ASSIGNMENT_FAILED with a crmId whose row an earlier request left in
// doubt. Their open flow instances are read back, all in one request: an
// instance of the row's flow, for its owner, not created (on Gong's clock)
// before the row was first sent is the lost request's, this run's, and
// the row is assigned with it, so that undo removes it. Otherwise the row
// stays failed; if Gong refuses the read-back for good, failed saying it
// could not be checked; if the read-back is cut short, in doubt.
func (s *Submitter) claimResent(ctx context.Context, c chunk.Chunk, outs []outcome.Outcome, log *zap.Logger) {
	if c.BulkID != "" || s.cfg.Doubt == nil {
		return
	}
	var cands []resent
	var ids []string
	seen := map[string]bool{}
	for i, o := range outs {
		id := o.Row.CRMProspectID
		if o.Kind != outcome.Failed || o.Code != outcome.CodeFlowAssignmentFailed || id == "" {
			continue
		}
		since, ok := s.cfg.Doubt(o.Row.Line)
		if !ok {
			continue
		}
		cands = append(cands, resent{i: i, since: since})
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(cands) == 0 {
		return
	}
	var resp *gong.ProspectsFlowsResponse
	err := s.gw.Together(ctx, log, func(ctx context.Context) error {
		var sentAt time.Time
		r, err := s.gong.ProspectsFlows(gateway.WithCall(ctx, gateway.Call{Log: log, Sending: func() { sentAt = s.cfg.Now() }}), ids)
		if err == nil {
			s.observe(sentAt, r.Timing)
			resp = r
		}
		return err
	})
	if st := gong.StatusOf(err); st >= 400 && st < 500 && st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
		// Refused for good (a token without api:flows:read): no read-back
		// will tell, and Gong's refusal is a fact; say what is not known.
		log.Warn("the read-back of people sent again and refused was refused; they stay failed, unverified", zap.Int("refused", len(cands)), zap.Error(err))
		for _, cd := range cands {
			outs[cd.i].Message = "unverified: the request that left this person in doubt may have enrolled them, and the read-back that would tell was refused; Gong says: " + outs[cd.i].Message
		}
		return
	}
	if err != nil {
		// Cut short (a stop, 5xx past the retry time): the person is still
		// in doubt, as before this run, for a later run to settle.
		log.Warn("the read-back of people sent again and refused did not finish; they stay in doubt", zap.Int("refused", len(cands)), zap.Error(err))
		for _, cd := range cands {
			outs[cd.i] = outcome.Leave(outs[cd.i].Row, outcome.ReasonInDoubt)
		}
		return
	}
	claimed := 0
	for _, cd := range cands {
		if inst, _, ok := s.ownInstance(outs[cd.i].Row.CRMProspectID, c.FlowID, c.OwnerEmail, cd.since, resp); ok {
			outs[cd.i] = outcome.Assign(outs[cd.i].Row, instanceOf(inst), resp.RequestID)
			claimed++
		}
	}
	log.Info("read back people sent again and refused", zap.Int("read", len(ids)), zap.Int("claimed", claimed),
		zap.Int("stillFailed", len(cands)-claimed), zap.String("requestId", resp.RequestID))
}
