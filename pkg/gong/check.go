package gong

import (
	"errors"
	"fmt"
)

// CheckAssignAnswer compares a 200 answer of assign with the request: it
// returns an error when the answer names a flowId other than the one sent
// (where it carries one), lists an ID in both prospectsAssigned and
// prospectsNotAssigned, or lists an ID that was never sent. IDs are compared
// exactly, as Gong is documented to echo them.
//
// An answer that fails is not evidence of what Gong did: a caller should
// treat its rows as in doubt and read them back. IDs sent but absent from
// both lists are not reported here; the caller accounts for them.
func CheckAssignAnswer(req AssignRequest, resp *AssignResponse) error {
	if resp == nil {
		return errors.New("gong assign: no answer to check")
	}
	sent := make(map[string]bool, len(req.CRMProspectsIDs))
	for _, id := range req.CRMProspectsIDs {
		sent[id] = true
	}
	check := func(list, id, flowID string) error {
		if flowID != "" && flowID != req.FlowID {
			return fmt.Errorf("gong assign: the answer names flow %q for %q in %s; flow %q was sent", flowID, id, list, req.FlowID)
		}
		if !sent[id] {
			return fmt.Errorf("gong assign: the answer lists %q in %s, an ID that was not sent", id, list)
		}
		return nil
	}
	assigned := make(map[string]bool, len(resp.ProspectsAssigned))
	for _, a := range resp.ProspectsAssigned {
		if err := check("prospectsAssigned", a.CRMProspectID, a.FlowID); err != nil {
			return err
		}
		assigned[a.CRMProspectID] = true
	}
	for _, f := range resp.ProspectsNotAssigned {
		if err := check("prospectsNotAssigned", f.CRMProspectID, f.FlowID); err != nil {
			return err
		}
		if assigned[f.CRMProspectID] {
			return fmt.Errorf("gong assign: the answer lists %q both in prospectsAssigned and in prospectsNotAssigned", f.CRMProspectID)
		}
	}
	return nil
}
