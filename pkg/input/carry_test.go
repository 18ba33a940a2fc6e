package input

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreExtra leaves the carried cells out of a comparison, for the tests
// about something else; TestCarried checks them.
func ignoreExtra() cmp.Option {
	return cmp.Options{cmpopts.IgnoreFields(Prospect{}, "Extra"), cmpopts.IgnoreFields(Rejection{}, "Extra")}
}

// readRows reads input to the end, with opts, and returns the rows in
// order as Rejections (a Prospect as a Rejection with Code "valid"), the
// carried headers and the trailing blank rows.
type readResult struct {
	Headers  []string
	Rows     []Row
	Trailing int
	Err      string
}

// Row is one row as a test compares it.
type Row struct {
	Line                                 int
	Code                                 string // "" for a Prospect
	ID, FlowID, FlowName, Owner, OwnName string
	Extra                                []string
}

func readRows(t *testing.T, input string, opts Options) readResult {
	t.Helper()
	rd, err := NewReader(strings.NewReader(input), opts)
	if err != nil {
		return readResult{Err: err.Error()}
	}
	res := readResult{Headers: rd.ExtraHeaders()}
	for {
		p, rej, err := rd.Next()
		switch {
		case err == io.EOF:
			res.Trailing = rd.TrailingBlankRows()
			return res
		case err != nil:
			res.Err = err.Error()
			return res
		case rej != nil:
			res.Rows = append(res.Rows, Row{Line: rej.Line, Code: rej.Code, ID: rej.CRMProspectID, FlowID: rej.FlowID, FlowName: rej.FlowName, Owner: rej.OwnerEmail, Extra: rej.Extra})
		default:
			res.Rows = append(res.Rows, Row{Line: p.Line, ID: p.CRMProspectID, FlowID: p.FlowID, FlowName: p.FlowName, Owner: p.OwnerEmail, OwnName: p.OwnerName, Extra: p.Extra})
		}
	}
}

func TestCarried(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  Options
		want  readResult
	}{
		{
			name: "other columns carried as read, a clashing header prefixed",
			input: "Contact ID,First Name,Flow ID,Owner Email,Stage,Notes\n" +
				"003A, Ann ,1,a@example.com,Won,\"two\nlines\"\n" +
				"003B,Bo,x,a@example.com,,\n",
			want: readResult{
				Headers: []string{"First Name", "input.Stage", "Notes"},
				Rows: []Row{
					{Line: 2, ID: "003A", FlowID: "1", Owner: "a@example.com", Extra: []string{" Ann ", "Won", "two\nlines"}},
					{Line: 4, Code: outcome.CodeInvalidFlowID, ID: "003B", FlowID: "x", Owner: "a@example.com", Extra: []string{"Bo", "", ""}},
				},
			},
		},
		{
			name:  "a malformed row carries what could be read, cut or padded to the header",
			input: "Contact ID,Flow ID,Owner Email,Notes,Company\n003A,1\n003B,1,a@example.com,x,Acme,Smith, John\n003C,1,a@\x00example.com,n,\n",
			want: readResult{
				Headers: []string{"Notes", "Company"},
				Rows: []Row{
					{Line: 2, Code: outcome.CodeMalformedRow, ID: "003A", FlowID: "1", Extra: []string{"", ""}},
					{Line: 3, Code: outcome.CodeMalformedRow, ID: "003B", FlowID: "1", Owner: "a@example.com", Extra: []string{"x", "Acme"}},
					{Line: 4, Code: outcome.CodeMalformedRow, ID: "003C", FlowID: "1", Owner: "a@example.com", Extra: []string{"n", ""}},
				},
			},
		},
		{
			name:  "no other column",
			input: "crmProspectId,flowId,flowInstanceOwnerEmail\n1,2,a@example.com\n",
			want:  readResult{Rows: []Row{{Line: 2, ID: "1", FlowID: "2", Owner: "a@example.com"}}},
		},
		{
			name:  "a header mapped away from its name clashes",
			input: "crmProspectId,Ref,flowId,Owner\nold,003A,1,a@example.com\n",
			opts:  Options{Map: map[string]string{ColCRMProspectID: "Ref"}},
			want: readResult{
				Headers: []string{"input.crmProspectId"},
				Rows:    []Row{{Line: 2, ID: "003A", FlowID: "1", Owner: "a@example.com", Extra: []string{"old"}}},
			},
		},
		{
			name: "failed.csv fed back: outcome columns dropped, input.X carried as X, guard taken off, flowName resolves",
			input: "line,crmProspectId,flowId,flowInstanceOwnerEmail,stage,errorCode,errorMessage,httpStatus,requestId,First Name,input.Stage,input.Company,flowName\n" +
				"7,'=003A,,bob@example.com,input,FlowNameNotFound,no flow,,,'=Ann,Won,Acme,Q3 Outbound\n" +
				"8,003B,12,bob@example.com,api,X,y,,r-1,'Bo,'-1,,\n",
			want: readResult{
				Headers: []string{"First Name", "input.Stage", "Company"},
				Rows: []Row{
					{Line: 7, ID: "=003A", FlowName: "Q3 Outbound", Owner: "bob@example.com", Extra: []string{"=Ann", "Won", "Acme"}},
					{Line: 8, ID: "003B", FlowID: "12", Owner: "bob@example.com", Extra: []string{"'Bo", "-1", ""}},
				},
			},
		},
		{
			name: "assigned.csv fed back is refused: its rows are in Gong",
			input: "line,crmProspectId,flowId,flowInstanceOwnerEmail,flowName,flowInstanceId,flowInstanceOwnerFullName,flowInstanceCreateDate,flowInstanceStatus,workspaceId,exclusive,requestId,Notes\n" +
				"2,003A,12,bob@example.com,Q3,99,Bob B,2026-01-01,ACTIVE,5,false,r-1,hi\n",
			want: readResult{Err: (&AssignedFileError{Name: "in.csv", Line: 1}).Error()},
		},
		{
			name:  "unprocessed.csv fed back",
			input: "line,crmProspectId,flowId,flowInstanceOwnerEmail,reason,Notes\n9,003A,12,bob@example.com,quota,hi\n",
			want: readResult{
				Headers: []string{"Notes"},
				Rows:    []Row{{Line: 9, ID: "003A", FlowID: "12", Owner: "bob@example.com", Extra: []string{"hi"}}},
			},
		},
		{
			name:  "an input that only has a line column is not a result file",
			input: "crmProspectId,line,flowId,Owner,stage\n003A,4,1,a@example.com,'=x\n",
			want: readResult{
				Headers: []string{"input.line", "input.stage"},
				Rows:    []Row{{Line: 2, ID: "003A", FlowID: "1", Owner: "a@example.com", Extra: []string{"4", "'=x"}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Name = "in.csv"
			got := readRows(t, tt.input, tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestCarriedRoundTrip feeds a failed.csv written with the carried headers
// back twice: the headers stay the same.
func TestCarriedRoundTrip(t *testing.T) {
	in := "Contact ID,Stage,Flow ID,Owner Email,Notes\n003A,Won,x,a@example.com,hi\n"
	headers := readRows(t, in, Options{}).Headers
	for round := range 2 {
		failed := "line,crmProspectId,flowId,flowInstanceOwnerEmail,stage,errorCode,errorMessage,httpStatus,requestId," + strings.Join(headers, ",") +
			"\n2,003A,x,a@example.com,input,InvalidFlowId,bad,,,Won,hi\n"
		got := readRows(t, failed, Options{})
		if diff := cmp.Diff(headers, got.Headers); diff != "" {
			t.Fatalf("round %d: headers (-want +got):\n%s", round, diff)
		}
		if diff := cmp.Diff([]string{"Won", "hi"}, got.Rows[0].Extra); diff != "" {
			t.Fatalf("round %d: cells (-want +got):\n%s", round, diff)
		}
	}
}

func TestBlankRows(t *testing.T) {
	const hdr = "Contact ID,Flow ID,Owner Email,Notes\n"
	blankAt := func(line int) Row { return Row{Line: line, Code: outcome.CodeBlankRow, Extra: []string{""}} }
	valid := func(line int, id string) Row {
		return Row{Line: line, ID: id, FlowID: "1", Owner: "a@example.com", Extra: []string{""}}
	}
	tests := []struct {
		name, input string
		want        readResult
	}{
		{
			name:  "blank rows between real ones are rows; empty lines are not",
			input: hdr + "003A,1,a@example.com,\n,,,\n\n , ,,\n\"\n\",,,\n003B,1,a@example.com,\n",
			want:  readResult{Headers: []string{"Notes"}, Rows: []Row{valid(2, "003A"), blankAt(3), blankAt(5), blankAt(6), valid(8, "003B")}},
		},
		{
			// The contract: a row of blank cells is a data row (BlankRow),
			// also after the last real row; the empty line is not a row.
			name:  "blank rows after the last real row are rows, and counted",
			input: hdr + "003A,1,a@example.com,\n,,,\r\n,,,\r\n\r\n,,,\r\n",
			want:  readResult{Headers: []string{"Notes"}, Rows: []Row{valid(2, "003A"), blankAt(3), blankAt(4), blankAt(6)}, Trailing: 3},
		},
		{
			name:  "a blank row before a rejected one",
			input: hdr + ",,,\n003A,x,a@example.com,\n",
			want: readResult{Headers: []string{"Notes"}, Rows: []Row{blankAt(2),
				{Line: 3, Code: outcome.CodeInvalidFlowID, ID: "003A", FlowID: "x", Owner: "a@example.com", Extra: []string{""}}}},
		},
		{
			name:  "header and blank rows only: blank rows",
			input: hdr + ",,,\n,,,\n",
			want:  readResult{Headers: []string{"Notes"}, Rows: []Row{blankAt(2), blankAt(3)}, Trailing: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readRows(t, tt.input, Options{Name: "in.csv"})
			for i := range got.Rows {
				got.Rows[i].Extra = slices.Clone(got.Rows[i].Extra)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			s, err := NewSurvey(strings.NewReader(tt.input), Options{Name: "in.csv"})
			if err != nil {
				t.Fatal(err)
			}
			if s.Rows != len(tt.want.Rows) {
				t.Errorf("Survey.Rows = %d, want %d", s.Rows, len(tt.want.Rows))
			}
		})
	}
}

// TestBlankRowsBounded checks that blank rows held back do not grow
// without bound: past maxBlankRuns runs they are returned.
func TestBlankRowsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("crmProspectId,flowId,flowInstanceOwnerEmail\n")
	for range maxBlankRuns + 10 {
		b.WriteString(",,\n\n") // an empty line between: each is a run of its own
	}
	rd, err := NewReader(strings.NewReader(b.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, rej, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rej.Code != outcome.CodeBlankRow {
			t.Fatalf("row %+v", rej)
		}
		if rd.blanks.len() > maxBlankRuns+1 {
			t.Fatalf("%d runs held", rd.blanks.len())
		}
		n++
	}
	// Every blank row is returned; the trailing count is of those after
	// the last real row, so here of those the queue still held at the end.
	if n != maxBlankRuns+10 || rd.TrailingBlankRows() == 0 || rd.TrailingBlankRows() > n {
		t.Errorf("%d returned and %d trailing, want %d returned", n, rd.TrailingBlankRows(), maxBlankRuns+10)
	}
}

func TestOwnerByName(t *testing.T) {
	const input = "Contact ID,Flow ID,Contact owner\n003A,1,Zoë Durand\n003B,1,bob@example.com\n003C,1,bob@\n003D,1,\n"
	got := readRows(t, input, Options{OwnerByName: true})
	want := readResult{Rows: []Row{
		{Line: 2, ID: "003A", FlowID: "1", OwnName: "Zoë Durand"},
		{Line: 3, ID: "003B", FlowID: "1", Owner: "bob@example.com"},
		{Line: 4, Code: outcome.CodeInvalidEmail, ID: "003C", FlowID: "1", Owner: "bob@"},
		{Line: 5, Code: outcome.CodeMissingValue, ID: "003D", FlowID: "1"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	s, err := NewSurvey(strings.NewReader(input), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.OwnerNames != 1 || s.OwnerEmails != 2 {
		t.Errorf("Survey: %d owner names, %d emails; want 1, 2", s.OwnerNames, s.OwnerEmails)
	}
}

// endless is an input that never ends: a header, then the same row.
type endless struct{ header bool }

func (e *endless) Read(p []byte) (int, error) {
	const row = "003A,1,a@example.com\n"
	if !e.header {
		e.header = true
		return copy(p, "crmProspectId,flowId,flowInstanceOwnerEmail\n"), nil
	}
	n := 0
	for n+len(row) <= len(p) {
		n += copy(p[n:], row)
	}
	return n, nil
}

func TestCancel(t *testing.T) {
	t.Run("Next stops between rows", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rd, err := NewReader(&endless{}, Options{Name: "stdin", Context: ctx})
		if err != nil {
			t.Fatal(err)
		}
		for range 1000 {
			if _, _, err := rd.Next(); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		_, _, err = rd.Next()
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "stdin:1001: reading stopped") {
			t.Fatalf("Next after cancel: %v", err)
		}
		if _, _, again := rd.Next(); again != err {
			t.Errorf("the error is not sticky: %v", again)
		}
	})
	t.Run("SurveyRows stops", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		_, err := SurveyRows(&endless{}, Options{Name: "stdin", Context: ctx}, func(Prospect, *Rejection) {
			if n++; n == 5000 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("SurveyRows: %v", err)
		}
		if n != 5000 {
			t.Errorf("%d rows after the cancel at row 5000", n)
		}
	})
	t.Run("NewReader stops before reading", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := NewReader(&endless{}, Options{Name: "stdin", Context: ctx})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("NewReader: %v", err)
		}
	})
}

// TestDevZero checks that an endless run of zero bytes fails at once,
// with a message that says what it is.
func TestDevZero(t *testing.T) {
	f, err := os.Open("/dev/zero")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	_, err = NewReader(f, Options{Name: "/dev/zero"})
	var nc *NotCSVError
	if !errors.As(err, &nc) {
		t.Fatalf("NewReader(/dev/zero): %v, want a *NotCSVError", err)
	}
	want := "/dev/zero:1: this is not CSV text: it is binary data: it starts with zero bytes (a damaged or preallocated file, or a device such as /dev/zero)"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
