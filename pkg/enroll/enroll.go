// Package enroll wires the stages of a run together; it holds no rule of
// its own. The reader goroutine reads rows and screens them (pkg/screen),
// groups the rows to send into chunks (pkg/chunk) and hands them to a fixed
// pool of workers, which send them through the gateway (pkg/submit,
// pkg/gateway). Every stage that settles a row returns an outcome
// (pkg/outcome); one writer goroutine journals them (pkg/ledger) and writes
// them to the result files (pkg/report). Every data row of the input ends
// in exactly one of assigned.csv, failed.csv and unprocessed.csv.
package enroll

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/outdir"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// Config is one run.
type Config struct {
	InputPath string    // a file, or "-" for Stdin
	Stdin     io.Reader // read when InputPath is "-"
	OutDir    string
	Restart   bool
	// ReadBackFirst reads each chunk's prospects back before assigning
	// them: those already in the flow fail AlreadyInFlow, unsent.
	ReadBackFirst bool
	// OverrideCoolOff sends the assigns through Gong's cool-off-override
	// endpoint (--override-cool-off), in requests of at most
	// gong.MaxCoolOffOverrideIDs: prospects a flow's cool-off period would
	// refuse are enrolled regardless. A person decides it; summary.json
	// says so. The console passes it here too.
	OverrideCoolOff bool
	// ResendInDoubt sends again the people of a bulk request that got no
	// answer (--resend-in-doubt): nothing can read them back, so Gong may
	// enroll them twice.
	ResendInDoubt bool
	// Input holds the reading options: --map, --encoding, --delimiter,
	// --crm, --flow, --owner, --owner-by.
	Input input.Options
	// Sheet is a workbook's sheet ("" for the first); MaxInputBytes bounds
	// standard input and other inputs that are not regular files.
	Sheet         string
	MaxInputBytes int64
	// OwnerBy is --owner-by: "email", "name" or "auto" (names when the
	// owner column holds no email).
	OwnerBy string

	ChunkSize    int
	Concurrency  int
	Client       gateway.Client
	Limiter      gateway.Limiter
	MaxRequests  int64
	MaxRetryTime time.Duration
	MaxWait      time.Duration
	// DrainTimeout is how long requests in flight may finish after ctx ends.
	DrainTimeout time.Duration
	// Preflight checks, through the flow listing, that each row's flow is
	// visible to its owner before a request is spent on it.
	Preflight bool
	// Assigned: see screen.Config.Assigned (the console's earlier runs).
	Assigned func(crmProspectID, flowID string) (run string, ok bool)
	// Workbook writes results.xlsx beside the CSVs at the end of the run.
	Workbook bool
	// Version is flowenroll's, for summary.json.
	Version string

	// Progress, if set, hears of the total, every row settled (replayed
	// ones first) and the requests so far.
	Progress Progress

	Log   *zap.Logger
	Now   func() time.Time
	Timer backoff.Timer // nil: real time
	Clock backoff.Clock
}

// Progress is told how a run advances.
type Progress interface {
	SetTotal(rows int)
	Settled(rows int)     // assigned or failed
	Unprocessed(rows int) // left for the next run
	Requests(total int64)
}

type noProgress struct{}

func (noProgress) SetTotal(int)    {}
func (noProgress) Settled(int)     {}
func (noProgress) Unprocessed(int) {}
func (noProgress) Requests(int64)  {}

// FatalError is a run that could not go on (exit 1).
type FatalError struct {
	Err error
}

func (e *FatalError) Error() string { return e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// written are the names a run writes in its output directory.
func written() []string {
	return append(report.Files(), report.WorkbookFile, ledger.FileName, stdinCopy, catalogFile)
}

// Run enrolls the input. It returns the summary (also written to
// summary.json) and an error only when the run could not go on (exit 1).
// ctx ending means SIGTERM: reading and dispatching stop, requests in flight
// get DrainTimeout to finish, and the rest is written as unprocessed.
func Run(ctx context.Context, cfg Config) (report.Summary, error) {
	cfg = withDefaults(cfg)
	start := cfg.Now()
	sum := report.Summary{Version: cfg.Version, StartedAt: start.UTC().Format(time.RFC3339)}
	dir, err := outdir.Acquire(cfg.OutDir, "run", start)
	if err != nil {
		return sum, &FatalError{err}
	}
	defer dir.Release()
	st, err := open(ctx, cfg, dir, start)
	if err != nil && ctx.Err() != nil {
		// A signal before the run began: nothing was sent or written.
		cfg.Log.Warn("stopped before the run began; the same command starts it", zap.Error(err))
		sum.Input, sum.StopReason, sum.ExitCode = cfg.InputPath, outcome.ReasonInterrupted, outcome.ExitStoppedEarly
		return sum, nil
	}
	if err != nil {
		return sum, &FatalError{err}
	}
	defer st.close()
	sum.Input, sum.InputSHA256, sum.Resumed = st.src.name, st.src.sha256, st.state.Resumed
	sum.Notes = st.src.notes
	for _, n := range st.src.notes {
		cfg.Log.Warn(n)
	}
	r := newRunner(cfg, st, start)
	rowsRead, err := r.run(ctx)
	return finish(cfg, st, r, sum, rowsRead, err)
}

func withDefaults(cfg Config) Config {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Progress == nil {
		cfg.Progress = noProgress{}
	}
	if cfg.OverrideCoolOff && (cfg.ChunkSize <= 0 || cfg.ChunkSize > gong.MaxCoolOffOverrideIDs) {
		cfg.ChunkSize = gong.MaxCoolOffOverrideIDs
	}
	return cfg
}

// finish writes what the run ends with: its figures in the ledger, the
// result files in place, and summary.json.
func finish(cfg Config, st *stores, r *runner, sum report.Summary, rowsRead int, err error) (report.Summary, error) {
	counts := r.gw.Counts()
	sum.RowsRead = rowsRead
	sum.RequestCounts = counts.Plus(st.state.Runs)
	sum.RequestsThisRun = counts.Requests
	if lerr := st.led.Run(counts); lerr != nil && err == nil {
		err = lerr
	}
	cerr := st.w.Close()
	if cerr != nil && err == nil {
		err = cerr
	}
	// The workbook people open, fix and send back: IDs stored as text.
	if cfg.Workbook {
		if werr := report.WriteWorkbookFile(cfg.OutDir); werr != nil && err == nil {
			err = werr
		}
	}
	sum.Counts = st.w.Counts()
	if cerr != nil {
		// No result file took its place: summary.json must not claim what
		// no file holds. The journal has the outcomes; the next run writes
		// them without sending.
		sum.Counts = report.NotWritten(sum.Counts)
		cfg.Log.Error("the result files could not be written; summary.json counts their rows unprocessed ("+outcome.ReasonResultsNotWritten+"): free space in --out, then run the same command again, which writes them from the journal",
			zap.Error(cerr))
	}
	sum.OverrideCoolOff = coolOffOverridden(cfg, st, r)
	sum.StopReason = r.gw.Stopped()
	if sum.StopReason == "" && r.interrupted() {
		sum.StopReason = outcome.ReasonInterrupted
	}
	end := cfg.Now()
	sum.FinishedAt = end.UTC().Format(time.RFC3339)
	sum.WallTimeSeconds = end.Sub(r.start).Seconds()
	sum.ExitCode = exitCode(sum, err)
	if errors.Is(err, ledger.ErrGone) {
		err = outGone(cfg, sum, err)
	}
	if serr := report.WriteSummary(cfg.OutDir, sum); serr != nil && err == nil {
		err = serr
		sum.ExitCode = outcome.ExitFatal
	}
	if err != nil {
		return sum, &FatalError{err}
	}
	return sum, nil
}

// coolOffOverridden reports whether rows of the run (this process's or an
// earlier one's, from the journal) went through the cool-off override: a
// resume without the flag still says so, and a flag nothing used (a file
// of people only, sent by bulk assignment, which has no override) is not
// claimed, with a warning.
func coolOffOverridden(cfg Config, st *stores, r *runner) bool {
	used := st.state.CoolOffOverride || r.overrode.Load()
	if cfg.OverrideCoolOff && !r.overrode.Load() {
		cfg.Log.Warn("--override-cool-off was given but no assign was sent through it in this run (people without a CRM ID go by bulk assignment, which has no cool-off override); summary.json records it only for rows that were")
	}
	return used
}

// outGone explains a run stopped because --out went away under it: what
// it did is recorded nowhere now, and what it did not do cannot be written.
func outGone(cfg Config, sum report.Summary, err error) error {
	err = fmt.Errorf("%w. The run stopped at once: the %d rows assigned so far (Gong has them) are recorded nowhere now, so undo cannot find them, and the rows not yet sent were not sent; "+
		"no result file can say so there. Run the same command again with --restart and --read-back-first (a new --out is fine): rows already in their flow then end AlreadyInFlow instead of being assigned twice",
		err, sum.Assigned)
	cfg.Log.Error("--out was deleted or replaced during the run; stopped", zap.String("out", cfg.OutDir), zap.Int("assigned", sum.Assigned), zap.Error(err))
	return err
}

func exitCode(sum report.Summary, err error) int {
	switch {
	case err != nil, outcome.Fatal(sum.StopReason):
		return outcome.ExitFatal
	case sum.Unprocessed > 0:
		return outcome.ExitStoppedEarly
	case sum.Failed > 0:
		return outcome.ExitSomeFailed
	}
	return outcome.ExitOK
}

// stores are what a run reads and writes: the input, the journal, the
// result files and the flow listings kept with the run.
type stores struct {
	src     *source
	led     *ledger.Ledger
	state   ledger.State
	w       *report.Writer
	catalog *catalogCache
}

func (s *stores) close() {
	if s.w != nil {
		s.w.Close()
	}
	if s.led != nil {
		s.led.Close()
	}
	if s.src != nil {
		s.src.Close()
	}
}

// open opens the input and the journal, checks the output directory, and
// starts the result files with the earlier runs' rows replayed.
func open(ctx context.Context, cfg Config, dir *outdir.Dir, now time.Time) (*stores, error) {
	if cfg.InputPath != "-" {
		if name, ok := dir.Writes(cfg.InputPath, written()); ok {
			return nil, fmt.Errorf("--input %s is %s, a file this run writes in --out %s: it would be overwritten while it is read; copy it elsewhere first, or choose another --out", cfg.InputPath, name, cfg.OutDir)
		}
	}
	if err := refuseBlankJournal(cfg, dir); err != nil {
		return nil, err
	}
	dir.RemoveTemporary(written())
	st := &stores{}
	var err error
	sc := SourceConfig{Stdin: cfg.Stdin, SpoolDir: cfg.OutDir, MaxSpool: cfg.MaxInputBytes, Sheet: cfg.Sheet, AutoOwnerNames: cfg.OwnerBy == "" || cfg.OwnerBy == "auto", Log: cfg.Log}
	if st.src, err = openSource(ctx, cfg.InputPath, sc, cfg.Input); err != nil {
		return nil, err
	}
	if st.led, st.state, err = ledger.Open(cfg.OutDir, journalKey(st.src.sha256, cfg), st.src.name, cfg.Restart, now); err != nil {
		if errors.Is(err, ledger.ErrInputChanged) && routing(cfg) != "" {
			err = fmt.Errorf("%w (--flow, --owner, --owner-by, --map and --header-row count as part of the input: a resume with other values would send rows elsewhere)", err)
		}
		st.close()
		return nil, err
	}
	if st.state.Resumed {
		if err := refuseShortJournal(cfg.OutDir, st.state); err != nil {
			st.close()
			return nil, err
		}
	}
	if err := st.src.keep(); err != nil {
		st.close()
		return nil, err
	}
	if err := st.startFiles(cfg); err != nil {
		st.close()
		return nil, err
	}
	st.catalog = openCatalog(cfg.OutDir, cfg.Restart, cfg.Now, cfg.Log)
	return st, nil
}

// routing is what of the settings decides where a row goes, beyond the
// file itself: --flow, --owner, --owner-by and --map. "" when none is set,
// so that an --out of an earlier release (whose journal knows only the
// file's hash) resumes.
func routing(cfg Config) string {
	in := cfg.Input
	var maps []string
	for k, v := range in.Map {
		maps = append(maps, k+"="+v)
	}
	sort.Strings(maps)
	by := cfg.OwnerBy
	if by == "auto" {
		by = ""
	}
	if in.Flow == "" && in.Owner == "" && by == "" && len(maps) == 0 && in.HeaderRow == 0 {
		return ""
	}
	parts := []string{"flow=" + in.Flow, "owner=" + in.Owner, "ownerBy=" + by, "map=" + strings.Join(maps, ",")}
	if in.HeaderRow != 0 {
		// Another header row reads the same lines under other columns.
		parts = append(parts, fmt.Sprintf("headerRow=%d", in.HeaderRow))
	}
	return strings.Join(parts, "\x00")
}

// journalKey ties the journal to the input and to the settings that route
// its rows: a resume with another --flow must not send rows to two flows.
func journalKey(inputSHA256 string, cfg Config) string {
	r := routing(cfg)
	if r == "" {
		return inputSHA256
	}
	sum := sha256.Sum256([]byte(inputSHA256 + "\x00" + r))
	return hex.EncodeToString(sum[:])
}

// startFiles removes a summary.json that would describe the state this run
// is about to change, and starts the result files with the settled rows of
// earlier runs.
func (st *stores) startFiles(cfg Config) error {
	if err := os.Remove(filepath.Join(cfg.OutDir, report.SummaryFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("output directory: %w", err)
	}
	if st.state.Resumed {
		cfg.Log.Info("resuming: rows settled by earlier runs are not sent again",
			zap.String("out", cfg.OutDir), zap.Int("inDoubt", len(st.state.InDoubt)))
	}
	var err error
	if st.w, err = report.Create(cfg.OutDir, st.src.columns()); err != nil {
		return err
	}
	cfg.Progress.SetTotal(st.src.rows)
	return st.led.Replay(func(o outcome.Outcome) error {
		cfg.Progress.Settled(1)
		return st.w.Write(o)
	})
}
