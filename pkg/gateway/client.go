package gateway

import (
	"context"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// Client is the Gong client a run, undo and verify use: *gong.Client,
// which makes one attempt per call, and Gong, which wraps it.
type Client interface {
	Assign(ctx context.Context, req gong.AssignRequest) (*gong.AssignResponse, error)
	// AssignCoolOffOverride is assign regardless of the cool-off period
	// (--override-cool-off); it is counted as an assign.
	AssignCoolOffOverride(ctx context.Context, req gong.AssignRequest) (*gong.AssignResponse, error)
	// SubmitBulk and BulkStatus are the bulk assignment of people without
	// a CRM ID.
	SubmitBulk(ctx context.Context, req gong.BulkRequest) (*gong.BulkResponse, error)
	BulkStatus(ctx context.Context, id string) (*gong.BulkResponse, error)
	ProspectsFlows(ctx context.Context, crmIDs []string) (*gong.ProspectsFlowsResponse, error)
	ListFlows(ctx context.Context, owner, cursor string) (*gong.FlowsResponse, error)
	ListUsers(ctx context.Context, cursor string) (*gong.UsersResponse, error)
	UnassignByInstanceIDs(ctx context.Context, req gong.UnassignByInstanceIDsRequest) (*gong.UnassignResponse, error)
}

// Gong is a Client that makes every call a request of the run: the
// decorator of the plain client, as restic's backend/retry wraps a backend
// and returns the same interface, so that a call site writes
// c.Assign(ctx, req) and nothing else. Each method names its Kind (the one
// table of kinds is kindTable); the call is checked against the stop,
// takes one request from the budget, waits its turn on the limiter, is
// sent, heard, counted under its kind, and retried under the one policy.
//
// What must stay at the call site rides on the context, so that the
// methods keep the plain client's signatures:
//
//   - WithCall(ctx, Call{Before: journal}) runs journal after the budget
//     admits the request and before the limiter's turn (a run's ledger;
//     Call.BeforeWrite: after the turn, for a bulk assignment);
//     Call.Sending marks the moment it goes out, after the turn; Call.Log
//     names the retries in the logs; Call.Detach sends the request itself
//     uncancelled (its answer is journaled).
//   - Together(ctx, log, attempt) retries several calls as one operation
//     (a read-back of the rows in doubt, then the assign of those still
//     pending): inside attempt, each call is sent once, and an error it
//     returns, classified already, is for attempt to return.
type Gong struct {
	g *Gateway
	c Client
}

var _ Client = (*Gong)(nil)

// Wrap returns c as a client whose every call goes through g.
func (g *Gateway) Wrap(c Client) *Gong { return &Gong{g: g, c: c} }

// Gateway is the gateway the client sends through: its counts and stop.
func (d *Gong) Gateway() *Gateway { return d.g }

// Assign sends an assign.
func (d *Gong) Assign(ctx context.Context, req gong.AssignRequest) (*gong.AssignResponse, error) {
	return call(d, ctx, Assign, func(ctx context.Context) (*gong.AssignResponse, error) { return d.c.Assign(ctx, req) })
}

// AssignCoolOffOverride sends an assign past the cool-off period, counted
// as an assign.
func (d *Gong) AssignCoolOffOverride(ctx context.Context, req gong.AssignRequest) (*gong.AssignResponse, error) {
	return call(d, ctx, Assign, func(ctx context.Context) (*gong.AssignResponse, error) {
		return d.c.AssignCoolOffOverride(ctx, req)
	})
}

// SubmitBulk submits a bulk assignment.
func (d *Gong) SubmitBulk(ctx context.Context, req gong.BulkRequest) (*gong.BulkResponse, error) {
	return call(d, ctx, BulkSubmit, func(ctx context.Context) (*gong.BulkResponse, error) { return d.c.SubmitBulk(ctx, req) })
}

// BulkStatus reads a bulk assignment.
func (d *Gong) BulkStatus(ctx context.Context, id string) (*gong.BulkResponse, error) {
	return call(d, ctx, BulkPoll, func(ctx context.Context) (*gong.BulkResponse, error) { return d.c.BulkStatus(ctx, id) })
}

// ProspectsFlows reads back the flows of CRM IDs.
func (d *Gong) ProspectsFlows(ctx context.Context, crmIDs []string) (*gong.ProspectsFlowsResponse, error) {
	return call(d, ctx, ReadBack, func(ctx context.Context) (*gong.ProspectsFlowsResponse, error) {
		return d.c.ProspectsFlows(ctx, crmIDs)
	})
}

// ListFlows reads one page of owner's flows.
func (d *Gong) ListFlows(ctx context.Context, owner, cursor string) (*gong.FlowsResponse, error) {
	return call(d, ctx, FlowListing, func(ctx context.Context) (*gong.FlowsResponse, error) {
		return d.c.ListFlows(ctx, owner, cursor)
	})
}

// ListUsers reads one page of the company's users.
func (d *Gong) ListUsers(ctx context.Context, cursor string) (*gong.UsersResponse, error) {
	return call(d, ctx, UserListing, func(ctx context.Context) (*gong.UsersResponse, error) { return d.c.ListUsers(ctx, cursor) })
}

// UnassignByInstanceIDs removes flow instances.
func (d *Gong) UnassignByInstanceIDs(ctx context.Context, req gong.UnassignByInstanceIDsRequest) (*gong.UnassignResponse, error) {
	return call(d, ctx, Unassign, func(ctx context.Context) (*gong.UnassignResponse, error) {
		return d.c.UnassignByInstanceIDs(ctx, req)
	})
}

// Call is what a call site adds to one call through its context.
type Call struct {
	// Before runs after the budget admits the request and before the
	// limiter's turn, on every attempt (it keeps its own once); its error
	// ends the call with a *JournalError and gives the request back.
	Before func() error
	// BeforeWrite runs after the limiter's turn, just before the request
	// goes out, on every attempt: the journaling of a request whose rows,
	// once journaled, cost a person's decision (a bulk assignment's:
	// nothing reads them back), so that a kill during the wait for the turn
	// leaves them unsent. Its error ends the call with a *JournalError and
	// gives the request back; the turn goes unused. Before is the place
	// for the rest: an fsync between the turn and the send delays it.
	BeforeWrite func() error
	// Sending runs after the limiter's turn, just before the request goes
	// out: the moment a call site takes as "sent" (the clock's window, the
	// earliest time Gong may have applied it) leaves out the wait.
	Sending func()
	// Log is the logger of the call's retries; nil means the gateway's.
	Log *zap.Logger
	// Detach sends the request itself without ctx's cancellation (waits
	// still end with ctx): an answer that is journaled is not thrown away.
	Detach bool
}

type callKey struct{}

type opKey struct{}

// WithCall returns ctx carrying c for the calls made with it.
func WithCall(ctx context.Context, c Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// Together runs attempt until it succeeds or fails for good, under the
// one retry policy (jittered exponential backoff, never sooner than a
// 429's Retry-After, never past MaxRetryTime or a stop of the run); the
// calls attempt makes through a Gong with the context it is given are sent
// once each, as parts of the one operation, and return their errors
// classified (a stop, a final answer) for attempt to return.
func (g *Gateway) Together(ctx context.Context, log *zap.Logger, attempt func(ctx context.Context) error) error {
	return g.retry(ctx, log, func(op *operation) error { return attempt(context.WithValue(ctx, opKey{}, op)) })
}

// call makes one call of kind k through the gateway.
func call[T any](d *Gong, ctx context.Context, k Kind, do func(context.Context) (T, error)) (T, error) {
	var out T
	c, _ := ctx.Value(callKey{}).(Call)
	send := func(op *operation) error {
		rctx := ctx
		if c.Detach {
			rctx = context.WithoutCancel(ctx)
		}
		return op.send(ctx, k, c.Before, c.BeforeWrite, func() error {
			if c.Sending != nil {
				c.Sending()
			}
			r, err := do(rctx)
			out = r
			return err
		})
	}
	if op, ok := ctx.Value(opKey{}).(*operation); ok {
		return out, send(op)
	}
	log := c.Log
	if log == nil {
		log = d.g.cfg.Log
	}
	err := d.g.retry(ctx, log.With(zap.String("op", k.String())), send)
	return out, err
}
