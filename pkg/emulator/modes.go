package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Values of Modes.QuotaRetryAfter.
const (
	// QuotaRetryAfterMidnight gives the seconds until the quota resets at
	// the next UTC midnight (the default).
	QuotaRetryAfterMidnight = "midnight"
	// QuotaRetryAfterOne gives "Retry-After: 1", as a server would that
	// does not tell its limits apart: a client that trusts it retries into
	// the exhausted quota.
	QuotaRetryAfterOne = "one"
	// QuotaRetryAfterNone sends no Retry-After at all.
	QuotaRetryAfterNone = "none"
)

// Values of Modes.AssignLie: answers of assign that contradict the request
// or themselves. The request is applied truthfully; only the 200 answer lies.
const (
	// LieWrongFlowID gives every entry of both lists a flowId other than the
	// one asked (its last digit changed).
	LieWrongFlowID = "wrong-flow-id"
	// LieBothLists puts one prospect in both prospectsAssigned and
	// prospectsNotAssigned: the first assigned one, with an InvalidState
	// failure, or, if none was assigned, the first refused one, with a
	// made-up instance.
	LieBothLists = "both-lists"
	// LieUnsentID adds to prospectsAssigned an instance for a CRM ID the
	// request did not carry (and the server does not hold).
	LieUnsentID = "unsent-id"
	// LieNullBody answers 200 with the body null.
	LieNullBody = "null-body"
)

// Values of Modes.UnassignByCRMIDAnswer.
const (
	// UnassignAnswersInstanceIDs lists the removed flow instance IDs, as the
	// field's name and schema say (the default).
	UnassignAnswersInstanceIDs = "instance-ids"
	// UnassignAnswersFlowIDs lists the IDs of the flows the prospect was
	// removed from, as the operation's prose says.
	UnassignAnswersFlowIDs = "flow-ids"
)

// Modes are behaviours of Gong that nobody outside Gong has published, or
// that a client must survive though Gong should not show them. Each is off
// (or at its documented default) in the zero value. Answers made up by
// AssignLie and RedirectTo carry FaultHeader.
type Modes struct {
	// NonUserListsFlows makes GET /v2/flows answer 200 with the company's
	// (Company visibility) flows for a flowOwnerEmail that is no Gong user,
	// instead of 400; assign for that owner is still refused as
	// Config.UnknownOwner says (by default 400 with Gong's error body).
	NonUserListsFlows bool

	// QuotaRetryAfter is the Retry-After of a 429 for the daily limit:
	// QuotaRetryAfterMidnight (default), QuotaRetryAfterOne or
	// QuotaRetryAfterNone. The per-second limit always gives the seconds to
	// the next window.
	QuotaRetryAfter string

	// RepeatCursor makes GET /v2/flows answer the first page, with the same
	// records.cursor, to every request, whatever cursor it carries: a
	// client that follows cursors never reaches the end.
	RepeatCursor bool

	// AssignLie makes every 200 answer of assign lie: LieWrongFlowID,
	// LieBothLists, LieUnsentID or LieNullBody. Default "": the truth.
	AssignLie string

	// RedirectTo, an absolute http or https URL, makes the server answer
	// every request, before anything else (no auth, no limits, nothing
	// applied), with 307 and Location RedirectTo followed by the request's
	// path and query: a company whose base URL moved.
	RedirectTo string

	// Silent makes the server read each request and never answer it: the
	// request is held until the client gives up and closes the connection,
	// and nothing is applied (a wrong base URL whose port swallows
	// requests). SilentAfter, with Silent, answers the first SilentAfter
	// requests as usual and holds only those after them: a server that
	// answered, then went quiet.
	Silent      bool
	SilentAfter int

	// UnassignByCRMIDAnswer is what unassign-flows-by-crm-id lists in
	// unassignedFlowInstanceIds: UnassignAnswersInstanceIDs (default) or
	// UnassignAnswersFlowIDs. The spec's field says the one, its prose the
	// other.
	UnassignByCRMIDAnswer string

	// CoolOff puts a prospect with a finished instance of a flow (in
	// Fixture.Existing) in that flow's cool-off period: assign fails it
	// InvalidState with a cool-off message, and only the cool-off-override
	// endpoint assigns it (cooloff.go). Off by default: how long Gong's
	// cool-off lasts, and whether a flow has one, is per flow and unknown.
	CoolOff bool

	// BulkModes: how bulk assignment jobs end (bulk.go).
	BulkModes

	// InstanceModes: existing instances answered as assigned, a shifted
	// clock, instances made just before the run (clockmodes.go).
	InstanceModes
}

// normalize checks m and fills in its defaults.
func (m Modes) normalize() (Modes, error) {
	var errs []error
	oneOf := func(field string, v *string, def string, allowed ...string) {
		switch {
		case *v == "":
			*v = def
		case !slices.Contains(allowed, *v):
			errs = append(errs, fmt.Errorf("%s %q: want one of %q", field, *v, allowed))
		}
	}
	oneOf("QuotaRetryAfter", &m.QuotaRetryAfter, QuotaRetryAfterMidnight,
		QuotaRetryAfterMidnight, QuotaRetryAfterOne, QuotaRetryAfterNone)
	if m.AssignLie != "" {
		oneOf("AssignLie", &m.AssignLie, "", LieWrongFlowID, LieBothLists, LieUnsentID, LieNullBody)
	}
	oneOf("UnassignByCRMIDAnswer", &m.UnassignByCRMIDAnswer, UnassignAnswersInstanceIDs,
		UnassignAnswersInstanceIDs, UnassignAnswersFlowIDs)
	if m.RedirectTo != "" {
		u, err := url.Parse(m.RedirectTo)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("RedirectTo must be an absolute http or https URL"))
		}
		m.RedirectTo = strings.TrimRight(m.RedirectTo, "/")
	}
	errs = append(errs, m.InstanceModes.normalize())
	if err := m.checkSilent(); err != nil {
		errs = append(errs, err)
	}
	return m, errors.Join(errs...)
}

// redirect answers 307 to Modes.RedirectTo (see there).
func (s *Server) redirect(w http.ResponseWriter, r *http.Request) {
	s.stampDate(w.Header())
	w.Header().Set("Location", s.cfg.RedirectTo+r.URL.RequestURI())
	w.Header().Set(FaultHeader, "redirect")
	w.WriteHeader(http.StatusTemporaryRedirect)
	s.log.Debug("emulator request redirected")
}

// lie spoils a 200 answer of assign as Modes.AssignLie says; the caller
// holds s.mu. c is the request.
func (s *Server) lie(a answer, c assignCall) answer {
	res, ok := a.body.(assignResponse)
	if s.cfg.AssignLie == "" || !ok || a.status != http.StatusOK {
		return a
	}
	a.mark = "lie: " + s.cfg.AssignLie
	switch s.cfg.AssignLie {
	case LieNullBody:
		a.body = nil
		return a
	case LieWrongFlowID:
		for i := range res.ProspectsAssigned {
			res.ProspectsAssigned[i].FlowID = otherID(res.ProspectsAssigned[i].FlowID)
		}
		for i := range res.ProspectsNotAssigned {
			res.ProspectsNotAssigned[i].FlowID = otherID(res.ProspectsNotAssigned[i].FlowID)
		}
	case LieBothLists:
		if len(res.ProspectsAssigned) > 0 {
			in := res.ProspectsAssigned[0]
			res.ProspectsNotAssigned = append(res.ProspectsNotAssigned, assignFailure{FlowID: in.FlowID,
				CRMProspectID: in.CRMProspectID, ErrorCode: CodeInvalidState, ErrorMessage: "Prospect is already in flow " + in.FlowID})
		} else if len(res.ProspectsNotAssigned) > 0 {
			f := res.ProspectsNotAssigned[0]
			res.ProspectsAssigned = append(res.ProspectsAssigned, AssignedFlow{FlowID: f.FlowID,
				CRMProspectID: f.CRMProspectID, FlowInstanceID: s.newInstanceID(), FlowInstanceStatus: StatusRunning})
		}
	case LieUnsentID:
		id := "003LIE000000000001"
		for slices.Contains(c.ids, id) {
			id += "X"
		}
		in := AssignedFlow{FlowID: c.flowID, CRMProspectID: id, FlowInstanceID: s.newInstanceID(),
			FlowInstanceOwnerEmail: c.owner, FlowInstanceStatus: StatusRunning}
		if len(res.ProspectsAssigned) > 0 {
			first := res.ProspectsAssigned[0]
			in.FlowID, in.FlowName, in.FlowInstanceOwnerEmail = first.FlowID, first.FlowName, first.FlowInstanceOwnerEmail
			in.FlowInstanceOwnerFullName, in.FlowInstanceCreateDate = first.FlowInstanceOwnerFullName, first.FlowInstanceCreateDate
			in.WorkspaceID, in.Exclusive = first.WorkspaceID, first.Exclusive
		}
		res.ProspectsAssigned = append(res.ProspectsAssigned, in)
	}
	a.body = res
	return a
}

// otherID changes the last digit of an ID of digits.
func otherID(id string) string {
	if id == "" {
		return "1"
	}
	b := []byte(id)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b)
}
