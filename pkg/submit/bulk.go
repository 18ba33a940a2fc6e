package submit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// BulkConfig is what the bulk assignment of people without a CRM ID needs,
// beyond Config.
type BulkConfig struct {
	// BeforeSend journals, before a bulk request may reach Gong, that its
	// rows may be in Gong from now on: after the pacer's turn, just before
	// the write, so that a kill during a long wait for the turn does not
	// leave people never sent InDoubt.
	BeforeSend func(c chunk.Chunk, at time.Time) error
	// Unsent journals that Gong refused a bulk request without acting on
	// it (a 429, a refused connection): until the next attempt's
	// BeforeSend, a kill leaves its rows unsent, not InDoubt. Nil: they
	// stay journaled sent.
	Unsent func(c chunk.Chunk) error
	// Submitted journals the id Gong answered, the moment it is answered:
	// a later run reads it and never sends the rows again.
	Submitted func(c chunk.Chunk, id string) error
	// Forget journals that Gong does not know job id (404 on its read):
	// the rows are in doubt with no id, so that --resend-in-doubt can send
	// them again.
	Forget func(c chunk.Chunk, id string) error
	// MaxPoll bounds how long a job is read, from its first read: a job
	// not done by then leaves its rows BulkPending, and the next run reads
	// it again (--max-retry-time). 0: no bound.
	MaxPoll time.Duration
	// Wait waits d or until ctx ends; nil waits on a timer.
	Wait func(ctx context.Context, d time.Duration) error
	// Polls are the waits before each read of a job: a job that finishes
	// within 3 s is read at most twice. The last repeats, doubled up to
	// a minute. Nil: 1.5 s, 1.5 s, 3 s.
	Polls []time.Duration
}

// defaultPolls: Gong does not say how long a job takes; two reads cover a
// job of up to 3 s, and later reads back off.
func defaultPolls() []time.Duration {
	return []time.Duration{1500 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}
}

// pollWait is the wait before read n (from 0).
func (b BulkConfig) pollWait(n int) time.Duration {
	ps := b.Polls
	if len(ps) == 0 {
		ps = defaultPolls()
	}
	if n < len(ps) {
		return ps[n]
	}
	d := ps[len(ps)-1]
	for i := len(ps); i <= n && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

func (b BulkConfig) wait(ctx context.Context, d time.Duration) error {
	if b.Wait != nil {
		return b.Wait(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SubmitBulk sends one chunk of people without a CRM ID as a bulk
// assignment (or, with c.BulkID, reads the one an earlier run submitted),
// reads it until it is done, and returns an outcome for each row. A
// submit that may have reached Gong without an answer is never sent again:
// its rows are unprocessed InDoubt. A job not done when the run stops
// leaves its rows unprocessed BulkPending. An error is returned only when
// the journal could not be written.
func (s *Submitter) SubmitBulk(ctx context.Context, c chunk.Chunk) ([]outcome.Outcome, error) {
	log := s.cfg.Log.With(zap.Int("chunk", c.Seq), zap.String("flowId", c.FlowID), zap.Int("people", len(c.Rows)))
	id := c.BulkID
	if id == "" {
		var outs []outcome.Outcome
		var err error
		id, outs, err = s.submitBulk(ctx, c, log)
		if err != nil || id == "" {
			return outs, err
		}
	}
	resp, err := s.pollBulk(ctx, id, log)
	if err != nil {
		return s.bulkUnread(c, id, err, log)
	}
	outs, doubt := bulkOutcomes(c, resp, log)
	s.claimResent(ctx, c, outs, log)
	if len(doubt) > 0 && s.bulk.Forget != nil {
		// Reading the job again would tell no more: forget its id for
		// these rows, so that --resend-in-doubt can act on them.
		part := c
		part.Rows = doubt
		if err := s.bulk.Forget(part, id); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// bulkUnread settles the rows of job id when it could not be read to its
// end: BulkPending (the next run reads it again), or, when Gong says it
// knows no such job (404: expired, or not this company's), InDoubt with
// the id forgotten: Gong accepted the request, so the people may be in the
// flow, and reading the id again would never tell.
func (s *Submitter) bulkUnread(c chunk.Chunk, id string, err error, log *zap.Logger) ([]outcome.Outcome, error) {
	if gong.StatusOf(err) != http.StatusNotFound {
		log.Warn("the bulk assignment is not done; the same command reads its results", zap.String("bulkId", id), zap.Error(err))
		return outcome.LeaveAll(c.Rows, outcome.ReasonBulkPending), nil
	}
	if s.bulk.Forget != nil {
		if jerr := s.bulk.Forget(c, id); jerr != nil {
			return nil, jerr
		}
	}
	log.Warn("Gong knows no bulk assignment by this id (404): its people may or may not be in the flow; they are InDoubt, sent again only with --resend-in-doubt",
		zap.String("bulkId", id), zap.Error(err))
	return outcome.LeaveAll(c.Rows, outcome.ReasonInDoubt), nil
}

// submitBulk sends the bulk request; it returns Gong's id, or the rows'
// outcomes when there is none.
func (s *Submitter) submitBulk(ctx context.Context, c chunk.Chunk, log *zap.Logger) (string, []outcome.Outcome, error) {
	req := gong.BulkRequest{FlowID: c.FlowID, FlowInstanceOwnerEmail: c.OwnerEmail, Prospects: make([]gong.BulkProspect, len(c.Rows))}
	for i, r := range c.Rows {
		p := r.Person
		req.Prospects[i] = gong.BulkProspect{Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, CompanyName: p.CompanyName,
			JobTitle: p.JobTitle, LinkedInURL: p.LinkedInURL, AccountCRMID: p.AccountCRMID}
	}
	journaled := false
	var journalErr error
	journal := func() error {
		if journaled || s.bulk.BeforeSend == nil {
			return nil
		}
		if journalErr = s.bulk.BeforeSend(c, s.cfg.Now()); journalErr != nil {
			return journalErr
		}
		journaled = true
		return nil
	}
	var resp *gong.BulkResponse
	inDoubt := false
	err := s.gw.Together(ctx, log, func(ctx context.Context) error {
		r, err := s.gong.SubmitBulk(gateway.WithCall(ctx, gateway.Call{BeforeWrite: journal}), req)
		if err != nil && mayHaveApplied(err) {
			// Sent again, it could enroll the people twice, and
			// nothing can read back people Gong knows by no ID.
			inDoubt = true
			return backoff.Permanent(err)
		}
		if err != nil && journaled && s.bulk.Unsent != nil && journalErr == nil {
			// Not acted on: a kill in the backoff wait before the next
			// attempt must not leave these people InDoubt.
			if journalErr = s.bulk.Unsent(c); journalErr != nil {
				return backoff.Permanent(journalErr)
			}
			journaled = false
		}
		resp = r
		return err
	})
	if journalErr != nil {
		return "", nil, journalErr
	}
	if err == nil {
		log.Info("bulk assignment accepted", zap.String("bulkId", resp.ID), zap.String("requestId", resp.RequestID))
		if s.bulk.Submitted != nil {
			if jerr := s.bulk.Submitted(c, resp.ID); jerr != nil {
				return "", nil, jerr
			}
		}
		return resp.ID, nil, nil
	}
	if inDoubt {
		log.Warn("the bulk request may have reached Gong without an answer; its rows are InDoubt, sent again only with --resend-in-doubt", zap.Error(err))
		return "", outcome.LeaveAll(c.Rows, outcome.ReasonInDoubt), nil
	}
	return "", s.bulkRefused(ctx, c, err, log), nil
}

// bulkRefused settles the rows of a bulk request that was not accepted and
// not applied: a stop, or a final answer.
func (s *Submitter) bulkRefused(ctx context.Context, c chunk.Chunk, err error, log *zap.Logger) []outcome.Outcome {
	if reason, ok := gateway.StopReason(err); ok {
		return outcome.LeaveAll(c.Rows, reason)
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return outcome.LeaveAll(c.Rows, outcome.ReasonInterrupted)
	}
	api := apiError(err)
	if api == nil || gong.Retryable(err) {
		return outcome.LeaveAll(c.Rows, outcome.ReasonRetriesExhausted)
	}
	o := outcome.Fail(outcome.Row{}, outcome.StageRequest, "", api.Message()).WithAnswer(api.StatusCode, api.RequestID)
	switch api.StatusCode {
	case http.StatusBadRequest:
		o.Code = outcome.CodeBadRequest
	case http.StatusNotFound:
		o.Code = outcome.CodeFlowNotFound
	default:
		o.Code = outcome.CodeHTTPPrefix + strconv.Itoa(api.StatusCode)
	}
	log.Warn("bulk request refused", zap.String("code", o.Code), zap.Int("httpStatus", o.HTTPStatus))
	return sameFor(o, c.Rows)
}

// pollBulk reads job id until it is done, waiting longer between reads,
// and never waits past MaxPoll from the first read: a job stuck PENDING
// would otherwise hold a worker, reading once a minute, for ever.
func (s *Submitter) pollBulk(ctx context.Context, id string, log *zap.Logger) (*gong.BulkResponse, error) {
	var first time.Time
	for n := 0; ; n++ {
		if err := s.bulk.wait(ctx, s.bulk.pollWait(n)); err != nil {
			return nil, err
		}
		if reason := s.gw.Stopped(); reason != "" {
			return nil, &gateway.StopError{Reason: reason}
		}
		resp, err := s.gong.BulkStatus(gateway.WithCall(ctx, gateway.Call{Log: log}), id)
		if err != nil {
			return nil, err
		}
		if resp.Done() {
			return resp, nil
		}
		now := s.cfg.Now()
		if first.IsZero() {
			first = now
		}
		if s.bulk.MaxPoll > 0 && now.Add(s.bulk.pollWait(n+1)).Sub(first) > s.bulk.MaxPoll {
			return nil, fmt.Errorf("bulk assignment %s is still %s %s after its first read (--max-retry-time %s)",
				id, resp.Status, now.Sub(first).Round(time.Second), s.bulk.MaxPoll)
		}
	}
}

// bulkOutcomes matches a done job's results to the rows by email. A row
// of a COMPLETED job that no result names is unprocessed InDoubt, not
// failed: Gong may have enrolled the person under another email (the CRM's
// own, say), and nothing can read back a person by no ID; a person decides
// with --resend-in-doubt. Those rows are returned as doubt too; results
// that match no row are logged.
func bulkOutcomes(c chunk.Chunk, resp *gong.BulkResponse, log *zap.Logger) (out []outcome.Outcome, doubt []outcome.Row) {
	byEmail := make(map[string]gong.BulkResult, len(resp.Results))
	for _, r := range resp.Results {
		byEmail[strings.ToLower(r.Prospect.Email)] = r
	}
	out = make([]outcome.Outcome, len(c.Rows))
	for i, row := range c.Rows {
		email := strings.ToLower(row.Person.Email)
		r, ok := byEmail[email]
		delete(byEmail, email)
		switch {
		case resp.Status == gong.BulkFailed && !ok:
			out[i] = outcome.Fail(row, outcome.StageAPI, outcome.CodeBulkFailed,
				fmt.Sprintf("Gong ended bulk assignment %s FAILED; it may have created CRM records", resp.ID)).WithAnswer(http.StatusOK, resp.RequestID)
		case !ok:
			out[i] = outcome.Leave(row, outcome.ReasonInDoubt)
			doubt = append(doubt, row)
		case r.Status == gong.BulkAssigned && (r.FlowInstanceID == "" || r.CRMID == ""):
			// In the flow, Gong says, but assigned.csv is what undo
			// removes by flowInstanceId and verify reads back by
			// crmProspectId: a claim neither could act on is not made.
			out[i] = outcome.Leave(row, outcome.ReasonInDoubt)
			doubt = append(doubt, row)
			log.Warn("Gong's bulk result says ASSIGNED without a flowInstanceId or crmId; the row is InDoubt",
				zap.String("bulkId", resp.ID), zap.Int("line", row.Line), zap.String("crmId", r.CRMID), zap.String("flowInstanceId", r.FlowInstanceID))
		case r.Status == gong.BulkAssigned:
			row.CRMProspectID = r.CRMID
			out[i] = outcome.Assign(row, outcome.Instance{ID: r.FlowInstanceID}, resp.RequestID)
		default:
			row.CRMProspectID = r.CRMID
			code := r.Status
			if code != outcome.CodeCRMOperationFailed && code != outcome.CodeFlowAssignmentFailed {
				code = outcome.CodeFlowAssignmentFailed // an unknown status: the person is not in the flow
			}
			out[i] = outcome.Fail(row, outcome.StageAPI, code, strings.TrimPrefix(r.ErrorCode+": "+r.ErrorMessage, ": ")).WithAnswer(http.StatusOK, resp.RequestID)
		}
	}
	logUnmatched(log, resp, len(doubt), byEmail)
	return out, doubt
}

// logUnmatched tells of a job's rows no result named and of the results
// that named no row; of those, only Gong's IDs are logged (a person can
// find, and remove, an instance by them), no email or name.
func logUnmatched(log *zap.Logger, resp *gong.BulkResponse, missing int, rest map[string]gong.BulkResult) {
	if missing == 0 && len(rest) == 0 {
		return
	}
	var crmIDs, instances []string
	for _, r := range rest {
		crmIDs = append(crmIDs, r.CRMID)
		instances = append(instances, r.FlowInstanceID)
	}
	log.Warn("bulk assignment results do not match the people sent: people with no result are InDoubt (sent again only with --resend-in-doubt)",
		zap.String("bulkId", resp.ID), zap.String("requestId", resp.RequestID), zap.Int("peopleWithNoResult", missing),
		zap.Int("resultsForNoRow", len(rest)), zap.Strings("unmatchedCrmIds", crmIDs), zap.Strings("unmatchedFlowInstanceIds", instances))
}
