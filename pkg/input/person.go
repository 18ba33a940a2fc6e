package input

import (
	"fmt"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// Columns of a person without a CRM ID (an event or webinar list), as the
// contract spells them: a row with no crmProspectId but with email,
// firstName and lastName goes through Gong's bulk assignment.
const (
	ColEmail        = "email"
	ColFirstName    = "firstName"
	ColLastName     = "lastName"
	ColCompanyName  = "companyName"
	ColJobTitle     = "jobTitle"
	ColLinkedInURL  = "linkedInUrl"
	ColAccountCRMID = "accountCrmId"
)

// personFields are the person columns in a fixed order.
func personFields() []string {
	return []string{ColEmail, ColFirstName, ColLastName, ColCompanyName, ColJobTitle, ColLinkedInURL, ColAccountCRMID}
}

// PersonAliases returns the headers accepted for each person column.
// Matching ignores case, spaces, '_' and '-'. These columns are still
// carried into the result files as the input's own columns.
func PersonAliases() map[string][]string {
	return map[string][]string{
		ColEmail:        {"email", "Email", "Email Address", "E-mail", "E-mail Address", "Work Email", "Business Email", "Contact Email", "Prospect Email", "Attendee Email", "Registrant Email"},
		ColFirstName:    {"firstName", "First Name", "Given Name", "First", "Forename"},
		ColLastName:     {"lastName", "Last Name", "Surname", "Family Name", "Last"},
		ColCompanyName:  {"companyName", "Company", "Company Name", "Organization", "Organisation", "Account Name"},
		ColJobTitle:     {"jobTitle", "Title", "Job Title", "Position"},
		ColLinkedInURL:  {"linkedInUrl", "LinkedIn", "LinkedIn URL", "LinkedIn Profile", "LinkedIn Profile URL"},
		ColAccountCRMID: {"accountCrmId", "Account CRM ID", "Account ID", "Salesforce Account ID"},
	}
}

// personCols is the cell index of each person column (personFields
// order), -1 if absent.
type personCols [7]int

// findPerson finds the person columns among the headers no canonical
// column took; the first header of an alias wins.
func findPerson(header []string, idx [numColumns]int) personCols {
	taken := map[int]bool{}
	for _, i := range idx {
		taken[i] = true
	}
	aliases := PersonAliases()
	var pc personCols
	for f, name := range personFields() {
		pc[f] = -1
		want := map[string]bool{}
		for _, a := range aliases[name] {
			want[normalize(a)] = true
		}
		for i, h := range header {
			if !taken[i] && want[normalize(h)] {
				pc[f], taken[i] = i, true
				break
			}
		}
	}
	return pc
}

// usable reports whether the header names a person: email, first and
// last name.
func (pc personCols) usable() bool { return pc[0] >= 0 && pc[1] >= 0 && pc[2] >= 0 }

// of reads the person of a row; nil when the header names none.
func (pc personCols) of(fields []string) *outcome.Person {
	if !pc.usable() {
		return nil
	}
	var v [7]string
	for f, i := range pc {
		if i >= 0 && i < len(fields) {
			v[f] = clean(fields[i])
		}
	}
	return &outcome.Person{Email: v[0], FirstName: v[1], LastName: v[2], CompanyName: v[3], JobTitle: v[4], LinkedInURL: v[5], AccountCRMID: v[6]}
}

// personProblem says what a row without a CRM ID lacks to be a person, or
// "" if it is one.
func (r *Reader) personProblem(p *outcome.Person) (string, string) {
	switch {
	case p == nil:
		return "", ""
	case p.Email == "" || p.FirstName == "" || p.LastName == "":
		return outcome.CodeMissingValue, "missing value: a row without a crmProspectId needs email, firstName and lastName (it is then sent as a person, and Gong finds or creates the CRM record)"
	case !isEmail(p.Email):
		return outcome.CodeInvalidEmail, fmt.Sprintf("%q is not an email address (the person's email)", p.Email)
	}
	return "", ""
}
