package input

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// TestPeopleWithoutCRMID: a webinar export (no CRM ID column) is read as
// people; a file with both kinds sends a row with an ID by its ID.
func TestPeopleWithoutCRMID(t *testing.T) {
	const flow = "1695493301223590792"
	tests := []struct {
		name     string
		input    string
		want     []*outcome.Person // nil: a row sent by CRM ID
		wantRejs []string          // codes
	}{
		{name: "webinar export", input: "First Name,Last Name,Email,Company,Job Title,flowId,Owner Email\n" +
			"Pat,Lee,pat@acme.example,Acme,CTO," + flow + ",ava@example.com\n" +
			"Sam,,sam@acme.example,Acme,," + flow + ",ava@example.com\n" +
			"Kim,Park,not-an-email,,," + flow + ",ava@example.com\n",
			want:     []*outcome.Person{{Email: "pat@acme.example", FirstName: "Pat", LastName: "Lee", CompanyName: "Acme", JobTitle: "CTO"}},
			wantRejs: []string{outcome.CodeMissingValue, outcome.CodeInvalidEmail}},
		{name: "mixed", input: "crmProspectId,flowId,flowInstanceOwnerEmail,firstName,lastName,email\n" +
			"003A," + flow + ",ava@example.com,Pat,Lee,pat@acme.example\n" +
			"," + flow + ",ava@example.com,Sam,Roe,sam@acme.example\n" +
			"," + flow + ",ava@example.com,,,\n",
			want:     []*outcome.Person{nil, {Email: "sam@acme.example", FirstName: "Sam", LastName: "Roe"}},
			wantRejs: []string{outcome.CodeMissingValue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps, rejs, err := readAll(t, strings.NewReader(tt.input), Options{Name: "webinar.csv"})
			if err != nil {
				t.Fatal(err)
			}
			var got []*outcome.Person
			for _, p := range ps {
				got = append(got, p.Person)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("people (-want +got):\n%s", diff)
			}
			var codes []string
			for _, r := range rejs {
				codes = append(codes, r.Code)
			}
			if diff := cmp.Diff(tt.wantRejs, codes); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
		})
	}
}
