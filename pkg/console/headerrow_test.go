package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/input"
)

// TestHeaderRowField: the upload form's headerRow reaches the reader's
// options; a value that is no row number is refused.
func TestHeaderRowField(t *testing.T) {
	tests := []struct {
		name    string
		value   []string
		want    int
		wantErr bool
	}{
		{name: "absent: found by itself", want: 0},
		{name: "empty: found by itself", value: []string{""}, want: 0},
		{name: "a row", value: []string{" 6 "}, want: 6},
		{name: "not a number", value: []string{"six"}, wantErr: true},
		{name: "negative", value: []string{"-1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string][]string{}
			if tt.value != nil {
				fields["headerRow"] = tt.value
			}
			o, err := parseOptions(fields)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			in, err := worker.InputOptions(o)
			if err != nil {
				t.Fatal(err)
			}
			if in.HeaderRow != tt.want {
				t.Errorf("HeaderRow %d, want %d", in.HeaderRow, tt.want)
			}
		})
	}
}

// TestRetryInputKeepsLines: the input a retry writes from failed.csv and
// unprocessed.csv is read as a result file fed back: each row keeps its
// line of the first upload, in the upload's order, and a blank row is left
// out, not made a MissingValue (issue #21, item 2: a retry cannot fill it;
// it stays in the first run's failed.csv). Rows in doubt that continuing
// their run settles (InDoubt by CRM ID, BulkPending) are left out and
// counted: a new run would send them again.
func TestRetryInputKeepsLines(t *testing.T) {
	out := t.TempDir()
	files := map[string]string{
		worker.FailedFile: "line,crmProspectId,flowId,flowInstanceOwnerEmail,stage,errorCode,errorMessage,httpStatus,requestId,Notes\n" +
			"8,,,,input,BlankRow,u.csv:8: blank row,,,\n" +
			"33,003B,1,a@example.com,api,InvalidState,x,400,r-1,n33\n",
		worker.UnprocessedFile: "line,crmProspectId,flowId,flowInstanceOwnerEmail,reason,Notes\n17,003C,1,a@example.com,Interrupted,n17\n" +
			"21,003D,1,a@example.com,InDoubt,n21\n25,,1,a@example.com,BulkPending,n25\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(out, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "retry.csv")
	got, err := writeRetryInput(out, path)
	if err != nil {
		t.Fatal(err)
	}
	if got.LeftInDoubt != 2 || got.PeopleInDoubt != 0 {
		t.Errorf("%+v, want the 2 rows in doubt left out", got)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := input.NewReader(f, input.Options{Name: "retry.csv"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for {
		p, rej, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rej != nil {
			rows = append(rows, fmt.Sprintf("%d %s", rej.Line, rej.Code))
			continue
		}
		rows = append(rows, fmt.Sprintf("%d %s", p.Line, p.CRMProspectID))
	}
	want := []string{"17 003C", "33 003B"}
	if !slices.Equal(rows, want) {
		t.Errorf("retry rows %q, want %q", rows, want)
	}
}

// People of a bulk request that got no answer are InDoubt for good: no
// run settles them (nothing reads people back). A retry takes them, counted
// apart, and its check warns that Gong may have enrolled them already; it
// never tells the person to continue the run for them.
func TestRetryTakesPeopleNoRunSettles(t *testing.T) {
	out := t.TempDir()
	body := "line,crmProspectId,flowId,flowInstanceOwnerEmail,reason,email,firstName,lastName\n" +
		"5,,1,a@example.com,InDoubt,p@example.com,P,Q\n6,,1,a@example.com,BulkPending,r@example.com,R,S\n"
	if err := os.WriteFile(filepath.Join(out, worker.UnprocessedFile), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := writeRetryInput(out, filepath.Join(t.TempDir(), "r.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (retryRows{Rows: 1, LeftInDoubt: 1, PeopleInDoubt: 1}); got != want {
		t.Errorf("%+v, want %+v: the person in doubt for good taken, the one in an accepted job left", got, want)
	}
	if w := peopleInDoubtWords(1, "r1"); strings.Contains(w, "ontinue") || !strings.Contains(w, "1 person") {
		t.Errorf("the warning %q", w)
	}
}
