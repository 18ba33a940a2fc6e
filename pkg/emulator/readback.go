package emulator

import (
	"net/http"
)

// readBackQuery is a well-formed ProspectsAssignedFlowsRequestV2: exactly
// one of its lists is non-empty.
type readBackQuery struct {
	crmIDs      []string
	instanceIDs []string
}

// decodeReadBack checks a read-back body. Both lists are uniqueItems in the
// spec; giving both, or neither, is a 400 (Gong's answer is unknown).
func decodeReadBack(body []byte) (readBackQuery, []string) {
	fields, msg := decodeObject(body)
	if msg != "" {
		return readBackQuery{}, []string{msg}
	}
	var q readBackQuery
	var errs []string
	read := func(field string) []string {
		raw, ok := fields[field]
		switch {
		case !ok:
			return nil
		case isNull(raw): // the spec makes no field nullable
			errs = append(errs, field+" must not be null")
			return nil
		}
		ids, msgs := stringArray(field, raw)
		if msgs == nil {
			msgs = repeats(field, ids)
		}
		errs = append(errs, msgs...)
		return ids
	}
	q.crmIDs = read("crmProspectsIds")
	q.instanceIDs = read("flowInstanceIds")
	if len(errs) > 0 {
		return readBackQuery{}, errs
	}
	switch {
	case len(q.crmIDs) > 0 && len(q.instanceIDs) > 0:
		return readBackQuery{}, []string{"give crmProspectsIds or flowInstanceIds, not both"}
	case len(q.crmIDs) == 0 && len(q.instanceIDs) == 0:
		return readBackQuery{}, []string{"crmProspectsIds or flowInstanceIds is required"}
	}
	return q, nil
}

// readBack answers POST /v2/flows/prospects; the caller holds s.mu. By CRM
// ID it lists each prospect's open instances (Pending, Running, Paused) in
// any flow; by instance ID it lists those instances whatever their status.
// Order: the request's, then creation order. Unknown IDs are left out.
func (s *Server) readBack(reqID string, q readBackQuery) answer {
	res := prospectsFlowsResponse{RequestID: reqID, ProspectsAssigned: []AssignedFlow{}}
	for _, id := range q.crmIDs {
		for _, in := range s.byProspect[id] {
			if isOpen(in.FlowInstanceStatus) {
				res.ProspectsAssigned = append(res.ProspectsAssigned, in.AssignedFlow)
			}
		}
	}
	for _, id := range q.instanceIDs {
		if in, ok := s.byID[id]; ok {
			res.ProspectsAssigned = append(res.ProspectsAssigned, in.AssignedFlow)
		}
	}
	return answer{status: http.StatusOK, body: res}
}
