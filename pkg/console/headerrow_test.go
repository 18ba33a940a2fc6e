package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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
// it stays in the first run's failed.csv). Rows in doubt (InDoubt,
// BulkPending) are left out and counted: only continuing their run settles
// them without sending them twice.
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
	_, inDoubt, err := writeRetryInput(out, path)
	if err != nil {
		t.Fatal(err)
	}
	if inDoubt != 2 {
		t.Errorf("%d rows in doubt left out, want 2", inDoubt)
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
	var got []string
	for {
		p, rej, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rej != nil {
			got = append(got, fmt.Sprintf("%d %s", rej.Line, rej.Code))
			continue
		}
		got = append(got, fmt.Sprintf("%d %s", p.Line, p.CRMProspectID))
	}
	want := []string{"17 003C", "33 003B"}
	if !slices.Equal(got, want) {
		t.Errorf("retry rows %q, want %q", got, want)
	}
}
