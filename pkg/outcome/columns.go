package outcome

// Columns of the result files, as the contract spells them. The three row
// files start with the canonical input columns, so that either of failed.csv
// and unprocessed.csv can be fed back as input.
const (
	ColLine             = "line"
	ColCRMProspectID    = "crmProspectId"
	ColFlowID           = "flowId"
	ColOwnerEmail       = "flowInstanceOwnerEmail"
	ColFlowName         = "flowName"
	ColFlowInstanceID   = "flowInstanceId"
	ColOwnerFullName    = "flowInstanceOwnerFullName"
	ColCreateDate       = "flowInstanceCreateDate"
	ColStatus           = "flowInstanceStatus"
	ColWorkspaceID      = "workspaceId"
	ColExclusive        = "exclusive"
	ColRequestID        = "requestId"
	ColStage            = "stage"
	ColErrorCode        = "errorCode"
	ColErrorMessage     = "errorMessage"
	ColHTTPStatus       = "httpStatus"
	ColReason           = "reason"
	ColRemovedBy        = "removedBy"        // undone.csv
	ColState            = "state"            // verify.csv, undo --dry-run
	ColOtherOpenFlowIDs = "otherOpenFlowIds" // verify.csv
)

// AssignedColumns are assigned.csv's columns, in order, before the carried ones.
func AssignedColumns() []string {
	return []string{ColLine, ColCRMProspectID, ColFlowID, ColOwnerEmail, ColFlowName, ColFlowInstanceID,
		ColOwnerFullName, ColCreateDate, ColStatus, ColWorkspaceID, ColExclusive, ColRequestID}
}

// FailedColumns are failed.csv's columns, in order, before the carried ones.
func FailedColumns() []string {
	return []string{ColLine, ColCRMProspectID, ColFlowID, ColOwnerEmail, ColStage, ColErrorCode, ColErrorMessage, ColHTTPStatus, ColRequestID}
}

// UnprocessedColumns are unprocessed.csv's columns, in order, before the
// carried ones.
func UnprocessedColumns() []string {
	return []string{ColLine, ColCRMProspectID, ColFlowID, ColOwnerEmail, ColReason}
}

// UndoneColumns are undone.csv's columns, before the carried ones.
func UndoneColumns() []string {
	return []string{ColLine, ColCRMProspectID, ColFlowID, ColOwnerEmail, ColFlowName, ColFlowInstanceID, ColRemovedBy, ColRequestID}
}

// UndoFailedColumns are undo-failed.csv's columns, before the carried ones.
func UndoFailedColumns() []string {
	return []string{ColLine, ColCRMProspectID, ColFlowID, ColOwnerEmail, ColFlowName, ColFlowInstanceID,
		ColErrorCode, ColErrorMessage, ColHTTPStatus, ColRequestID}
}

// UndoPlanColumns are the columns undo --dry-run prints, before the carried ones.
func UndoPlanColumns() []string {
	return []string{ColLine, ColCRMProspectID, ColFlowID, ColOwnerEmail, ColFlowName, ColFlowInstanceID, ColState}
}

// VerifyColumns are verify.csv's columns, before the carried ones.
func VerifyColumns() []string {
	return []string{ColLine, ColCRMProspectID, ColFlowID, ColOwnerEmail, ColFlowName, ColFlowInstanceID,
		ColState, ColStatus, ColOtherOpenFlowIDs, ColRequestID}
}
