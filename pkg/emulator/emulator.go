// Package emulator is a local stand-in for Gong's Engage flow API, for demos
// and tests of flowenroll. It serves the endpoints flowenroll uses:
//
//	POST /v2/flows/prospects/assign                          assign prospects to a flow
//	POST /v2/flows/prospects/assign/cool-off-override        the same, regardless of the cool-off period
//	POST /v2/flows/prospects/bulk-assignments                assign people by email and name (bulk.go)
//	GET  /v2/flows/prospects/bulk-assignments/{id}           read a bulk assignment
//	POST /v2/flows/prospects                                 read back flow instances
//	GET  /v2/flows                                           list the flows a user can see
//	GET  /v2/users                                           list the company's users
//	POST /v2/flows/prospects/unassign-flows-by-instance-id   remove flow instances
//	POST /v2/flows/prospects/unassign-flows-by-crm-id        remove a prospect from flows
//
// It answers the way Gong's published spec and help pages say Gong answers
// (see shared/gong-api): the same status codes, bodies, auth schemes, scopes,
// company-wide limits and per-prospect failures. It is never made lenient to
// suit a client. Where Gong's behaviour is not published, the choice is a
// Config field, and the default is documented on that field or here; Modes
// gathers the behaviours a client must survive (a quota 429 without a useful
// Retry-After, a cursor that never ends, lying assign answers, a redirect, a
// server that never answers).
// Its tests check every answer against the published spec
// (internal/apispec); answers it spoils or makes up on purpose carry
// FaultHeader.
//
// Every request goes through one pipeline, in this order:
//
//  0. with Modes.RedirectTo set, every request is answered 307 and nothing
//     else happens; with Modes.Silent (past Modes.SilentAfter requests), it
//     is read and held unanswered until the client gives up;
//  1. routing: an unknown path is 404, a wrong method 405 (neither needs
//     credentials nor counts against the limits);
//  2. the request body is read, at most MaxBodyBytes;
//  3. Config.Latency passes, without holding any lock; a request whose
//     context ends meanwhile is abandoned: not answered, admitted or applied;
//  4. authentication (401) and, for Bearer tokens only, the scope (403);
//     where the spec lists no such status for the operation, the refusal
//     takes the one it lists: GET /v2/users lists 403 ("Access denied") and
//     no 401, the unassign endpoints 401 and no 403;
//  5. the company-wide limits (429): daily quota first, then the per-second
//     window. Only requests that pass 1 and 4 count, whatever their outcome
//     after: Gong counts calls per company, a 401 names no company, and a
//     403 is left out with it (what Gong counts is unknown);
//  6. Config.Hook, if set, may answer instead;
//  7. Config.Faults draws at most one fault for the request; a fault that
//     fails before applying (5xx, a 429 storm, a reset) answers now;
//  8. the request is validated (400, Config.PoisonIDs included) and, for
//     assign, applied in one place (Server.applyAssign) under the server's
//     mutex;
//  9. the answer is written (Server.write) and counted in Stats, unless a
//     fault drops, delays, truncates or replaces it (Server.deliver).
//
// Choices where Gong's behaviour is unknown, beyond those on Config:
//   - unknown top-level request fields are ignored (Gong's spec asks clients to
//     tolerate new fields; the request side is unpublished);
//   - a body over MaxBodyBytes is a 400, the only client error the spec lists;
//   - Content-Type is not checked;
//   - user emails match case-insensitively; an instance keeps the owner email
//     as the request spelled it;
//   - read-back with both crmProspectsIds and flowInstanceIds, or a repeated
//     ID, is a 400; an unknown or malformed ID is simply not listed;
//   - read-back takes any number of IDs;
//   - GET /v2/flows for an email that is no Gong user is a 400, unless
//     Config.NonUserListsFlows;
//   - flowInstanceCreateDate is written in UTC with milliseconds, on the
//     server's clock (Config.Now, shifted by Modes.ClockOffset), which also
//     gives every answer's Date header;
//   - an inactive user may still own instances; an email alias is not
//     accepted as an owner (only the user's emailAddress is);
//   - unassign removes the instance: read-back no longer lists it, Instances
//     no longer holds it, and the prospect may be assigned to the flow again;
//     Created keeps it (it is the history of what assign created);
//   - unassign refuses finished instances (they are left out of
//     unassignedFlowInstanceIds) and leaves unknown IDs out of it;
//   - a given unassignedByUserEmail that is no Gong user is a 400;
//   - unassign by CRM ID with an unknown flowId removes nothing (200).
package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// MaxBodyBytes bounds a request body; a larger one is a 400.
const MaxBodyBytes = 1 << 20

// Operations, as Config.Hook and the log name them; they match the op names
// of gong.APIError (OpAssignCoolOff is in cooloff.go).
const (
	OpAssign    = "assign"
	OpReadBack  = "read-back"
	OpListFlows = "list flows"
	OpListUsers = "list users"
	// OpUnassign is unassign-flows-by-instance-id, OpUnassignCRM
	// unassign-flows-by-crm-id.
	OpUnassign    = "unassign"
	OpUnassignCRM = "unassign by CRM ID"
)

// OAuth scopes checked on Bearer tokens.
const (
	ScopeFlowsRead  = "api:flows:read"
	ScopeFlowsWrite = "api:flows:write"
	ScopeUsersRead  = "api:users:read"
)

// Values of Config.UnknownOwner.
const (
	// UnknownOwnerRequest refuses the whole assign request with HTTP 400.
	UnknownOwnerRequest = "request"
	// UnknownOwnerProspect answers 200 and fails each prospect with
	// InvalidArgument.
	UnknownOwnerProspect = "prospect"
)

// Values of Config.NumericFlowID.
const (
	// NumericFlowIDReject answers a flowId sent as a JSON number with 400: the
	// spec types flowId as a string.
	NumericFlowIDReject = "reject"
	// NumericFlowIDLossy reads a numeric flowId as a float64: a 19-digit ID
	// loses precision and the flow is then usually "not found" (404), which
	// is what public clients report. Whether the precision is lost in Gong's
	// parser or in those clients' encoders is unknown.
	NumericFlowIDLossy = "lossy"
)

// Config configures a Server. The zero value of every field but Fixture
// means its documented default.
type Config struct {
	// Fixture is the company: users, flows, and instances open before the run.
	Fixture Fixture

	// AccessKey and AccessKeySecret are the one accepted Basic credential.
	// BearerTokens maps each accepted OAuth token to its scopes.
	//
	// If AccessKey, AccessKeySecret and BearerTokens are all empty, the
	// server is open: any well-formed Basic header (non-empty key and secret)
	// or Bearer header is accepted, and a Bearer token has every scope.
	// Otherwise only the configured credentials are accepted: with only a key
	// pair, every Bearer header is a 401, and with only tokens, every Basic
	// header.
	AccessKey, AccessKeySecret string
	BearerTokens               map[string][]string

	// MaxIDs is the most crmProspectsIds one assign may carry. Default 200,
	// per Gong's help page; the newer OpenAPI spec says 100.
	MaxIDs int

	// RatePerSecond is the company-wide number of calls admitted per
	// second, counted as Window says (by default per clock-aligned second,
	// time.Truncate(time.Second)), over all endpoints and credentials.
	// Default 3; negative means unlimited.
	RatePerSecond int
	// DailyLimit is the company-wide number of calls admitted per UTC day.
	// Default 10000; negative means unlimited.
	DailyLimit int
	// CountRejected makes calls refused with 429 count against both limits.
	// Default false: whether Gong counts them is unknown.
	CountRejected bool
	// LimitModes: how the per-second limit counts (aligned, rolling, GCRA),
	// jitter on the way, another integration sharing it; see windows.go.
	LimitModes

	// Latency is spent before each request is handled, holding no lock; if
	// the request's context ends first, the request is abandoned unanswered.
	Latency time.Duration

	// PageSize is the number of flows per page of GET /v2/flows. Default 100.
	PageSize int
	// UserPageSize is the number of users per page of GET /v2/users.
	// Default 100.
	UserPageSize int

	// ProspectIDPattern matches a well-formed CRM ID; an assign for any other
	// ID fails that prospect with InvalidArgument "Invalid crmId <id>".
	// Default ^[A-Za-z0-9]{1,64}$ (Salesforce 15/18-character IDs, HubSpot
	// numeric IDs); CRMs with other shapes, such as GUIDs, need their own.
	ProspectIDPattern *regexp.Regexp

	// UnknownOwner says what assign does when flowInstanceOwnerEmail is no
	// fixture user: UnknownOwnerRequest (the default: HTTP 400 "<email> is
	// not a Gong user") or UnknownOwnerProspect. Gong's answer is unknown.
	UnknownOwner string

	// NumericFlowID says what assign does with a flowId sent as a JSON
	// number: NumericFlowIDReject (the default) or NumericFlowIDLossy.
	NumericFlowID string

	// Modes: behaviours Gong might have that a client must survive. All are
	// off by default; see modes.go.
	Modes

	// Now is the clock for the limits and creation dates. Default time.Now.
	// It is called with the server's mutex held and must not call the Server.
	Now func() time.Time

	// Seed seeds the generator of requestIds and flowInstanceIds: the same
	// seed and the same sequence of requests give the same IDs.
	Seed int64

	// Faults are the failures injected; the zero value injects none. See
	// Faults, and Server.SetFaults to change them between runs.
	Faults Faults

	// PoisonIDs are CRM IDs that make a whole assign fail: a request carrying
	// any of them is answered 400 (its message as PoisonAnswer says), no
	// per-prospect answer, and nothing applied. It models the spec's "400
	// Malformed request" for rows that poison their request, to test how a
	// client finds them; which IDs make Gong do this, and its message, are
	// unknown. Off by default (nil). Only
	// a request that passes the other checks reaches this one; read-back is
	// not affected. Refusals count in Stats.Faults.Poisoned.
	PoisonIDs map[string]bool
	// PoisonAnswer is what the 400 for a poison ID says: PoisonNamesIDs
	// (default) or PoisonNamesNothing.
	PoisonAnswer string

	// Hook, if set, sees every admitted request (after auth and limits,
	// before validation) with its operation and body. If it returns handled,
	// the server answers that status with an error body and does nothing
	// else; a 429 also carries "Retry-After: 1". It is called with no lock
	// held, may call the Server, and must be safe for concurrent calls.
	Hook func(op string, body []byte) (status int, handled bool)

	// Logger, if set, gets one debug line per request. The Authorization
	// header, bodies and query strings are never logged.
	Logger *zap.Logger
}

// Instance is one flow instance the server holds.
type Instance struct {
	AssignedFlow
	// Preexisting marks instances from Fixture.Existing.
	Preexisting bool
}

// Stats counts what the server has seen.
type Stats struct {
	// Requests counts every request, answered or abandoned.
	Requests int
	// Assign, ReadBack, ListFlows, ListUsers and Unassign (both unassign
	// endpoints) count the requests routed to each endpoint, whatever their
	// answer.
	Assign, ReadBack, ListFlows, ListUsers, Unassign int
	// CoolOffOverride counts the requests to the cool-off-override assign.
	CoolOffOverride int
	// BulkSubmit and BulkStatus count the requests to submit a bulk
	// assignment and to read one.
	BulkSubmit, BulkStatus int
	// Redirected counts the requests answered 307 (Modes.RedirectTo).
	Redirected int
	// RateLimited counts 429s for the per-second window; QuotaExceeded 429s
	// for the daily limit.
	RateLimited, QuotaExceeded int
	// ClientErrors and ServerErrors count 4xx (429 included) and 5xx answers
	// by status.
	ClientErrors, ServerErrors map[int]int
	// Abandoned counts requests whose context ended before they were
	// answered (see Config.Latency), or whose body could not be read.
	Abandoned int
	// Created counts instances created by assign; Unassigned those
	// removed by unassign.
	Created, Unassigned int
	// MaxInWindow is the most requests admitted in any one 1-second window:
	// a clock-aligned one, and with WindowRolling or WindowGCRA any second.
	MaxInWindow int
	// Faults counts the faults injected (Config.Faults, Config.PoisonIDs).
	Faults FaultCounts
}

// Server is the emulated Gong API; it is an http.Handler safe for
// concurrent requests.
type Server struct {
	cfg      Config // with defaults filled in
	users    map[string]User
	flows    map[string]FlowDef
	order    []FlowDef // fixture order: the order of GET /v2/flows
	log      *zap.Logger
	openAuth bool // no credentials configured: any well-formed one passes

	mu         sync.Mutex
	ids        *idSource
	limits     limiter
	instances  []*Instance // creation order, Existing first
	byID       map[string]*Instance
	byProspect map[string][]*Instance
	created    []AssignedFlow
	bulk       bulkState
	stats      Stats
	faults     faultState
}

// normalize checks the configuration, fills in its defaults and copies what
// the caller may change afterwards.
func (cfg Config) normalize() (Config, error) {
	cfg.Fixture = cfg.Fixture.clone() // the caller may reuse its slices
	var errs []error
	if (cfg.AccessKey == "") != (cfg.AccessKeySecret == "") {
		errs = append(errs, errors.New("AccessKey and AccessKeySecret must be set together"))
	}
	if strings.Contains(cfg.AccessKey, ":") {
		errs = append(errs, errors.New("AccessKey must not contain a colon"))
	}
	for tok := range cfg.BearerTokens {
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
			errs = append(errs, errors.New("BearerTokens: a token is empty or contains white space"))
		}
	}
	switch {
	case cfg.MaxIDs < 0:
		errs = append(errs, fmt.Errorf("MaxIDs %d is negative", cfg.MaxIDs))
	case cfg.MaxIDs == 0:
		cfg.MaxIDs = 200
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = 3
	}
	if cfg.DailyLimit == 0 {
		cfg.DailyLimit = 10000
	}
	switch {
	case cfg.PageSize < 0:
		errs = append(errs, fmt.Errorf("PageSize %d is negative", cfg.PageSize))
	case cfg.PageSize == 0:
		cfg.PageSize = 100
	}
	switch {
	case cfg.UserPageSize < 0:
		errs = append(errs, fmt.Errorf("UserPageSize %d is negative", cfg.UserPageSize))
	case cfg.UserPageSize == 0:
		cfg.UserPageSize = 100
	}
	errs = append(errs, cfg.checkTiming()) // errors.Join drops a nil
	modes, err := cfg.Modes.normalize()
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Modes = modes
	if cfg.ProspectIDPattern == nil {
		cfg.ProspectIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)
	}
	switch cfg.UnknownOwner {
	case "":
		cfg.UnknownOwner = UnknownOwnerRequest
	case UnknownOwnerRequest, UnknownOwnerProspect:
	default:
		errs = append(errs, fmt.Errorf("UnknownOwner %q: want %q or %q", cfg.UnknownOwner, UnknownOwnerRequest, UnknownOwnerProspect))
	}
	switch cfg.NumericFlowID {
	case "":
		cfg.NumericFlowID = NumericFlowIDReject
	case NumericFlowIDReject, NumericFlowIDLossy:
	default:
		errs = append(errs, fmt.Errorf("NumericFlowID %q: want %q or %q", cfg.NumericFlowID, NumericFlowIDReject, NumericFlowIDLossy))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	faults, err := cfg.Faults.normalize()
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Faults = faults
	errs = cfg.normalizePoison(errs)
	if err := cfg.Fixture.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("fixture: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("emulator config: %w", err)
	}
	return cfg, nil
}

// New checks the configuration and returns a server holding the fixture.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		users:      make(map[string]User, len(cfg.Fixture.Users)),
		flows:      make(map[string]FlowDef, len(cfg.Fixture.Flows)),
		order:      cfg.Fixture.Flows,
		log:        cfg.Logger,
		openAuth:   cfg.AccessKey == "" && len(cfg.BearerTokens) == 0,
		ids:        newIDSource(cfg.Seed),
		limits:     newLimiter(cfg),
		byID:       make(map[string]*Instance),
		byProspect: make(map[string][]*Instance),
		stats:      Stats{ClientErrors: map[int]int{}, ServerErrors: map[int]int{}},
		faults:     newFaultState(cfg.Faults),
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	for i, u := range cfg.Fixture.Users {
		u = u.complete()
		cfg.Fixture.Users[i] = u
		s.users[strings.ToLower(u.Email)] = u
	}
	for _, f := range cfg.Fixture.Flows {
		s.flows[f.ID] = f
	}
	for _, in := range cfg.Fixture.Existing {
		fl := s.flows[in.FlowID]
		in.FlowName, in.WorkspaceID, in.Exclusive = fl.Name, fl.WorkspaceID, fl.Exclusive
		if in.FlowInstanceOwnerFullName == "" {
			in.FlowInstanceOwnerFullName = s.users[strings.ToLower(in.FlowInstanceOwnerEmail)].FullName
		}
		if in.FlowInstanceStatus == "" {
			in.FlowInstanceStatus = StatusRunning
		}
		s.add(&Instance{AssignedFlow: in, Preexisting: true})
	}
	// Generated IDs come second, so that none collides with a given one.
	for _, in := range s.instances {
		if in.FlowInstanceID == "" {
			in.FlowInstanceID = s.newInstanceID()
			s.byID[in.FlowInstanceID] = in
		}
	}
	s.dateExisting()
	return s, nil
}

// add records an instance; the caller holds s.mu or owns s.
func (s *Server) add(in *Instance) {
	s.instances = append(s.instances, in)
	if in.FlowInstanceID != "" {
		s.byID[in.FlowInstanceID] = in
	}
	s.byProspect[in.CRMProspectID] = append(s.byProspect[in.CRMProspectID], in)
}

// newInstanceID returns an unused flowInstanceId; the caller holds s.mu.
func (s *Server) newInstanceID() string {
	for {
		id := s.ids.instanceID()
		if _, used := s.byID[id]; !used {
			return id
		}
	}
}

// Created returns the instances created by assign calls, in creation order,
// including those unassigned since.
func (s *Server) Created() []AssignedFlow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AssignedFlow{}, s.created...)
}

// Instances returns every instance the server holds, Existing first, then
// those created, in creation order; unassigned instances are gone.
func (s *Server) Instances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Instance, len(s.instances))
	for i, in := range s.instances {
		out[i] = *in
	}
	return out
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ClientErrors = maps.Clone(s.stats.ClientErrors)
	st.ServerErrors = maps.Clone(s.stats.ServerErrors)
	st.MaxInWindow = s.limits.maxInWindow
	return st
}

// endpoint is what routing found for a request.
type endpoint struct {
	op     string // "" for an unknown path
	method string // the one method the path takes
	scope  string // the Bearer scope it needs
}

func route(path string) endpoint {
	switch path {
	case PathAssign:
		return endpoint{op: OpAssign, method: http.MethodPost, scope: ScopeFlowsWrite}
	case PathAssignCoolOffOverride:
		return endpoint{op: OpAssignCoolOff, method: http.MethodPost, scope: ScopeFlowsWrite}
	case PathBulkAssignments:
		return endpoint{op: OpBulkSubmit, method: http.MethodPost, scope: ScopeFlowsWrite}
	}
	if id, ok := strings.CutPrefix(path, PathBulkAssignments+"/"); ok && id != "" && !strings.Contains(id, "/") {
		return endpoint{op: OpBulkStatus, method: http.MethodGet, scope: ScopeFlowsRead}
	}
	switch path {
	case PathProspectsFlows:
		return endpoint{op: OpReadBack, method: http.MethodPost, scope: ScopeFlowsRead}
	case PathFlows:
		return endpoint{op: OpListFlows, method: http.MethodGet, scope: ScopeFlowsRead}
	case PathUsers:
		return endpoint{op: OpListUsers, method: http.MethodGet, scope: ScopeUsersRead}
	case PathUnassignByInstance:
		return endpoint{op: OpUnassign, method: http.MethodPost, scope: ScopeFlowsWrite}
	case PathUnassignByCRMID:
		return endpoint{op: OpUnassignCRM, method: http.MethodPost, scope: ScopeFlowsWrite}
	}
	return endpoint{}
}

// FaultHeader marks an answer the server spoils or makes up on purpose (a
// fault of Config.Faults, Config.PoisonIDs, an answer of Config.Hook, and
// the modes that make the server lie or redirect); its value names the
// reason. Gong sends no such header and a client must not read it: it is
// there so that tests checking answers against the spec can tell these
// answers from the server's mistakes.
const FaultHeader = "X-Emulator-Fault"

// pathOf is the path of an operation, "" if none.
func pathOf(op string) string {
	for _, p := range []string{PathAssign, PathAssignCoolOffOverride, PathBulkAssignments, PathBulkAssignments + "/id", PathProspectsFlows, PathFlows, PathUsers, PathUnassignByInstance, PathUnassignByCRMID} {
		if route(p).op == op {
			return p
		}
	}
	return ""
}

// answer is one response, before it is written.
type answer struct {
	mark       string // the value of FaultHeader, if any
	status     int
	retryAfter time.Duration // 429 only: whole seconds
	noRetry    bool          // 429 only: send no Retry-After
	allow      string        // 405 only
	body       any
	fault      injection // how Server.deliver spoils it, if at all
}

func errorAnswer(reqID string, status int, msgs ...string) answer {
	return answer{status: status, body: errorResponse{RequestID: reqID, Errors: msgs}}
}

// ServeHTTP answers one request; see the package comment for the order of
// the steps.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := route(r.URL.Path)
	s.mu.Lock()
	s.stats.Requests++
	switch ep.op {
	case OpAssign:
		s.stats.Assign++
	case OpAssignCoolOff:
		s.stats.CoolOffOverride++
	case OpBulkSubmit:
		s.stats.BulkSubmit++
	case OpBulkStatus:
		s.stats.BulkStatus++
	case OpReadBack:
		s.stats.ReadBack++
	case OpListFlows:
		s.stats.ListFlows++
	case OpListUsers:
		s.stats.ListUsers++
	case OpUnassign, OpUnassignCRM:
		s.stats.Unassign++
	}
	if s.cfg.RedirectTo != "" {
		s.stats.Redirected++
		s.mu.Unlock()
		s.redirect(w, r)
		return
	}
	silent := s.cfg.silentFor(s.stats.Requests)
	s.mu.Unlock()
	if silent {
		s.hold(r, ep)
	}

	var body []byte
	tooLarge := false
	if ep.op != "" && r.Method == ep.method && r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		if err != nil {
			s.abandon(r, ep, "reading body: "+err.Error())
			return
		}
		if len(b) > MaxBodyBytes {
			tooLarge = true
		} else {
			body = b
		}
	}
	if !sleep(r.Context(), s.latency()) {
		s.abandon(r, ep, "context ended during latency")
		return
	}
	s.deliver(w, r, ep, s.answer(r, ep, body, tooLarge))
}

// deliver sends the answer, or fails to as its fault says.
func (s *Server) deliver(w http.ResponseWriter, r *http.Request, ep endpoint, a answer) {
	switch a.fault.kind {
	case faultResetBefore, faultDropAfterApply:
		s.log.Debug("emulator connection dropped", zap.String("op", ep.op), zap.String("method", r.Method),
			zap.String("path", r.URL.Path), zap.Stringer("fault", a.fault.kind), zap.String("requestId", requestIDOf(a.body)))
		hangUp(w, true)
		return
	case faultSlowAnswer:
		s.log.Debug("emulator answer delayed", zap.String("op", ep.op), zap.String("method", r.Method),
			zap.String("path", r.URL.Path), zap.Duration("delay", a.fault.delay), zap.String("requestId", requestIDOf(a.body)))
		if !sleep(r.Context(), a.fault.delay) {
			s.abandon(r, ep, "context ended during a slow answer")
			return
		}
	}
	s.write(w, r, ep, a)
}

func (s *Server) abandon(r *http.Request, ep endpoint, why string) {
	s.mu.Lock()
	s.stats.Abandoned++
	s.mu.Unlock()
	s.log.Debug("emulator request abandoned", zap.String("op", ep.op), zap.String("method", r.Method),
		zap.String("path", r.URL.Path), zap.String("reason", why))
}

// answer computes the response to a routed request.
func (s *Server) answer(r *http.Request, ep endpoint, body []byte, tooLarge bool) answer {
	s.mu.Lock()
	reqID := s.ids.requestID()
	if rejected, ok := s.admit(r, ep, reqID); !ok {
		s.mu.Unlock()
		return rejected
	}
	s.mu.Unlock()

	if s.cfg.Hook != nil {
		if status, handled := s.cfg.Hook(ep.op, body); handled {
			a := errorAnswer(reqID, status, "emulator hook: "+http.StatusText(status))
			a.mark = "hook"
			if status == http.StatusTooManyRequests {
				a.retryAfter = time.Second
			}
			return a
		}
	}

	s.mu.Lock()
	f := s.drawFault(ep.op)
	s.mu.Unlock()
	var a answer
	switch f.kind {
	case faultServerError:
		a = errorAnswer(reqID, f.status, "emulator fault: "+http.StatusText(f.status))
	case faultStorm:
		a = errorAnswer(reqID, http.StatusTooManyRequests, "emulator fault: API rate limit exceeded")
		a.retryAfter = f.retryAfter
	case faultResetBefore:
		a = answer{body: errorResponse{RequestID: reqID}} // never sent
	default:
		a = s.handle(r, ep, reqID, body, tooLarge)
	}
	a.fault = f
	return a
}

// handle validates and carries out an admitted request.
func (s *Server) handle(r *http.Request, ep endpoint, reqID string, body []byte, tooLarge bool) answer {
	if tooLarge {
		return errorAnswer(reqID, http.StatusBadRequest, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes))
	}
	switch ep.op {
	case OpAssign, OpAssignCoolOff:
		return s.handleAssign(reqID, body, ep.op == OpAssignCoolOff)
	case OpBulkSubmit, OpBulkStatus:
		return s.handleBulk(r, ep.op, reqID, body)
	case OpReadBack:
		q, errs := decodeReadBack(body)
		if len(errs) > 0 {
			return errorAnswer(reqID, http.StatusBadRequest, errs...)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.readBack(reqID, q)
	case OpListUsers:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.listUsers(reqID, r.URL.Query())
	case OpUnassign, OpUnassignCRM:
		return s.unassign(reqID, ep.op, body)
	default:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.listFlows(reqID, r.URL.Query())
	}
}

// admit runs routing, authentication and the limits; the caller holds s.mu.
// It returns the refusal and false, or true if the request may proceed.
func (s *Server) admit(r *http.Request, ep endpoint, reqID string) (answer, bool) {
	if ep.op == "" {
		return errorAnswer(reqID, http.StatusNotFound, "no such endpoint: "+r.URL.Path), false
	}
	if r.Method != ep.method {
		a := errorAnswer(reqID, http.StatusMethodNotAllowed,
			fmt.Sprintf("method %s not allowed on %s; use %s", r.Method, r.URL.Path, ep.method))
		a.allow = ep.method
		return a, false
	}
	if status, msg := s.authenticate(r.Header.Values("Authorization"), ep.scope); status != 0 {
		switch ep.op {
		case OpListUsers:
			status = http.StatusForbidden
		case OpUnassign, OpUnassignCRM:
			status = http.StatusUnauthorized
		}
		return errorAnswer(reqID, status, msg), false
	}
	switch v, wait := s.limits.admit(s.cfg.Now()); v {
	case quotaExceeded:
		s.stats.QuotaExceeded++
		a := errorAnswer(reqID, http.StatusTooManyRequests,
			fmt.Sprintf("API daily limit of %d calls exceeded", s.cfg.DailyLimit))
		switch a.retryAfter = wait; s.cfg.QuotaRetryAfter {
		case QuotaRetryAfterOne:
			a.retryAfter = time.Second
		case QuotaRetryAfterNone:
			a.noRetry = true
		}
		return a, false
	case rateLimited:
		s.stats.RateLimited++
		a := errorAnswer(reqID, http.StatusTooManyRequests,
			fmt.Sprintf("API rate limit of %d calls per second exceeded", s.cfg.RatePerSecond))
		a.retryAfter = wait
		return a, false
	}
	return answer{}, true
}

// write sends the answer and counts it. Every answer is JSON, but for the
// faults TruncatedBody (half of it) and InvalidJSON (HTML).
func (s *Server) write(w http.ResponseWriter, r *http.Request, ep endpoint, a answer) {
	// A nil body (Modes.AssignLie LieNullBody) is "null"; only our own
	// types reach here, so an error is the emulator's bug.
	b, err := json.Marshal(a.body)
	if err != nil {
		a = errorAnswer("", http.StatusInternalServerError, "emulator: encoding the answer: "+err.Error())
		b, _ = json.Marshal(a.body)
	}
	h := w.Header()
	s.stampDate(h)
	h.Set("Content-Type", "application/json; charset=utf-8")
	if a.status == http.StatusTooManyRequests && !a.noRetry {
		h.Set("Retry-After", strconv.FormatInt(int64(a.retryAfter/time.Second), 10))
	}
	if a.allow != "" {
		h.Set("Allow", a.allow)
	}
	switch {
	case a.mark != "":
		h.Set(FaultHeader, a.mark)
	case a.fault.kind != noFault:
		h.Set(FaultHeader, a.fault.kind.String())
	}
	switch a.fault.kind {
	case faultTruncatedBody:
		h.Set("Content-Length", strconv.Itoa(len(b)))
		b = b[:len(b)/2]
	case faultInvalidJSON:
		h.Set("Content-Type", "text/html; charset=utf-8")
		b = []byte(htmlErrorPage)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(b)

	s.mu.Lock()
	switch {
	case a.status >= 500:
		s.stats.ServerErrors[a.status]++
	case a.status >= 400:
		s.stats.ClientErrors[a.status]++
	}
	s.mu.Unlock()
	if ce := s.log.Check(zap.DebugLevel, "emulator request"); ce != nil {
		fields := []zap.Field{zap.String("op", ep.op), zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("status", a.status), zap.String("requestId", requestIDOf(a.body)), zap.Int("bytes", len(b))}
		if a.fault.kind != noFault {
			fields = append(fields, zap.Stringer("fault", a.fault.kind))
		}
		ce.Write(fields...)
	}
	if a.fault.kind == faultTruncatedBody {
		// Hijack sends what the handler has written but not a buffered body.
		_ = http.NewResponseController(w).Flush()
		hangUp(w, false)
	}
}
