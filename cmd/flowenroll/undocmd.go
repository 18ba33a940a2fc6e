package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/reconcile"
)

// gongFlags are the flags of undo and verify: the output directory of a
// run, and how they reach Gong (as run does).
type gongFlags struct {
	out                        string
	rate, maxRequests          float64
	timeout, maxRetry, maxWait time.Duration
	logFormat, logLevel        string
	sandbox                    bool
}

func (g *gongFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.out, "out", "", "the --out directory of the run")
	fs.Float64Var(&g.rate, "rate", 3, "requests per second (Gong's default company limit is 3)")
	fs.Float64Var(&g.maxRequests, "max-requests", 0, "stop after this many requests, exit 4 (0 = no cap)")
	fs.DurationVar(&g.timeout, "timeout", 30*time.Second, "time limit of one HTTP attempt")
	fs.DurationVar(&g.maxRetry, "max-retry-time", 10*time.Minute, "give up retrying a request after this long (exit 4)")
	fs.DurationVar(&g.maxWait, "max-wait", 5*time.Minute, "a 429 asking to wait longer than this stops with exit 4 (daily quota)")
	fs.StringVar(&g.logFormat, "log-format", "auto", "auto, json or console; auto is console on a terminal, JSON otherwise")
	fs.StringVar(&g.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&g.sandbox, "sandbox", false, "against the in-process emulator, holding what run --sandbox with this --out left in Gong (no credentials needed)")
}

func (g *gongFlags) check(name string, args []string) error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case len(args) > 0:
		return usagef("%s: unexpected arguments %q", name, args)
	case g.out == "":
		return usagef("--out is required")
	case !finite(g.rate) || g.rate <= 0 || g.rate > 1000:
		return usagef("--rate must be above 0 and at most 1000 requests a second, got %v", g.rate)
	case !finite(g.maxRequests) || g.maxRequests < 0 || g.maxRequests != math.Trunc(g.maxRequests):
		return usagef("--max-requests must be a whole number, 0 or more, got %v", g.maxRequests)
	case g.timeout <= 0, g.maxRetry <= 0, g.maxWait <= 0:
		return usagef("--timeout, --max-retry-time and --max-wait must be above 0")
	case g.logFormat != "auto" && g.logFormat != "json" && g.logFormat != "console":
		return usagef("--log-format must be auto, json or console, got %q", g.logFormat)
	}
	if _, err := zapcore.ParseLevel(g.logLevel); err != nil {
		return usagef("--log-level: %v", err)
	}
	return nil
}

// connect builds the client (credentials and GONG_BASE_URL as for run; with
// --sandbox, the emulator holding what the sandbox run in --out left, and
// what this command leaves kept there again) and the gateway: the run's
// pacer, budget and retry policy. stop ends the sandbox.
func (g *gongFlags) connect(e env, log *zap.Logger) (*gong.Client, *gateway.Gateway, func(), error) {
	run := &runCmd{env: e, common: common{out: g.out}, sending: sending{timeout: g.timeout}, sandbox: g.sandbox}
	client, stop, err := run.client(log)
	if err != nil {
		return nil, nil, nil, err
	}
	gw := gateway.New(gateway.Config{Limiter: newPacer(g.rate, g.out), Log: log,
		MaxRequests: int64(g.maxRequests), MaxRetryTime: g.maxRetry, MaxWait: g.maxWait})
	return client, gw, stop, nil
}

// undoCmd is `flowenroll undo`.
type undoCmd struct {
	env
	gongFlags
	batchSize    int
	unassignedBy string
	dryRun       bool
	fs           *flag.FlagSet
}

func newUndoCommand(e env) *undoCmd {
	c := &undoCmd{env: e, fs: flag.NewFlagSet("flowenroll undo", flag.ContinueOnError)}
	c.fs.SetOutput(e.stderr)
	c.gongFlags.register(c.fs)
	c.fs.IntVar(&c.batchSize, "batch-size", gong.MaxUnassignIDs, "flow instance IDs per unassign request, 1 to 200")
	c.fs.StringVar(&c.unassignedBy, "unassigned-by", "", "the Gong user removing them, sent as unassignedByUserEmail")
	c.fs.BoolVar(&c.dryRun, "dry-run", false, "list on standard output what would be removed; send nothing, write nothing")
	return c
}

func (c *undoCmd) ffcli() *ffcli.Command {
	return &ffcli.Command{
		Name:       "undo",
		ShortUsage: "flowenroll undo --out DIR [flags]",
		ShortHelp:  "remove the flow instances a run created, and no other",
		LongHelp: `Remove exactly the flow instances the run in --out created: their IDs come
from the run's ledger (not from assigned.csv, which a person may have edited),
so an instance that existed before the run is never touched. They are sent to
POST /v2/flows/prospects/unassign-flows-by-instance-id, up to --batch-size a
request, paced, budgeted and retried as run's requests are.

Writes undone.csv (removed) and undo-failed.csv (Gong kept it: not listed as
removed, or the request was refused for good), with each row's input line and
carried columns, and an "undo" section in summary.json. Its journal,
undo.jsonl, lets a stopped undo continue with the same command; an instance
sent without an answer is read back (POST /v2/flows/prospects) before it is
sent again, and an undo run twice sends nothing the second time.

Refused: a run still going (or any command holding --out), and a run with
rows in doubt (run the same run command first). Exit codes as for run.

Examples:
  flowenroll undo --out results/ --dry-run
  flowenroll undo --out results/ --unassigned-by ops@example.com`,
		FlagSet: c.fs,
		Options: ffOptions(),
		Exec:    c.Exec,
	}
}

// Exec runs the command.
func (c *undoCmd) Exec(ctx context.Context, args []string) error {
	if err := c.gongFlags.check("undo", args); err != nil {
		return err
	}
	if c.batchSize < 1 || c.batchSize > gong.MaxUnassignIDs {
		return usagef("--batch-size must be 1 to %d, got %d", gong.MaxUnassignIDs, c.batchSize)
	}
	log := newLogger(c.logFormat, c.logLevel, c.stderr)
	defer log.Sync() //nolint:errcheck
	cfg := reconcile.UndoConfig{Dir: c.out, BatchSize: c.batchSize, UnassignedBy: c.unassignedBy,
		DryRun: c.dryRun, DryRunOut: c.stdout, Log: log}
	if !c.dryRun {
		client, gw, stop, err := c.connect(c.env, log)
		if err != nil {
			return err
		}
		defer stop()
		cfg.Client, cfg.Gateway = client, gw
	}
	sum, err := reconcile.Undo(ctx, cfg)
	if err != nil {
		return err
	}
	if !c.dryRun {
		printUndo(c.stdout, c.out, sum)
	}
	return exitWith(sum.ExitCode)
}

func printUndo(w io.Writer, out string, s reconcile.UndoSummary) {
	fmt.Fprintf(w, "undo: %d of the run's %d flow instances removed (%d by this undo), %d kept by Gong, %d pending\n",
		s.Removed, s.Instances, s.RemovedThisRun, s.Kept, s.Pending)
	fmt.Fprintf(w, "  requests %d this undo; over every undo of this run %d unassign, %d read-back, %d retries, %d 429s\n",
		s.RequestsThisRun, s.Unassigns, s.ReadBacks, s.Retries, s.RateLimited)
	if s.StopReason != "" {
		fmt.Fprintf(w, "stopped: %s; the same command continues\n", s.StopReason)
	}
	fmt.Fprintf(w, "see %s/%s and %s/%s\n", out, reconcile.UndoneFile, out, reconcile.UndoFailedFile)
}
