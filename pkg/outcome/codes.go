package outcome

// Stages of failed.csv: who gave the final answer.
const (
	// StageInput: rejected before anything was sent (the file, the flow
	// listing, the owner directory, duplicates).
	StageInput = "input"
	// StageAPI: Gong answered the row in prospectsNotAssigned; the code is
	// Gong's own.
	StageAPI = "api"
	// StageRequest: Gong refused the whole request (400 or 404).
	StageRequest = "request"
)

// Codes of failed.csv, stage input: the file.
const (
	CodeMissingValue  = "MissingValue"
	CodeInvalidFlowID = "InvalidFlowId"
	CodeInvalidEmail  = "InvalidEmail"
	// CodeMalformedRow is a row that breaks the CSV rules: a stray or
	// unclosed quote, more or fewer cells than the header, a NUL byte.
	CodeMalformedRow = "MalformedRow"
	// CodeScientificNotation is an ID a spreadsheet wrote as 1.69549E+18.
	CodeScientificNotation = "ScientificNotation"
	// CodeTrailingDecimal is an ID written as a decimal number: 12345.0.
	CodeTrailingDecimal = "TrailingDecimal"
	// CodeRoundedFlowID is a flow ID a spreadsheet rounded to 15 digits,
	// where the file shows the exact ID elsewhere (needs a Survey).
	CodeRoundedFlowID = "RoundedFlowId"
	// CodeSalesforceChecksum is an 18-character Salesforce ID whose case
	// does not match its checksum (with Options.CRM "salesforce").
	CodeSalesforceChecksum = "SalesforceChecksum"
	// CodeInvalidProspectID is a crmProspectId that is not an ID of the
	// CRM given in Options.CRM.
	CodeInvalidProspectID = "InvalidProspectId"
	// CodeLeadingZerosLost is an ID a spreadsheet stripped of its leading
	// zeros, where the file shows the padded form elsewhere (needs a
	// Survey).
	CodeLeadingZerosLost = "LeadingZerosLost"
	// CodeBlankRow is a row whose cells are all blank (",,,"), before the
	// last row that is not: a gap a person may have meant to fill. Blank
	// rows after the last real row are not rows; see
	// Reader.TrailingBlankRows.
	CodeBlankRow = "BlankRow"
	// CodeRoundedNumber is an ID cell of a workbook that is a number of
	// more than 15 digits: Excel has rounded it.
	CodeRoundedNumber = "RoundedNumber"
	// CodeErrorCell is an ID cell that holds a spreadsheet error (#REF!,
	// #N/A), in a workbook or as a CSV export wrote it.
	CodeErrorCell = "ErrorCell"
	// CodeDateCell is an ID cell of a workbook that is a date.
	CodeDateCell = "DateCell"
	// CodeDuplicate: the same ID, flow and owner as an earlier line, which
	// is sent instead.
	CodeDuplicate = "Duplicate"
	// CodeAlreadyAssigned is a row an earlier run (of the same console)
	// assigned to the same flow: not sent again.
	CodeAlreadyAssigned = "AlreadyAssigned"
)

// Codes of failed.csv, stage input: what Gong's listings say.
const (
	CodeFlowNameNotFound    = "FlowNameNotFound"
	CodeFlowNameAmbiguous   = "FlowNameAmbiguous"
	CodeFlowNameNotResolved = "FlowNameNotResolved"
	CodeFlowNotVisible      = "FlowNotVisible"
	CodeOwnerRefused        = "OwnerRefused"
	CodeOwnerNotFound       = "OwnerNotFound"
	CodeOwnerAmbiguous      = "OwnerAmbiguous"
)

// Codes of failed.csv, stages api and request.
const (
	// Gong's own codes in prospectsNotAssigned (stage api).
	CodeInvalidArgument = "InvalidArgument"
	CodeInvalidState    = "InvalidState"
	CodeUnexpectedError = "UnexpectedError"
	// CodeAlreadyInFlow: Gong lists the prospect in the flow with an
	// instance created before the request sent for it (judged on Gong's
	// clock): not this run's, so never in assigned.csv, never undone.
	CodeAlreadyInFlow = "AlreadyInFlow"
	// CodeMissingFromResponse: Gong's answer named the row in neither list
	// and a read-back found no instance for it.
	CodeMissingFromResponse = "MissingFromResponse"
	// CodeBadRequest: Gong refused (400) a request that held this row alone,
	// or named this row, or named the request's owner or flow.
	CodeBadRequest = "BadRequest"
	// CodeFlowNotFound: Gong answered 404 for the flow and owner.
	CodeFlowNotFound = "FlowNotFound"
	// CodeHTTPPrefix + status: another final 4xx.
	CodeHTTPPrefix = "HTTP"
)

// Reasons of unprocessed.csv: no final answer yet; the same command sends
// these rows again. A reason is also why a run stopped early.
const (
	ReasonInterrupted   = "Interrupted"   // a signal, or the console's Stop
	ReasonRequestBudget = "RequestBudget" // --max-requests reached
	ReasonRateLimited   = "RateLimited"   // a 429 asked to wait past --max-wait
	ReasonDailyQuota    = "DailyQuota"    // 429s kept coming past the per-second window
	ReasonUnauthorized  = "Unauthorized"  // 401: the credentials (exit 1)
	ReasonForbidden     = "Forbidden"     // 403: the token's scope (exit 1)
	ReasonUnreachable   = "Unreachable"   // Gong could not be reached at all (exit 1)
	// ReasonRetriesExhausted: 5xx or timeouts outlasted --max-retry-time.
	ReasonRetriesExhausted = "RetriesExhausted"
	// ReasonInDoubt: the request may have reached Gong and no answer came;
	// the next run reads the rows back before sending them again.
	ReasonInDoubt = "InDoubt"
	// ReasonFlowListingFailed: the row names its flow by name and Gong's
	// flow listing failed for now.
	ReasonFlowListingFailed = "FlowListingFailed"
	// ReasonUserListingFailed: the row names its owner by name and Gong's
	// user listing failed for now.
	ReasonUserListingFailed = "UserListingFailed"
	// ReasonListingIncomplete: Gong's flow or user listing ended before its
	// last page (a cursor that repeats, the page cap), and the row's flow
	// or owner is not among what it read: not known to be wrong.
	ReasonListingIncomplete = "ListingIncomplete"
	// ReasonResultsNotWritten: the result files could not be written (a
	// full disk); only summary.json counts rows so. The journal has their
	// outcomes: the next run writes them without sending.
	ReasonResultsNotWritten = "ResultsNotWritten"
)

// Fatal reports whether a stop reason ends the run with exit 1: the setup
// is wrong, and the same command would meet it again.
func Fatal(reason string) bool {
	switch reason {
	case ReasonUnauthorized, ReasonForbidden, ReasonUnreachable:
		return true
	}
	return false
}

// Explained is one row of the what-to-do table.
type Explained struct {
	Kind    Kind
	Stage   string // Failed only
	Code    string // the errorCode, or the reason for Unprocessed
	Meaning string
	Fix     string
	// InPage is the fix as the console's page says it, where Fix names a
	// command-line flag the page has no use for; "" means Fix.
	InPage string
}

// PageFix is the fix as the console's page says it.
func (e Explained) PageFix() string {
	if e.InPage != "" {
		return e.InPage
	}
	return e.Fix
}

// Explanations lists every code and reason a run can write, with what it
// means and what to do; docs/what-to-do.md is checked against it.
func Explanations() []Explained {
	in := func(code, meaning, fix string) Explained {
		return Explained{Kind: Failed, Stage: StageInput, Code: code, Meaning: meaning, Fix: fix}
	}
	page := func(e Explained, fix string) Explained {
		e.InPage = fix
		return e
	}
	left := func(reason, meaning, fix string) Explained {
		return Explained{Kind: Unprocessed, Code: reason, Meaning: meaning, Fix: fix}
	}
	return append([]Explained{
		page(in(CodeMissingValue, "a required cell is empty", "fill in the empty cell (the message names the column), remove the row, or give one flow or owner for the whole file (--flow, --owner)"),
			"fill in the empty cell below (the message names the column), or choose one flow or owner for these rows"),
		in(CodeInvalidFlowID, "the flow ID is not 1 to 20 digits", "copy the flow ID again from the flow's page in Gong, or name the flow in a flowName column"),
		page(in(CodeInvalidEmail, "the owner cell is not an email address", "use the email address the owner signs in to Gong with, or their name with --owner-by name"),
			"choose the owner below, or give the email address the owner signs in to Gong with"),
		in(CodeMalformedRow, "the row breaks the CSV rules (quotes, cell count)", "export the file again, or fix the quotes on that line"),
		in(CodeBlankRow, "every cell of the row is blank", "delete the row, or fill it in"),
		in(CodeScientificNotation, "a spreadsheet wrote an ID as 1.69549E+18", "export the file again and upload it without opening it in a spreadsheet, or open it with the ID columns as text (Excel: Data > From Text/CSV > Do not detect data types), or fix it in results.xlsx"),
		in(CodeTrailingDecimal, "an ID was written as a decimal number (12345.0)", "export the file again and upload it without opening it in a spreadsheet, or open it with the ID columns as text (Excel: Data > From Text/CSV > Do not detect data types), or fix it in results.xlsx"),
		in(CodeRoundedFlowID, "a spreadsheet rounded the flow ID to 15 digits", "export the file again and upload it without opening it in a spreadsheet, or open it with the ID columns as text (Excel: Data > From Text/CSV > Do not detect data types), or fix it in results.xlsx"),
		in(CodeSalesforceChecksum, "the Salesforce ID's case does not match its checksum", "copy the 18-character ID from Salesforce again"),
		page(in(CodeInvalidProspectID, "crmProspectId is not an ID of the CRM given with --crm", "check the column, or drop --crm"),
			"check the column, or check the file again with CRM \"any\" in the reading options"),
		in(CodeLeadingZerosLost, "a spreadsheet dropped an ID's leading zeros", "export the file again and upload it without opening it in a spreadsheet, or open it with the ID columns as text (Excel: Data > From Text/CSV > Do not detect data types), or fix it in results.xlsx"),
		in(CodeRoundedNumber, "a workbook cell holds the ID as a number of more than 15 digits: Excel keeps 15 significant digits, so the ID was rounded", "format the column as Text in the workbook and type or paste the exact IDs again (from the CRM, not from this sheet), or export the file again as CSV"),
		in(CodeErrorCell, "the ID cell of the workbook holds a spreadsheet error (#REF!, #N/A, #VALUE!...), not an ID", "fix the formula or the data it refers to, or paste the IDs as values"),
		in(CodeDateCell, "the ID cell of the workbook is a date (a number with a date format, or a date cell)", "format the column as Text and type the IDs again"),
		in(CodeDuplicate, "the same ID, flow and owner as an earlier line, which is sent instead", "nothing to do: the earlier line covers it"),
		in(CodeAlreadyAssigned, "an earlier run of this console assigned this ID to this flow (the message names the run)", "nothing to do: that run covers it (a run undone since does not count)"),
		in(CodeFlowNameNotFound, "no flow of that name is visible to the owner", "check the name against Gong (the message lists similar names)"),
		in(CodeFlowNameAmbiguous, "several flows of that name are visible to the owner", "use the flowId the message lists"),
		in(CodeFlowNameNotResolved, "the flow name could not be resolved (no credentials, or the listing is refused)", "give flowId, or credentials with api:flows:read"),
		in(CodeFlowNotVisible, "Gong does not list that flow for the owner: unknown, deleted, or another owner's personal flow", "check the flow ID and the owner"),
		in(CodeOwnerRefused, "Gong refused to list the owner's flows: not a Gong user", "use the email the owner signs in to Gong with"),
		in(CodeOwnerNotFound, "no active Gong user has that name", "use the owner's email, or the name as Gong shows it"),
		in(CodeOwnerAmbiguous, "several active Gong users have that name", "use the email the message lists"),
		{Kind: Failed, Stage: StageAPI, Code: CodeInvalidArgument, Meaning: "Gong refused the prospect: not a known CRM ID, or not allowed", Fix: "check the ID in the CRM and Gong's CRM sync"},
		{Kind: Failed, Stage: StageAPI, Code: CodeInvalidState, Meaning: "Gong refused the prospect in its state: already in this or an exclusive flow, cool-off", Fix: "nothing to do, or take it out of that flow in Gong first; if Gong's message names the cool-off period and the person should be enrolled again, send the rows again with --override-cool-off",
			InPage: "nothing to do, or take it out of that flow in Gong first; if Gong's message names the cool-off period and the person should be enrolled again, retry these rows and tick the cool-off override"},
		{Kind: Failed, Stage: StageAPI, Code: CodeAlreadyInFlow, Meaning: "the prospect is in the flow with an instance created before this run sent it (on Gong's clock): someone else's, so this run does not claim it and undo leaves it", Fix: "nothing to do: the prospect is in the flow"},
		{Kind: Failed, Stage: StageAPI, Code: CodeUnexpectedError, Meaning: "Gong failed on this prospect", Fix: "send the row again later; tell Gong support if it persists"},
		{Kind: Failed, Stage: StageAPI, Code: CodeMissingFromResponse, Meaning: "Gong's answer did not mention the row and a read-back found no instance", Fix: "send the row again"},
		{Kind: Failed, Stage: StageRequest, Code: CodeBadRequest, Meaning: "Gong refused the request (400); the message is Gong's", Fix: "fix what Gong's message names (often the owner), then send the rows again"},
		{Kind: Failed, Stage: StageRequest, Code: CodeFlowNotFound, Meaning: "Gong answered 404: no such flow for that owner", Fix: "check the flow ID and owner"},
		{Kind: Failed, Stage: StageRequest, Code: CodeHTTPPrefix + "nnn", Meaning: "Gong refused the request with another 4xx status", Fix: "read Gong's message in errorMessage"},
	}, append(reasons(left), bulkExplained()...)...)
}

func reasons(left func(reason, meaning, fix string) Explained) []Explained {
	again := "run the same command again"
	return []Explained{
		left(ReasonInterrupted, "the run was stopped (signal, Stop) before the row was settled", again),
		left(ReasonRequestBudget, "--max-requests was reached", again),
		left(ReasonRateLimited, "Gong asked to wait longer than --max-wait", again+" later"),
		left(ReasonDailyQuota, "Gong's daily quota is spent", again+" tomorrow (a CronJob does)"),
		left(ReasonUnauthorized, "Gong refused the credentials (401)", "fix GONG_ACCESS_KEY/SECRET or the token, then "+again),
		left(ReasonForbidden, "the token lacks a scope (403)", "grant the scope the message names, then "+again),
		left(ReasonUnreachable, "Gong could not be reached (address, DNS, TLS)", "fix GONG_BASE_URL or the network, then "+again),
		left(ReasonRetriesExhausted, "Gong kept failing (5xx, timeouts) past --max-retry-time", again),
		left(ReasonInDoubt, "the request may have reached Gong without an answer", again+": it reads the rows back first (rows of a bulk assignment, which nothing can read back, only with --resend-in-doubt)"),
		left(ReasonFlowListingFailed, "the flow listing failed for now, so the flow name is not resolved yet", again),
		left(ReasonUserListingFailed, "the user listing failed for now, so the owner name is not resolved yet", again),
		left(ReasonResultsNotWritten, "the result files could not be written (disk full); summary.json counts the rows so", "free space in --out, then "+again+": it writes the files from the ledger without sending"),
		left(ReasonListingIncomplete, "Gong's flow or user listing ended before its last page, and the row's flow or owner is not on the pages read", again+" (it lists again); if it keeps happening, give flowId and the owner's email, with --preflight=false"),
	}
}
