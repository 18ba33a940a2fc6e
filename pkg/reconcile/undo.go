package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// Files undo writes in the output directory.
const (
	UndoneFile     = "undone.csv"
	UndoFailedFile = "undo-failed.csv"
)

// UndoConfig is what Undo needs.
type UndoConfig struct {
	Dir     string
	Client  Client
	Gateway *gateway.Gateway
	// BatchSize is the most instance IDs a request carries, 1 to
	// gong.MaxUnassignIDs; 0 means gong.MaxUnassignIDs.
	BatchSize int
	// UnassignedBy is sent as unassignedByUserEmail when not empty.
	UnassignedBy string
	// DryRun lists what would be removed on DryRunOut and sends nothing.
	DryRun    bool
	DryRunOut io.Writer
	Log       *zap.Logger
	Now       func() time.Time
}

// UndoSummary is summary.json's "undo" section. Instance counts are over
// every undo of the run; the request figures too, but RequestsThisRun.
type UndoSummary struct {
	Times
	// Instances the run created (assigned rows with a flowInstanceId).
	Instances int `json:"instances"`
	// Removed: undone.csv's rows; RemovedByReadBack of them were found gone
	// by a read-back after an answer was lost.
	Removed           int `json:"removed"`
	RemovedByReadBack int `json:"removedByReadBack"`
	RemovedThisRun    int `json:"removedThisRun"`
	// Kept: undo-failed.csv's rows, by errorCode.
	Kept       int            `json:"kept"`
	KeptByCode map[string]int `json:"keptByCode"`
	// Pending: not settled yet; the same command continues with them.
	Pending int `json:"pending"`
	// BulkInDoubt: people of the run whose bulk request got no answer
	// (unprocessed.csv, InDoubt): Gong may have enrolled them, and undo
	// knows no instance of theirs, so it leaves them.
	BulkInDoubt int `json:"bulkInDoubt,omitempty"`
	outcome.RequestCounts
	RequestsThisRun int64  `json:"requestsThisRun"`
	Resumed         bool   `json:"resumed"`
	DryRun          bool   `json:"dryRun,omitempty"`
	StopReason      string `json:"stopReason,omitempty"`
	ExitCode        int    `json:"exitCode"`
}

// RunInDoubtError refuses an undo of a run with rows in doubt: an instance
// of theirs may exist that the ledger does not name.
type RunInDoubtError struct{ Rows int }

func (e *RunInDoubtError) Error() string {
	return fmt.Sprintf("the run has %d rows in doubt (sent, no answer, or a bulk assignment not read to its end): instances it may have created are not known yet; run the same `flowenroll run` command to settle them, then undo", e.Rows)
}

// undo is one Undo in progress.
type undo struct {
	cfg   UndoConfig
	gong  *gateway.Gong // cfg.Client through cfg.Gateway
	log   *zap.Logger
	rows  runRows
	j     *journal
	st    journalState
	crmOf map[string]string // instance ID -> CRM ID
	fresh int               // removed by this run
}

// Undo removes the flow instances dir's run created and no other: it holds
// dir's lock, reads the run's ledger, reads back first the instances an
// earlier undo sent without an answer, then unassigns the rest in requests
// of up to BatchSize instance IDs. It writes undone.csv, undo-failed.csv
// and the undo section of summary.json, from its journal, every time.
func Undo(ctx context.Context, cfg UndoConfig) (UndoSummary, error) {
	cfg = cfg.withDefaults()
	start := cfg.Now()
	dir, err := acquire(cfg.Dir, "undo", start)
	if err != nil {
		return UndoSummary{}, err
	}
	defer dir.Release()
	rows, err := readRun(cfg.Dir)
	if err != nil {
		return UndoSummary{}, err
	}
	if rows.inDoubt > 0 {
		return UndoSummary{}, &RunInDoubtError{rows.inDoubt}
	}
	if n := len(rows.bulkInDoubt); n > 0 {
		// The run cannot settle these by itself (only --resend-in-doubt,
		// which may enroll them twice): undo the instances it knows.
		cfg.Log.Warn("people of a bulk assignment that got no answer are InDoubt: Gong may have enrolled them, and undo knows no instance of theirs, so it leaves them; find them in Gong by the lines of unprocessed.csv",
			zap.Int("people", n), zap.Ints("lines", rows.bulkInDoubt))
	}
	hdr := journalHeader{UndoVersion: journalVersion, InputSHA256: rows.header.InputSHA256,
		LedgerCreatedAt: rows.header.CreatedAt, CreatedAt: start.UTC().Format(time.RFC3339)}
	if cfg.DryRun {
		return dryRun(cfg, rows, peekJournal(cfg.Dir, hdr), start)
	}
	dir.RemoveTemporary([]string{UndoneFile, UndoFailedFile})
	j, st, err := openJournal(cfg.Dir, hdr)
	if err != nil {
		return UndoSummary{}, err
	}
	defer j.close()
	u := &undo{cfg: cfg, gong: cfg.Gateway.Wrap(cfg.Client), log: cfg.Log, rows: rows, j: j, st: st, crmOf: map[string]string{}}
	for _, o := range rows.assigned {
		u.crmOf[o.Instance.ID] = o.Row.CRMProspectID
	}
	err = u.work(ctx)
	return u.finish(ctx, start, err)
}

func (cfg UndoConfig) withDefaults() UndoConfig {
	if cfg.BatchSize <= 0 || cfg.BatchSize > gong.MaxUnassignIDs {
		cfg.BatchSize = gong.MaxUnassignIDs
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DryRunOut == nil {
		cfg.DryRunOut = io.Discard
	}
	return cfg
}

// work settles the instances in doubt, then sends the rest; it returns a
// fatal error only (a stop is the gateway's, or the context's).
func (u *undo) work(ctx context.Context) error {
	doubt, todo := u.unsettled()
	if len(doubt) > 0 {
		u.log.Info("reading back instances an earlier undo sent without an answer", zap.Int("inDoubt", len(doubt)))
		for _, b := range batches(doubt, MaxReadBackIDs) {
			err := u.cfg.Gateway.Together(ctx, u.log.With(zap.String("op", "read-back")), func(ctx context.Context) error {
				open, err := u.settleGone(ctx, b)
				todo = append(todo, open...)
				return err
			})
			if err != nil {
				return u.stopped(err)
			}
		}
	}
	for _, b := range batches(todo, u.cfg.BatchSize) {
		if ctx.Err() != nil || u.cfg.Gateway.Stopped() != "" {
			return nil
		}
		if err := u.unassign(ctx, b); err != nil {
			return u.stopped(err)
		}
	}
	return nil
}

// unsettled returns the run's instances the journal has no final answer
// for: those sent without an answer, and the others, in ledger order.
func (u *undo) unsettled() (doubt, todo []string) {
	seen := map[string]bool{}
	for _, o := range u.rows.assigned {
		id := o.Instance.ID
		if _, done := u.st.settled[id]; done || seen[id] {
			continue
		}
		seen[id] = true
		if u.st.doubt[id] {
			doubt = append(doubt, id)
		} else {
			todo = append(todo, id)
		}
	}
	return doubt, todo
}

// stopped turns the error that ended the work into its fatal part: a stop
// of the gateway, a signal or retries outlasted are not fatal.
func (u *undo) stopped(err error) error {
	var jerr *gateway.JournalError
	if errors.As(err, &jerr) {
		return jerr
	}
	if _, ok := gateway.StopReason(err); ok || errors.Is(err, context.Canceled) {
		return nil
	}
	u.log.Warn("Gong kept failing past --max-retry-time; stopping", zap.Error(err))
	u.cfg.Gateway.Stop(outcome.ReasonRetriesExhausted)
	return nil
}

// note journals e and folds it into the state.
func (u *undo) note(e journalEntry) error {
	if err := u.j.append(e); err != nil {
		return err
	}
	u.st.apply(e)
	if e.Done != nil {
		u.fresh += len(e.Done.Removed)
	}
	return nil
}
