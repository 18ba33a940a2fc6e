package console

import (
	"encoding/json"
	"math"
	"time"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// Statuses of a run.
const (
	StatusChecked  = "checked"  // uploaded and checked; nothing sent
	StatusQueued   = "queued"   // waiting for its turn
	StatusRunning  = "running"  // sending
	StatusFinished = "finished" // ended: see exitCode
	StatusStopped  = "stopped"  // stopped by a person; start resumes it
)

// Kinds of a run.
const (
	KindEnroll = "enroll" // an upload sent to Gong
	KindUndo   = "undo"   // removes the flow instances an enroll run created
	KindVerify = "verify" // reads back the rows an enroll run assigned
)

// Run is one upload and what became of it, or an undo or a verify of such
// a run, as the API shows it and as run.json keeps it.
type Run struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// File is the uploaded file's name; an undo's or verify's is its run's.
	File string `json:"file"`
	// Converted: the upload is a workbook, read as the CSV made from it.
	Converted bool `json:"converted,omitempty"`
	// Fixes is how many fixes were made in the page: the pipeline reads
	// the upload with them applied (fixed.csv), the upload unchanged.
	Fixes     int       `json:"fixes,omitempty"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	StartedBy string    `json:"startedBy,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	QueuedAt  time.Time `json:"queuedAt,omitzero"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	StoppedBy string    `json:"stoppedBy,omitempty"`
	RetryOf   string    `json:"retryOf,omitempty"`
	// OverrideCoolOff: the run sends through Gong's cool-off-override
	// endpoint, as the person who ticked it at its first start chose. A
	// retry of the run does not inherit it.
	OverrideCoolOff *Tick `json:"overrideCoolOff,omitempty"`
	// RetriedAs are the runs that retried this one's rows.
	RetriedAs []string `json:"retriedAs,omitempty"`
	// UndoneBy is the undo that removed this run's flow instances: the run,
	// who started it and when it ended.
	UndoneBy *UndoRef `json:"undoneBy,omitempty"`
	// Of is the enroll run an undo or a verify acts on.
	Of string `json:"of,omitempty"`
	// UnassignedBy is the email an undo sends as unassignedByUserEmail.
	UnassignedBy string    `json:"unassignedBy,omitempty"`
	Options      Options   `json:"options"`
	Plan         *PlanView `json:"plan,omitempty"`
	// QueuePosition is 1 for the next run to start, 0 when not queued.
	QueuePosition int             `json:"queuePosition,omitempty"`
	Progress      *Live           `json:"progress,omitempty"`
	ExitCode      *int            `json:"exitCode,omitempty"`
	Outcome       string          `json:"outcome,omitempty"` // the exit code in words
	Summary       json.RawMessage `json:"summary,omitempty"`
	Error         string          `json:"error,omitempty"`
	// FilesDeletedAt: the upload and result files were deleted then, by
	// FilesDeletedBy (a user, or "--keep"); the record and summary stay.
	FilesDeletedAt time.Time `json:"filesDeletedAt,omitzero"`
	FilesDeletedBy string    `json:"filesDeletedBy,omitempty"`
}

// UndoRef is an undo of a run, as the run it undid tells it.
type UndoRef struct {
	Run string    `json:"run"`
	By  string    `json:"by"`
	At  time.Time `json:"at"`
	// Complete: every flow instance the run created is removed.
	Complete bool `json:"complete"`
}

// PlanView is a check of an upload, as a person wants to read it.
type PlanView struct {
	Rows           int                     `json:"rows"`
	Valid          int                     `json:"validRows"`
	Rejected       int                     `json:"rejectedRows"`
	Requests       int                     `json:"requests"`
	RejectedByCode map[string]RejectedView `json:"rejectedByCode"`
	Groups         []PlanGroup             `json:"groups,omitempty"`
	// Checked says whether flows were checked against Gong; Note says why not.
	Checked  bool           `json:"checkedWithGong"`
	Note     string         `json:"note,omitempty"`
	Columns  *ColumnProblem `json:"columns,omitempty"`
	Estimate *Estimate      `json:"estimate,omitempty"`
	// Warnings say a column taken looks like another one (an email column
	// as the CRM ID): said before Start, not found out at Gong.
	Warnings []string `json:"warnings,omitempty"`
	// People are the valid rows without a CRM ID, enrolled through bulk
	// assignments (Gong finds or creates their CRM records); BulkSubmits
	// the bulk requests they take, at most 50 people each. Requests counts
	// each submit and the reads expected to follow it (BulkReadsEach).
	People        int `json:"people,omitempty"`
	BulkSubmits   int `json:"bulkSubmits,omitempty"`
	BulkReadsEach int `json:"bulkReadsEach,omitempty"`
}

// Ready says whether the run can start: its columns were all found and it
// has rows to send.
func (p *PlanView) Ready() bool { return p != nil && p.Columns == nil && p.Valid > 0 }

// PlanGroup is the requests of one flow and owner.
type PlanGroup struct {
	FlowID   string `json:"flowId"`
	Owner    string `json:"owner"`
	Rows     int    `json:"rows"`
	Requests int    `json:"requests"`
	// Bulk: the group's rows are people without a CRM ID.
	Bulk bool `json:"bulk,omitempty"`
}

// RejectedView is the rows rejected for one reason.
type RejectedView struct {
	Rows    int      `json:"rows"`
	Example string   `json:"example"`
	Fix     string   `json:"fix,omitempty"`
	First   []RowRef `json:"first,omitempty"`
	// Fixes are the fixes the page offers for all the rows of a value.
	Fixes []FixGroup `json:"fixes,omitempty"`
}

// RowRef is one row of failed.csv as the page shows it.
type RowRef struct {
	Line          int    `json:"line"`
	CRMProspectID string `json:"crmProspectId"`
	FlowID        string `json:"flowId"`
	FlowName      string `json:"flowName,omitempty"`
	Owner         string `json:"owner"`
	Stage         string `json:"stage,omitempty"`
	Code          string `json:"code"`
	Message       string `json:"message,omitempty"`
	// FixColumn is the column that mends the row, when the page can.
	FixColumn string `json:"fixColumn,omitempty"`
}

// ColumnProblem is a header the reader could not match: the page offers the
// headers found for each missing column.
type ColumnProblem struct {
	Missing   []string            `json:"missing,omitempty"`
	NotFound  map[string]string   `json:"notFound,omitempty"`
	Ambiguous map[string][]string `json:"ambiguous,omitempty"`
	Found     []string            `json:"found"`
}

// Estimate is how long the requests take at the quota.
type Estimate struct {
	Seconds    float64 `json:"seconds"`
	Rate       float64 `json:"ratePerSecond"`
	DailyQuota int     `json:"dailyQuota"`
	Today      int     `json:"requestsToday"` // the share of the requests one day's quota allows
	Days       int     `json:"days"`
}

// estimate returns the time requests take at rate, and the days they need
// at quota a day.
func estimate(requests int, rate float64, quota int) *Estimate {
	e := &Estimate{Rate: rate, DailyQuota: quota, Today: requests, Days: 1}
	if rate > 0 {
		e.Seconds = math.Ceil(float64(requests) / rate)
	}
	if quota > 0 && requests > quota {
		e.Today = quota
		e.Days = (requests + quota - 1) / quota
		// Each day's share goes at the rate; the rest waits for the next day.
		if rate > 0 {
			e.Seconds = math.Ceil(float64(quota) / rate)
		}
	}
	return e
}

// Live is a running run's progress.
type Live struct {
	Total   int `json:"total"`
	Settled int `json:"settled"`
	// Unprocessed rows are left for the next start (a stop, the quota).
	Unprocessed int     `json:"unprocessed"`
	Left        int     `json:"left"`
	Requests    int64   `json:"requests"`
	ETASeconds  float64 `json:"etaSeconds"`
}

// Summary is what the console reads of summary.json.
type Summary struct {
	RowsRead            int                       `json:"rowsRead"`
	Assigned            int                       `json:"assigned"`
	Failed              int                       `json:"failed"`
	FailedByStage       map[string]map[string]int `json:"failedByStage"`
	Unprocessed         int                       `json:"unprocessed"`
	UnprocessedByReason map[string]int            `json:"unprocessedByReason"`
	Requests            int64                     `json:"requests"`
	StopReason          string                    `json:"stopReason"`
	RequestsThisRun     int64                     `json:"requestsThisRun"`
	ExitCode            int                       `json:"exitCode"`
}

// exitWords says a run's exit code in words.
func exitWords(kind string, code int) string {
	switch {
	case kind == KindUndo && code == outcome.ExitOK:
		return "every flow instance the run created is removed"
	case kind == KindUndo && code == outcome.ExitSomeFailed:
		return "finished; Gong kept some flow instances (see undo-failed.csv)"
	case kind == KindUndo && code == outcome.ExitStoppedEarly:
		return "stopped early; some flow instances are not removed yet"
	case kind == KindVerify && code == outcome.ExitOK:
		return "every assigned row was read back"
	case kind == KindVerify && code == outcome.ExitStoppedEarly:
		return "stopped early; some rows were not read back"
	}
	switch code {
	case 0:
		return "every row was assigned"
	case 1:
		return "the run could not go on (see the error)"
	case 3:
		return "finished; some rows failed"
	case 4:
		return "stopped early; some rows were not sent yet"
	}
	return ""
}
