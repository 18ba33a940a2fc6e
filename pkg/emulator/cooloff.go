package emulator

import (
	"fmt"
	"net/http"
)

// PathAssignCoolOffOverride is assign regardless of the flow's cool-off
// period: the same body (AssignFlowRequestV2) and answer (AssignFlowResponse)
// as assign, at most MaxCoolOffOverrideIDs IDs a request.
const PathAssignCoolOffOverride = "/v2/flows/prospects/assign/cool-off-override"

// OpAssignCoolOff is the cool-off-override assign, as Config.Hook, Faults.Ops
// and the log name it.
const OpAssignCoolOff = "assign cool-off override"

// MaxCoolOffOverrideIDs is the most crmProspectsIds the cool-off-override
// endpoint takes, as its description in the spec says.
const MaxCoolOffOverrideIDs = 100

// coolingOff says why a prospect is in flow's cool-off period, or "": with
// Modes.CoolOff, a prospect with a finished instance of the flow. The
// caller holds s.mu. How long Gong's cool-off lasts is per flow and not
// published; every finished instance the server holds counts as recent.
func (s *Server) coolingOff(id string, flow FlowDef) string {
	if !s.cfg.CoolOff {
		return ""
	}
	for _, in := range s.byProspect[id] {
		if in.FlowID == flow.ID && !isOpen(in.FlowInstanceStatus) {
			return fmt.Sprintf("Prospect %s finished flow %s (%s) recently and is in its cool-off period", id, flow.ID, flow.Name)
		}
	}
	return ""
}

// handleAssign validates and applies an assign, or (override true) a
// cool-off-override assign, which takes at most MaxCoolOffOverrideIDs and
// ignores the cool-off period.
func (s *Server) handleAssign(reqID string, body []byte, override bool) answer {
	call, errs := s.decodeAssign(body)
	if override && len(call.ids) > MaxCoolOffOverrideIDs && len(call.ids) <= s.cfg.MaxIDs {
		errs = append(errs, fmt.Sprintf("crmProspectsIds has %d IDs; at most %d are allowed in one request", len(call.ids), MaxCoolOffOverrideIDs))
	}
	if len(errs) > 0 {
		return errorAnswer(reqID, http.StatusBadRequest, errs...)
	}
	call.overrideCoolOff = override
	if msgs := s.poisoned(call.ids); len(msgs) > 0 {
		s.mu.Lock()
		s.stats.Faults.Poisoned++
		s.mu.Unlock()
		a := errorAnswer(reqID, http.StatusBadRequest, msgs...)
		a.mark = "poisoned"
		return a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lie(s.applyAssign(reqID, call), call)
}
