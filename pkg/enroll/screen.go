package enroll

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/flows"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/report"
	"github.com/flowenroll/flowenroll/pkg/submit"
)

// FlowLister is the part of the Gong client that lists flows.
type FlowLister interface {
	ListFlows(ctx context.Context, owner, cursor string) (*gong.FlowsResponse, error)
}

// screen decides, the same way for run and plan, what becomes of a row read:
// rejected (input errors, unresolvable flow names, flows the owner cannot
// see, duplicates) or a row to send.
type screen struct {
	name      string // the input's name, for messages
	log       *zap.Logger
	dedup     *chunk.Dedup
	catalog   *flows.Catalog // nil: no credentials, so no names and no preflight
	preflight bool
	// keepNames (plan without credentials) keeps a row named by flow name,
	// grouped under the name, instead of failing it.
	keepNames bool
	ownerErr  map[string]error // owner -> why their flows could not be listed
	warned    map[string]bool
}

// CodeOwnerRefused fails the rows of an owner whose flows Gong refused to
// list with a 400 (not a Gong user, say).
const CodeOwnerRefused = "OwnerRefused"

// ReasonFlowListingFailed leaves a row named by flow name unprocessed when
// Gong's flow listing failed for now; the next run resolves it.
const ReasonFlowListingFailed = "FlowListingFailed"

func newScreen(name string, log *zap.Logger, dedup *chunk.Dedup, catalog *flows.Catalog, preflight bool) *screen {
	return &screen{name: name, log: log, dedup: dedup, catalog: catalog, preflight: preflight, ownerErr: map[string]error{}, warned: map[string]bool{}}
}

// verdict is one of: a row to send, a failed record, or a stop reason (the
// row is left unprocessed).
type verdict struct {
	row   chunk.Row
	fail  *report.FailedRecord
	leave string
}

func (s *screen) check(ctx context.Context, p input.Prospect, rej *input.Rejection) verdict {
	if rej != nil {
		f := rejectionRecord(rej)
		return verdict{fail: &f}
	}
	ident := identity(p)
	if p.FlowID == "" || (s.preflight && s.catalog != nil) {
		if v, done := s.flows(ctx, &p); done {
			return v
		}
	}
	row := chunk.Row{Line: p.Line, CRMProspectID: p.CRMProspectID, FlowID: p.FlowID, OwnerEmail: p.OwnerEmail}
	if first := s.dedup.Seen(ident); first != 0 {
		f := duplicateRecord(s.name, row, first)
		return verdict{fail: &f}
	}
	return verdict{row: row}
}

// identity is what makes two rows the same for duplicates: the CRM ID, the
// owner, and the flow as the input names it (its ID, or its name). A row by
// name and a row by ID for the same flow are not taken for duplicates: Gong
// answers the second "already in flow".
func identity(p input.Prospect) chunk.Row {
	flow := p.FlowID
	if flow == "" {
		flow = "name:" + strings.ToLower(strings.TrimSpace(p.FlowName))
	}
	return chunk.Row{Line: p.Line, CRMProspectID: p.CRMProspectID, FlowID: flow, OwnerEmail: p.OwnerEmail}
}

// flows resolves p's flow name and checks that its flow is visible to its
// owner; done reports a verdict already reached.
func (s *screen) flows(ctx context.Context, p *input.Prospect) (v verdict, done bool) {
	fail := func(code, msg string) (verdict, bool) {
		f := report.FailedRecord{
			Line: p.Line, CRMProspectID: report.Cell(p.CRMProspectID), FlowID: report.Cell(p.FlowID),
			FlowInstanceOwnerEmail: report.Cell(p.OwnerEmail), Stage: StageInput, ErrorCode: report.Cell(code),
			ErrorMessage: report.Cell(fmt.Sprintf("%s:%d: %s", s.name, p.Line, msg)),
		}
		return verdict{fail: &f}, true
	}
	if s.catalog == nil && s.keepNames {
		p.FlowID = fmt.Sprintf("%q (name, not resolved)", p.FlowName)
		return verdict{}, false
	}
	if s.catalog == nil {
		return fail(flows.CodeFlowNameNotResolved, fmt.Sprintf("column flowId is empty, and the flow name %q cannot be resolved without Gong credentials", p.FlowName))
	}
	owner := strings.ToLower(strings.TrimSpace(p.OwnerEmail))
	var list []gong.Flow
	err := s.ownerErr[owner] // a listing that failed is not tried again this run
	if err == nil {
		list, err = s.catalog.Flows(ctx, p.OwnerEmail)
		if _, stop := submit.StopReason(err); err != nil && !stop && ctx.Err() == nil && !errors.Is(err, flows.ErrUnavailable) {
			s.ownerErr[owner] = err
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, flows.ErrUnavailable):
		if s.preflight {
			s.preflight = false
			s.log.Warn("Gong refused the flow listing; preflight is off for this run (flow names cannot be resolved)", zap.Error(err))
		}
		if p.FlowID == "" {
			return fail(flows.CodeFlowNameNotResolved, fmt.Sprintf("the flow name %q cannot be resolved: %v", p.FlowName, err))
		}
		return verdict{}, false
	default:
		if reason, ok := submit.StopReason(err); ok {
			return verdict{leave: reason}, true
		}
		if ctx.Err() != nil {
			return verdict{leave: submit.ReasonInterrupted}, true
		}
		if gong.StatusOf(err) == http.StatusBadRequest {
			// Gong refuses to list this owner's flows (not a Gong user, a
			// typo): an assign for them would be refused too.
			return fail(CodeOwnerRefused, fmt.Sprintf("Gong refused to list the flows of %s, so no request is sent for this row: %v", p.OwnerEmail, err))
		}
		if p.FlowID == "" {
			// Gong's listing failed for now (5xx, network): the row waits
			// for the next run, which tries again.
			return verdict{leave: ReasonFlowListingFailed}, true
		}
		if !s.warned[owner] {
			s.warned[owner] = true
			s.log.Warn("listing flows failed; this owner's rows are sent without preflight", zap.String("owner", p.OwnerEmail), zap.Error(err))
		}
		return verdict{}, false
	}
	if p.FlowID == "" {
		id, code, msg := flows.Resolve(list, p.FlowName, p.OwnerEmail)
		if code != "" {
			return fail(code, msg)
		}
		p.FlowID = id
		return verdict{}, false
	}
	if s.preflight && !flows.Visible(list, p.FlowID) {
		return fail(flows.CodeFlowNotVisible, fmt.Sprintf("flow %s is not among the %d flows Gong lists for %s (GET /v2/flows): unknown, deleted, or another owner's personal flow; not sent", p.FlowID, len(list), p.OwnerEmail))
	}
	return verdict{}, false
}

// newCatalog lists flows through the submitter, so that listings are paced,
// retried and counted against the request budget like any request.
func newCatalog(sub *submit.Submitter, client any) *flows.Catalog {
	lister, ok := client.(FlowLister)
	if !ok {
		return nil
	}
	return flows.NewCatalog(func(ctx context.Context, owner, cursor string) (*gong.FlowsResponse, error) {
		var resp *gong.FlowsResponse
		err := sub.Do(ctx, "list flows", func(ctx context.Context) error {
			r, err := lister.ListFlows(ctx, owner, cursor)
			resp = r
			return err
		})
		return resp, err
	})
}
