package emulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Bulk assignment: POST PathBulkAssignments takes up to MaxBulkProspects
// people (by CRM ID, or by email and name), answers 202 with an id, and
// applies nothing yet; GET PathBulkAssignments/{id} reads the job. A job
// is PENDING until read, IN_PROGRESS for BulkModes.Polls reads, and then
// done: applied at that read, in one place, like an assign (COMPLETED with
// a result per prospect, or FAILED with none). With BulkRunAtSubmit it is
// applied as it is accepted, and done at its first read.
//
// Choices where Gong's behaviour is unknown: a person without crmId is
// found by email (case-insensitively) among the people bulk created before,
// or created with a new CRM ID; an unknown flow is a 404 at submit and an
// unknown owner a 400; an unknown id a 404; a finished job's results do not
// change and it may be read any number of times.
const (
	PathBulkAssignments = "/v2/flows/prospects/bulk-assignments"
	// MaxBulkProspects is the most prospects one bulk request takes.
	MaxBulkProspects = 50
)

// Operations of the bulk assignment, as Config.Hook, Faults.Ops and the
// log name them: OpBulkSubmit the POST, OpBulkStatus the GET by id.
const (
	OpBulkSubmit = "bulk assign"
	OpBulkStatus = "bulk status"
)

// Bulk statuses (FlowProspectsBulkAssignmentResponse.status,
// FlowAssignmentResult.status).
const (
	BulkPending            = "PENDING"
	BulkInProgress         = "IN_PROGRESS"
	BulkCompleted          = "COMPLETED"
	BulkFailed             = "FAILED"
	BulkAssigned           = "ASSIGNED"
	BulkCRMOperationFailed = "CRM_OPERATION_FAILED"
	BulkFlowAssignFailed   = "FLOW_ASSIGNMENT_FAILED"
)

// BulkModes are how bulk jobs behave; the zero value finishes every job at
// its first read, COMPLETED, every prospect processed as an assign would.
type BulkModes struct {
	// BulkPolls is how many reads of a job answer IN_PROGRESS before the
	// read that finds it done.
	BulkPolls int
	// BulkFailJob lists emails (lower case): a job holding any of them
	// ends FAILED, with no result and nothing applied.
	BulkFailJob map[string]bool
	// BulkFailProspect maps emails (lower case) to the status their
	// prospect ends in: BulkCRMOperationFailed or BulkFlowAssignFailed.
	BulkFailProspect map[string]string
	// BulkRunAtSubmit runs each job to its end as it is accepted, before
	// its 202 is written (which still says PENDING): a job whose 202 is
	// lost has enrolled its people all the same. Gong does not say when
	// a job runs; the zero value runs it only when it is read.
	BulkRunAtSubmit bool
}

// bulkProspect is FlowAssignmentProspect.
type bulkProspect struct {
	FirstName    string `json:"firstName,omitempty"`
	LastName     string `json:"lastName,omitempty"`
	Email        string `json:"email,omitempty"`
	JobTitle     string `json:"jobTitle,omitempty"`
	LinkedInURL  string `json:"linkedInUrl,omitempty"`
	CRMID        string `json:"crmId,omitempty"`
	AccountCRMID string `json:"accountCrmId,omitempty"`
	CompanyName  string `json:"companyName,omitempty"`
}

// bulkResult is FlowAssignmentResult.
type bulkResult struct {
	Prospect       bulkProspect `json:"prospect"`
	Status         string       `json:"status"`
	CRMID          string       `json:"crmId,omitempty"`
	FlowInstanceID string       `json:"flowInstanceId,omitempty"`
	ErrorCode      string       `json:"errorCode,omitempty"`
	ErrorMessage   string       `json:"errorMessage,omitempty"`
}

// bulkResponse is FlowProspectsBulkAssignmentResponse.
type bulkResponse struct {
	RequestID      string       `json:"requestId"`
	ID             string       `json:"id"`
	Status         string       `json:"status"`
	TotalCount     int          `json:"totalCount"`
	ProcessedCount int          `json:"processedCount"`
	SuccessCount   int          `json:"successCount"`
	FailedCount    int          `json:"failedCount"`
	Results        []bulkResult `json:"results"`
}

// bulkJob is one submitted bulk assignment.
type bulkJob struct {
	id        string
	call      assignCall // flowID and owner; ids unused
	prospects []bulkProspect
	reads     int
	status    string
	results   []bulkResult
}

// BulkSubmitted returns how many bulk requests the server accepted (202).
func (s *Server) BulkSubmitted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bulk.jobs)
}

// bulkState is the server's bulk jobs and the people bulk created.
type bulkState struct {
	jobs    map[string]*bulkJob
	byEmail map[string]string // lower-case email -> CRM ID bulk created
	seq     int
}

// decodeBulk checks a body against FlowProspectsBulkAssignmentRequest.
func decodeBulk(body []byte) (assignCall, []bulkProspect, []string) {
	fields, msg := decodeObject(body)
	if msg != "" {
		return assignCall{}, nil, []string{msg}
	}
	var c assignCall
	var errs []string
	str := func(name string, dst *string) {
		raw, ok := fields[name]
		if !ok || isNull(raw) || json.Unmarshal(raw, dst) != nil || *dst == "" {
			errs = append(errs, name+" is required and must be a string")
		}
	}
	str("flowId", &c.flowID)
	if c.flowID != "" && !allDigits(c.flowID) {
		errs = append(errs, fmt.Sprintf("flowId must be a string of digits, got %q", c.flowID))
	}
	str("flowInstanceOwnerEmail", &c.owner)
	var ps []bulkProspect
	raw, ok := fields["prospects"]
	switch {
	case !ok || isNull(raw):
		errs = append(errs, "prospects is required")
	case json.Unmarshal(raw, &ps) != nil:
		errs = append(errs, "prospects must be an array of prospects")
	case len(ps) == 0:
		errs = append(errs, "prospects must not be empty")
	case len(ps) > MaxBulkProspects:
		errs = append(errs, fmt.Sprintf("prospects has %d entries; at most %d are allowed in one request", len(ps), MaxBulkProspects))
	}
	for i, p := range ps {
		if p.CRMID == "" && (p.FirstName == "" || p.LastName == "" || p.Email == "") {
			errs = append(errs, fmt.Sprintf("prospects[%d]: email, firstName and lastName are required without crmId", i))
		}
	}
	return c, ps, errs
}

// submitBulk accepts a bulk request; the caller holds s.mu.
func (s *Server) submitBulk(reqID string, c assignCall, ps []bulkProspect) answer {
	flow, ok := s.flows[c.flowID]
	if !ok {
		return errorAnswer(reqID, http.StatusNotFound, fmt.Sprintf("flow %s not found", c.flowID))
	}
	user, known := s.users[strings.ToLower(c.owner)]
	if !known {
		return errorAnswer(reqID, http.StatusBadRequest, fmt.Sprintf("%s is not a Gong user", c.owner))
	}
	if !visibleTo(flow, user.Email) {
		return errorAnswer(reqID, http.StatusNotFound, fmt.Sprintf("flow %s not found", c.flowID))
	}
	if s.bulk.jobs == nil {
		s.bulk.jobs, s.bulk.byEmail = map[string]*bulkJob{}, map[string]string{}
	}
	s.bulk.seq++
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", s.bulk.seq, len(ps))
	job := &bulkJob{id: id, call: c, prospects: ps, status: BulkPending}
	s.bulk.jobs[id] = job
	body := job.response(reqID)
	if s.cfg.BulkRunAtSubmit {
		s.runBulk(job)
	}
	return answer{status: http.StatusAccepted, body: body}
}

func (j *bulkJob) response(reqID string) bulkResponse {
	res := bulkResponse{RequestID: reqID, ID: j.id, Status: j.status, TotalCount: len(j.prospects), Results: []bulkResult{}}
	for _, r := range j.results {
		res.ProcessedCount++
		if r.Status == BulkAssigned {
			res.SuccessCount++
		} else {
			res.FailedCount++
		}
	}
	res.Results = append(res.Results, j.results...)
	return res
}

// bulkStatus answers a read of job id; the caller holds s.mu.
func (s *Server) bulkStatus(reqID, id string) answer {
	job, ok := s.bulk.jobs[id]
	if !ok {
		return errorAnswer(reqID, http.StatusNotFound, fmt.Sprintf("bulk assignment %s not found", id))
	}
	if job.status == BulkPending || job.status == BulkInProgress {
		job.reads++
		if job.reads > s.cfg.BulkPolls {
			s.runBulk(job)
		} else {
			job.status = BulkInProgress
		}
	}
	return answer{status: http.StatusOK, body: job.response(reqID)}
}

// runBulk applies a job, the one place bulk takes effect; the caller holds
// s.mu.
func (s *Server) runBulk(job *bulkJob) {
	for _, p := range job.prospects {
		if s.cfg.BulkFailJob[strings.ToLower(p.Email)] {
			job.status = BulkFailed
			return
		}
	}
	job.status = BulkCompleted
	for _, p := range job.prospects {
		job.results = append(job.results, s.bulkOne(job, p))
	}
}

// bulkOne finds or creates the person and assigns them.
func (s *Server) bulkOne(job *bulkJob, p bulkProspect) bulkResult {
	res := bulkResult{Prospect: p}
	email := strings.ToLower(p.Email)
	if st := s.cfg.BulkFailProspect[email]; st == BulkCRMOperationFailed {
		res.Status, res.ErrorCode, res.ErrorMessage = st, "CRM_ERROR", "the CRM refused to create the record"
		return res
	}
	id := p.CRMID
	if id == "" {
		if id = s.bulk.byEmail[email]; id == "" {
			id = fmt.Sprintf("00QBULK%011d", len(s.bulk.byEmail)+1)
			s.bulk.byEmail[email] = id
		}
	}
	res.CRMID = id
	if st := s.cfg.BulkFailProspect[email]; st == BulkFlowAssignFailed {
		res.Status, res.ErrorCode, res.ErrorMessage = st, CodeInvalidState, "emulator: the flow refused the prospect"
		return res
	}
	a := s.applyAssign("", assignCall{flowID: job.call.flowID, owner: job.call.owner, ids: []string{id}})
	out, _ := a.body.(assignResponse)
	switch {
	case len(out.ProspectsAssigned) == 1:
		res.Status, res.FlowInstanceID = BulkAssigned, out.ProspectsAssigned[0].FlowInstanceID
	case len(out.ProspectsNotAssigned) == 1:
		f := out.ProspectsNotAssigned[0]
		res.Status, res.ErrorCode, res.ErrorMessage = BulkFlowAssignFailed, f.ErrorCode, f.ErrorMessage
	default:
		res.Status, res.ErrorCode, res.ErrorMessage = BulkFlowAssignFailed, CodeUnexpectedError, "emulator: the flow could not be assigned"
	}
	return res
}

// handleBulk validates and carries out a bulk request.
func (s *Server) handleBulk(r *http.Request, op, reqID string, body []byte) answer {
	if op == OpBulkStatus {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.bulkStatus(reqID, strings.TrimPrefix(r.URL.Path, PathBulkAssignments+"/"))
	}
	c, ps, errs := decodeBulk(body)
	if len(errs) > 0 {
		return errorAnswer(reqID, http.StatusBadRequest, errs...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.submitBulk(reqID, c, ps)
}

// BulkJob is one bulk request the server accepted (answered 202, whether
// or not the client heard it), as a test reads it back.
type BulkJob struct {
	ID, FlowID, Owner, Status string
	// Emails are the people's emails, lower case, in the request's order
	// (empty for a prospect sent by crmId).
	Emails []string
}

// BulkJobs returns every bulk request the server accepted, in the order
// it accepted them: a test counts how many carried each person.
func (s *Server) BulkJobs() []BulkJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BulkJob, 0, len(s.bulk.jobs))
	for _, j := range s.bulk.jobs {
		b := BulkJob{ID: j.id, FlowID: j.call.flowID, Owner: j.call.owner, Status: j.status}
		for _, p := range j.prospects {
			b.Emails = append(b.Emails, strings.ToLower(p.Email))
		}
		out = append(out, b)
	}
	// The id begins with the job's sequence number in fixed-width hex.
	slices.SortFunc(out, func(a, b BulkJob) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// BulkPeople returns the CRM ID bulk found or created for each email (lower
// case) of a person sent without crmId.
func (s *Server) BulkPeople() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.bulk.byEmail)
}
