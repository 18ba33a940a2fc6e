package input

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/google/go-cmp/cmp"
)

// readAll reads r to the end and returns everything it reported; err is
// the NewReader error or the first error other than io.EOF.
func readAll(t *testing.T, r io.Reader, opts Options) (cols map[string]string, ps []Prospect, rejs []*Rejection, err error) {
	t.Helper()
	rd, err := NewReader(r, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	for {
		p, rej, err := rd.Next()
		switch {
		case err == io.EOF:
			return rd.Columns(), ps, rejs, nil
		case err != nil:
			return rd.Columns(), ps, rejs, err
		case rej != nil:
			rejs = append(rejs, rej)
		default:
			ps = append(ps, p)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestHeader(t *testing.T) {
	const row = "\n1,2,3,4,5\n"
	tests := []struct {
		name    string
		header  string
		m       map[string]string
		want    map[string]string
		wantErr string
		// wantHeaderErr, when set, is compared with the *HeaderError.
		wantHeaderErr *HeaderError
	}{
		{
			name:   "canonical",
			header: "crmProspectId,flowId,flowInstanceOwnerEmail,flowName",
			want:   map[string]string{ColCRMProspectID: "crmProspectId", ColFlowID: "flowId", ColOwnerEmail: "flowInstanceOwnerEmail", ColFlowName: "flowName"},
		},
		{
			name:   "aliases",
			header: "CRM ID,Flow ID,Owner Email",
			want:   map[string]string{ColCRMProspectID: "CRM ID", ColFlowID: "Flow ID", ColOwnerEmail: "Owner Email"},
		},
		{
			name:   "case spaces underscores dashes",
			header: "crm_prospect_id, FLOW-ID ,flow owner EMAIL",
			want:   map[string]string{ColCRMProspectID: "crm_prospect_id", ColFlowID: "FLOW-ID", ColOwnerEmail: "flow owner EMAIL"},
		},
		{
			name:   "flow name instead of flow id",
			header: "Lead ID,Sequence,Owner",
			want:   map[string]string{ColCRMProspectID: "Lead ID", ColFlowName: "Sequence", ColOwnerEmail: "Owner"},
		},
		{
			name:   "other columns ignored and Email is not the owner",
			header: "First Name,Email,Salesforce ID,Flow,Flow Instance Owner Email,Notes",
			want:   map[string]string{ColCRMProspectID: "Salesforce ID", ColFlowName: "Flow", ColOwnerEmail: "Flow Instance Owner Email"},
		},
		{
			name:   "more aliases",
			header: "HubSpot ID,Sequence ID,Flow Owner,Sequence Name",
			want:   map[string]string{ColCRMProspectID: "HubSpot ID", ColFlowID: "Sequence ID", ColOwnerEmail: "Flow Owner", ColFlowName: "Sequence Name"},
		},
		{
			name:    "only Email for the owner",
			header:  "Contact ID,Flow,Email",
			wantErr: `prospects.csv: line 1: missing column(s) flowInstanceOwnerEmail; found headers: "Contact ID", "Flow", "Email"`,
			wantHeaderErr: &HeaderError{
				Name: "prospects.csv", Line: 1,
				Missing: []string{ColOwnerEmail},
				Found:   []string{"Contact ID", "Flow", "Email"},
			},
		},
		{
			name:    "nothing known",
			header:  "Name, Email ,Company",
			wantErr: `prospects.csv: line 1: missing column(s) crmProspectId, flowId (or flowName), flowInstanceOwnerEmail; found headers: "Name", "Email", "Company"`,
		},
		{
			name:    "ambiguous",
			header:  "Contact ID,Lead ID,Flow ID,Owner",
			wantErr: `prospects.csv: line 1: column crmProspectId matches several headers: "Contact ID", "Lead ID" (pick one with --map crmProspectId=HEADER); found headers: "Contact ID", "Lead ID", "Flow ID", "Owner"`,
			wantHeaderErr: &HeaderError{
				Name: "prospects.csv", Line: 1,
				Ambiguous: map[string][]string{ColCRMProspectID: {"Contact ID", "Lead ID"}},
				Found:     []string{"Contact ID", "Lead ID", "Flow ID", "Owner"},
			},
		},
		{
			name:    "two flow ID columns",
			header:  "Contact ID,Flow ID,Sequence ID,Owner Email",
			wantErr: `prospects.csv: line 1: column flowId matches several headers: "Flow ID", "Sequence ID" (pick one with --map flowId=HEADER); found headers: "Contact ID", "Flow ID", "Sequence ID", "Owner Email"`,
			wantHeaderErr: &HeaderError{
				Name: "prospects.csv", Line: 1,
				Ambiguous: map[string][]string{ColFlowID: {"Flow ID", "Sequence ID"}},
				Found:     []string{"Contact ID", "Flow ID", "Sequence ID", "Owner Email"},
			},
		},
		{
			name:    "Salesforce's 15- and 18-character ID columns",
			header:  "Contact ID,Contact ID (18),Flow ID,Contact Owner Email",
			wantErr: `prospects.csv: line 1: column crmProspectId matches several headers: "Contact ID", "Contact ID (18)" (pick one with --map crmProspectId=HEADER); found headers: "Contact ID", "Contact ID (18)", "Flow ID", "Contact Owner Email"`,
		},
		{
			name:   "CRM export headers",
			header: "Record ID,First Name,Email,Gong Engage Flow ID,Record Owner Email",
			want:   map[string]string{ColCRMProspectID: "Record ID", ColFlowID: "Gong Engage Flow ID", ColOwnerEmail: "Record Owner Email"},
		},
		{
			name:    "same column twice",
			header:  "flowId,crmProspectId,Flow ID,Owner",
			wantErr: `prospects.csv: line 1: column flowId matches several headers: "flowId", "Flow ID" (pick one with --map flowId=HEADER); found headers: "flowId", "crmProspectId", "Flow ID", "Owner"`,
		},
		{
			name:    "ambiguous and missing",
			header:  "Owner,Flow Owner,Flow ID",
			wantErr: `prospects.csv: line 1: missing column(s) crmProspectId; column flowInstanceOwnerEmail matches several headers: "Owner", "Flow Owner" (pick one with --map flowInstanceOwnerEmail=HEADER); found headers: "Owner", "Flow Owner", "Flow ID"`,
		},
		{
			name:   "map picks one of two",
			header: "Contact ID,Lead ID,Flow ID,Owner",
			m:      map[string]string{ColCRMProspectID: "Lead ID"},
			want:   map[string]string{ColCRMProspectID: "Lead ID", ColFlowID: "Flow ID", ColOwnerEmail: "Owner"},
		},
		{
			name:   "map names any header, matched loosely",
			header: "Prospect Ref,Cadence,Rep",
			m:      map[string]string{ColCRMProspectID: "prospect ref", ColFlowID: "Cadence", ColOwnerEmail: "REP"},
			want:   map[string]string{ColCRMProspectID: "Prospect Ref", ColFlowID: "Cadence", ColOwnerEmail: "Rep"},
		},
		{
			name:   "map exact match wins over a loose one",
			header: "Rep,R E P,Flow ID,CRM ID",
			m:      map[string]string{ColOwnerEmail: "R E P"},
			want:   map[string]string{ColCRMProspectID: "CRM ID", ColFlowID: "Flow ID", ColOwnerEmail: "R E P"},
		},
		{
			name:   "map takes a header away from its alias",
			header: "Owner,Owner Email,Flow ID",
			m:      map[string]string{ColCRMProspectID: "Owner"},
			want:   map[string]string{ColCRMProspectID: "Owner", ColFlowID: "Flow ID", ColOwnerEmail: "Owner Email"},
		},
		{
			name:    "map header not in file",
			header:  "CRM ID,Flow ID,Owner",
			m:       map[string]string{ColFlowID: "Flow Ref"},
			wantErr: `prospects.csv: line 1: --map flowId="Flow Ref": no such header; found headers: "CRM ID", "Flow ID", "Owner"`,
			wantHeaderErr: &HeaderError{
				Name: "prospects.csv", Line: 1,
				NotFound: map[string]string{ColFlowID: "Flow Ref"},
				Found:    []string{"CRM ID", "Flow ID", "Owner"},
			},
		},
		{
			name:    "map header twice in the file",
			header:  "Ref,Flow ID,Ref,Owner",
			m:       map[string]string{ColCRMProspectID: "Ref"},
			wantErr: `prospects.csv: line 1: column crmProspectId matches several headers: "Ref", "Ref" (pick one with --map crmProspectId=HEADER); found headers: "Ref", "Flow ID", "Ref", "Owner"`,
		},
		{
			name:    "map with an empty header",
			header:  "CRM ID,Flow ID,Owner",
			m:       map[string]string{ColFlowID: " "},
			wantErr: `column map: no header given for flowId`,
		},
		{
			name:    "unknown map key",
			header:  "CRM ID,Flow ID,Owner",
			m:       map[string]string{"flow_id": "Flow ID"},
			wantErr: `column map: unknown column "flow_id" (want crmProspectId, flowId, flowInstanceOwnerEmail or flowName)`,
		},
		{
			name:   "BOM",
			header: "\ufeffcrmProspectId,flowId,flowInstanceOwnerEmail",
			want:   map[string]string{ColCRMProspectID: "crmProspectId", ColFlowID: "flowId", ColOwnerEmail: "flowInstanceOwnerEmail"},
		},
		{
			name:    "header after blank lines",
			header:  "\n\nName,Email",
			wantErr: `prospects.csv: line 3: missing column(s) crmProspectId, flowId (or flowName), flowInstanceOwnerEmail; found headers: "Name", "Email"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols, _, _, err := readAll(t, strings.NewReader(tt.header+row), Options{Name: "prospects.csv", Map: tt.m})
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, cols); diff != "" {
				t.Errorf("Columns() (-want +got):\n%s", diff)
			}
			if tt.wantHeaderErr != nil {
				var he *HeaderError
				if !errors.As(err, &he) {
					t.Fatalf("error %T is not a *HeaderError", err)
				}
				if diff := cmp.Diff(tt.wantHeaderErr, he); diff != "" {
					t.Errorf("HeaderError (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRows(t *testing.T) {
	const hdr = "Contact ID,Flow ID,Owner Email,Notes\n"
	x400 := strings.Repeat("x", 400)
	tests := []struct {
		name    string
		input   string
		want    []Prospect
		wantRej []*Rejection
		wantErr string
	}{
		{
			// A run with nothing to do, not an error.
			name:  "header only",
			input: hdr,
		},
		{
			name:  "header only without newline",
			input: strings.TrimSuffix(hdr, "\n"),
		},
		{
			// Blank rows after the last real row are the end of the file.
			// The empty line is not a row; rows of blank cells are rows.
			name:  "header and blank rows only",
			input: hdr + "\n,,,\r\n \n",
			wantRej: []*Rejection{
				{Line: 3, Code: outcome.CodeBlankRow, Message: "prospects.csv:3: blank row: every cell is empty; fill it in or delete the row", Extra: []string{""}},
				{Line: 4, Code: outcome.CodeBlankRow, Message: "prospects.csv:4: blank row: every cell is empty; fill it in or delete the row", Extra: []string{""}},
			},
		},
		{
			name:  "valid rows",
			input: hdr + "003A,1234567890123456789,bob@example.com,x\n003B,42,Ann.Lee@Example.co.uk,\n",
			want: []Prospect{
				{Line: 2, CRMProspectID: "003A", FlowID: "1234567890123456789", OwnerEmail: "bob@example.com"},
				{Line: 3, CRMProspectID: "003B", FlowID: "42", OwnerEmail: "Ann.Lee@Example.co.uk"},
			},
		},
		{
			name: "line numbers with multi-line cells, blank lines and CRLF",
			input: hdr +
				"\n" + // 2: blank
				"003A,1,a@example.com,\"two\nlines\"\r\n" + // 3-4
				"\r\n" + // 5: blank
				"\"003\nB\",2,b@example.com,\n" + // 6-7
				",,,\n" + // 8: all cells blank: a BlankRow
				"003C,3,c@example.com,\"\n\n\n\"\n" + // 9-12
				"003D,4,d@example.com", // 13, no final newline
			want: []Prospect{
				{Line: 3, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "a@example.com"},
				{Line: 6, CRMProspectID: "003\nB", FlowID: "2", OwnerEmail: "b@example.com"},
				{Line: 9, CRMProspectID: "003C", FlowID: "3", OwnerEmail: "c@example.com"},
				{Line: 13, CRMProspectID: "003D", FlowID: "4", OwnerEmail: "d@example.com"},
			},
			wantRej: []*Rejection{
				{Line: 8, Code: outcome.CodeBlankRow, Message: "prospects.csv:8: blank row: every cell is empty; fill it in or delete the row"},
			},
		},
		{
			name:  "trimming",
			input: hdr + " 003A\t,\t 77 , bob@example.com ,\n\" 003B \",\" 78\",\"\tbob@example.com\",\n",
			want: []Prospect{
				{Line: 2, CRMProspectID: "003A", FlowID: "77", OwnerEmail: "bob@example.com"},
				{Line: 3, CRMProspectID: "003B", FlowID: "78", OwnerEmail: "bob@example.com"},
			},
		},
		{
			name:  "formula neutralisation undone",
			input: hdr + "'=003A,'+1,'@x@example.com,\n'-7,1,bob@example.com,\n''=x,1,bob@example.com,\n'003,1,bob@example.com,\n",
			want: []Prospect{
				{Line: 3, CRMProspectID: "-7", FlowID: "1", OwnerEmail: "bob@example.com"},
				{Line: 4, CRMProspectID: "''=x", FlowID: "1", OwnerEmail: "bob@example.com"},
				{Line: 5, CRMProspectID: "'003", FlowID: "1", OwnerEmail: "bob@example.com"},
			},
			wantRej: []*Rejection{{
				Line: 2, CRMProspectID: "=003A", FlowID: "+1", OwnerEmail: "@x@example.com",
				Column: ColFlowID, Code: outcome.CodeInvalidFlowID,
				Message: `prospects.csv:2: column flowId ("Flow ID"): "+1" is not a flow ID (digits only)`,
			}},
		},
		{
			name:  "missing crmProspectId",
			input: hdr + " ,1,bob@example.com,x\n",
			wantRej: []*Rejection{{
				Line: 2, FlowID: "1", OwnerEmail: "bob@example.com",
				Column: ColCRMProspectID, Code: outcome.CodeMissingValue,
				Message: `prospects.csv:2: column crmProspectId ("Contact ID"): missing value`,
			}},
		},
		{
			name:  "missing flowId",
			input: hdr + "003A,,bob@example.com\n",
			wantRej: []*Rejection{{
				Line: 2, CRMProspectID: "003A", OwnerEmail: "bob@example.com",
				Column: ColFlowID, Code: outcome.CodeMissingValue,
				Message: `prospects.csv:2: column flowId ("Flow ID"): missing value`,
			}},
		},
		{
			name:  "invalid flowId",
			input: hdr + "003A,12 34,bob@example.com\n003B,123456789012345678901,bob@example.com\n003C,1.23457E+18,bob@example.com\n003D,-1,\n",
			wantRej: []*Rejection{
				{
					Line: 2, CRMProspectID: "003A", FlowID: "12 34", OwnerEmail: "bob@example.com",
					Column: ColFlowID, Code: outcome.CodeInvalidFlowID,
					Message: `prospects.csv:2: column flowId ("Flow ID"): "12 34" is not a flow ID (digits only)`,
				},
				{
					Line: 3, CRMProspectID: "003B", FlowID: "123456789012345678901", OwnerEmail: "bob@example.com",
					Column: ColFlowID, Code: outcome.CodeInvalidFlowID,
					Message: `prospects.csv:3: column flowId ("Flow ID"): "123456789012345678901" is not a flow ID (digits only, at most 20)`,
				},
				{
					Line: 4, CRMProspectID: "003C", FlowID: "1.23457E+18", OwnerEmail: "bob@example.com",
					Column: ColFlowID, Code: outcome.CodeScientificNotation,
					Message: `prospects.csv:4: column flowId ("Flow ID"): "1.23457E+18" is in scientific notation: a spreadsheet read the ID as a number and kept 6 digits of it, which cannot be undone from this file; ` + reexport,
				},
				{
					// The flow column is checked before the owner.
					Line: 5, CRMProspectID: "003D", FlowID: "-1",
					Column: ColFlowID, Code: outcome.CodeInvalidFlowID,
					Message: `prospects.csv:5: column flowId ("Flow ID"): "-1" is not a flow ID (digits only)`,
				},
			},
		},
		{
			name:  "missing owner",
			input: hdr + "003A,1,,note\n",
			wantRej: []*Rejection{{
				Line: 2, CRMProspectID: "003A", FlowID: "1",
				Column: ColOwnerEmail, Code: outcome.CodeMissingValue,
				Message: `prospects.csv:2: column flowInstanceOwnerEmail ("Owner Email"): missing value`,
			}},
		},
		{
			name: "invalid owner",
			input: hdr +
				"003A,1,bob@,\n" +
				"003B,1,Bob <bob@example.com>,\n" +
				"003C,1,bob@example,\n" +
				"003D,1,bob,\n" +
				"003E,1,bob@example.com.,\n" +
				"003F,1,bob@example.com (Bob),\n" +
				"003G,1,bob@@example.com,\n",
			wantRej: []*Rejection{
				{Line: 2, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "bob@", Column: ColOwnerEmail, Code: outcome.CodeInvalidEmail, Message: `prospects.csv:2: column flowInstanceOwnerEmail ("Owner Email"): "bob@" is not an email address`},
				{Line: 3, CRMProspectID: "003B", FlowID: "1", OwnerEmail: "Bob <bob@example.com>", Column: ColOwnerEmail, Code: outcome.CodeInvalidEmail, Message: `prospects.csv:3: column flowInstanceOwnerEmail ("Owner Email"): "Bob <bob@example.com>" is not an email address`},
				{Line: 4, CRMProspectID: "003C", FlowID: "1", OwnerEmail: "bob@example", Column: ColOwnerEmail, Code: outcome.CodeInvalidEmail, Message: `prospects.csv:4: column flowInstanceOwnerEmail ("Owner Email"): "bob@example" is not an email address`},
				{Line: 5, CRMProspectID: "003D", FlowID: "1", OwnerEmail: "bob", Column: ColOwnerEmail, Code: outcome.CodeInvalidEmail, Message: `prospects.csv:5: column flowInstanceOwnerEmail ("Owner Email"): "bob" is not an email address`},
				{Line: 6, CRMProspectID: "003E", FlowID: "1", OwnerEmail: "bob@example.com.", Column: ColOwnerEmail, Code: outcome.CodeInvalidEmail, Message: `prospects.csv:6: column flowInstanceOwnerEmail ("Owner Email"): "bob@example.com." is not an email address`},
				{Line: 7, CRMProspectID: "003F", FlowID: "1", OwnerEmail: "bob@example.com (Bob)", Column: ColOwnerEmail, Code: outcome.CodeInvalidEmail, Message: `prospects.csv:7: column flowInstanceOwnerEmail ("Owner Email"): "bob@example.com (Bob)" is not an email address`},
				{Line: 8, CRMProspectID: "003G", FlowID: "1", OwnerEmail: "bob@@example.com", Column: ColOwnerEmail, Code: outcome.CodeInvalidEmail, Message: `prospects.csv:8: column flowInstanceOwnerEmail ("Owner Email"): "bob@@example.com" is not an email address`},
			},
		},
		{
			name:  "short rows",
			input: hdr + "003A,1\n003B\n003C,1,\n",
			wantRej: []*Rejection{
				{Line: 2, CRMProspectID: "003A", FlowID: "1", Code: outcome.CodeMalformedRow, Message: `prospects.csv:2: malformed row: it has 2 cells and the header 4: it ends before column flowInstanceOwnerEmail ("Owner Email"); is a line break inside a cell not quoted?`},
				{Line: 3, CRMProspectID: "003B", Code: outcome.CodeMalformedRow, Message: `prospects.csv:3: malformed row: it has 1 cell and the header 4: it ends before column flowId ("Flow ID"); is a line break inside a cell not quoted?`},
				// Three cells reach every column read: only the owner is empty.
				{Line: 4, CRMProspectID: "003C", FlowID: "1", Column: ColOwnerEmail, Code: outcome.CodeMissingValue, Message: `prospects.csv:4: column flowInstanceOwnerEmail ("Owner Email"): missing value`},
			},
		},
		{
			// Excel leaves out the trailing empty cells of some rows.
			name:  "short rows that reach every column read are fine",
			input: hdr + "003A,1,bob@example.com\n",
			want:  []Prospect{{Line: 2, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "bob@example.com"}},
		},
		{
			name:  "long rows: blank extra cells are fine, others are not",
			input: hdr + "003A,1,bob@example.com,x,, ,\n003B,2,bob@example.com,Smith, John\n",
			want:  []Prospect{{Line: 2, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "bob@example.com"}},
			wantRej: []*Rejection{{
				Line: 3, CRMProspectID: "003B", FlowID: "2", OwnerEmail: "bob@example.com",
				Code:    outcome.CodeMalformedRow,
				Message: `prospects.csv:3: malformed row: it has 5 cells and the header 4: a cell with a comma in it must be quoted`,
			}},
		},
		{
			name:  "NUL byte",
			input: hdr + "003A,1,bob@example.com,no\x00te\n003B,2,bob@example.com,\n",
			want:  []Prospect{{Line: 3, CRMProspectID: "003B", FlowID: "2", OwnerEmail: "bob@example.com"}},
			wantRej: []*Rejection{{
				Line: 2, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "bob@example.com",
				Code:    outcome.CodeMalformedRow,
				Message: `prospects.csv:2: malformed row: a NUL (zero) byte in cell 4 ("Notes"): the file is damaged or not plain text; export it again as CSV`,
			}},
		},
		{
			name:  "bare quote, reading goes on",
			input: hdr + "003A,1,bob@example.com,5\" screen\n003B,2,bob@example.com,\n",
			want:  []Prospect{{Line: 3, CRMProspectID: "003B", FlowID: "2", OwnerEmail: "bob@example.com"}},
			wantRej: []*Rejection{{
				Line: 2, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "bob@example.com",
				Code:    outcome.CodeMalformedRow,
				Message: `prospects.csv:2: malformed CSV on line 2, cell 4 ("Notes"): a " inside a cell that does not start with one; a cell with a " in it must be quoted and the " doubled, as in "5"" screen"`,
			}},
		},
		{
			name:  "quote closed wrongly on a later line",
			input: hdr + "003A,1,bob@example.com,\"a\nb\"c\n003B,2,bob@example.com,\n",
			want:  []Prospect{{Line: 4, CRMProspectID: "003B", FlowID: "2", OwnerEmail: "bob@example.com"}},
			wantRej: []*Rejection{
				{
					Line: 2, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "bob@example.com",
					Code:    outcome.CodeMalformedRow,
					Message: `prospects.csv:2: malformed CSV: the quoted cell 4 ("Notes") opened on line 2 does not end with " followed by the delimiter (comma) or the end of a line; its next " is on line 3; only line 2 is rejected, the lines after it are read as rows`,
				},
				{
					Line:    3,
					Code:    outcome.CodeMalformedRow,
					Message: `prospects.csv:3: malformed CSV on line 3, cell 1 ("Contact ID"): a " inside a cell that does not start with one; a cell with a " in it must be quoted and the " doubled, as in "5"" screen"`,
				},
			},
		},
		{
			name:  "unclosed quote at the end",
			input: hdr + "003A,1,bob@example.com,\n\"003B,2,bob@example.com,\n003C,3,bob@example.com,\n",
			want: []Prospect{
				{Line: 2, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "bob@example.com"},
				{Line: 4, CRMProspectID: "003C", FlowID: "3", OwnerEmail: "bob@example.com"},
			},
			wantRej: []*Rejection{{
				Line:    3,
				Code:    outcome.CodeMalformedRow,
				Message: `prospects.csv:3: malformed CSV: the quote that opens cell 1 ("Contact ID") on line 3 is never closed; only line 3 is rejected, the lines after it are read as rows`,
			}},
		},
		{
			// The unbalanced quote swallows lines up to the next quote, the
			// way encoding/csv reads it; those lines are rows all the same.
			name: "unbalanced quote in the middle",
			input: hdr +
				"003A,1,bob@example.com,\"Acme\n" +
				"003B,2,bob@example.com,\n" +
				"003C,3,bob@example.com,\"Smith, John\"\n" +
				"003D,4,bob@example.com,\n",
			want: []Prospect{
				{Line: 3, CRMProspectID: "003B", FlowID: "2", OwnerEmail: "bob@example.com"},
				{Line: 4, CRMProspectID: "003C", FlowID: "3", OwnerEmail: "bob@example.com"},
				{Line: 5, CRMProspectID: "003D", FlowID: "4", OwnerEmail: "bob@example.com"},
			},
			wantRej: []*Rejection{{
				Line: 2, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "bob@example.com",
				Code:    outcome.CodeMalformedRow,
				Message: `prospects.csv:2: malformed CSV: the quoted cell 4 ("Notes") opened on line 2 does not end with " followed by the delimiter (comma) or the end of a line; its next " is on line 4; only line 2 is rejected, the lines after it are read as rows`,
			}},
		},
		{
			// Balanced quotes that make a row of the wrong size across lines:
			// the first line is set aside and the rest read again.
			name: "multi-line ragged row",
			input: hdr +
				"\"003A,1,bob@example.com,\n" +
				"003B,2,bob@example.com,\"\n" +
				"003C,3,bob@example.com,\n",
			want: []Prospect{
				{Line: 4, CRMProspectID: "003C", FlowID: "3", OwnerEmail: "bob@example.com"},
			},
			wantRej: []*Rejection{
				{
					Line:    2,
					Code:    outcome.CodeMalformedRow,
					Message: `prospects.csv:2: malformed row: it has 1 cell and the header 4: it ends before column flowId ("Flow ID"); is a line break inside a cell not quoted?; only line 2 is rejected, the lines after it are read as rows`,
				},
				{
					// Its last cell opens a quote that nothing closes.
					Line: 3, CRMProspectID: "003B", FlowID: "2", OwnerEmail: "bob@example.com",
					Code:    outcome.CodeMalformedRow,
					Message: `prospects.csv:3: malformed CSV: the quote that opens cell 4 ("Notes") on line 3 is never closed; only line 3 is rejected, the lines after it are read as rows`,
				},
			},
		},
		{
			// Lines 2 and 3 make 824 bytes, line 4 would make 1224: more
			// than MaxRowBytes (1000 here).
			name:  "quoted cell open past the row limit",
			input: hdr + "003A,1,bob@example.com,\"" + strings.Repeat(x400+"\n", 3) + "003B,2,bob@example.com,\n",
			want: []Prospect{
				{Line: 5, CRMProspectID: "003B", FlowID: "2", OwnerEmail: "bob@example.com"},
			},
			wantRej: []*Rejection{
				{
					Line: 2, CRMProspectID: "003A", FlowID: "1", OwnerEmail: "bob@example.com",
					Code:    outcome.CodeMalformedRow,
					Message: `prospects.csv:2: malformed CSV: the quote that opens cell 4 ("Notes") on line 2 is still open after 1000 bytes; only line 2 is rejected, the lines after it are read as rows`,
				},
				{
					Line: 3, CRMProspectID: x400, Code: outcome.CodeMalformedRow,
					Message: `prospects.csv:3: malformed row: it has 1 cell and the header 4: it ends before column flowId ("Flow ID"); is a line break inside a cell not quoted?`,
				},
				{
					Line: 4, CRMProspectID: x400, Code: outcome.CodeMalformedRow,
					Message: `prospects.csv:4: malformed row: it has 1 cell and the header 4: it ends before column flowId ("Flow ID"); is a line break inside a cell not quoted?`,
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps, rejs, err := readAll(t, strings.NewReader(tt.input), Options{Name: "prospects.csv", MaxRowBytes: 1000})
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, ps, ignoreExtra()); diff != "" {
				t.Errorf("prospects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRej, rejs, ignoreExtra()); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlowColumns(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []Prospect
		wantRej []*Rejection
	}{
		{
			name:  "flow name only",
			input: "CRM ID,Flow,Owner\n003A,Q3 Outbound,bob@example.com\n003B,,bob@example.com\n",
			want:  []Prospect{{Line: 2, CRMProspectID: "003A", FlowName: "Q3 Outbound", OwnerEmail: "bob@example.com"}},
			wantRej: []*Rejection{{
				Line: 3, CRMProspectID: "003B", OwnerEmail: "bob@example.com",
				Column: ColFlowName, Code: outcome.CodeMissingValue,
				Message: `in.csv:3: column flowName ("Flow"): missing value`,
			}},
		},
		{
			name:  "flow id or name",
			input: "crmProspectId,flowId,flowName,flowInstanceOwnerEmail\n1,,Q3,bob@example.com\n2,7,,bob@example.com\n3,8,Q3,bob@example.com\n4,,,bob@example.com\n5,x,Q3,bob@example.com\n",
			want: []Prospect{
				{Line: 2, CRMProspectID: "1", FlowName: "Q3", OwnerEmail: "bob@example.com"},
				{Line: 3, CRMProspectID: "2", FlowID: "7", OwnerEmail: "bob@example.com"},
				{Line: 4, CRMProspectID: "3", FlowID: "8", FlowName: "Q3", OwnerEmail: "bob@example.com"},
			},
			wantRej: []*Rejection{
				{
					Line: 5, CRMProspectID: "4", OwnerEmail: "bob@example.com",
					Column: ColFlowID, Code: outcome.CodeMissingValue,
					Message: `in.csv:5: column flowId or column flowName: missing value`,
				},
				{
					Line: 6, CRMProspectID: "5", FlowID: "x", FlowName: "Q3", OwnerEmail: "bob@example.com",
					Column: ColFlowID, Code: outcome.CodeInvalidFlowID,
					Message: `in.csv:6: column flowId: "x" is not a flow ID (digits only)`,
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps, rejs, err := readAll(t, strings.NewReader(tt.input), Options{Name: "in.csv"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ps, ignoreExtra()); diff != "" {
				t.Errorf("prospects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRej, rejs, ignoreExtra()); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
		})
	}
}

// failingReader returns data, then err.
func failingReader(data string, err error) io.Reader {
	return io.MultiReader(strings.NewReader(data), iotest.ErrReader(err))
}

func TestErrors(t *testing.T) {
	const hdr = "crmProspectId,flowId,flowInstanceOwnerEmail\n"
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name    string
		r       io.Reader
		opts    Options
		want    []Prospect
		wantErr string
	}{
		{
			name:    "empty",
			r:       strings.NewReader(""),
			opts:    Options{Name: "stdin"},
			wantErr: "stdin: the file is empty: it needs a header row",
		},
		{
			name:    "only a BOM and blank lines",
			r:       strings.NewReader("\ufeff\n\r\n\n"),
			opts:    Options{Name: "p.csv"},
			wantErr: "p.csv: the file is empty: it needs a header row",
		},
		{
			name:    "default name",
			r:       strings.NewReader(""),
			wantErr: "input: the file is empty: it needs a header row",
		},
		{
			name:    "malformed header",
			r:       strings.NewReader("\ncrm\"ProspectId,flowId\n"),
			opts:    Options{Name: "p.csv"},
			wantErr: `p.csv:2: malformed header row: malformed CSV on line 2, cell 1: a " inside a cell that does not start with one; a cell with a " in it must be quoted and the " doubled, as in "5"" screen"`,
		},
		{
			name:    "read error before the header",
			r:       iotest.ErrReader(errors.New("disk on fire")),
			opts:    Options{Name: "p.csv"},
			wantErr: "p.csv: reading the header row: disk on fire",
		},
		{
			name:    "read error in the header",
			r:       failingReader("crmProspectId,fl", errors.New("disk on fire")),
			opts:    Options{Name: "p.csv"},
			wantErr: "p.csv: reading the header row: disk on fire",
		},
		{
			name: "read error after some rows",
			r:    failingReader(hdr+"1,2,a@example.com\n\"3\n", errors.New("disk on fire")),
			opts: Options{Name: "p.csv"},
			want: []Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@example.com"}},
			// The error names the line where the broken row starts.
			wantErr: "p.csv:3: disk on fire",
		},
		{
			name:    "read error in a row",
			r:       failingReader(hdr+"1,2,a@example.com\n3,4", errors.New("disk on fire")),
			opts:    Options{Name: "p.csv"},
			want:    []Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@example.com"}},
			wantErr: "p.csv:3: disk on fire",
		},
		{
			name:    "row too long",
			r:       strings.NewReader(hdr + "1,2,a@example.com\n\n\"" + long + "\n" + long + "\n"),
			opts:    Options{Name: "p.csv", MaxRowBytes: 5000},
			want:    []Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@example.com"}},
			wantErr: "p.csv:4: a line longer than 5000 bytes: this is not CSV text, or its lines do not end with line breaks",
		},
		{
			name: "long row within the limit",
			r:    strings.NewReader("crmProspectId,flowId,flowInstanceOwnerEmail,notes\n1,2,a@example.com," + long + "\n"),
			opts: Options{Name: "p.csv", MaxRowBytes: 11000},
			want: []Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@example.com"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps, _, err := readAll(t, tt.r, tt.opts)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, ps, ignoreExtra()); diff != "" {
				t.Errorf("prospects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFatalErrorIsSticky(t *testing.T) {
	cause := errors.New("disk on fire")
	rd, err := NewReader(failingReader("crmProspectId,flowId,flowInstanceOwnerEmail\n", cause), Options{Name: "p.csv"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, _, err := rd.Next()
		if !errors.Is(err, cause) {
			t.Fatalf("Next() error = %v, want one wrapping %v", err, cause)
		}
	}
}

func TestEOFIsSticky(t *testing.T) {
	rd, err := NewReader(strings.NewReader("crmProspectId,flowId,flowInstanceOwnerEmail\n1,2,a@example.com\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := rd.Next(); err != io.EOF {
			t.Fatalf("Next() error = %v, want io.EOF", err)
		}
	}
}

// TestBOMOneByteAtATime checks the BOM is found when the input trickles in.
func TestBOMOneByteAtATime(t *testing.T) {
	for _, input := range []string{"\ufeff", "", "\xef", "\xef\xbb"} {
		t.Run(input, func(t *testing.T) {
			r := iotest.OneByteReader(strings.NewReader(input + "CRM ID,Flow ID,Owner\n1,2,a@example.com\n"))
			cols, ps, _, err := readAll(t, r, Options{})
			if input == "\ufeff" || input == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(map[string]string{ColCRMProspectID: "CRM ID", ColFlowID: "Flow ID", ColOwnerEmail: "Owner"}, cols); diff != "" {
					t.Errorf("Columns() (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@example.com"}}, ps, ignoreExtra()); diff != "" {
					t.Errorf("prospects (-want +got):\n%s", diff)
				}
				return
			}
			// A broken BOM is not valid UTF-8, so its bytes are read as
			// Windows-1252: the first header is then not "CRM ID".
			want := map[string]string{"\xef": "ïCRM ID", "\xef\xbb": "ï»CRM ID"}[input]
			var he *HeaderError
			if !errors.As(err, &he) || he.Found[0] != want {
				t.Fatalf("err = %v, want a HeaderError with the broken BOM kept", err)
			}
		})
	}
}

func TestProspectDoesNotPinRow(t *testing.T) {
	// The values are copied out of the record string: a Prospect must not
	// keep the whole row (and its other columns) alive.
	rd, err := NewReader(strings.NewReader("crmProspectId,flowId,flowInstanceOwnerEmail,notes\n1,2,a@example.com,"+strings.Repeat("n", 1000)+"\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	want := Prospect{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@example.com", Extra: []string{strings.Repeat("n", 1000)}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Fatalf("prospect (-want +got):\n%s", diff)
	}
	// The four values share one allocation, of their own length.
	if got := testing.AllocsPerRun(100, func() { _ = cells{"1", "2", "", "a@example.com"}.detach() }); got != 1 {
		t.Errorf("detach allocates %v times, want 1", got)
	}
}

func TestParseMap(t *testing.T) {
	tests := []struct {
		name    string
		spec    []string
		want    map[string]string
		wantErr string
	}{
		{name: "none", spec: nil, want: map[string]string{}},
		{
			name: "repeated flag",
			spec: []string{"crmProspectId=Contact", "flowInstanceOwnerEmail= Rep Email "},
			want: map[string]string{ColCRMProspectID: "Contact", ColOwnerEmail: "Rep Email"},
		},
		{
			name: "comma separated",
			spec: []string{"crmProspectId=Contact,flowId=Flow Ref", "flowName=Cadence"},
			want: map[string]string{ColCRMProspectID: "Contact", ColFlowID: "Flow Ref", ColFlowName: "Cadence"},
		},
		{
			name: "canonical name loosely",
			spec: []string{"CRM_PROSPECT_ID=Contact,Flow ID=Ref"},
			want: map[string]string{ColCRMProspectID: "Contact", ColFlowID: "Ref"},
		},
		{
			name: "header with a comma and an =",
			spec: []string{"crmProspectId=Id, Contact,flowId=a=b"},
			want: map[string]string{ColCRMProspectID: "Id, Contact", ColFlowID: "a=b"},
		},
		{
			name: "empty pieces",
			spec: []string{",crmProspectId=Contact,", ""},
			want: map[string]string{ColCRMProspectID: "Contact"},
		},
		{
			name: "same mapping twice",
			spec: []string{"flowId=Ref", "flowId=Ref"},
			want: map[string]string{ColFlowID: "Ref"},
		},
		{
			name:    "unknown column",
			spec:    []string{"email=Owner"},
			wantErr: `--map "email=Owner": unknown column "email" (want crmProspectId, flowId, flowInstanceOwnerEmail or flowName)`,
		},
		{
			name:    "alias is not a canonical name",
			spec:    []string{"Sequence ID=Ref"},
			wantErr: `--map "Sequence ID=Ref": unknown column "Sequence ID" (want crmProspectId, flowId, flowInstanceOwnerEmail or flowName)`,
		},
		{
			name:    "no =",
			spec:    []string{"crmProspectId"},
			wantErr: `--map "crmProspectId": want canonical=Header, for example crmProspectId="Contact ID"`,
		},
		{
			name:    "empty header",
			spec:    []string{"flowId= ,crmProspectId=X"},
			wantErr: `--map "flowId= ,crmProspectId=X": no header given for flowId`,
		},
		{
			name:    "two headers for one column",
			spec:    []string{"flowId=A", "flowId=B"},
			wantErr: `--map: flowId is mapped twice, to "A" and to "B"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMap(tt.spec)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if err != nil {
				got = nil
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseMap (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAliases(t *testing.T) {
	for canonical, aliases := range Aliases() {
		for _, a := range aliases {
			t.Run(a, func(t *testing.T) {
				header := map[string]string{
					ColCRMProspectID: "CRM ID",
					ColFlowID:        "Flow ID",
					ColOwnerEmail:    "Owner",
				}
				header[canonical] = a
				var row []string
				for _, h := range header {
					row = append(row, h)
				}
				rd, err := NewReader(strings.NewReader(strings.Join(row, ",")+"\n"), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if got := rd.Columns()[canonical]; got != a {
					t.Errorf("Columns()[%s] = %q, want %q", canonical, got, a)
				}
			})
		}
	}
	// "ID" is not in this list since Salesforce's "Id" became a (fallback)
	// alias of crmProspectId.
	for _, notAlias := range []string{"Email", "Prospect Email", "Name", "Owner Name", "OwnerId"} {
		t.Run("not "+notAlias, func(t *testing.T) {
			m, err := matchHeader("x", 1, []string{notAlias}, nil, false, false)
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("matchHeader: %v", err)
			}
			if len(he.Missing) != 3 {
				t.Errorf("%q matched a column: %v", notAlias, m)
			}
		})
	}
}
