package input

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExportHeaders(t *testing.T) {
	tests := []struct {
		name, header string
		want         map[string]string
		wantExtra    []string
	}{
		{
			name:   "Salesforce Id",
			header: "Id,Flow ID,Owner Email",
			want:   map[string]string{ColCRMProspectID: "Id", ColFlowID: "Flow ID", ColOwnerEmail: "Owner Email"},
		},
		{
			name:      "Id and Contact owner give way to stronger aliases",
			header:    "Id,Contact ID,Flow ID,Contact owner,Contact Owner Email",
			want:      map[string]string{ColCRMProspectID: "Contact ID", ColFlowID: "Flow ID", ColOwnerEmail: "Contact Owner Email"},
			wantExtra: []string{"Id", "Contact owner"},
		},
		{
			name:      "HubSpot contacts export",
			header:    "Record ID,First Name,Contact owner,Sequence",
			want:      map[string]string{ColCRMProspectID: "Record ID", ColFlowName: "Sequence", ColOwnerEmail: "Contact owner"},
			wantExtra: []string{"First Name"},
		},
		{
			name:   "HubSpot Owner Email",
			header: "Record ID,HubSpot Owner Email,Flow ID",
			want:   map[string]string{ColCRMProspectID: "Record ID", ColFlowID: "Flow ID", ColOwnerEmail: "HubSpot Owner Email"},
		},
		{
			name:      "Salesforce report: Lead Owner",
			header:    "Lead ID,Lead Owner,Flow Name,OwnerId",
			want:      map[string]string{ColCRMProspectID: "Lead ID", ColFlowName: "Flow Name", ColOwnerEmail: "Lead Owner"},
			wantExtra: []string{"OwnerId"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader(strings.NewReader(tt.header+"\n"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rd.Columns()); diff != "" {
				t.Errorf("Columns (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantExtra, rd.ExtraHeaders()); diff != "" {
				t.Errorf("ExtraHeaders (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeaderSuggestions(t *testing.T) {
	tests := []struct {
		name, header string
		m            map[string]string
		want         map[string]string
		wantErr      string
	}{
		{
			name:    "a --map header misspelt",
			header:  "Contact ID,Flow Reference,Owner Email",
			m:       map[string]string{ColFlowID: "Flow Refrence"},
			want:    map[string]string{ColFlowID: "Flow Reference"},
			wantErr: `in.csv: line 1: --map flowId="Flow Refrence": no such header; if "Flow Reference" is flowId, add --map flowId="Flow Reference"; found headers: "Contact ID", "Flow Reference", "Owner Email"`,
		},
		{
			name:    "a typo in the ID header",
			header:  "Contcat ID,Flow ID,Owner Email",
			want:    map[string]string{ColCRMProspectID: "Contcat ID"},
			wantErr: `in.csv: line 1: missing column(s) crmProspectId; if "Contcat ID" is crmProspectId, add --map crmProspectId="Contcat ID"; found headers: "Contcat ID", "Flow ID", "Owner Email"`,
		},
		{
			name:    "a typo in the flow name header",
			header:  "Contact ID,Flwo Name,Owner",
			want:    map[string]string{ColFlowName: "Flwo Name"},
			wantErr: `in.csv: line 1: missing column(s) flowId (or flowName); if "Flwo Name" is flowName, add --map flowName="Flwo Name"; found headers: "Contact ID", "Flwo Name", "Owner"`,
		},
		{
			name:    "a typo in the owner header",
			header:  "Contact ID,Flow ID,Ownr Emial",
			want:    map[string]string{ColOwnerEmail: "Ownr Emial"},
			wantErr: `in.csv: line 1: missing column(s) flowInstanceOwnerEmail; if "Ownr Emial" is flowInstanceOwnerEmail, add --map flowInstanceOwnerEmail="Ownr Emial"; found headers: "Contact ID", "Flow ID", "Ownr Emial"`,
		},
		{
			name:    "nothing close: no suggestion, and Email is never offered as the owner",
			header:  "Name,Email,Company",
			wantErr: `in.csv: line 1: missing column(s) crmProspectId, flowId (or flowName), flowInstanceOwnerEmail; found headers: "Name", "Email", "Company"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.header+"\n"), Options{Name: "in.csv", Map: tt.m})
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("err %v, want a *HeaderError", err)
			}
			if diff := cmp.Diff(tt.want, he.Suggest); diff != "" {
				t.Errorf("Suggest (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}
