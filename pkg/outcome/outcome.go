// Package outcome holds the one shape a row has on its way through a run,
// and the one shape of what became of it.
//
// A data row of the input is a Row from the moment it is read; stages pass
// it on unchanged or settle it. Every stage that settles a row returns an
// Outcome: the reader and the screen (rejected rows), the submitter (Gong's
// answer, or why there was none), the dispatcher (rows left when a run
// stops). One writer takes Outcomes and picks the result file by Kind; the
// ledger journals them. Every code and reason an Outcome can carry is listed
// in codes.go.
package outcome

// Row is one data row of the input.
type Row struct {
	// Line is the input line where the row starts; the header is line 1.
	Line          int
	CRMProspectID string
	// FlowID is digits kept as a string; "" while the row names its flow by
	// FlowName only.
	FlowID     string
	FlowName   string
	OwnerEmail string
	// OwnerName is the owner as the input names them ("Ava Reyes") when
	// the owner column holds names: resolved to OwnerEmail through Gong's
	// users before the row is sent.
	OwnerName string
	// Extra holds the input's other columns, as read, in header order: they
	// are carried into the result files.
	Extra []string
	// Person is set for a row without a CRM ID that names a person: it goes
	// through a bulk assignment.
	Person *Person
}

// Kind is which result file an Outcome belongs in.
type Kind uint8

// The kinds, one a result file.
const (
	// Assigned: Gong created a flow instance (assigned.csv).
	Assigned Kind = iota + 1
	// Failed: a final answer, from the input checks or from Gong
	// (failed.csv); the same command does not send the row again.
	Failed
	// Unprocessed: no final answer yet (unprocessed.csv); the same command
	// sends the row again.
	Unprocessed
)

func (k Kind) String() string {
	switch k {
	case Assigned:
		return "assigned"
	case Failed:
		return "failed"
	case Unprocessed:
		return "unprocessed"
	}
	return "unknown"
}

// Instance is the flow instance Gong created for an assigned row.
type Instance struct {
	FlowName      string `json:"flowName,omitempty"`
	ID            string `json:"id"`
	OwnerFullName string `json:"ownerFullName,omitempty"`
	CreateDate    string `json:"createDate,omitempty"`
	Status        string `json:"status,omitempty"`
	WorkspaceID   string `json:"workspaceId,omitempty"`
	Exclusive     bool   `json:"exclusive,omitempty"`
}

// Outcome is what became of one row.
type Outcome struct {
	Row  Row
	Kind Kind

	// Failed: the stage that decided (StageInput, StageAPI, StageRequest),
	// the error code and a message naming the file and line where it helps.
	Stage      string
	Code       string
	Message    string
	HTTPStatus int // 0 when no HTTP answer was involved
	RequestID  string

	// Unprocessed: why the row waits for the next run (a Reason constant).
	Reason string

	// Assigned: the flow instance (RequestID above is the answer's).
	Instance Instance
}

// Assign is the outcome of a row Gong assigned.
func Assign(r Row, inst Instance, requestID string) Outcome {
	return Outcome{Row: r, Kind: Assigned, Instance: inst, RequestID: requestID}
}

// Fail is the outcome of a row with a final failure.
func Fail(r Row, stage, code, message string) Outcome {
	return Outcome{Row: r, Kind: Failed, Stage: stage, Code: code, Message: message}
}

// Leave is the outcome of a row left for the next run.
func Leave(r Row, reason string) Outcome {
	return Outcome{Row: r, Kind: Unprocessed, Reason: reason}
}

// WithAnswer adds the HTTP status and request ID of Gong's answer.
func (o Outcome) WithAnswer(status int, requestID string) Outcome {
	o.HTTPStatus, o.RequestID = status, requestID
	return o
}

// LeaveAll is the outcome of every row in rows, left for reason.
func LeaveAll(rows []Row, reason string) []Outcome {
	out := make([]Outcome, len(rows))
	for i, r := range rows {
		out[i] = Leave(r, reason)
	}
	return out
}

// RequestCounts are a run's request figures. The gateway counts them, once;
// summary.json, the ledger's run entries, the metrics and the progress line
// are derived from them.
type RequestCounts struct {
	Requests    int64 `json:"requests"` // every request, listings and read-backs included
	Retries     int64 `json:"retries"`
	RateLimited int64 `json:"rateLimited"` // 429 answers
	ReadBacks   int64 `json:"readBacks"`
	// Splits counts requests refused with 400 and split to find the rows at fault.
	Splits       int64 `json:"splitRequests"`
	FlowListings int64 `json:"flowListRequests"`
	UserListings int64 `json:"userListRequests"`
	Unassigns    int64 `json:"unassignRequests,omitempty"`
	// BulkSubmits and BulkReads count the bulk assignments sent for people
	// without a CRM ID and the reads of their results.
	BulkSubmits int64 `json:"bulkSubmitRequests,omitempty"`
	BulkReads   int64 `json:"bulkReadRequests,omitempty"`
}

// Plus returns the sum of c and o.
func (c RequestCounts) Plus(o RequestCounts) RequestCounts {
	return RequestCounts{
		Requests: c.Requests + o.Requests, Retries: c.Retries + o.Retries, RateLimited: c.RateLimited + o.RateLimited,
		ReadBacks: c.ReadBacks + o.ReadBacks, Splits: c.Splits + o.Splits, FlowListings: c.FlowListings + o.FlowListings,
		UserListings: c.UserListings + o.UserListings, Unassigns: c.Unassigns + o.Unassigns,
		BulkSubmits: c.BulkSubmits + o.BulkSubmits, BulkReads: c.BulkReads + o.BulkReads,
	}
}
