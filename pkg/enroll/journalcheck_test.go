package enroll

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// TestRefuseShortJournal: unprocessed.csv rows that were sent (InDoubt, and
// BulkPending: a bulk job whose id the journal holds) must be known to the
// journal; rows left unsent need not be.
func TestRefuseShortJournal(t *testing.T) {
	tests := []struct {
		reason  string
		refused bool
	}{
		{reason: outcome.ReasonInDoubt, refused: true},
		{reason: outcome.ReasonBulkPending, refused: true},
		{reason: outcome.ReasonInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			out := t.TempDir()
			head := strings.Join(report.Columns(report.UnprocessedFile), ",")
			body := head + "\n7,,1695493301223590792,ava.reyes@example.com," + tt.reason + "\n"
			if err := os.WriteFile(filepath.Join(out, report.UnprocessedFile), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			st := ledger.State{Settled: &ledger.Lines{}, InDoubt: map[int]ledger.Doubt{}, Named: &ledger.Lines{}}
			err := refuseShortJournal(out, st)
			if (err != nil) != tt.refused {
				t.Errorf("error %v; want refused %v", err, tt.refused)
			}
		})
	}
}
