package store

import (
	"encoding/json"
	"path/filepath"
	"time"
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
	// InDoubtLeft counts the rows of RetryOf this retry left out: sent by
	// CRM ID with no answer yet, or in a bulk job Gong accepted. Continuing
	// that run settles them; a new run would send them again.
	InDoubtLeft int `json:"inDoubtLeft,omitempty"`
	// PeopleInDoubt counts the people of RetryOf this retry sends again
	// though Gong may have enrolled them: their bulk request got no
	// answer, and nothing can read people back. The check warns of it.
	PeopleInDoubt int `json:"peopleInDoubt,omitempty"`
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

// Tick is a choice a person made on the page, with who made it and when:
// the run record keeps it, so that whoever reads the run later knows who
// decided.
type Tick struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
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

// Options are what a person chooses for an upload: the flags of `run`
// that concern reading the file.
type Options struct {
	Map       map[string]string `json:"map,omitempty"` // canonical column -> header
	Encoding  string            `json:"encoding,omitempty"`
	Delimiter string            `json:"delimiter,omitempty"`
	CRM       string            `json:"crm,omitempty"`
	Sheet     string            `json:"sheet,omitempty"`
	Flow      string            `json:"flow,omitempty"`
	Owner     string            `json:"owner,omitempty"`
	// HeaderRow is the line the header is on ("header is on row N"); 0
	// finds it below any title rows.
	HeaderRow int `json:"headerRow,omitempty"`
}

// FlowChoice is a flow the flow picker offers.
type FlowChoice struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Folder     string `json:"folder"`
	Visibility string `json:"visibility"`
}

// FixGroup is the rows of one reason that one fix mends at once: those
// whose value in Column is Value. Suggest is the flow the check found
// nearest a misspelled name.
type FixGroup struct {
	Column string `json:"column"`
	Value  string `json:"value"`
	Rows   int    `json:"rows"`
	// Owner is an owner of these rows by email: the flow picker lists the
	// flows they see.
	Owner   string      `json:"owner,omitempty"`
	Suggest *FlowChoice `json:"suggest,omitempty"`
}

// InputFile is the CSV the pipeline reads, inside the run's folder: the
// upload itself, or the CSV made from an uploaded workbook.
func (r Run) InputFile() string {
	if r.Fixes > 0 {
		return FixedCSV
	}
	return r.BaseFile()
}

// BaseFile is the CSV the fixes are applied to: the upload, or the CSV
// made from an uploaded workbook.
func (r Run) BaseFile() string {
	if r.Converted {
		return InputCSV
	}
	return UploadName(r.File)
}

// PipelineOptions are the options the pipeline reads InputFile with:
// fixed.csv is UTF-8 whatever the upload was.
func (r Run) PipelineOptions() Options {
	o := r.Options
	if r.Fixes > 0 {
		o.Encoding = "utf-8"
	}
	return o
}

// UploadName is the name the upload is kept under: "upload" and the
// extension of the name it came with, if it is a known one.
func UploadName(file string) string {
	switch ext := filepath.Ext(file); ext {
	case ".csv", ".CSV", ".txt", ".tsv", ".xlsx", ".XLSX":
		return "upload" + ext
	}
	return "upload"
}
