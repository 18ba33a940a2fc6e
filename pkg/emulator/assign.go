package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// assignCall is an assign request that passed the checks needing no state.
type assignCall struct {
	flowID string
	owner  string
	ids    []string
	// overrideCoolOff: sent to the cool-off-override endpoint.
	overrideCoolOff bool
}

// decodeAssign checks an assign body against AssignFlowRequestV2 and
// returns every problem it finds, each a 400 message.
func (s *Server) decodeAssign(body []byte) (assignCall, []string) {
	fields, msg := decodeObject(body)
	if msg != "" {
		return assignCall{}, []string{msg}
	}
	var c assignCall
	var errs []string

	switch raw, ok := fields["flowId"]; {
	case !ok || isNull(raw):
		errs = append(errs, "flowId is required")
	case raw[0] == '"':
		var id string
		if err := json.Unmarshal(raw, &id); err != nil {
			errs = append(errs, "flowId must be a string")
		} else if !allDigits(id) {
			errs = append(errs, fmt.Sprintf("flowId must be a string of digits, got %q", id))
		} else {
			c.flowID = id
		}
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		if id, ok := lossyFlowID(raw); ok && s.cfg.NumericFlowID == NumericFlowIDLossy {
			c.flowID = id
		} else {
			errs = append(errs, "flowId must be a JSON string of digits, not a number: a 19-digit ID does not survive a float")
		}
	default:
		errs = append(errs, "flowId must be a string")
	}

	switch raw, ok := fields["flowInstanceOwnerEmail"]; {
	case !ok || isNull(raw):
		errs = append(errs, "flowInstanceOwnerEmail is required")
	default:
		if err := json.Unmarshal(raw, &c.owner); err != nil {
			errs = append(errs, "flowInstanceOwnerEmail must be a string")
		} else if c.owner == "" {
			errs = append(errs, "flowInstanceOwnerEmail is required")
		}
	}

	switch raw, ok := fields["crmProspectsIds"]; {
	case !ok || isNull(raw):
		errs = append(errs, "crmProspectsIds is required")
	default:
		ids, msgs := stringArray("crmProspectsIds", raw)
		if msgs == nil {
			switch {
			case len(ids) == 0:
				msgs = append(msgs, "crmProspectsIds must not be empty")
			case len(ids) > s.cfg.MaxIDs:
				msgs = append(msgs, fmt.Sprintf("crmProspectsIds has %d IDs; at most %d are allowed in one request", len(ids), s.cfg.MaxIDs))
			}
			for i, id := range ids {
				if id == "" {
					msgs = append(msgs, fmt.Sprintf("crmProspectsIds[%d] is empty", i))
				}
			}
			msgs = append(msgs, repeats("crmProspectsIds", ids)...)
		}
		errs = append(errs, msgs...)
		c.ids = ids
	}

	// The spec makes no field nullable.
	if raw, ok := fields["flowInstanceDescription"]; ok && (isNull(raw) || raw[0] != '"') {
		errs = append(errs, "flowInstanceDescription must be a string")
	}
	if raw, ok := fields["overrides"]; ok && (isNull(raw) || raw[0] != '{') {
		errs = append(errs, "overrides must be an object")
	}
	return c, errs
}

// lossyFlowID reads a JSON number the way a server parsing it as a float64
// and converting it to an integer would: the result is the exact value of the
// nearest float, so a 19-digit ID changes (…590792 becomes …590912).
func lossyFlowID(raw json.RawMessage) (string, bool) {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f != math.Trunc(f) || math.IsInf(f, 0) {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', 0, 64), true
}

// applyAssign is the one place an admitted, well-formed assign takes effect;
// the caller holds s.mu. It checks the flow and owner (404, 400) and then
// each prospect in request order, creating the instances it may.
func (s *Server) applyAssign(reqID string, c assignCall) answer {
	flow, ok := s.flows[c.flowID]
	if !ok {
		return errorAnswer(reqID, http.StatusNotFound, fmt.Sprintf("flow %s not found", c.flowID))
	}
	user, known := s.users[strings.ToLower(c.owner)]
	if !known && s.cfg.UnknownOwner == UnknownOwnerRequest {
		return errorAnswer(reqID, http.StatusBadRequest, fmt.Sprintf("%s is not a Gong user", c.owner))
	}
	// A flow the owner cannot see does not exist for them.
	if known && !visibleTo(flow, user.Email) {
		return errorAnswer(reqID, http.StatusNotFound, fmt.Sprintf("flow %s not found", c.flowID))
	}

	res := assignResponse{
		RequestID:            reqID,
		ProspectsAssigned:    []AssignedFlow{},
		ProspectsNotAssigned: []assignFailure{},
	}
	fail := func(id, code, msg string) {
		res.ProspectsNotAssigned = append(res.ProspectsNotAssigned,
			assignFailure{FlowID: flow.ID, CRMProspectID: id, ErrorCode: code, ErrorMessage: msg})
	}
	created := createDate(s.gongNow())
	for _, id := range c.ids {
		if !s.cfg.ProspectIDPattern.MatchString(id) {
			fail(id, CodeInvalidArgument, "Invalid crmId "+id)
			continue
		}
		if !known {
			fail(id, CodeInvalidArgument, c.owner+" is not a Gong user")
			continue
		}
		if in := s.existingAnswer(id, flow); in != nil {
			res.ProspectsAssigned = append(res.ProspectsAssigned, in.AssignedFlow)
			continue
		}
		if msg := s.ineligible(id, flow); msg != "" {
			fail(id, CodeInvalidState, msg)
			continue
		}
		if msg := s.coolingOff(id, flow); msg != "" && !c.overrideCoolOff {
			fail(id, CodeInvalidState, msg)
			continue
		}
		in := &Instance{AssignedFlow: AssignedFlow{
			FlowID:                    flow.ID,
			FlowName:                  flow.Name,
			CRMProspectID:             id,
			FlowInstanceID:            s.newInstanceID(),
			FlowInstanceOwnerEmail:    c.owner,
			FlowInstanceOwnerFullName: user.FullName,
			FlowInstanceCreateDate:    created,
			FlowInstanceStatus:        StatusRunning,
			WorkspaceID:               flow.WorkspaceID,
			Exclusive:                 flow.Exclusive,
		}}
		s.add(in)
		s.created = append(s.created, in.AssignedFlow)
		s.stats.Created++
		res.ProspectsAssigned = append(res.ProspectsAssigned, in.AssignedFlow)
	}
	return answer{status: http.StatusOK, body: res}
}

// ineligible says why a prospect cannot join flow, or "" if it can; the
// caller holds s.mu. Only open instances count.
func (s *Server) ineligible(id string, flow FlowDef) string {
	for _, in := range s.byProspect[id] {
		if isOpen(in.FlowInstanceStatus) && in.FlowID == flow.ID {
			return fmt.Sprintf("Prospect %s is already in flow %s", id, flow.ID)
		}
	}
	for _, in := range s.byProspect[id] {
		switch {
		case !isOpen(in.FlowInstanceStatus):
		case in.Exclusive:
			return fmt.Sprintf("Prospect %s is in exclusive flow %s (%s)", id, in.FlowID, in.FlowName)
		case flow.Exclusive:
			return fmt.Sprintf("Prospect %s is in flow %s (%s) and cannot join exclusive flow %s (%s)",
				id, in.FlowID, in.FlowName, flow.ID, flow.Name)
		}
	}
	return ""
}

// visibleTo reports whether the user with this email can see the flow:
// company flows, their personal flows, and flows shared by or with them.
func visibleTo(f FlowDef, email string) bool {
	switch f.Visibility {
	case VisibilityCompany:
		return true
	case VisibilityPersonal:
		return strings.EqualFold(f.OwnerEmail, email)
	case VisibilityShared:
		if strings.EqualFold(f.OwnerEmail, email) {
			return true
		}
		for _, e := range f.SharedWith {
			if strings.EqualFold(e, email) {
				return true
			}
		}
	}
	return false
}

// decodeObject parses a body that must be one JSON object.
func decodeObject(body []byte) (map[string]json.RawMessage, string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, "the request body must be a JSON object"
		}
		return nil, "malformed JSON body: " + err.Error()
	}
	if fields == nil {
		return nil, "the request body must be a JSON object"
	}
	return fields, ""
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// stringArray reads a JSON array of strings named field.
func stringArray(field string, raw json.RawMessage) ([]string, []string) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, []string{field + " must be an array of strings"}
	}
	out := make([]string, len(items))
	var errs []string
	for i, it := range items {
		if len(it) == 0 || it[0] != '"' || json.Unmarshal(it, &out[i]) != nil {
			errs = append(errs, fmt.Sprintf("%s[%d] must be a string", field, i))
		}
	}
	return out, errs
}

// repeats names each ID that appears more than once (uniqueItems).
func repeats(field string, ids []string) []string {
	seen := make(map[string]int, len(ids))
	var errs []string
	for _, id := range ids {
		seen[id]++
		if seen[id] == 2 {
			errs = append(errs, fmt.Sprintf("%s must not repeat an ID: %q appears more than once", field, id))
		}
	}
	return errs
}
