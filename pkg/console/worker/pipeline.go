package worker

// This file is the console's only door into the enrollment pipeline: every
// call into pkg/enroll, pkg/input, pkg/report and pkg/reconcile is here,
// behind Pipeline, so that the console runs exactly what `flowenroll run`,
// `plan`, `undo` and `verify` run and the HTTP side does not depend on how
// the pipeline is built.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/enroll"
	"github.com/flowenroll/flowenroll/pkg/flows"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/outdir"
	"github.com/flowenroll/flowenroll/pkg/reconcile"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// Pipeline checks and runs an input. The console holds one; EnrollPipeline
// is the real one, and tests of the HTTP side may use a fake.
type Pipeline interface {
	// Plan reads and validates the input as `flowenroll plan` does; it
	// sends no assign request. A file that is not CSV text is a
	// *BadInputError; a header without a required column is a PlanView
	// whose Columns says which, not an error.
	Plan(ctx context.Context, spec PlanSpec) (store.PlanView, error)
	// Run enrolls the input as `flowenroll run` does, resuming from the
	// ledger in spec.OutDir. ctx ending drains the run (as SIGTERM does);
	// the result is then exit 4 and the run can be resumed.
	Run(ctx context.Context, spec RunSpec, p Progress) (Result, error)
	// UndoCount says how many flow instances an undo of the run in outDir
	// would remove, as `flowenroll undo --dry-run` does; it sends nothing.
	// A run that cannot be undone now is a *RefusedError.
	UndoCount(ctx context.Context, outDir string) (int, error)
	// Undo removes the flow instances the run in spec.OutDir created, as
	// `flowenroll undo` does, continuing an undo stopped before; Verify
	// reads every assigned row back, as `flowenroll verify` does. Both
	// write their files into spec.OutDir; ctx ending stops them (exit 4).
	Undo(ctx context.Context, spec ReconcileSpec) (Result, error)
	Verify(ctx context.Context, spec ReconcileSpec) (Result, error)
	// Users lists the company's active users (GET /v2/users) and Flows the
	// flows owner can see (GET /v2/flows), for the page's pickers: through
	// the one pacer, every page counted in Listing.Requests. Gong refusing
	// or out of reach is an *UnavailableError.
	Users(ctx context.Context) (Listing[Person], error)
	Flows(ctx context.Context, owner string) (Listing[store.FlowChoice], error)
}

// Person is a Gong user the owner picker offers.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Listing is what a listing found and the requests it sent, pages and
// retries included.
type Listing[T any] struct {
	Items    []T
	Requests int64
}

// UnavailableError is a listing Gong did not answer: out of reach, or the
// credentials or their scope refused. Its message is meant for a person.
type UnavailableError struct {
	Msg    string
	Status int   // Gong's HTTP status, 0 when it did not answer
	Err    error // the listing's own error, for the log
}

func (e *UnavailableError) Error() string { return e.Msg }
func (e *UnavailableError) Unwrap() error { return e.Err }

// PlanSpec is one check of an upload.
type PlanSpec struct {
	InputPath string // the CSV (a workbook is converted before)
	CheckDir  string // a folder for the rejected rows; emptied first
	Options   store.Options
	// Assigned names the earlier run that assigned a crmProspectId to a
	// flow: such rows fail AlreadyAssigned, unsent. nil: none.
	Assigned func(crm, flow string) (string, bool)
	Log      *zap.Logger
}

// RunSpec is one run (or the resumption of one).
type RunSpec struct {
	InputPath string
	OutDir    string
	Options   store.Options
	Assigned  func(crm, flow string) (string, bool) // see PlanSpec
	Log       *zap.Logger
	// OverrideCoolOff is the run's cool-off override, as ticked at its
	// first start (enroll.Config.OverrideCoolOff).
	OverrideCoolOff bool
}

// ReconcileSpec is one undo or verify of a run.
type ReconcileSpec struct {
	OutDir string // the run's out folder: its ledger; the files go there
	// UnassignedBy is sent to Gong as unassignedByUserEmail when not empty.
	UnassignedBy string
	Log          *zap.Logger
}

// Progress hears how a run advances: the total rows, rows settled (assigned,
// failed or left) and the requests sent so far. It is the pipeline's own.
type Progress = enroll.Progress

// Result is how a run, an undo or a verify ended: its exit code (as the
// command would exit) and its summary as the pipeline made it, in the one
// of Run, Undo and Verify that fits (none when it ended before it had one).
// The console turns it into JSON only where it keeps or serves it.
type Result struct {
	ExitCode int
	Run      *report.Summary
	Undo     *reconcile.UndoSummary
	Verify   *reconcile.VerifySummary
}

// summaryJSON is the summary r holds, as summary.json has it; nil for none.
func (r Result) summaryJSON() (json.RawMessage, error) {
	var sum any
	switch {
	case r.Run != nil:
		sum = r.Run
	case r.Undo != nil:
		sum = r.Undo
	case r.Verify != nil:
		sum = r.Verify
	default:
		return nil, nil
	}
	return json.Marshal(sum)
}

// figures are what the console counts of r's summary. A verify's requests
// are all its own: it has a gateway of its own.
func (r Result) figures() store.Summary {
	switch {
	case r.Run != nil:
		s := r.Run
		return store.Summary{RowsRead: s.RowsRead, Assigned: s.Assigned, Failed: s.Failed, FailedByStage: s.FailedByStage,
			Unprocessed: s.Unprocessed, UnprocessedByReason: s.UnprocessedByReason, Requests: s.Requests,
			StopReason: s.StopReason, RequestsThisRun: s.RequestsThisRun, ExitCode: s.ExitCode}
	case r.Undo != nil:
		s := r.Undo
		return store.Summary{Requests: s.Requests, RequestsThisRun: s.RequestsThisRun, StopReason: s.StopReason, ExitCode: s.ExitCode}
	case r.Verify != nil:
		s := r.Verify
		return store.Summary{Requests: s.Requests, RequestsThisRun: s.Requests, StopReason: s.StopReason, ExitCode: s.ExitCode}
	}
	return store.Summary{}
}

// BadInputError is an upload the pipeline cannot read at all (not CSV text,
// a bad option); its message is meant for the person who uploaded it.
type BadInputError struct{ Msg string }

func (e *BadInputError) Error() string { return e.Msg }

// RefusedError is an undo the run's state refuses for now (rows in doubt,
// its folder in use, nothing sent); its message is meant for a person.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

// Client is the Gong client the pipeline uses: a run's calls, and undo's.
type Client interface {
	gateway.Client
	reconcile.Client
}

// EnrollPipeline is Pipeline over pkg/enroll: the same code as `run` and
// `plan`, sharing one client and one pacer across every run of the server.
type EnrollPipeline struct {
	Client  Client
	Limiter gateway.Limiter
	// ListLimiter paces the pickers' listings: the same pacer, behind the
	// runs (pace.Background); nil means Limiter.
	ListLimiter  gateway.Limiter
	ChunkSize    int
	Concurrency  int
	MaxRetryTime time.Duration
	MaxWait      time.Duration
	DrainTimeout time.Duration
	Preflight    bool
}

// sampleRows is how many rejected rows of each code a check shows.
const sampleRows = 5

// Plan implements Pipeline.
func (p *EnrollPipeline) Plan(ctx context.Context, spec PlanSpec) (store.PlanView, error) {
	opts, err := InputOptions(spec.Options)
	if err != nil {
		return store.PlanView{}, err
	}
	if err := os.RemoveAll(spec.CheckDir); err != nil {
		return store.PlanView{}, err
	}
	pc := enroll.PlanConfig{
		InputPath: spec.InputPath, OutDir: spec.CheckDir, Input: opts, ChunkSize: p.ChunkSize,
		Preflight: p.Preflight, Log: spec.Log, Assigned: spec.Assigned, Samples: sampleRows,
	}
	if p.Client != nil {
		pc.Client, pc.Limiter = p.Client, p.Limiter
	}
	plan, err := enroll.MakePlan(ctx, pc)
	var he *input.HeaderError
	var nc *input.NotCSVError
	switch {
	case errors.As(err, &he):
		return store.PlanView{Columns: &store.ColumnProblem{Missing: he.Missing, NotFound: he.NotFound, Ambiguous: he.Ambiguous, Found: he.Found}}, nil
	case errors.As(err, &nc):
		return store.PlanView{}, &BadInputError{Msg: "this file is not a CSV file or an Excel workbook (.xlsx): " + nc.Found}
	case err != nil:
		return store.PlanView{}, err
	}
	v := store.PlanView{
		Rows: plan.RowsRead, Valid: plan.Valid, Rejected: plan.Rejected, Requests: plan.Requests,
		Checked: plan.Checked, Note: plan.Note, RejectedByCode: map[string]store.RejectedView{},
		People: plan.People, BulkSubmits: plan.BulkSubmits,
	}
	if plan.People > 0 {
		v.BulkReadsEach = enroll.BulkReadsEach
	}
	for _, g := range plan.Groups {
		v.Groups = append(v.Groups, store.PlanGroup{FlowID: g.FlowID, Owner: g.OwnerEmail, Rows: g.Rows, Requests: g.Requests, Bulk: g.Bulk})
	}
	for code, r := range plan.RejectedByCode {
		rv := store.RejectedView{Rows: r.Rows, Example: r.Example}
		for _, o := range r.First {
			rv.First = append(rv.First, rowRefOf(o))
		}
		v.RejectedByCode[code] = rv
	}
	return v, nil
}

// rowRefOf is a rejected row as failed.csv tells it: its owner as the
// input gave it when not resolved to an email.
func rowRefOf(o outcome.Outcome) store.RowRef {
	owner := o.Row.OwnerEmail
	if owner == "" {
		owner = o.Row.OwnerName
	}
	return store.RowRef{
		Line: o.Row.Line, CRMProspectID: o.Row.CRMProspectID, FlowID: o.Row.FlowID, FlowName: o.Row.FlowName,
		Owner: owner, Stage: o.Stage, Code: o.Code, Message: o.Message,
	}
}

// Run implements Pipeline.
func (p *EnrollPipeline) Run(ctx context.Context, spec RunSpec, prog Progress) (Result, error) {
	opts, err := InputOptions(spec.Options)
	if err != nil {
		return Result{ExitCode: outcome.ExitFatal}, err
	}
	sum, err := enroll.Run(ctx, enroll.Config{
		InputPath: spec.InputPath, OutDir: spec.OutDir, Input: opts,
		ChunkSize: p.ChunkSize, Concurrency: p.Concurrency, Client: p.Client, Limiter: p.Limiter,
		MaxRetryTime: p.MaxRetryTime, MaxWait: p.MaxWait, DrainTimeout: p.DrainTimeout,
		Preflight: p.Preflight, Progress: prog, Log: spec.Log, Workbook: true, Assigned: spec.Assigned,
		OverrideCoolOff: spec.OverrideCoolOff,
	})
	code := sum.ExitCode
	if err != nil {
		code = outcome.ExitFatal
	}
	return Result{ExitCode: code, Run: &sum}, err
}

// InputOptions turns the page's choices into the reader's options; the flow
// and owner defaults wait for the pipeline to take them.
func InputOptions(o store.Options) (input.Options, error) {
	var maps []string
	for k, v := range o.Map {
		maps = append(maps, k+"="+v)
	}
	m, err := input.ParseMap(maps)
	if err != nil {
		return input.Options{}, &BadInputError{Msg: err.Error()}
	}
	enc, err := input.ParseEncoding(orAuto(o.Encoding))
	if err != nil {
		return input.Options{}, &BadInputError{Msg: err.Error()}
	}
	delim, err := input.ParseDelimiter(orAuto(o.Delimiter))
	if err != nil {
		return input.Options{}, &BadInputError{Msg: err.Error()}
	}
	crm, err := input.ParseCRM(o.CRM)
	if err != nil {
		return input.Options{}, &BadInputError{Msg: err.Error()}
	}
	if o.HeaderRow < 0 {
		return input.Options{}, &BadInputError{Msg: fmt.Sprintf("headerRow %d: rows are numbered from 1 (0 finds the header)", o.HeaderRow)}
	}
	return input.Options{Map: m, Encoding: enc, Delimiter: delim, CRM: crm, Flow: o.Flow, Owner: o.Owner, HeaderRow: o.HeaderRow}, nil
}

func orAuto(s string) string {
	if s == "" {
		return "auto"
	}
	return s
}

// Result file names, as the pipeline writes them in a run's out folder.
const (
	AssignedFile    = report.AssignedFile
	FailedFile      = report.FailedFile
	UnprocessedFile = report.UnprocessedFile
	SummaryFile     = report.SummaryFile
	UndoneFile      = reconcile.UndoneFile
	UndoFailedFile  = reconcile.UndoFailedFile
	VerifyFile      = reconcile.VerifyFile
)

// UndoCount implements Pipeline.
func (p *EnrollPipeline) UndoCount(ctx context.Context, outDir string) (int, error) {
	sum, err := reconcile.Undo(ctx, reconcile.UndoConfig{Dir: outDir, DryRun: true})
	var doubt *reconcile.RunInDoubtError
	var held *outdir.HeldError
	switch {
	case errors.As(err, &doubt):
		return 0, &RefusedError{Msg: fmt.Sprintf("%d rows of this run were sent without an answer yet: continue the run first to settle them, then undo it.", doubt.Rows)}
	case errors.As(err, &held):
		return 0, &RefusedError{Msg: "This run's results are in use by " + held.Holder.Command + ": try again when it is done."}
	case errors.Is(err, ledger.ErrNoJournal):
		return 0, &RefusedError{Msg: "This run sent nothing: there is nothing to undo."}
	case err != nil:
		return 0, err
	}
	return sum.Pending, nil
}

// gateway is a new gateway over the one pacer: an undo or a verify counts
// its own requests, as a run does.
func (p *EnrollPipeline) gateway(log *zap.Logger) *gateway.Gateway {
	return gateway.New(gateway.Config{Limiter: p.Limiter, Log: log, MaxRetryTime: p.MaxRetryTime, MaxWait: p.MaxWait})
}

// Undo implements Pipeline.
func (p *EnrollPipeline) Undo(ctx context.Context, spec ReconcileSpec) (Result, error) {
	sum, err := reconcile.Undo(ctx, reconcile.UndoConfig{
		Dir: spec.OutDir, Client: p.Client, Gateway: p.gateway(spec.Log), UnassignedBy: spec.UnassignedBy, Log: spec.Log,
	})
	return Result{ExitCode: exitOf(sum.ExitCode, err), Undo: &sum}, err
}

// Verify implements Pipeline.
func (p *EnrollPipeline) Verify(ctx context.Context, spec ReconcileSpec) (Result, error) {
	sum, err := reconcile.Verify(ctx, reconcile.VerifyConfig{Dir: spec.OutDir, Client: p.Client, Gateway: p.gateway(spec.Log), Log: spec.Log})
	return Result{ExitCode: exitOf(sum.ExitCode, err), Verify: &sum}, err
}

// exitOf is how an undo or a verify ended: an error is exit 1.
func exitOf(code int, err error) int {
	if err != nil {
		return outcome.ExitFatal
	}
	return code
}

// listRetryTime bounds the retries of a picker's listing: a person waits
// for it, and the page says Gong is out of reach rather than spin.
const listRetryTime = 20 * time.Second

// listGateway is a gateway over the one pacer for one listing, so that it
// counts its own requests.
func (p *EnrollPipeline) listGateway() *gateway.Gateway {
	lim := p.ListLimiter
	if lim == nil {
		lim = p.Limiter
	}
	return gateway.New(gateway.Config{Limiter: lim, MaxRetryTime: min(p.MaxRetryTime, listRetryTime), MaxWait: p.MaxWait})
}

// Users implements Pipeline.
func (p *EnrollPipeline) Users(ctx context.Context) (Listing[Person], error) {
	if p.Client == nil {
		return Listing[Person]{}, &UnavailableError{Msg: "This console has no connection to Gong."}
	}
	gw := p.listGateway()
	users, partial, err := flows.ListAllUsers(ctx, flows.GongUsers(gw.Wrap(p.Client).ListUsers))
	switch {
	case err != nil:
		return Listing[Person]{Requests: gw.Counts().Requests}, unavailable("users", "api:users:read", err)
	case partial != "":
		// The picker would offer a list that may lack the owner wanted.
		return Listing[Person]{Requests: gw.Counts().Requests}, &UnavailableError{Msg: "Gong's list of users did not end; try again later.", Err: errors.New(partial)}
	}
	var all []Person
	for _, u := range users {
		if u.Active && u.EmailAddress != "" {
			all = append(all, Person{Name: strings.TrimSpace(u.FirstName + " " + u.LastName), Email: u.EmailAddress})
		}
	}
	slices.SortFunc(all, func(a, b Person) int {
		return cmpFold(a.Name+" "+a.Email, b.Name+" "+b.Email)
	})
	return Listing[Person]{Items: all, Requests: gw.Counts().Requests}, nil
}

// Flows implements Pipeline.
func (p *EnrollPipeline) Flows(ctx context.Context, owner string) (Listing[store.FlowChoice], error) {
	if p.Client == nil {
		return Listing[store.FlowChoice]{}, &UnavailableError{Msg: "This console has no connection to Gong."}
	}
	gw := p.listGateway()
	list, err := flows.NewCatalog(gw.Wrap(p.Client).ListFlows).Flows(ctx, owner)
	if err != nil {
		return Listing[store.FlowChoice]{Requests: gw.Counts().Requests}, unavailable("flows", "api:flows:read", err)
	}
	out := make([]store.FlowChoice, 0, len(list))
	for _, f := range list {
		out = append(out, store.FlowChoice{ID: f.ID, Name: f.Name, Folder: f.FolderName, Visibility: f.Visibility})
	}
	slices.SortFunc(out, func(a, b store.FlowChoice) int {
		if c := cmpFold(a.Folder, b.Folder); c != 0 {
			return c
		}
		return cmpFold(a.Name+" "+a.ID, b.Name+" "+b.ID)
	})
	return Listing[store.FlowChoice]{Items: out, Requests: gw.Counts().Requests}, nil
}

func cmpFold(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }

// unavailable says why Gong gave no list of what, for a person. The
// gateway turns a 401 and an unreachable Gong into a stop; a 403 of a
// listing and a 400 come as Gong's answer.
func unavailable(what, scope string, err error) error {
	st := gong.StatusOf(err)
	reason, _ := gateway.StopReason(err)
	var msg string
	switch {
	case reason == outcome.ReasonUnauthorized || st == http.StatusUnauthorized:
		msg = "Gong refused this console's credentials, so its " + what + " cannot be listed. Ask whoever runs the console to check the Gong access key."
		st = http.StatusUnauthorized
	case reason == outcome.ReasonForbidden || st == http.StatusForbidden || errors.Is(err, flows.ErrUnavailable):
		// Gong answers 403 to a wrong key pair too, not only to a token
		// without the scope.
		msg = "Gong does not let this console list its " + what + ": its credentials are wrong, or lack the scope " + scope + "."
	case reason == outcome.ReasonRateLimited || reason == outcome.ReasonDailyQuota || st == http.StatusTooManyRequests:
		msg = "Gong's request quota is spent for now, so its " + what + " cannot be listed; try again later."
	case st == http.StatusBadRequest:
		msg = "Gong refused to list the " + what + ": " + err.Error()
	case st != 0:
		msg = fmt.Sprintf("Gong answered %d when asked for its %s; try again in a while.", st, what)
	default:
		msg = "Gong cannot be reached right now, so its " + what + " cannot be listed; try again in a while."
	}
	return &UnavailableError{Msg: msg, Status: st, Err: err}
}
