package submit

import (
	"context"
	"net/http"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// maxSplits bounds the requests refused and split within one chunk: past
// it, the rows still refused fail with Gong's message.
const maxSplits = 16

// splitter sends the rows of one chunk and, when Gong refuses a request as
// malformed (400), splits it in halves to single out the rows at fault, so
// that one bad ID does not fail 199 good ones. When both halves are refused
// with the same message, the cause is the request as a whole (the owner,
// say): the rows fail once, and nothing more is sent for that flow and owner.
// When both halves pass, the refusal was about the request's size.
type splitter struct {
	s      *Submitter
	c      chunk.Chunk
	log    *zap.Logger
	budget int // splits left
}

// result is what became of some rows; refusal is Gong's 400 for them all.
type result struct {
	outcomes []outcome.Outcome
	refusal  *gong.APIError
	rows     []outcome.Row // the rows refusal covers
}

func (sp *splitter) send(ctx context.Context, rows []outcome.Row) (result, error) {
	res, err := sp.once(ctx, rows)
	if err != nil || res.refusal == nil {
		return res, err
	}
	return sp.split(ctx, res)
}

// once sends rows with retries; a 400 for all of them comes back as refusal,
// with the rows it covers (a read-back may have settled some first).
func (sp *splitter) once(ctx context.Context, rows []outcome.Row) (result, error) {
	a := newAttempts(sp.s, sp.c, sp.log, rows)
	err := sp.s.gw.Retry(ctx, sp.log, func(op *gateway.Op) error { return a.attempt(ctx, op) })
	if a.journalErr != nil {
		return result{}, a.journalErr
	}
	if err == nil {
		return result{outcomes: a.done}, nil
	}
	if api := apiError(err); api != nil && api.StatusCode == http.StatusBadRequest && len(a.doubt) == 0 {
		return result{outcomes: a.done, refusal: api, rows: a.pending}, nil
	}
	return result{outcomes: append(a.done, sp.s.settleError(ctx, a, err)...)}, nil
}

// split resolves a refused request by its halves.
func (sp *splitter) split(ctx context.Context, res result) (result, error) {
	rows := res.rows
	if len(rows) < 2 || sp.budget <= 0 {
		return sp.fail(res), nil
	}
	sp.budget--
	sp.s.gw.Split()
	half := len(rows) / 2
	sp.log.Info("Gong refused the request (400); splitting it to single out the rows at fault", zap.Int("rows", len(rows)), zap.String("message", res.refusal.Message()))
	left, err := sp.once(ctx, rows[:half])
	if err != nil {
		return result{}, err
	}
	right, err := sp.once(ctx, rows[half:])
	if err != nil {
		return result{}, err
	}
	out := result{outcomes: append(append(res.outcomes, left.outcomes...), right.outcomes...)}
	switch {
	case left.refusal != nil && right.refusal != nil && left.refusal.Message() == right.refusal.Message():
		// Both halves refused alike: the request as a whole is at fault.
		o := refusedGroup(right.refusal)
		sp.s.refused.LoadOrStore(chunk.GroupKey(sp.c.FlowID, sp.c.OwnerEmail), o)
		sp.log.Warn("Gong refuses every request for this flow and owner; failing its rows without more requests", zap.String("message", o.Message))
		out.outcomes = append(out.outcomes, sameFor(o, append(append([]outcome.Row(nil), left.rows...), right.rows...))...)
		return out, nil
	case left.refusal == nil && right.refusal == nil:
		sp.s.size.refusedAt(half, len(rows))
	}
	for _, part := range []result{left, right} {
		if part.refusal == nil {
			continue
		}
		r, err := sp.split(ctx, part)
		if err != nil {
			return result{}, err
		}
		out.outcomes = append(out.outcomes, r.outcomes...)
	}
	return out, nil
}

// fail settles a refusal that splitting no longer explains.
func (sp *splitter) fail(res result) result {
	o := outcome.Fail(outcome.Row{}, outcome.StageRequest, outcome.CodeBadRequest, res.refusal.Message()).
		WithAnswer(http.StatusBadRequest, res.refusal.RequestID)
	return result{outcomes: append(res.outcomes, sameFor(o, res.rows)...)}
}

func refusedGroup(api *gong.APIError) outcome.Outcome {
	return outcome.Fail(outcome.Row{}, outcome.StageRequest, outcome.CodeBadRequest,
		api.Message()+" (Gong refused every request for this flow and owner alike)").
		WithAnswer(http.StatusBadRequest, api.RequestID)
}
