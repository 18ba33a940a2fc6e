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
// with the same message, one row of them is sent alone: refused alike too,
// the cause is the request as a whole (the owner, say), and the rows fail
// once, with nothing more sent for that flow and owner. When both halves
// are answered, the refusal was about the request's size.
type splitter struct {
	s      *Submitter
	c      chunk.Chunk
	log    *zap.Logger
	budget int // splits left
	sh     *shared
}

// result is what became of some rows. refusal is Gong's 400 for the rows
// in rows, which have no outcome yet; answered says every row got Gong's
// answer (no stop, no doubt, no retries run out).
type result struct {
	outcomes []outcome.Outcome
	refusal  *gong.APIError
	rows     []outcome.Row
	answered bool
}

func (sp *splitter) send(ctx context.Context, rows []outcome.Row) ([]outcome.Outcome, error) {
	res, err := sp.once(ctx, rows)
	if err != nil || res.refusal == nil {
		return res.outcomes, err
	}
	more, err := sp.split(ctx, res)
	return append(res.outcomes, more...), err
}

// once sends rows with retries; a 400 for all of them comes back as refusal,
// with the rows it covers (a read-back may have settled some first).
func (sp *splitter) once(ctx context.Context, rows []outcome.Row) (result, error) {
	a := newAttempts(sp.s, sp.c, sp.log, rows, sp.sh)
	err := sp.s.gw.Retry(ctx, sp.log, func(op *gateway.Op) error { return a.attempt(ctx, op) })
	if a.journalErr != nil {
		return result{}, a.journalErr
	}
	if err == nil {
		return result{outcomes: a.done, answered: true}, nil
	}
	if api := apiError(err); api != nil && api.StatusCode == http.StatusBadRequest && len(a.doubt) == 0 {
		return result{outcomes: a.done, refusal: api, rows: a.pending}, nil
	}
	return result{outcomes: append(a.done, sp.s.settleError(ctx, a, err)...)}, nil
}

// split resolves a refusal by its halves; it returns the outcomes of the
// refused rows (res.rows) only.
func (sp *splitter) split(ctx context.Context, res result) ([]outcome.Outcome, error) {
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
		return nil, err
	}
	right, err := sp.once(ctx, rows[half:])
	if err != nil {
		return nil, err
	}
	out := append(append([]outcome.Outcome(nil), left.outcomes...), right.outcomes...)
	switch {
	case alike(left, right):
		group, probe, err := sp.probe(ctx, left, right)
		if err != nil || group != nil {
			return append(out, group...), err
		}
		out = append(out, probe.outcomes...)
		left = result{refusal: left.refusal, rows: left.rows[1:]}
	case left.answered && right.answered:
		sp.s.size.refusedAt(half, len(rows))
	}
	for _, part := range []result{left, right} {
		if part.refusal == nil || len(part.rows) == 0 {
			continue
		}
		more, err := sp.split(ctx, part)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// alike reports whether both halves were refused with the same message.
func alike(left, right result) bool {
	return left.refusal != nil && right.refusal != nil && left.refusal.Message() == right.refusal.Message()
}

// probe sends one row of the refused halves alone. Refused alike, the
// request as a whole is at fault: every row of both halves fails, once
// (group), and later chunks of the flow and owner fail without a request.
// Otherwise the probe's row is settled (probe) and splitting goes on.
func (sp *splitter) probe(ctx context.Context, left, right result) ([]outcome.Outcome, result, error) {
	p, err := sp.once(ctx, left.rows[:1])
	if err != nil {
		return nil, result{}, err
	}
	if p.refusal == nil || p.refusal.Message() != left.refusal.Message() {
		if p.refusal != nil {
			p.outcomes = append(p.outcomes, sp.fail(p)...)
		}
		return nil, p, nil
	}
	o := refusedGroup(p.refusal)
	sp.s.refused.LoadOrStore(chunk.GroupKey(sp.c.FlowID, sp.c.OwnerEmail), o)
	sp.log.Warn("Gong refuses every request for this flow and owner; failing its rows without more requests", zap.String("message", o.Message))
	return sameFor(o, append(append([]outcome.Row(nil), left.rows...), right.rows...)), result{}, nil
}

// fail settles a refusal that splitting no longer explains.
func (sp *splitter) fail(res result) []outcome.Outcome {
	o := outcome.Fail(outcome.Row{}, outcome.StageRequest, outcome.CodeBadRequest, res.refusal.Message()).
		WithAnswer(http.StatusBadRequest, res.refusal.RequestID)
	return sameFor(o, res.rows)
}

func refusedGroup(api *gong.APIError) outcome.Outcome {
	return outcome.Fail(outcome.Row{}, outcome.StageRequest, outcome.CodeBadRequest,
		api.Message()+" (Gong refused every request for this flow and owner alike)").
		WithAnswer(http.StatusBadRequest, api.RequestID)
}
