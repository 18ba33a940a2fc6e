package outcome

import "strings"

// Person is a row without a CRM ID that names a person (an event or
// webinar list): Gong finds or creates the CRM record by these fields, in
// a bulk assignment. Email, FirstName and LastName are required.
type Person struct {
	Email, FirstName, LastName                       string
	CompanyName, JobTitle, LinkedInURL, AccountCRMID string
}

// Ident is what tells a row from another of its flow and owner: its CRM
// ID, or for a person without one, "@" and the email in lower case.
func (r Row) Ident() string {
	if r.Person != nil && r.CRMProspectID == "" {
		return "@" + strings.ToLower(r.Person.Email)
	}
	return r.CRMProspectID
}

// Codes of failed.csv for people sent in a bulk assignment (stage api):
// Gong's status for the prospect, or the job's.
const (
	// CodeCRMOperationFailed: Gong could not find or create the CRM record.
	CodeCRMOperationFailed = "CRM_OPERATION_FAILED"
	// CodeFlowAssignmentFailed: the record exists, the flow refused it.
	CodeFlowAssignmentFailed = "FLOW_ASSIGNMENT_FAILED"
	// CodeBulkFailed: Gong ended the whole bulk assignment FAILED.
	CodeBulkFailed = "BulkAssignmentFailed"
)

// ReasonBulkPending: Gong accepted the row's bulk assignment and it has not
// finished; the same command reads its results, never sends it again.
const ReasonBulkPending = "BulkPending"

// bulkExplained explains the codes and reason of bulk assignments.
func bulkExplained() []Explained {
	return []Explained{
		{Kind: Failed, Stage: StageAPI, Code: CodeCRMOperationFailed, Meaning: "Gong could not find or create the person's CRM record (bulk assignment); errorMessage has Gong's errorCode and message", Fix: "check the person's email and name, or add them to the CRM, then send the row again"},
		{Kind: Failed, Stage: StageAPI, Code: CodeFlowAssignmentFailed, Meaning: "Gong found or created the CRM record but the flow refused the person (bulk assignment); crmProspectId is the record", Fix: "read Gong's errorCode in errorMessage (often: already in a flow)"},
		{Kind: Failed, Stage: StageAPI, Code: CodeBulkFailed, Meaning: "Gong ended the whole bulk assignment FAILED, with no result for the person", Fix: "send the rows again; Gong may have created CRM records, which undo does not remove"},
		{Kind: Unprocessed, Code: ReasonBulkPending, Meaning: "Gong accepted the row's bulk assignment and it had not finished", Fix: "run the same command again: it reads the results, never sends it again"},
	}
}
