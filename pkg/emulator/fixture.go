package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// User is a Gong user of the emulated company: someone who can own flow
// instances and see personal and shared flows, listed by GET /v2/users.
type User struct {
	// Email is the user's emailAddress: the one an assign's
	// flowInstanceOwnerEmail must give.
	Email string `json:"email"`
	// FullName is flowInstanceOwnerFullName. If empty it is FirstName and
	// LastName joined by a space.
	FullName string `json:"fullName,omitempty"`
	// FirstName and LastName are what GET /v2/users lists. If both are
	// empty, FullName is split at its first space.
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	// ID is Gong's numeric user ID; if empty, one is derived from Email.
	ID string `json:"id,omitempty"`
	// EmailAliases are the user's other addresses (emailAliases).
	EmailAliases []string `json:"emailAliases,omitempty"`
	// Inactive users are listed with active false.
	Inactive bool   `json:"inactive,omitempty"`
	Title    string `json:"title,omitempty"`
	// Created is the user's creation time (RFC 3339), listed if set.
	Created string `json:"created,omitempty"`
}

// complete fills in the derived fields (see User).
func (u User) complete() User {
	if u.FirstName == "" && u.LastName == "" {
		u.FirstName, u.LastName, _ = strings.Cut(u.FullName, " ")
	}
	if u.FullName == "" {
		u.FullName = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	if u.ID == "" {
		h := fnv.New64a()
		h.Write([]byte(strings.ToLower(u.Email)))
		u.ID = fmt.Sprintf("1%018d", h.Sum64()%1e18)
	}
	u.EmailAliases = slices.Clone(u.EmailAliases)
	return u
}

// Flow visibilities, as GET /v2/flows reports them.
const (
	VisibilityCompany  = "Company"
	VisibilityPersonal = "Personal"
	VisibilityShared   = "Shared"
)

// FlowDef is one Engage flow of the emulated company.
type FlowDef struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	FolderID   string `json:"folderId"`
	FolderName string `json:"folderName"`
	// Visibility is VisibilityCompany, VisibilityPersonal or VisibilityShared.
	Visibility string `json:"visibility"`
	// OwnerEmail owns a Personal or Shared flow: the one user who sees a
	// Personal flow, and the one who shares a Shared flow.
	OwnerEmail string `json:"ownerEmail,omitempty"`
	// SharedWith lists the users a Shared flow is shared with.
	SharedWith []string `json:"sharedWith,omitempty"`
	// Exclusive flows take only prospects that are in no other open flow, and
	// keep their prospects out of every other flow.
	Exclusive    bool   `json:"exclusive"`
	WorkspaceID  string `json:"workspaceId"`
	CreationDate string `json:"creationDate"`
}

// Fixture is the emulated company's state when the server starts.
type Fixture struct {
	Users []User    `json:"users"`
	Flows []FlowDef `json:"flows"`
	// Existing are flow instances open (or finished) before the run. FlowID
	// and CRMProspectID are required. Exclusive is always taken from the
	// flow; FlowName, WorkspaceID, FlowInstanceOwnerFullName and
	// FlowInstanceStatus ("Running") are filled in when empty;
	// FlowInstanceID is generated when empty.
	Existing []AssignedFlow `json:"existing,omitempty"`
}

// Statuses of a flow instance (PublicApiAssignedFlow.flowInstanceStatus).
const (
	StatusPending          = "Pending"
	StatusRunning          = "Running"
	StatusPaused           = "Paused"
	StatusFinishedNoReply  = "FinishedNoReply"
	StatusFinishedResponse = "FinishedResponse"
	StatusFinished         = "Finished"
)

// isOpen reports whether an instance in this status still holds its
// prospect: Gong's read-back by CRM ID lists only these.
func isOpen(status string) bool {
	switch status {
	case StatusPending, StatusRunning, StatusPaused:
		return true
	}
	return false
}

func knownStatus(status string) bool {
	switch status {
	case StatusFinishedNoReply, StatusFinishedResponse, StatusFinished:
		return true
	}
	return isOpen(status)
}

// DefaultFixture is a small, realistic company: seven users at example.com,
// six flows with 19-digit IDs in two folders of one workspace, among them one
// exclusive company flow, a personal flow of Ben Okafor (which shares its
// name with a company flow), and a flow Chloé Martin shares with Ava Reyes.
// No instances exist before the run.
//
// The users beyond the four owners are there for resolving owners by name
// (GET /v2/users): Ava Reyes has an email alias; two active users are both
// "Zoë Müller" (a CRM export's "Zoe Muller" or "ZOË MÜLLER" is ambiguous);
// "Élodie Durand" is inactive.
func DefaultFixture() Fixture {
	const (
		workspace  = "623457276584334"
		outboundID = "1695493301223573465"
		outbound   = "Outbound"
		inboundID  = "1702318845120345117"
		inbound    = "Inbound"
		ava, ben   = "ava.reyes@example.com", "ben.okafor@example.com"
		chloe, dan = "chloe.martin@example.com", "dan.kowalski@example.com"
	)
	return Fixture{
		Users: []User{
			{Email: ava, FullName: "Ava Reyes", ID: "234599484848423", EmailAliases: []string{"ava@example.com"},
				Title: "Sales Development Representative", Created: "2023-09-04T08:00:00Z"},
			{Email: ben, FullName: "Ben Okafor", ID: "234599484848431", Title: "Account Executive", Created: "2023-09-04T08:05:00Z"},
			{Email: chloe, FullName: "Chloé Martin", ID: "234599484848447", Title: "Account Executive", Created: "2024-01-15T09:30:00Z"},
			{Email: dan, FullName: "Dan Kowalski", ID: "234599484848452", Title: "Sales Manager", Created: "2024-02-01T10:00:00Z"},
			{Email: "zoe.muller@example.com", FirstName: "Zoë", LastName: "Müller", ID: "234599484848468",
				Title: "Account Executive", Created: "2024-05-06T07:45:00Z"},
			{Email: "zoe.mueller@example.com", FirstName: "Zoë", LastName: "Müller", ID: "234599484848475",
				Title: "Sales Development Representative", Created: "2025-03-03T08:15:00Z"},
			{Email: "elodie.durand@example.com", FirstName: "Élodie", LastName: "Durand", ID: "234599484848483",
				Inactive: true, Title: "Account Executive", Created: "2023-10-02T08:00:00Z"},
		},
		Flows: []FlowDef{
			{ID: "1695493301223590792", Name: "SDR Outbound Q3", FolderID: outboundID, FolderName: outbound,
				Visibility: VisibilityCompany, WorkspaceID: workspace, CreationDate: "2024-03-05T14:12:09Z"},
			{ID: "1695493301223590801", Name: "Enterprise Nurture (exclusive)", FolderID: outboundID, FolderName: outbound,
				Visibility: VisibilityCompany, Exclusive: true, WorkspaceID: workspace, CreationDate: "2024-03-11T09:40:51Z"},
			{ID: "1702318845120411230", Name: "Webinar Follow-up", FolderID: inboundID, FolderName: inbound,
				Visibility: VisibilityCompany, WorkspaceID: workspace, CreationDate: "2024-06-20T16:03:27Z"},
			{ID: "1702318845120411245", Name: "Webinar Follow-up", FolderID: inboundID, FolderName: inbound,
				Visibility: VisibilityPersonal, OwnerEmail: ben, WorkspaceID: workspace, CreationDate: "2024-06-21T08:15:00Z"},
			{ID: "1711046208531772904", Name: "Renewal Check-in", FolderID: outboundID, FolderName: outbound,
				Visibility: VisibilityShared, OwnerEmail: chloe, SharedWith: []string{ava}, WorkspaceID: workspace,
				CreationDate: "2025-01-14T11:30:42Z"},
			{ID: "1711046208531772911", Name: "Inbound Demo Request", FolderID: inboundID, FolderName: inbound,
				Visibility: VisibilityCompany, WorkspaceID: workspace, CreationDate: "2025-02-02T13:58:16Z"},
		},
	}
}

// LoadFixture reads a Fixture from a JSON file. Unknown fields, trailing
// data and an invalid fixture (see Fixture.Validate) are errors.
func LoadFixture(path string) (Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Fixture{}, fmt.Errorf("emulator fixture: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return Fixture{}, fmt.Errorf("emulator fixture %s: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Fixture{}, fmt.Errorf("emulator fixture %s: data after the fixture object", path)
	}
	if err := f.Validate(); err != nil {
		return Fixture{}, fmt.Errorf("emulator fixture %s: %w", path, err)
	}
	return f, nil
}

// Validate checks that the fixture describes a consistent company: unique
// user emails (case-insensitive), unique all-digit flow IDs, known
// visibilities with owners and share lists that name fixture users, dates in
// RFC 3339, and Existing instances that name fixture flows, known statuses
// and no prospect open twice in one flow.
func (f Fixture) Validate() error {
	users, errs := validateUsers(f.Users)
	isUser := func(email string) bool { return users[strings.ToLower(email)] }

	flows, ferrs := validateFlows(f.Flows, isUser)
	errs = append(errs, ferrs...)

	instanceIDs := make(map[string]bool, len(f.Existing))
	open := make(map[[2]string]bool, len(f.Existing))
	for i, in := range f.Existing {
		at := fmt.Sprintf("existing[%d]", i)
		fl, ok := flows[in.FlowID]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: flowId %q is not a fixture flow", at, in.FlowID))
		}
		if in.CRMProspectID == "" {
			errs = append(errs, fmt.Errorf("%s: crmProspectId is empty", at))
		}
		if ok && in.FlowName != "" && in.FlowName != fl.Name {
			errs = append(errs, fmt.Errorf("%s: flowName %q differs from flow %s's name %q", at, in.FlowName, fl.ID, fl.Name))
		}
		if ok && in.WorkspaceID != "" && in.WorkspaceID != fl.WorkspaceID {
			errs = append(errs, fmt.Errorf("%s: workspaceId %q differs from flow %s's %q", at, in.WorkspaceID, fl.ID, fl.WorkspaceID))
		}
		if in.FlowInstanceOwnerEmail == "" {
			errs = append(errs, fmt.Errorf("%s: flowInstanceOwnerEmail is empty", at))
		}
		if in.FlowInstanceStatus != "" && !knownStatus(in.FlowInstanceStatus) {
			errs = append(errs, fmt.Errorf("%s: flowInstanceStatus %q is not a Gong status", at, in.FlowInstanceStatus))
		}
		if in.FlowInstanceID != "" {
			if !allDigits(in.FlowInstanceID) {
				errs = append(errs, fmt.Errorf("%s: flowInstanceId %q is not a string of digits", at, in.FlowInstanceID))
			} else if instanceIDs[in.FlowInstanceID] {
				errs = append(errs, fmt.Errorf("%s: duplicate flowInstanceId %s", at, in.FlowInstanceID))
			}
			instanceIDs[in.FlowInstanceID] = true
		}
		if in.FlowInstanceCreateDate != "" {
			if _, err := time.Parse(time.RFC3339, in.FlowInstanceCreateDate); err != nil {
				errs = append(errs, fmt.Errorf("%s: flowInstanceCreateDate: %w", at, err))
			}
		}
		if in.FlowInstanceStatus == "" || isOpen(in.FlowInstanceStatus) {
			key := [2]string{in.FlowID, in.CRMProspectID}
			if open[key] {
				errs = append(errs, fmt.Errorf("%s: prospect %s is already open in flow %s", at, in.CRMProspectID, in.FlowID))
			}
			open[key] = true
		}
	}
	return errors.Join(errs...)
}

// validateFlows checks the flows and returns them by ID.
func validateFlows(list []FlowDef, isUser func(string) bool) (map[string]FlowDef, []error) {
	var errs []error
	flows := make(map[string]FlowDef, len(list))
	for i, fl := range list {
		at := fmt.Sprintf("flows[%d] (%s)", i, fl.ID)
		if !allDigits(fl.ID) {
			errs = append(errs, fmt.Errorf("%s: id must be a non-empty string of digits", at))
		} else if _, dup := flows[fl.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate flow id", at))
		}
		flows[fl.ID] = fl
		if fl.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is empty", at))
		}
		switch fl.Visibility {
		case VisibilityCompany:
			if fl.OwnerEmail != "" || len(fl.SharedWith) > 0 {
				errs = append(errs, fmt.Errorf("%s: a Company flow has no ownerEmail or sharedWith", at))
			}
		case VisibilityPersonal, VisibilityShared:
			if !isUser(fl.OwnerEmail) {
				errs = append(errs, fmt.Errorf("%s: ownerEmail %q is not a fixture user", at, fl.OwnerEmail))
			}
			if fl.Visibility == VisibilityPersonal && len(fl.SharedWith) > 0 {
				errs = append(errs, fmt.Errorf("%s: a Personal flow has no sharedWith", at))
			}
			for _, e := range fl.SharedWith {
				if !isUser(e) {
					errs = append(errs, fmt.Errorf("%s: sharedWith %q is not a fixture user", at, e))
				}
			}
		default:
			errs = append(errs, fmt.Errorf("%s: visibility %q is not Company, Personal or Shared", at, fl.Visibility))
		}
		if fl.WorkspaceID != "" && !allDigits(fl.WorkspaceID) {
			errs = append(errs, fmt.Errorf("%s: workspaceId %q is not a string of digits", at, fl.WorkspaceID))
		}
		if fl.CreationDate != "" {
			if _, err := time.Parse(time.RFC3339, fl.CreationDate); err != nil {
				errs = append(errs, fmt.Errorf("%s: creationDate: %w", at, err))
			}
		}
	}
	return flows, errs
}

// validateUsers checks the users and returns the set of their lowercased
// emails (aliases not included).
func validateUsers(list []User) (map[string]bool, []error) {
	var errs []error
	users := make(map[string]bool, len(list))
	addresses := make(map[string]bool, len(list)) // emails and aliases
	userIDs := make(map[string]bool, len(list))
	for i, u := range list {
		key := strings.ToLower(u.Email)
		switch {
		case !strings.Contains(u.Email, "@"):
			errs = append(errs, fmt.Errorf("users[%d]: email %q is not an email address", i, u.Email))
		case addresses[key]:
			errs = append(errs, fmt.Errorf("users[%d]: duplicate email %q", i, u.Email))
		}
		users[key], addresses[key] = true, true
		for _, a := range u.EmailAliases {
			if k := strings.ToLower(a); !strings.Contains(a, "@") || addresses[k] {
				errs = append(errs, fmt.Errorf("users[%d]: alias %q is not an email address, or not unique", i, a))
			} else {
				addresses[k] = true
			}
		}
		if u.FullName == "" && u.FirstName == "" && u.LastName == "" {
			errs = append(errs, fmt.Errorf("users[%d]: no name", i))
		}
		if u.ID != "" && (!allDigits(u.ID) || userIDs[u.ID]) {
			errs = append(errs, fmt.Errorf("users[%d]: id %q is not a string of digits, or not unique", i, u.ID))
		}
		userIDs[u.ID] = true
		if u.Created != "" {
			if _, err := time.Parse(time.RFC3339, u.Created); err != nil {
				errs = append(errs, fmt.Errorf("users[%d]: created: %w", i, err))
			}
		}
	}
	return users, errs
}

// clone is a deep copy.
func (f Fixture) clone() Fixture {
	out := Fixture{
		Users:    slices.Clone(f.Users),
		Flows:    slices.Clone(f.Flows),
		Existing: slices.Clone(f.Existing),
	}
	for i := range out.Users {
		out.Users[i].EmailAliases = slices.Clone(out.Users[i].EmailAliases)
	}
	for i := range out.Flows {
		out.Flows[i].SharedWith = slices.Clone(out.Flows[i].SharedWith)
	}
	return out
}

// allDigits reports whether s is a non-empty string of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
