package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/enroll"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/inbox"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/metrics"
	"github.com/flowenroll/flowenroll/pkg/notify"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/pace"
	"github.com/flowenroll/flowenroll/pkg/progress"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// job is what the files of one `run` share: the client, one pacer (files
// of an inbox share the quota) and the request cap.
type job struct {
	cmd       *runCmd
	opts      input.Options
	log       *zap.Logger
	client    *gong.Client
	limiter   *pace.Pacer
	notifyURL string
}

// file runs one input into out with at most budget requests (0: no cap);
// name is how notices call it (the uploaded name, for an inbox file).
// The result's exit is the contract's; processExit maps it for the process.
func (j *job) file(ctx context.Context, name, in, out string, budget int64) fileResult {
	c := j.cmd
	prog := progress.New(progress.Config{TTY: isTerminal(c.stderr), Out: c.stderr, Log: j.log, Interval: c.progEvery})
	prog.Start(ctx)
	sum, err := enroll.Run(ctx, enroll.Config{
		InputPath: in, Stdin: c.stdin, OutDir: out, Restart: c.restart, ReadBackFirst: c.readBackFirst, OverrideCoolOff: c.overrideCoolOff, ResendInDoubt: c.resendInDoubt, Input: j.opts, Sheet: c.sheet, MaxInputBytes: c.maxInput,
		OwnerBy:   c.ownerBy,
		ChunkSize: c.chunkSize, Concurrency: c.concurrency, Client: j.client, Limiter: j.limiter,
		MaxRequests: budget, MaxRetryTime: c.maxRetry, MaxWait: c.maxWait, DrainTimeout: c.drain,
		Preflight: c.preflight, Progress: prog, Log: j.log, Version: version, Workbook: true,
	})
	prog.Stop()
	code := sum.ExitCode
	if err != nil {
		code = outcome.ExitFatal
	}
	if sum.StartedAt != "" && (err == nil || sum.FinishedAt != "") {
		printSummary(c.stdout, out, sum, j.processExit(code))
	}
	if sum.Input == "" {
		sum.Input = in
	}
	j.report(ctx, name, out, sum, code, redact(err, secrets(c.getenv)))
	return fileResult{sum: sum, err: err, exit: code}
}

// processExit is the process's exit code for a run's: a run that finished
// with some rows failed exits --row-failures-exit-code (0 in a CronJob,
// where failed rows are routine); summary.json keeps the contract's 3.
func (j *job) processExit(code int) int {
	if code == outcome.ExitSomeFailed {
		return int(j.cmd.rowFailuresExit)
	}
	return code
}

// report pushes the metrics and posts the notice; neither fails the run.
func (j *job) report(ctx context.Context, name, out string, sum report.Summary, code int, err error) {
	// Their own deadlines: a run stopped by SIGTERM still reports.
	bg := context.WithoutCancel(ctx)
	if j.cmd.pushURL != "" {
		pctx, cancel := context.WithTimeout(bg, 10*time.Second)
		perr := metrics.Push(pctx, j.cmd.pushURL, j.cmd.pushJob, nil, sum, metrics.Succeeded(code), time.Now())
		cancel()
		if perr != nil {
			j.log.Warn("pushing metrics failed", zap.Error(perr))
		}
	}
	if j.notifyURL != "" {
		n := notify.Notice{File: name, Assigned: sum.Assigned, Failed: sum.Failed, Unprocessed: sum.Unprocessed,
			ExitCode: code, Results: out, Reason: sum.StopReason}
		if err != nil {
			n.Reason = err.Error()
		}
		if err := notify.Post(bg, &http.Client{}, j.notifyURL, n); err != nil {
			j.log.Warn("posting the notice failed", zap.Error(err))
		}
	}
}

// inbox runs every file of the inbox, sharing the pacer and the request cap.
func (j *job) inbox(ctx context.Context) error {
	res, err := inbox.Run(ctx, inbox.Config{Dir: j.cmd.inbox, MaxRequests: int64(j.cmd.maxRequests), Log: j.log,
		Run: func(ctx context.Context, f inbox.File) inbox.Outcome {
			r := j.file(ctx, f.Name, f.Input, f.Out, f.MaxRequests)
			r.err = redact(r.err, secrets(j.cmd.getenv))
			if r.err != nil {
				j.log.Error("run failed", zap.String("input", f.Input), zap.Error(r.err))
			}
			err := r.err
			if inputFault(err) {
				err = inbox.Reject(err)
			}
			// A spent quota or bad credentials end the scheduled run: the
			// next file would only meet them again.
			stop := r.sum.StopReason == outcome.ReasonRateLimited || r.sum.StopReason == outcome.ReasonDailyQuota || outcome.Fatal(r.sum.StopReason)
			return inbox.Outcome{ExitCode: r.exit, Err: err, Requests: r.sum.RequestsThisRun, Stop: stop}
		}})
	if err != nil {
		return err
	}
	return exitWith(j.processExit(res.ExitCode))
}

// inputFault reports whether err is about the file itself, which can never
// run as it is: the inbox rejects it instead of trying it again.
func inputFault(err error) bool {
	var he *input.HeaderError
	var nc *input.NotCSVError
	var long *input.RowTooLongError
	return errors.As(err, &he) || errors.As(err, &nc) || errors.As(err, &long) || errors.Is(err, os.ErrPermission)
}
