package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// MaxUnassignIDs is the most flowInstanceIds one unassign by instance ID
// may carry, per the spec ("up to 200 flows in a single request").
const MaxUnassignIDs = 200

// unassignCall is a well-formed unassign request of either kind.
type unassignCall struct {
	instanceIDs []string // by instance ID
	crmID       string   // by CRM ID
	flowID      string   // by CRM ID, optional
	by          string   // unassignedByUserEmail, optional
}

// unassign answers both unassign endpoints: it checks the body, then
// removes, under s.mu, each open instance asked for. Finished and unknown
// instances are left out of the answer (see the package comment).
func (s *Server) unassign(reqID, op string, body []byte) answer {
	var c unassignCall
	var errs []string
	if op == OpUnassign {
		c, errs = decodeUnassignByInstance(body)
	} else {
		c, errs = decodeUnassignByCRMID(body)
	}
	if len(errs) > 0 {
		return errorAnswer(reqID, http.StatusBadRequest, errs...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[strings.ToLower(c.by)]; c.by != "" && !ok {
		return errorAnswer(reqID, http.StatusBadRequest, fmt.Sprintf("%s is not a Gong user", c.by))
	}
	res := unassignResponse{RequestID: reqID, UnassignedFlowInstanceIDs: []string{}}
	if op == OpUnassign {
		for _, id := range c.instanceIDs {
			if in, ok := s.byID[id]; ok && isOpen(in.FlowInstanceStatus) {
				s.remove(in)
				res.UnassignedFlowInstanceIDs = append(res.UnassignedFlowInstanceIDs, id)
			}
		}
		return answer{status: http.StatusOK, body: res}
	}
	for _, in := range slices.Clone(s.byProspect[c.crmID]) {
		if !isOpen(in.FlowInstanceStatus) || (c.flowID != "" && in.FlowID != c.flowID) {
			continue
		}
		s.remove(in)
		id := in.FlowInstanceID
		if s.cfg.UnassignByCRMIDAnswer == UnassignAnswersFlowIDs {
			id = in.FlowID
		}
		res.UnassignedFlowInstanceIDs = append(res.UnassignedFlowInstanceIDs, id)
	}
	return answer{status: http.StatusOK, body: res}
}

// remove forgets an instance; the caller holds s.mu.
func (s *Server) remove(in *Instance) {
	delete(s.byID, in.FlowInstanceID)
	s.instances = slices.DeleteFunc(s.instances, func(x *Instance) bool { return x == in })
	rest := slices.DeleteFunc(s.byProspect[in.CRMProspectID], func(x *Instance) bool { return x == in })
	if len(rest) == 0 {
		delete(s.byProspect, in.CRMProspectID)
	} else {
		s.byProspect[in.CRMProspectID] = rest
	}
	s.stats.Unassigned++
}

// decodeUnassignByInstance checks an UnassignFlowsRequest.
func decodeUnassignByInstance(body []byte) (unassignCall, []string) {
	fields, msg := decodeObject(body)
	if msg != "" {
		return unassignCall{}, []string{msg}
	}
	var c unassignCall
	var errs []string
	switch raw, ok := fields["flowInstanceIds"]; {
	case !ok || isNull(raw):
		errs = append(errs, "flowInstanceIds is required")
	default:
		ids, msgs := stringArray("flowInstanceIds", raw)
		if msgs == nil {
			switch {
			case len(ids) == 0:
				msgs = append(msgs, "flowInstanceIds must not be empty")
			case len(ids) > MaxUnassignIDs:
				msgs = append(msgs, fmt.Sprintf("flowInstanceIds has %d IDs; at most %d are allowed in one request", len(ids), MaxUnassignIDs))
			}
			msgs = append(msgs, repeats("flowInstanceIds", ids)...)
		}
		errs = append(errs, msgs...)
		c.instanceIDs = ids
	}
	errs = append(errs, optionalString(fields, "unassignedByUserEmail", &c.by)...)
	return c, errs
}

// decodeUnassignByCRMID checks an UnassignProspectFlowsRequest.
func decodeUnassignByCRMID(body []byte) (unassignCall, []string) {
	fields, msg := decodeObject(body)
	if msg != "" {
		return unassignCall{}, []string{msg}
	}
	var c unassignCall
	var errs []string
	if _, ok := fields["crmProspectId"]; !ok {
		errs = append(errs, "crmProspectId is required")
	} else if errs = append(errs, optionalString(fields, "crmProspectId", &c.crmID)...); len(errs) == 0 && c.crmID == "" {
		errs = append(errs, "crmProspectId is required")
	}
	msgs := optionalString(fields, "flowId", &c.flowID)
	if msgs == nil && c.flowID != "" && !allDigits(c.flowID) {
		msgs = append(msgs, fmt.Sprintf("flowId must be a string of digits, got %q", c.flowID))
	}
	errs = append(errs, msgs...)
	errs = append(errs, optionalString(fields, "unassignedByUserEmail", &c.by)...)
	return c, errs
}

// optionalString reads the string field name into dst if it is present.
// The spec's fields are not nullable: null is a 400, as it is for every
// field.
func optionalString(fields map[string]json.RawMessage, name string, dst *string) []string {
	raw, ok := fields[name]
	switch {
	case !ok:
		return nil
	case isNull(raw):
		return []string{name + " must not be null"}
	}
	if raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
		return []string{name + " must be a string"}
	}
	return nil
}
