package reconcile

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// finish journals the run's figures, writes the files and the summary
// section, and returns the summary with its exit code.
func (u *undo) finish(ctx context.Context, start time.Time, err error) (UndoSummary, error) {
	counts := u.cfg.Gateway.Counts()
	if jerr := u.note(journalEntry{Run: &counts}); jerr != nil && err == nil {
		err = jerr
	}
	sum := u.tally()
	sum.BulkInDoubt = len(u.rows.bulkInDoubt)
	sum.RequestCounts = u.st.runs
	sum.RequestsThisRun = counts.Requests
	sum.RemovedThisRun = u.fresh
	sum.Resumed = u.st.resumed
	sum.StopReason = stopOf(ctx, u.cfg.Gateway)
	if ferr := u.writeFiles(); ferr != nil && err == nil {
		err = ferr
	}
	sum.Times = timesOf(start, u.cfg.Now())
	sum.ExitCode = exitOf(sum.StopReason, err, sum.Pending, sum.Kept)
	if serr := mergeSummary(u.cfg.Dir, "undo", sum); serr != nil && err == nil {
		err = serr
		sum.ExitCode = outcome.ExitFatal
	}
	u.log.Info("undo finished", zap.Int("removed", sum.Removed), zap.Int("kept", sum.Kept), zap.Int("pending", sum.Pending),
		zap.Int64("requests", sum.RequestsThisRun), zap.String("stopReason", sum.StopReason))
	return sum, err
}

// tally counts the run's instances by what the journal says of them.
func (u *undo) tally() UndoSummary {
	sum := UndoSummary{KeptByCode: map[string]int{}}
	seen := map[string]bool{}
	for _, o := range u.rows.assigned {
		if seen[o.Instance.ID] {
			continue
		}
		seen[o.Instance.ID] = true
		sum.Instances++
		s, done := u.st.settled[o.Instance.ID]
		switch {
		case !done:
			sum.Pending++
		case s.Removed:
			sum.Removed++
			if s.How == ByReadBack {
				sum.RemovedByReadBack++
			}
		default:
			sum.Kept++
			sum.KeptByCode[s.Code]++
		}
	}
	return sum
}

// writeFiles rebuilds undone.csv and undo-failed.csv from the journal.
func (u *undo) writeFiles() error {
	var done, failed [][]string
	for _, o := range u.rows.assigned {
		s, ok := u.st.settled[o.Instance.ID]
		if !ok {
			continue
		}
		r := o.Row
		row := []string{strconv.Itoa(r.Line), r.CRMProspectID, r.FlowID, r.OwnerEmail, o.Instance.FlowName, o.Instance.ID}
		if s.Removed {
			row = append(row, s.How, s.RequestID)
			done = append(done, append(row, carried(r, u.rows.extra)...))
			continue
		}
		status := ""
		if s.HTTPStatus != 0 {
			status = strconv.Itoa(s.HTTPStatus)
		}
		row = append(row, s.Code, s.Message, status, s.RequestID)
		failed = append(failed, append(row, carried(r, u.rows.extra)...))
	}
	if err := writeCSV(filepath.Join(u.cfg.Dir, UndoneFile), append(outcome.UndoneColumns(), u.rows.extra...), done); err != nil {
		return err
	}
	return writeCSV(filepath.Join(u.cfg.Dir, UndoFailedFile), append(outcome.UndoFailedColumns(), u.rows.extra...), failed)
}

// peekJournal reads dir's undo journal without writing; a journal of
// another run reads as none.
func peekJournal(dir string, hdr journalHeader) journalState {
	st := journalState{settled: map[string]Settlement{}, doubt: map[string]bool{}}
	f, err := fsguard.OpenFile(filepath.Join(dir, JournalFile), os.O_RDONLY, 0)
	if err != nil {
		return st
	}
	defer f.Close()
	_, old, err := loadJournal(f, &st)
	if err != nil || old == nil || old.InputSHA256 != hdr.InputSHA256 || old.LedgerCreatedAt != hdr.LedgerCreatedAt {
		return journalState{settled: map[string]Settlement{}, doubt: map[string]bool{}}
	}
	st.resumed = true
	return st
}

// dryRun lists the instances an undo would remove (state "pending", or
// "inDoubt": read back first) as CSV on cfg.DryRunOut; it sends nothing and
// writes no file.
func dryRun(cfg UndoConfig, rows runRows, st journalState, start time.Time) (UndoSummary, error) {
	u := &undo{cfg: cfg, rows: rows, st: st}
	sum := u.tally()
	sum.BulkInDoubt = len(rows.bulkInDoubt)
	sum.DryRun, sum.Resumed, sum.RequestCounts = true, st.resumed, st.runs
	w := csv.NewWriter(cfg.DryRunOut)
	head := outcome.UndoPlanColumns()
	if err := w.Write(append(head, rows.extra...)); err != nil {
		return sum, err
	}
	doubt, todo := u.unsettled()
	state := map[string]string{}
	for _, id := range todo {
		state[id] = "pending"
	}
	for _, id := range doubt {
		state[id] = "inDoubt"
	}
	for _, o := range rows.assigned {
		s, ok := state[o.Instance.ID]
		if !ok {
			continue
		}
		delete(state, o.Instance.ID) // once per instance
		r := o.Row
		row := append([]string{strconv.Itoa(r.Line), r.CRMProspectID, r.FlowID, r.OwnerEmail, o.Instance.FlowName, o.Instance.ID, s},
			carried(r, rows.extra)...)
		for i := 1; i < len(row); i++ {
			row[i] = report.Neutralise(row[i])
		}
		if err := w.Write(row); err != nil {
			return sum, err
		}
	}
	w.Flush()
	sum.Times = timesOf(start, cfg.Now())
	sum.ExitCode = outcome.ExitOK
	cfg.Log.Info("dry run: nothing sent", zap.Int("wouldRemove", len(todo)+len(doubt)), zap.Int("inDoubt", len(doubt)),
		zap.Int("unassignRequests", (len(todo)+len(doubt)+cfg.BatchSize-1)/cfg.BatchSize), zap.Int("alreadySettled", sum.Removed+sum.Kept))
	return sum, w.Error()
}
