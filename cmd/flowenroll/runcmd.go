package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/enroll"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/pace"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// maxConcurrency bounds --concurrency: at Gong's rate, more requests in
// flight only wait on the pacer.
const maxConcurrency = 64

// runCmd is `flowenroll run`.
type runCmd struct {
	env
	common
	sending
	maxRequests, rowFailuresExit       float64
	progEvery                          time.Duration
	restart, sandbox, readBackFirst    bool
	overrideCoolOff, resendInDoubt     bool
	inbox, pushURL, pushJob, notifyURL string
	fs                                 *flag.FlagSet
}

func newRunCommand(e env) *runCmd {
	c := &runCmd{env: e, fs: flag.NewFlagSet("flowenroll run", flag.ContinueOnError)}
	fs := c.fs
	fs.SetOutput(e.stderr)
	c.common.register(fs)
	c.sending.register(fs, "requests per second (Gong's default company limit is 3)")
	fs.Float64Var(&c.maxRequests, "max-requests", 0, "stop after this many requests, exit 4 (0 = no cap)")
	fs.BoolVar(&c.restart, "restart", false, "discard the results and ledger in --out and start over")
	fs.BoolVar(&c.readBackFirst, "read-back-first", false, "read each request's prospects back before assigning them; those already in the flow fail AlreadyInFlow, unsent (for a file whose fate in Gong is unknown: a lost --out, another tool's half-done run)")
	fs.BoolVar(&c.overrideCoolOff, "override-cool-off", false, "assign through Gong's cool-off-override endpoint, in requests of at most 100 IDs: prospects a flow's cool-off period would refuse (InvalidState) are enrolled regardless; summary.json records it")
	fs.BoolVar(&c.resendInDoubt, "resend-in-doubt", false, "send again the people (rows without a CRM ID) of a bulk request that got no answer, left unprocessed InDoubt: Gong may enroll them twice")
	fs.BoolVar(&c.sandbox, "sandbox", false, "start the emulator in-process on loopback and run against it (no credentials needed)")
	fs.StringVar(&c.inbox, "inbox", "", "run every file in DIR/incoming (.csv .txt .tsv .xlsx), oldest first, into DIR/results/<name>/ (instead of --input and --out)")
	fs.DurationVar(&c.progEvery, "progress-interval", 30*time.Second, "off a terminal, log progress this often")
	fs.StringVar(&c.pushURL, "pushgateway", "", "push the run's metrics to this Prometheus Pushgateway at the end")
	fs.StringVar(&c.pushJob, "pushgateway-job", "flowenroll", "the job label of pushed metrics")
	fs.StringVar(&c.notifyURL, "notify", "", "post each file's outcome as JSON (with a Slack-compatible text) to this webhook when it ends; a secret: prefer FLOWENROLL_NOTIFY or FLOWENROLL_NOTIFY_FILE")
	fs.Float64Var(&c.rowFailuresExit, "row-failures-exit-code", enroll.ExitSomeFailed, "exit code of a run that finished with some rows failed (0 in a CronJob: a routine outcome, not a failed Job)")
	return c
}

func (c *runCmd) ffcli() *ffcli.Command {
	return &ffcli.Command{
		Name:       "run",
		ShortUsage: "flowenroll run --input PATH --out DIR [flags] | flowenroll run --inbox DIR [flags]",
		ShortHelp:  "enroll every valid row of the file in its Gong Engage flow",
		LongHelp: `Enroll every valid row of the CSV or workbook in its Gong Engage flow.

Rows are grouped into requests of up to --chunk-size IDs per flow and owner,
sent by --concurrency workers paced at --rate requests per second, retried
with backoff (honouring Retry-After), and written to assigned.csv, failed.csv
or unprocessed.csv in --out, with the input's other columns. Running the same
command again with the same --out continues an interrupted run; a changed
input needs --restart. One run at a time per --out.

assigned.csv holds only the instances this run created: a prospect Gong
shows in the flow with an instance created before the request (on Gong's
clock, from its Date header) fails AlreadyInFlow, and undo leaves it. For a
file whose fate in Gong nobody knows (a lost --out, another tool's half-done
run), --read-back-first reads each request's prospects back first and sends
only those not yet in the flow.

--override-cool-off (or FLOWENROLL_OVERRIDE_COOL_OFF=true) sends the rows
through Gong's cool-off-override endpoint, 100 IDs a request at most, for
prospects who finished the flow recently and whom its cool-off period
would refuse; summary.json says the run used it.

A row without a crmProspectId but with email, firstName and lastName (and
optionally companyName, jobTitle, linkedInUrl, accountCrmId) is a person:
sent in Gong's bulk assignments (50 a request), which find or create the
CRM record. A bulk request that got no answer is never sent again by
itself: its rows stay unprocessed InDoubt until --resend-in-doubt.

--notify URL (or FLOWENROLL_NOTIFY, or FLOWENROLL_NOTIFY_FILE naming a file
that holds it) posts each file's outcome to a webhook (Slack-compatible).

Examples:
  GONG_ACCESS_KEY_FILE=/secrets/key GONG_ACCESS_KEY_SECRET_FILE=/secrets/secret \
    flowenroll run --input prospects.csv --out results/
  flowenroll run --sandbox --input samples/prospects.csv --out /tmp/demo`,
		FlagSet: c.fs,
		Options: ffOptions(),
		Exec:    c.Exec,
	}
}

// validate checks the flags; every range is checked before any request.
func (c *runCmd) validate(args []string) error {
	if len(args) > 0 {
		return usagef("run: unexpected arguments %q", args)
	}
	if c.out == "" && c.inbox == "" {
		if c.input == "" {
			return usagef("--input is required")
		}
		return usagef("--out is required")
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !finite(c.maxRequests) || c.maxRequests < 0 || c.maxRequests != math.Trunc(c.maxRequests):
		return usagef("--max-requests must be a whole number, 0 or more, got %v", c.maxRequests)
	case !finite(c.rowFailuresExit) || c.rowFailuresExit < 0 || c.rowFailuresExit > 125 || c.rowFailuresExit != math.Trunc(c.rowFailuresExit):
		return usagef("--row-failures-exit-code must be 0 to 125, got %v", c.rowFailuresExit)
	case c.progEvery <= 0:
		return usagef("--progress-interval must be above 0")
	case c.inbox != "" && c.input == "-":
		return usagef("--inbox reads files, not standard input")
	}
	if err := c.sending.check(); err != nil {
		return err
	}
	if c.pushURL != "" {
		u, err := url.ParseRequestURI(c.pushURL)
		if err != nil || u.Host == "" {
			return usagef("--pushgateway: not a URL")
		}
		if u.User != nil || u.RawQuery != "" {
			return usagef("--pushgateway: credentials or a query in the URL are not accepted (they would reach error messages)")
		}
	}
	_, err := c.common.check(c.inbox != "")
	return err
}

// Exec runs the command.
func (c *runCmd) Exec(ctx context.Context, args []string) error {
	if err := c.validate(args); err != nil {
		return err
	}
	opts, _ := c.common.check(c.inbox != "")
	log := newLogger(c.logFormat, c.logLevel, c.stderr)
	defer log.Sync() //nolint:errcheck
	log.Debug("flowenroll", zap.String("version", version))
	client, stop, err := c.client(log)
	if err != nil {
		return err
	}
	defer stop()
	j := &job{cmd: c, opts: opts, log: log, client: client, limiter: pace.New(c.rate, pace.DefaultMargin)}
	if j.notifyURL = c.notifyURL; j.notifyURL == "" {
		if j.notifyURL, err = secretFromEnv(c.getenv, "FLOWENROLL_NOTIFY"); err != nil {
			return err
		}
	}
	if j.notifyURL != "" {
		if u, err := url.Parse(j.notifyURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return usagef("--notify: not an http(s) URL")
		}
	}
	if c.inbox != "" {
		return j.inbox(ctx)
	}
	code, err := j.file(ctx, c.input, c.input, c.out, int64(c.maxRequests)).code()
	if err != nil {
		return err
	}
	return exitWith(j.processExit(code))
}

func exitWith(code int) error {
	if code != 0 {
		return &exitError{code}
	}
	return nil
}

// client builds the Gong client, or the sandbox's; stop ends the sandbox.
func (c *runCmd) client(log *zap.Logger) (*gong.Client, func(), error) {
	base, creds, stop := c.getenv(gong.EnvBaseURL), gong.Credentials{}, func() {}
	if c.sandbox {
		url, key, secret, stopEmu, err := startSandbox(log)
		if err != nil {
			return nil, nil, err
		}
		base, creds, stop = url, gong.Credentials{AccessKey: key, AccessKeySecret: secret}, stopEmu
		log.Info("sandbox: running against the in-process emulator", zap.String("baseURL", url))
	} else {
		var err error
		if creds, err = gong.CredentialsFromEnv(c.getenv, os.Open); err != nil {
			return nil, nil, err
		}
	}
	baseURL, err := gong.ParseBaseURL(base)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return gong.NewClient(baseURL, creds, &http.Client{Timeout: c.timeout}, log), stop, nil
}

// secretFromEnv reads NAME or the file NAME_FILE names ("" when neither).
func secretFromEnv(getenv func(string) string, name string) (string, error) {
	if v := getenv(name); v != "" {
		return v, nil
	}
	path := getenv(name + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, errors.Unwrap(err))
	}
	return string(trimSpace(b)), nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// fileResult is one file's run.
type fileResult struct {
	sum  report.Summary
	err  error
	exit int // the exit code after --row-failures-exit-code
}

func (r fileResult) code() (int, error) { return r.exit, r.err }
