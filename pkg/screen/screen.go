// Package screen is the stage between reading a row and sending it: it
// turns the reader's rejections into outcomes, resolves flow names, checks
// through Gong's flow listing that each flow is visible to its owner, and
// finds duplicates. Each row comes out as a row to send or as an outcome;
// run and plan screen rows the same way.
package screen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/flows"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// Config is one screen.
type Config struct {
	Name  string // the input's name, for messages
	Log   *zap.Logger
	Dedup *Dedup
	// Catalog lists flows; nil without credentials (no names, no preflight).
	Catalog *flows.Catalog
	// Directory resolves owners named by name; nil without credentials.
	Directory *flows.Directory
	Preflight bool
	// KeepNames (plan without credentials) passes a row named by flow name
	// on, grouped under the name, instead of failing it.
	KeepNames bool
	// Assigned, if set, names the earlier run that assigned this
	// crmProspectId to this flow; such a row is not sent again.
	Assigned func(crmProspectID, flowID string) (run string, ok bool)
}

// Screen decides what becomes of each row read. It is not safe for
// concurrent use: the reading goroutine owns it.
type Screen struct {
	cfg      Config
	ownerErr map[string]error // owner -> why their flows could not be listed
	warned   map[string]bool
}

// New returns a Screen.
func New(cfg Config) *Screen {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Dedup == nil {
		cfg.Dedup = NewDedup()
	}
	return &Screen{cfg: cfg, ownerErr: map[string]error{}, warned: map[string]bool{}}
}

// PreflightOn reports whether the preflight is still on: Gong's refusal of
// the listing turns it off for the run.
func (s *Screen) PreflightOn() bool { return s.cfg.Preflight }

// RowOf is the row of a valid prospect.
func RowOf(p input.Prospect) outcome.Row {
	return outcome.Row{Line: p.Line, CRMProspectID: p.CRMProspectID, FlowID: p.FlowID, FlowName: p.FlowName,
		OwnerEmail: p.OwnerEmail, OwnerName: p.OwnerName, Extra: p.Extra, Person: p.Person}
}

// RejectedRow is the row of a rejection, as far as it could be read.
func RejectedRow(r *input.Rejection) outcome.Row {
	return outcome.Row{Line: r.Line, CRMProspectID: r.CRMProspectID, FlowID: r.FlowID, FlowName: r.FlowName, OwnerEmail: r.OwnerEmail, Extra: r.Extra}
}

// Settled notes a valid row an earlier run settled: it still counts for
// duplicates.
func (s *Screen) Settled(p input.Prospect) { s.cfg.Dedup.Seen(Identity(RowOf(p))) }

// Check screens one row read: it returns the row to send, or its outcome.
func (s *Screen) Check(ctx context.Context, p input.Prospect, rej *input.Rejection) (outcome.Row, *outcome.Outcome) {
	if rej != nil {
		o := outcome.Fail(RejectedRow(rej), outcome.StageInput, rej.Code, rej.Message)
		return outcome.Row{}, &o
	}
	row := RowOf(p)
	if row.OwnerName != "" {
		if o := s.owner(ctx, &row); o != nil {
			return outcome.Row{}, o
		}
	}
	ident := Identity(row)
	if row.FlowID == "" || (s.cfg.Preflight && s.cfg.Catalog != nil) {
		if o := s.flows(ctx, &row); o != nil {
			return outcome.Row{}, o
		}
	}
	if s.cfg.Assigned != nil {
		if run, ok := s.cfg.Assigned(row.CRMProspectID, row.FlowID); ok {
			o := outcome.Fail(row, outcome.StageInput, outcome.CodeAlreadyAssigned,
				fmt.Sprintf("%s:%d: run %s already assigned %s to flow %s; not sent again", s.cfg.Name, row.Line, run, row.CRMProspectID, row.FlowID))
			return outcome.Row{}, &o
		}
	}
	if first := s.cfg.Dedup.Seen(ident); first != 0 {
		same := "crmProspectId"
		if row.Person != nil {
			same = "email (in any case)"
		}
		o := outcome.Fail(row, outcome.StageInput, outcome.CodeDuplicate,
			fmt.Sprintf("%s:%d: the same %s, flowId and flowInstanceOwnerEmail as line %d, which is sent instead", s.cfg.Name, row.Line, same, first))
		return outcome.Row{}, &o
	}
	return row, nil
}

// owner resolves the row's owner name to a Gong user's email; it returns
// the row's outcome if that settles it.
func (s *Screen) owner(ctx context.Context, row *outcome.Row) *outcome.Outcome {
	if s.cfg.Directory == nil && s.cfg.KeepNames {
		row.OwnerEmail = fmt.Sprintf("%q (name, not resolved)", row.OwnerName)
		return nil
	}
	if s.cfg.Directory == nil {
		o := outcome.Fail(*row, outcome.StageInput, outcome.CodeOwnerNotFound,
			fmt.Sprintf("%s:%d: the owner %q is a name, which cannot be resolved without Gong credentials; give the owner's email", s.cfg.Name, row.Line, row.OwnerName))
		return &o
	}
	email, code, msg, err := s.cfg.Directory.Resolve(ctx, row.OwnerName)
	switch {
	case err != nil:
		reason := outcome.ReasonUserListingFailed
		if errors.Is(err, flows.ErrListingIncomplete) {
			reason = outcome.ReasonListingIncomplete
			s.warnIncomplete("", err.Error())
		} else if r, ok := gateway.StopReason(err); ok {
			reason = r
		} else if ctx.Err() != nil {
			reason = outcome.ReasonInterrupted
		}
		o := outcome.Leave(*row, reason)
		return &o
	case code != "":
		o := outcome.Fail(*row, outcome.StageInput, code, fmt.Sprintf("%s:%d: %s", s.cfg.Name, row.Line, msg))
		return &o
	}
	row.OwnerEmail = email
	return nil
}

// Identity is what makes two rows the same for duplicates: the CRM ID, the
// owner, and the flow as the input names it (its ID, or its name). A row by
// name and a row by ID for the same flow are not taken for duplicates: Gong
// answers the second "already in flow".
func Identity(r outcome.Row) outcome.Row {
	if r.FlowID == "" {
		r.FlowID = "name:" + strings.ToLower(strings.TrimSpace(r.FlowName))
	}
	owner := r.OwnerEmail
	if r.OwnerName != "" {
		owner = "name:" + strings.ToLower(strings.TrimSpace(r.OwnerName))
	}
	// A person without a CRM ID is the same person by email, in any case.
	return outcome.Row{Line: r.Line, CRMProspectID: r.Ident(), FlowID: r.FlowID, OwnerEmail: owner}
}

// flows resolves the row's flow name and checks that its flow is visible
// to its owner; it returns the row's outcome if that settles it.
func (s *Screen) flows(ctx context.Context, row *outcome.Row) *outcome.Outcome {
	fail := func(code, msg string) *outcome.Outcome {
		o := outcome.Fail(*row, outcome.StageInput, code, fmt.Sprintf("%s:%d: %s", s.cfg.Name, row.Line, msg))
		return &o
	}
	leave := func(reason string) *outcome.Outcome {
		o := outcome.Leave(*row, reason)
		return &o
	}
	if s.cfg.Catalog == nil && s.cfg.KeepNames {
		row.FlowID = fmt.Sprintf("%q (name, not resolved)", row.FlowName)
		return nil
	}
	if s.cfg.Catalog == nil {
		return fail(outcome.CodeFlowNameNotResolved, fmt.Sprintf("column flowId is empty, and the flow name %q cannot be resolved without Gong credentials", row.FlowName))
	}
	listing, err := s.list(ctx, row.OwnerEmail)
	list := listing.Flows
	switch {
	case err == nil:
	case errors.Is(err, flows.ErrUnavailable):
		if s.cfg.Preflight {
			s.cfg.Preflight = false
			s.cfg.Log.Warn("Gong refused the flow listing; preflight is off for this run (flow names cannot be resolved)", zap.Error(err))
		}
		if row.FlowID == "" {
			return fail(outcome.CodeFlowNameNotResolved, fmt.Sprintf("the flow name %q cannot be resolved: %v", row.FlowName, err))
		}
		return nil
	default:
		return s.listingFailed(ctx, row, err, fail, leave)
	}
	if row.FlowID == "" {
		id, code, msg := flows.Resolve(list, row.FlowName, row.OwnerEmail)
		if listing.Incomplete != "" && code != outcome.CodeFlowNameAmbiguous {
			// Not found may be on a page not read; found once may be
			// ambiguous with a flow there: only ambiguity is final.
			s.warnIncomplete(row.OwnerEmail, listing.Incomplete)
			return leave(outcome.ReasonListingIncomplete)
		}
		if code != "" {
			return fail(code, msg)
		}
		row.FlowID = id
		return nil
	}
	if s.cfg.Preflight && !flows.Visible(list, row.FlowID) {
		if listing.Incomplete != "" {
			s.warnIncomplete(row.OwnerEmail, listing.Incomplete)
			return leave(outcome.ReasonListingIncomplete)
		}
		return fail(outcome.CodeFlowNotVisible, fmt.Sprintf("flow %s is not among the %d flows Gong lists for %s (GET /v2/flows): unknown, deleted, or another owner's personal flow; not sent", row.FlowID, len(list), row.OwnerEmail))
	}
	return nil
}

// warnIncomplete warns once per owner ("" for the user listing) that a
// listing ended before its last page, so that its rows are left.
func (s *Screen) warnIncomplete(owner, why string) {
	key := "incomplete\x00" + strings.ToLower(strings.TrimSpace(owner))
	if s.warned[key] {
		return
	}
	s.warned[key] = true
	what := "Gong's user listing (GET /v2/users)"
	if owner != "" {
		what = "Gong's flow listing (GET /v2/flows) for " + owner
	}
	s.cfg.Log.Warn(what+" ended before its last page; rows it cannot settle are left unprocessed ("+outcome.ReasonListingIncomplete+"), and the same command lists again",
		zap.String("why", why))
}

// list lists owner's flows; a listing that failed is not tried again this run.
func (s *Screen) list(ctx context.Context, owner string) (flows.Listing, error) {
	key := strings.ToLower(strings.TrimSpace(owner))
	if err := s.ownerErr[key]; err != nil {
		return flows.Listing{}, err
	}
	list, err := s.cfg.Catalog.List(ctx, owner)
	if _, stop := gateway.StopReason(err); err != nil && !stop && ctx.Err() == nil && !errors.Is(err, flows.ErrUnavailable) {
		s.ownerErr[key] = err
	}
	return list, err
}

// listingFailed decides a row whose owner's flows could not be listed.
func (s *Screen) listingFailed(ctx context.Context, row *outcome.Row, err error, fail func(code, msg string) *outcome.Outcome, leave func(string) *outcome.Outcome) *outcome.Outcome {
	if reason, ok := gateway.StopReason(err); ok {
		return leave(reason)
	}
	if ctx.Err() != nil {
		return leave(outcome.ReasonInterrupted)
	}
	if gong.StatusOf(err) == http.StatusBadRequest {
		// Gong refuses to list this owner's flows (not a Gong user, a
		// typo): an assign for them would be refused too.
		return fail(outcome.CodeOwnerRefused, fmt.Sprintf("Gong refused to list the flows of %s, so no request is sent for this row: %v", row.OwnerEmail, err))
	}
	if row.FlowID == "" {
		// Gong's listing failed for now (5xx, network): the row waits for
		// the next run, which tries again.
		return leave(outcome.ReasonFlowListingFailed)
	}
	owner := strings.ToLower(strings.TrimSpace(row.OwnerEmail))
	if !s.warned[owner] {
		s.warned[owner] = true
		s.cfg.Log.Warn("listing flows failed; this owner's rows are sent without preflight", zap.String("owner", row.OwnerEmail), zap.Error(err))
	}
	return nil
}
