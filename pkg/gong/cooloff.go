package gong

import "context"

// MaxCoolOffOverrideIDs is the most CRM IDs one cool-off-override assign
// takes, as the spec's operation description says (assign itself: 200 by
// the help page).
const MaxCoolOffOverrideIDs = 100

// PathAssignCoolOffOverride is assign regardless of the flow's cool-off
// period (operationId assignProspectsCoolOffOverrides; deprecated in the
// spec, with no successor named).
const PathAssignCoolOffOverride = "/v2/flows/prospects/assign/cool-off-override"

// opCoolOff names the cool-off-override assign in errors and logs.
const opCoolOff = "assign cool-off override"

// AssignCoolOffOverride sends one assign through the cool-off-override
// endpoint: the same request and answer as Assign (AssignFlowRequestV2,
// AssignFlowResponse), for prospects a flow's cool-off period would refuse
// with InvalidState. Like Assign it makes one attempt and does not compare
// the answer with the request (see CheckAssignAnswer).
func (c *Client) AssignCoolOffOverride(ctx context.Context, req AssignRequest) (*AssignResponse, error) {
	return c.assignAt(ctx, opCoolOff, PathAssignCoolOffOverride, req)
}
