package gong

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// MaxBulkProspects is the most prospects one bulk assignment takes, as the
// spec's operation description says.
const MaxBulkProspects = 50

// Paths of the bulk assignment: submit (answered 202 with an id), then read
// its status and results by that id.
const (
	PathBulkAssignments = "/v2/flows/prospects/bulk-assignments"
)

// The bulk operations, as errors name them.
const (
	opBulkSubmit = "bulk assign"
	opBulkStatus = "bulk status"
)

// Statuses of a bulk assignment (FlowProspectsBulkAssignmentResponse.status).
const (
	BulkPending    = "PENDING"
	BulkInProgress = "IN_PROGRESS"
	BulkCompleted  = "COMPLETED"
	BulkFailed     = "FAILED"
)

// BulkAssigned is the status of one prospect a bulk assignment enrolled
// (FlowAssignmentResult.status); the two failed statuses are failure codes,
// outcome.CodeCRMOperationFailed and outcome.CodeFlowAssignmentFailed.
const BulkAssigned = "ASSIGNED"

// BulkProspect is FlowAssignmentProspect: a person Gong finds in the CRM, or
// creates there, by these fields. FirstName and LastName are required when
// CRMID is empty.
type BulkProspect struct {
	FirstName    string `json:"firstName,omitempty"`
	LastName     string `json:"lastName,omitempty"`
	Email        string `json:"email,omitempty"`
	JobTitle     string `json:"jobTitle,omitempty"`
	LinkedInURL  string `json:"linkedInUrl,omitempty"`
	CRMID        string `json:"crmId,omitempty"`
	AccountCRMID string `json:"accountCrmId,omitempty"`
	CompanyName  string `json:"companyName,omitempty"`
}

// BulkRequest is FlowProspectsBulkAssignmentRequest, the body of POST
// /v2/flows/prospects/bulk-assignments. It never carries overrides: the
// spec says overrides.flowInstanceVariables change the entire flow.
type BulkRequest struct {
	FlowInstanceOwnerEmail string         `json:"flowInstanceOwnerEmail"`
	FlowID                 string         `json:"flowId"`
	Prospects              []BulkProspect `json:"prospects"`
}

// BulkResult is FlowAssignmentResult: what became of one prospect.
type BulkResult struct {
	Prospect       BulkProspect `json:"prospect"`
	Status         string       `json:"status"`
	CRMID          string       `json:"crmId"`
	FlowInstanceID string       `json:"flowInstanceId"`
	ErrorCode      string       `json:"errorCode"`
	ErrorMessage   string       `json:"errorMessage"`
}

// BulkResponse is FlowProspectsBulkAssignmentResponse: the 202 answer of
// the submit, and the 200 answer of the status read.
type BulkResponse struct {
	RequestID      string       `json:"requestId"`
	ID             string       `json:"id"`
	Status         string       `json:"status"`
	TotalCount     int          `json:"totalCount"`
	ProcessedCount int          `json:"processedCount"`
	SuccessCount   int          `json:"successCount"`
	FailedCount    int          `json:"failedCount"`
	Results        []BulkResult `json:"results"`
}

// Done reports whether the bulk assignment has finished (COMPLETED or
// FAILED): its results no longer change.
func (r *BulkResponse) Done() bool { return r.Status == BulkCompleted || r.Status == BulkFailed }

// SubmitBulk submits one bulk assignment. Gong answers 202 with the id to
// read its results by; an answer without an id is a *BadAnswerError inside a
// *TransportError with Sent set: Gong may have taken the request. A request
// of no prospects or more than MaxBulkProspects is an *InvalidRequestError,
// not sent.
func (c *Client) SubmitBulk(ctx context.Context, req BulkRequest) (*BulkResponse, error) {
	switch n := len(req.Prospects); {
	case n == 0:
		return nil, &InvalidRequestError{Op: opBulkSubmit, Reason: "no prospects"}
	case n > MaxBulkProspects:
		return nil, &InvalidRequestError{Op: opBulkSubmit, Reason: fmt.Sprintf("%d prospects; at most %d a request", n, MaxBulkProspects)}
	}
	var out BulkResponse
	if err := c.do(ctx, opBulkSubmit, http.MethodPost, PathBulkAssignments, nil, req, &out, nil); err != nil {
		return nil, err
	}
	if strings.TrimSpace(out.ID) == "" {
		return nil, &TransportError{Op: opBulkSubmit, Host: c.base.Host, Sent: true,
			Err: &BadAnswerError{Op: opBulkSubmit, Reason: "answer carries no bulk assignment id"}}
	}
	return &out, nil
}

// BulkStatus reads a bulk assignment's status and, once done, its results.
func (c *Client) BulkStatus(ctx context.Context, id string) (*BulkResponse, error) {
	if id == "" || strings.ContainsAny(id, "/?#% \t\r\n") {
		// The id goes into the path as it is: one that would change the
		// path is not Gong's.
		return nil, &InvalidRequestError{Op: opBulkStatus, Reason: fmt.Sprintf("bulk assignment id %q is not one Gong gives", clip(id))}
	}
	var out BulkResponse
	if err := c.do(ctx, opBulkStatus, http.MethodGet, PathBulkAssignments+"/"+id, nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// answered reports whether status is a success answer of op: 200, and 202
// for the bulk submit, which the spec answers "Accepted".
func answered(op string, status int) bool {
	return status == http.StatusOK || (op == opBulkSubmit && status == http.StatusAccepted)
}
