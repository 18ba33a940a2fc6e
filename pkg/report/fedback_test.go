package report

import (
	"errors"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/input"
)

// TestResultHeadersMatchReport: pkg/input recognises the result files
// written here by their header, with its own copy of the columns: a
// failed.csv or unprocessed.csv (with a flowName and a carried column)
// keeps its lines when fed back, an assigned.csv is refused.
func TestResultHeadersMatchReport(t *testing.T) {
	for _, f := range []string{FailedFile, UnprocessedFile} {
		h := append(Columns(f), "flowName", "Notes")
		if !input.ResultHeader(h) {
			t.Errorf("%s's header %q is not recognised as a result file's", f, h)
		}
	}
	csv := strings.Join(append(Columns(AssignedFile), "Notes"), ",") + "\n"
	_, err := input.NewReader(strings.NewReader(csv), input.Options{Name: AssignedFile})
	var ae *input.AssignedFileError
	if !errors.As(err, &ae) {
		t.Errorf("assigned.csv's header: %v, want an AssignedFileError", err)
	}
}
