package console

// reexport is the advice for an ID a spreadsheet damaged.
const reexport = "Export the file again and upload it without opening it in a spreadsheet, " +
	"or open it with the ID columns as text (Excel: Data > From Text/CSV > Do not detect data types)."

// fixFor says, for an errorCode of failed.csv, what a person does about it.
func fixFor(code string) string {
	switch code {
	case "MissingValue":
		return "Fill in the empty cell (the message names the column), or remove the row."
	case "BlankRow":
		return "The row is empty: remove it, or ignore it."
	case "InvalidFlowId":
		return "A flow ID is digits only: copy it again from the flow's page in Gong."
	case "InvalidEmail":
		return "The owner must be the email address the person signs in to Gong with."
	case "MalformedRow":
		return "The row breaks the CSV rules (a stray quote, an extra delimiter): fix it in the file."
	case "ScientificNotation", "TrailingDecimal", "LeadingZerosLost":
		return reexport
	case "RoundedFlowId":
		return "Write the exact flow ID in the cell (the message names it), or: " + reexport
	case "SalesforceChecksum":
		return "The ID's letters changed case: export the ID column again (the message gives the ID restored)."
	case "InvalidProspectId":
		return "A Salesforce ID is 15 or 18 letters and digits: check the ID column."
	case "Duplicate":
		return "Nothing to do: the same prospect, flow and owner is on an earlier line, which is sent instead."
	case "FlowNotVisible":
		return "The flow is unknown to Gong, deleted, or another owner's personal flow: check the flow ID and the owner."
	case "FlowNameNotFound":
		return "No flow has this name for this owner: check the spelling (the message lists similar names)."
	case "FlowNameAmbiguous":
		return "Several flows have this name: use the flow ID instead (the message lists them)."
	case "FlowNameNotResolved":
		return "Flow names could not be looked up: use flow IDs, or give the console credentials that may list flows."
	case "OwnerRefused":
		return "Gong does not know this owner: use the email address of a Gong user."
	case "FlowNotFound":
		return "Gong does not know this flow: check the flow ID."
	case "InvalidState":
		return "The prospect is already in this flow, or in an exclusive flow: nothing to do, or take it out of that flow first."
	case "InvalidArgument", "BadRequest":
		return "Gong refused the ID: check it is the CRM ID of a contact or lead."
	}
	return ""
}
