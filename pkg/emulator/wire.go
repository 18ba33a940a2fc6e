package emulator

// The emulator's own wire types, written from the JSON names of Gong's
// published spec (shared/gong-api/engage-flows.openapi.json), not shared with
// the client (pkg/gong): a misspelt name on either side then shows up as a
// disagreement instead of passing on both. Schema names are given for each.
// Requests are read field by field from the raw JSON object (see
// decodeAssign), under the same names, so that each problem gets its own 400
// message.

// Paths of the endpoints served.
const (
	PathAssign             = "/v2/flows/prospects/assign"
	PathProspectsFlows     = "/v2/flows/prospects"
	PathFlows              = "/v2/flows"
	PathUsers              = "/v2/users"
	PathUnassignByInstance = "/v2/flows/prospects/unassign-flows-by-instance-id"
	PathUnassignByCRMID    = "/v2/flows/prospects/unassign-flows-by-crm-id"
)

// Failure codes of AssignedFlowFailure.errorCode.
const (
	CodeInvalidArgument = "InvalidArgument"
	CodeInvalidState    = "InvalidState"
	CodeUnexpectedError = "UnexpectedError"
)

// AssignedFlow is one flow instance (PublicApiAssignedFlow), as assign,
// read-back and the fixture's Existing spell it.
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

// assignFailure is AssignedFlowFailure.
type assignFailure struct {
	FlowID        string `json:"flowId"`
	CRMProspectID string `json:"crmProspectId"`
	ErrorCode     string `json:"errorCode"`
	ErrorMessage  string `json:"errorMessage"`
}

// assignResponse is AssignFlowResponse.
type assignResponse struct {
	RequestID            string          `json:"requestId"`
	ProspectsAssigned    []AssignedFlow  `json:"prospectsAssigned"`
	ProspectsNotAssigned []assignFailure `json:"prospectsNotAssigned"`
}

// errorResponse is ErrorResponse, the body of every error answer.
type errorResponse struct {
	RequestID string   `json:"requestId"`
	Errors    []string `json:"errors"`
}

// prospectsFlowsResponse is ProspectsFlowsResponse (read-back).
type prospectsFlowsResponse struct {
	RequestID         string         `json:"requestId"`
	ProspectsAssigned []AssignedFlow `json:"prospectsAssigned"`
}

// records is Records, the paging block of the listings.
type records struct {
	TotalRecords      int    `json:"totalRecords"`
	CurrentPageSize   int    `json:"currentPageSize"`
	CurrentPageNumber int    `json:"currentPageNumber"`
	Cursor            string `json:"cursor,omitempty"`
}

// flow is PublicApiFlow.
type flow struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	FolderID     string `json:"folderId"`
	FolderName   string `json:"folderName"`
	Visibility   string `json:"visibility"`
	CreationDate string `json:"creationDate"`
	Exclusive    bool   `json:"exclusive"`
}

// flowsResponse is FlowsResponse.
type flowsResponse struct {
	RequestID string  `json:"requestId"`
	Records   records `json:"records"`
	Flows     []flow  `json:"flows"`
}

// userMetadata is UserMetadata, the fields the fixture knows.
type userMetadata struct {
	ID           string   `json:"id"`
	EmailAddress string   `json:"emailAddress"`
	Created      string   `json:"created,omitempty"`
	Active       bool     `json:"active"`
	EmailAliases []string `json:"emailAliases"`
	FirstName    string   `json:"firstName"`
	LastName     string   `json:"lastName"`
	Title        string   `json:"title,omitempty"`
	ManagerID    string   `json:"managerId,omitempty"`
}

// usersResponse is UsersMetadata.
type usersResponse struct {
	RequestID string         `json:"requestId"`
	Records   records        `json:"records"`
	Users     []userMetadata `json:"users"`
}

// unassignResponse is UnassignFlowsResponse.
type unassignResponse struct {
	RequestID                 string   `json:"requestId"`
	UnassignedFlowInstanceIDs []string `json:"unassignedFlowInstanceIds"`
}

// requestIDOf returns the requestId of an answer body, for the log.
func requestIDOf(body any) string {
	switch b := body.(type) {
	case errorResponse:
		return b.RequestID
	case assignResponse:
		return b.RequestID
	case prospectsFlowsResponse:
		return b.RequestID
	case flowsResponse:
		return b.RequestID
	case usersResponse:
		return b.RequestID
	case unassignResponse:
		return b.RequestID
	}
	return ""
}
