package submit

import (
	"context"
	"net/http"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// splitter sends the rows of one chunk and, when Gong refuses a request as
// malformed (400), finds the rows at fault (see isolation), so that one bad
// ID does not fail 199 good ones.
type splitter struct {
	s   *Submitter
	c   chunk.Chunk
	log *zap.Logger
	sh  *shared
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
	more, err := sp.isolate(ctx, res)
	return append(res.outcomes, more...), err
}

// once sends rows with retries; a 400 for all of them comes back as refusal,
// with the rows it covers (a read-back may have settled some first).
func (sp *splitter) once(ctx context.Context, rows []outcome.Row) (result, error) {
	a := newAttempts(sp.s, sp.c, sp.log, rows, sp.sh)
	err := sp.s.gw.Together(ctx, sp.log, a.attempt)
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

// fail settles rows that Gong refused alone, each row the only one of its
// request (or rows a refusal named, each by its ID).
func (sp *splitter) fail(api *gong.APIError, message string, rows []outcome.Row) []outcome.Outcome {
	o := outcome.Fail(outcome.Row{}, outcome.StageRequest, outcome.CodeBadRequest, message).
		WithAnswer(http.StatusBadRequest, api.RequestID)
	return sameFor(o, rows)
}

func refusedGroup(api *gong.APIError) outcome.Outcome {
	return outcome.Fail(outcome.Row{}, outcome.StageRequest, outcome.CodeBadRequest,
		api.Message()+" (Gong's refusal names this request's owner or flow: every request for this flow and owner is refused alike)").
		WithAnswer(http.StatusBadRequest, api.RequestID)
}
