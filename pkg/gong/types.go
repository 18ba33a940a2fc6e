// Package gong is a typed client for Gong's Engage flow API (and the users
// list it needs): the request and response shapes of
// ../shared/gong-api/engage-flows.openapi.json, credentials and the base URL
// checked at start, the one classifier that decides whether a failed call is
// worth another attempt (Retryable), and the one that tells a setup no
// retry will mend (Unreachable).
//
// The client follows no redirect, sends no header Go would refuse, and puts
// no query string, user info or secret in an error or a log line.
package gong

import "time"

// AssignRequest is AssignFlowRequestV2, the body of POST /v2/flows/prospects/assign.
// IDs are strings: 19-digit flow IDs do not survive a float.
type AssignRequest struct {
	CRMProspectsIDs         []string `json:"crmProspectsIds"`
	FlowID                  string   `json:"flowId"`
	FlowInstanceOwnerEmail  string   `json:"flowInstanceOwnerEmail"`
	FlowInstanceDescription string   `json:"flowInstanceDescription,omitempty"`
}

// AssignedFlow is PublicApiAssignedFlow: one open (or finished) flow instance.
type AssignedFlow struct {
	FlowID                    string `json:"flowId"`
	FlowName                  string `json:"flowName"`
	CRMProspectID             string `json:"crmProspectId"`
	FlowInstanceID            string `json:"flowInstanceId"`
	FlowInstanceOwnerEmail    string `json:"flowInstanceOwnerEmail"`
	FlowInstanceOwnerFullName string `json:"flowInstanceOwnerFullName"`
	FlowInstanceCreateDate    string `json:"flowInstanceCreateDate"`
	FlowInstanceStatus        string `json:"flowInstanceStatus"`
	WorkspaceID               string `json:"workspaceId"`
	Exclusive                 bool   `json:"exclusive"`
}

// AssignFailure is AssignedFlowFailure: a prospect Gong did not assign.
type AssignFailure struct {
	FlowID        string `json:"flowId"`
	CRMProspectID string `json:"crmProspectId"`
	ErrorCode     string `json:"errorCode"`
	ErrorMessage  string `json:"errorMessage"`
}

// AssignResponse is AssignFlowResponse, the 200 answer of assign.
type AssignResponse struct {
	RequestID            string          `json:"requestId"`
	ProspectsAssigned    []AssignedFlow  `json:"prospectsAssigned"`
	ProspectsNotAssigned []AssignFailure `json:"prospectsNotAssigned"`
	// Timing is when the answer came, on both clocks; not in the body.
	Timing Timing `json:"-"`
}

// Timing is one answer's place on the local clock and on Gong's: the
// request left at Sent and the answer arrived at Received (local), and
// Gong stamped it Date (its HTTP Date header, to the second; zero if it
// had none). See package gongclock.
type Timing struct {
	Sent, Received, Date time.Time
}

// ErrorResponse is the body of every non-200 answer.
type ErrorResponse struct {
	RequestID string   `json:"requestId"`
	Errors    []string `json:"errors"`
}

// ProspectsFlowsRequest is ProspectsAssignedFlowsRequestV2, the body of
// POST /v2/flows/prospects: the read-back of open flow instances by CRM ID.
type ProspectsFlowsRequest struct {
	CRMProspectsIDs []string `json:"crmProspectsIds,omitempty"`
	FlowInstanceIDs []string `json:"flowInstanceIds,omitempty"`
}

// ProspectsFlowsResponse is the answer of POST /v2/flows/prospects.
type ProspectsFlowsResponse struct {
	RequestID         string         `json:"requestId"`
	ProspectsAssigned []AssignedFlow `json:"prospectsAssigned"`
	// Timing is when the answer came, on both clocks; not in the body.
	Timing Timing `json:"-"`
}

// Flow is PublicApiFlow, one entry of GET /v2/flows.
type Flow struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	FolderID     string `json:"folderId"`
	FolderName   string `json:"folderName"`
	Visibility   string `json:"visibility"`
	CreationDate string `json:"creationDate"`
	Exclusive    bool   `json:"exclusive"`
}

// Records is the paging block of a list answer; Cursor is empty on the last page.
type Records struct {
	TotalRecords      int    `json:"totalRecords"`
	CurrentPageSize   int    `json:"currentPageSize"`
	CurrentPageNumber int    `json:"currentPageNumber"`
	Cursor            string `json:"cursor,omitempty"`
}

// FlowsResponse is the answer of GET /v2/flows.
type FlowsResponse struct {
	RequestID string  `json:"requestId"`
	Records   Records `json:"records"`
	Flows     []Flow  `json:"flows"`
}

// User is UserMetadata, one entry of GET /v2/users. IDs are strings: up to
// 20 digits.
type User struct {
	ID                  string   `json:"id"`
	EmailAddress        string   `json:"emailAddress"`
	EmailAliases        []string `json:"emailAliases"`
	TrustedEmailAddress string   `json:"trustedEmailAddress"`
	FirstName           string   `json:"firstName"`
	LastName            string   `json:"lastName"`
	Title               string   `json:"title"`
	Active              bool     `json:"active"`
	Created             string   `json:"created"`
	ManagerID           string   `json:"managerId"`
}

// UsersResponse is UsersMetadata, the answer of GET /v2/users.
type UsersResponse struct {
	RequestID string  `json:"requestId"`
	Records   Records `json:"records"`
	Users     []User  `json:"users"`
}

// UnassignByInstanceIDsRequest is UnassignFlowsRequest, the body of
// POST /v2/flows/prospects/unassign-flows-by-instance-id.
type UnassignByInstanceIDsRequest struct {
	// FlowInstanceIDs are unique, at most MaxUnassignIDs.
	FlowInstanceIDs []string `json:"flowInstanceIds"`
	// UnassignedByUserEmail is the Gong user asking; optional.
	UnassignedByUserEmail string `json:"unassignedByUserEmail,omitempty"`
}

// UnassignResponse is UnassignFlowsResponse: the flow instances Gong ended.
// An instance sent but not listed is still assigned.
type UnassignResponse struct {
	RequestID                 string   `json:"requestId"`
	UnassignedFlowInstanceIDs []string `json:"unassignedFlowInstanceIds"`
}

// API paths.
const (
	PathAssign                = "/v2/flows/prospects/assign"
	PathProspectsFlows        = "/v2/flows/prospects"
	PathFlows                 = "/v2/flows"
	PathUsers                 = "/v2/users"
	PathUnassignByInstanceIDs = "/v2/flows/prospects/unassign-flows-by-instance-id"
)
