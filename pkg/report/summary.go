package report

import (
	"encoding/json"
	"path/filepath"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// Summary is summary.json.
type Summary struct {
	Version         string  `json:"version,omitempty"` // flowenroll's
	Input           string  `json:"input"`
	InputSHA256     string  `json:"inputSha256,omitempty"`
	StartedAt       string  `json:"startedAt"`
	FinishedAt      string  `json:"finishedAt"`
	WallTimeSeconds float64 `json:"wallTimeSeconds"`
	RowsRead        int     `json:"rowsRead"`
	// Notes say what the read of the input left out or read differently:
	// title rows above the header, a report footer (not rows, not
	// counted), a result file fed back.
	Notes []string `json:"notes,omitempty"`
	Counts
	// The request figures over every run of this output directory.
	outcome.RequestCounts
	// RequestsThisRun leaves out the requests of earlier runs of a resumed
	// input.
	RequestsThisRun int64  `json:"requestsThisRun"`
	Resumed         bool   `json:"resumed"`
	StopReason      string `json:"stopReason,omitempty"`
	ExitCode        int    `json:"exitCode"`
	// OverrideCoolOff says the run (this process, or an earlier one of
	// the same journal) sent assigns through the cool-off-override
	// endpoint (--override-cool-off): prospects a flow's cool-off period
	// would refuse were enrolled regardless.
	OverrideCoolOff bool `json:"overrideCoolOff,omitempty"`
}

// NotWritten is c for a run whose result files could not be written: every
// row counted is unprocessed with outcome.ReasonResultsNotWritten, since no
// file says otherwise.
func NotWritten(c Counts) Counts {
	n := c.Assigned + c.Failed + c.Unprocessed
	out := Counts{FailedByStage: map[string]map[string]int{}, UnprocessedByReason: map[string]int{}, Unprocessed: n}
	if n > 0 {
		out.UnprocessedByReason[outcome.ReasonResultsNotWritten] = n
	}
	return out
}

// WriteSummary writes summary.json atomically (a temporary file, then rename).
func WriteSummary(dir string, s Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return fsguard.WriteBytes(filepath.Join(dir, SummaryFile), append(b, '\n'))
}
