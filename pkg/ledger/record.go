package ledger

import "github.com/flowenroll/flowenroll/pkg/outcome"

// record is a settled row in the journal's own format (version 2): what
// the result files need, not their columns.
type record struct {
	Line          int      `json:"line"`
	Kind          string   `json:"kind"` // "assigned" or "failed"
	CRMProspectID string   `json:"crmProspectId"`
	FlowID        string   `json:"flowId"`
	FlowName      string   `json:"flowName,omitempty"`
	Owner         string   `json:"owner"`
	OwnerName     string   `json:"ownerName,omitempty"`
	Extra         []string `json:"extra,omitempty"`

	Stage      string `json:"stage,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	RequestID  string `json:"requestId,omitempty"`

	Instance *outcome.Instance `json:"instance,omitempty"`
}

func recordOf(o outcome.Outcome) record {
	r := record{
		Line: o.Row.Line, Kind: o.Kind.String(), CRMProspectID: o.Row.CRMProspectID, FlowID: o.Row.FlowID,
		FlowName: o.Row.FlowName, Owner: o.Row.OwnerEmail, OwnerName: o.Row.OwnerName, Extra: o.Row.Extra,
		Stage: o.Stage, Code: o.Code, Message: o.Message, HTTPStatus: o.HTTPStatus, RequestID: o.RequestID,
	}
	if o.Kind == outcome.Assigned {
		inst := o.Instance
		r.Instance = &inst
	}
	return r
}

func (r record) outcome() outcome.Outcome {
	o := outcome.Outcome{
		Row:   outcome.Row{Line: r.Line, CRMProspectID: r.CRMProspectID, FlowID: r.FlowID, FlowName: r.FlowName, OwnerEmail: r.Owner, OwnerName: r.OwnerName, Extra: r.Extra},
		Kind:  outcome.Failed,
		Stage: r.Stage, Code: r.Code, Message: r.Message, HTTPStatus: r.HTTPStatus, RequestID: r.RequestID,
	}
	if r.Kind == outcome.Assigned.String() {
		o.Kind = outcome.Assigned
		if r.Instance != nil {
			o.Instance = *r.Instance
		}
	}
	return o
}

// settledV1 is version 1's entry of settled rows, which stored the rows of
// assigned.csv and failed.csv under their Go field names.
type settledV1 struct {
	Assigned []struct {
		Line                      int
		CRMProspectID             string
		FlowID                    string
		FlowInstanceOwnerEmail    string
		FlowName                  string
		FlowInstanceID            string
		FlowInstanceOwnerFullName string
		FlowInstanceCreateDate    string
		FlowInstanceStatus        string
		WorkspaceID               string
		Exclusive                 bool
		RequestID                 string
	} `json:"assigned"`
	Failed []struct {
		Line                   int
		CRMProspectID          string
		FlowID                 string
		FlowInstanceOwnerEmail string
		Stage                  string
		ErrorCode              string
		ErrorMessage           string
		HTTPStatus             int
		RequestID              string
	} `json:"failed"`
}

// outcomes converts a version 1 entry; nil gives none.
func (s *settledV1) outcomes() []outcome.Outcome {
	if s == nil {
		return nil
	}
	var out []outcome.Outcome
	for _, a := range s.Assigned {
		row := outcome.Row{Line: a.Line, CRMProspectID: a.CRMProspectID, FlowID: a.FlowID, OwnerEmail: a.FlowInstanceOwnerEmail}
		out = append(out, outcome.Assign(row, outcome.Instance{
			FlowName: a.FlowName, ID: a.FlowInstanceID, OwnerFullName: a.FlowInstanceOwnerFullName,
			CreateDate: a.FlowInstanceCreateDate, Status: a.FlowInstanceStatus, WorkspaceID: a.WorkspaceID, Exclusive: a.Exclusive,
		}, a.RequestID))
	}
	for _, f := range s.Failed {
		row := outcome.Row{Line: f.Line, CRMProspectID: f.CRMProspectID, FlowID: f.FlowID, OwnerEmail: f.FlowInstanceOwnerEmail}
		out = append(out, outcome.Fail(row, f.Stage, f.ErrorCode, f.ErrorMessage).WithAnswer(f.HTTPStatus, f.RequestID))
	}
	return out
}
