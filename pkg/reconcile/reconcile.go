// Package reconcile acts on what a finished (or stopped) run created, from
// the run's own ledger rather than from a CSV file a person may have edited:
// Undo removes exactly the flow instances the run created, through
// POST /v2/flows/prospects/unassign-flows-by-instance-id, and Verify reads
// every assigned row back through POST /v2/flows/prospects.
//
// Both hold --out's lock while they work, so a run still going (or another
// undo) is refused, and both reach Gong only through the run's gateway:
// paced, budgeted, retried under the one policy and counted. Undo keeps its
// own journal (undo.jsonl) beside the run's, so that an undo that is
// stopped continues where it stopped and an undo run twice sends nothing
// the second time.
package reconcile

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/outdir"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// Client is the Gong client undo and verify use; each wraps it in the
// gateway (gateway.Gong), so that every call is paced, budgeted, retried
// and counted.
type Client = gateway.Client

// MaxReadBackIDs is the most CRM IDs one read-back carries. Gong publishes
// no limit for POST /v2/flows/prospects; this is the unassign's and the
// assign chunk's, which the run's own read-backs never exceed either.
const MaxReadBackIDs = 200

// acquire takes dir's lock for command; unlike a run, undo and verify
// never create the directory: without it there is nothing to act on.
func acquire(dir, command string, now time.Time) (*outdir.Dir, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", dir, ledger.ErrNoJournal)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("--out %s is not a directory", dir)
	}
	return outdir.Acquire(dir, command, now)
}

// runRows are the assigned rows of a run, in ledger order, and the names
// of the columns they carry.
type runRows struct {
	header   ledger.Header
	assigned []outcome.Outcome
	// inDoubt counts the rows the same run command settles: CRM-ID rows
	// (read back) and people of a bulk job with a journaled id (read).
	inDoubt int
	// bulkInDoubt are the lines of people whose bulk request got no
	// answer: only --resend-in-doubt settles them, and undo knows no
	// instance of theirs.
	bulkInDoubt []int
	extra       []string
}

// readRun reads dir's ledger. The carried columns' names are not in the
// ledger: they are taken from assigned.csv's header (after the contract's
// columns), and left out if it is missing.
func readRun(dir string) (runRows, error) {
	var rr runRows
	hdr, st, err := ledger.Read(dir, func(o outcome.Outcome) error {
		if o.Kind == outcome.Assigned && o.Instance.ID != "" {
			rr.assigned = append(rr.assigned, o)
		}
		return nil
	})
	if err != nil {
		return rr, err
	}
	rr.header = hdr
	for ln := range st.InDoubt {
		if id, bulk := st.BulkDoubt[ln]; bulk && id == "" {
			rr.bulkInDoubt = append(rr.bulkInDoubt, ln)
			continue
		}
		rr.inDoubt++
	}
	slices.Sort(rr.bulkInDoubt)
	rr.extra = carriedColumns(filepath.Join(dir, report.AssignedFile))
	return rr, nil
}

func carriedColumns(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	head, err := csv.NewReader(f).Read()
	contract := report.Columns(report.AssignedFile)
	if err != nil || len(head) < len(contract) {
		return nil
	}
	return head[len(contract):]
}

// carried returns r's carried cells, one per name in extra.
func carried(r outcome.Row, extra []string) []string {
	cells := make([]string, len(extra))
	copy(cells, r.Extra)
	return cells
}

// writeCSV writes a result file atomically; every cell after the line
// number is neutralised, as the run's files are.
func writeCSV(path string, header []string, rows [][]string) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		return err
	}
	for _, row := range rows {
		for i := 1; i < len(row); i++ {
			row[i] = report.Neutralise(row[i])
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return fsguard.WriteBytes(path, b.Bytes())
}

// mergeSummary writes section under key into dir's summary.json, keeping
// every other key the run wrote.
func mergeSummary(dir, key string, section any) error {
	path := filepath.Join(dir, report.SummaryFile)
	doc := map[string]json.RawMessage{}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if jerr := json.Unmarshal(b, &doc); jerr != nil {
			return fmt.Errorf("%s: %w", path, jerr)
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	raw, err := json.Marshal(section)
	if err != nil {
		return err
	}
	doc[key] = raw
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return fsguard.WriteBytes(path, append(out, '\n'))
}

// Times are a command's start and end, as summary.json gives them.
type Times struct {
	StartedAt       string  `json:"startedAt"`
	FinishedAt      string  `json:"finishedAt"`
	WallTimeSeconds float64 `json:"wallTimeSeconds"`
}

func timesOf(start, end time.Time) Times {
	return Times{StartedAt: start.UTC().Format(time.RFC3339), FinishedAt: end.UTC().Format(time.RFC3339),
		WallTimeSeconds: end.Sub(start).Seconds()}
}

// exitOf is the exit code of a command that stopped for reason (or not),
// left pending items unsettled and had failed ones.
func exitOf(reason string, err error, pending, failed int) int {
	switch {
	case err != nil, outcome.Fatal(reason):
		return outcome.ExitFatal
	case pending > 0:
		return outcome.ExitStoppedEarly
	case failed > 0:
		return outcome.ExitSomeFailed
	}
	return outcome.ExitOK
}

// stopOf is why a command stopped: the gateway's reason, or a signal.
func stopOf(ctx context.Context, gw *gateway.Gateway) string {
	if r := gw.Stopped(); r != "" {
		return r
	}
	if ctx.Err() != nil {
		return outcome.ReasonInterrupted
	}
	return ""
}

// batches cuts ids into runs of at most n.
func batches(ids []string, n int) [][]string {
	var out [][]string
	for len(ids) > 0 {
		k := min(n, len(ids))
		out = append(out, ids[:k:k])
		ids = ids[k:]
	}
	return out
}
