package report

import (
	"encoding/json"
	"os"
	"path/filepath"

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
	Counts
	// The request figures over every run of this output directory.
	outcome.RequestCounts
	// RequestsThisRun leaves out the requests of earlier runs of a resumed
	// input.
	RequestsThisRun int64  `json:"requestsThisRun"`
	Resumed         bool   `json:"resumed"`
	StopReason      string `json:"stopReason,omitempty"`
	ExitCode        int    `json:"exitCode"`
	// OverrideCoolOff says this run sent its assigns through the
	// cool-off-override endpoint (--override-cool-off): prospects a flow's
	// cool-off period would refuse were enrolled regardless.
	OverrideCoolOff bool `json:"overrideCoolOff,omitempty"`
}

// WriteSummary writes summary.json atomically (a temporary file, then rename).
func WriteSummary(dir string, s Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, SummaryFile), append(b, '\n'))
}

// WriteFileAtomic writes data to path through a synced temporary file and a
// rename, so a reader sees the old file or the new one, never a part.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
