package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/enroll"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/inbox"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/metrics"
	"github.com/flowenroll/flowenroll/pkg/pace"
	"github.com/flowenroll/flowenroll/pkg/progress"
	"github.com/flowenroll/flowenroll/pkg/report"
	"github.com/flowenroll/flowenroll/pkg/submit"
)

// Exit codes of the contract.
const (
	exitFatal        = enroll.ExitFatal
	exitUsage        = enroll.ExitUsage
	exitStoppedEarly = enroll.ExitStoppedEarly
)

// exitError carries a non-zero exit code for a run that went as designed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// usageError is a wrong flag or argument (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

var errHelp = flag.ErrHelp

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// common flags of run and plan.
type common struct {
	input     string
	out       string
	chunkSize int
	maps      stringList
	logFormat string
	logLevel  string
	preflight bool
	encoding  string
	delimiter string
	crm       string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.input, "input", "", "CSV file of prospects, or - for standard input")
	fs.StringVar(&c.out, "out", "", "directory for assigned.csv, failed.csv, unprocessed.csv, summary.json and the ledger")
	fs.IntVar(&c.chunkSize, "chunk-size", 200, "CRM IDs per request, 1 to 200")
	fs.Var(&c.maps, "map", "canonical=Header: read a column from a header the aliases do not know (repeatable)")
	fs.StringVar(&c.logFormat, "log-format", "auto", "auto, json or console; auto is console on a terminal, JSON otherwise")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.encoding, "encoding", "auto", "input encoding: auto, utf-8, utf-16le, utf-16be or windows-1252")
	fs.StringVar(&c.delimiter, "delimiter", "auto", "input delimiter: auto (sniffed from the header), ',', ';', tab or '|'")
	fs.StringVar(&c.crm, "crm", "", "salesforce: check crmProspectId as a Salesforce ID, extend 15-character IDs to 18")
	fs.BoolVar(&c.preflight, "preflight", true, "before sending, check through GET /v2/flows that each flow is visible to its owner")
}

func (c *common) check(inbox bool) (input.Options, error) {
	switch {
	case inbox && (c.input != "" || c.out != ""):
		return input.Options{}, usagef("--inbox takes the place of --input and --out; give one or the other")
	case !inbox && c.input == "":
		return input.Options{}, usagef("--input is required")
	}
	if c.chunkSize < 1 || c.chunkSize > 200 {
		return input.Options{}, usagef("--chunk-size must be 1 to 200, got %d", c.chunkSize)
	}
	switch c.logFormat {
	case "auto", "json", "console":
	default:
		return input.Options{}, usagef("--log-format must be auto, json or console, got %q", c.logFormat)
	}
	if _, err := zapcore.ParseLevel(c.logLevel); err != nil {
		return input.Options{}, usagef("--log-level: %v", err)
	}
	m, err := input.ParseMap(c.maps)
	if err != nil {
		return input.Options{}, &usageError{err.Error()}
	}
	enc, err := input.ParseEncoding(c.encoding)
	if err != nil {
		return input.Options{}, &usageError{err.Error()}
	}
	delim, err := input.ParseDelimiter(c.delimiter)
	if err != nil {
		return input.Options{}, &usageError{err.Error()}
	}
	crm, err := input.ParseCRM(c.crm)
	if err != nil {
		return input.Options{}, &usageError{err.Error()}
	}
	return input.Options{Map: m, Encoding: enc, Delimiter: delim, CRM: crm}, nil
}

func newLogger(format, level string, stderr io.Writer) *zap.Logger {
	lvl, _ := zapcore.ParseLevel(level)
	if format == "auto" {
		format = "json"
		if isTerminal(stderr) {
			format = "console"
		}
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	if format == "console" {
		enc.EncodeLevel = zapcore.CapitalColorLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	} else {
		encoder = zapcore.NewJSONEncoder(enc)
	}
	return zap.New(zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(stderr)), lvl))
}

const rootHelp = `flowenroll puts CRM prospects from a CSV into Gong Engage flows.
See README.md for the full contract.

COMMANDS
  run       enroll every valid row of the CSV in its flow
  plan      dry run: read and validate, print the request plan, send nothing
  emulator  a local stand-in for Gong's Engage flow API

EXAMPLES
  flowenroll run --input prospects.csv --out results/
  flowenroll run --sandbox --input samples/prospects.csv --out /tmp/demo
  flowenroll plan --input prospects.csv
  cat prospects.csv | flowenroll run --input - --out results/

INPUT
  A CSV with a header row and the columns crmProspectId, flowId (digits) and
  flowInstanceOwnerEmail. Header matching ignores case, spaces, _ and -;
  common aliases ("Contact ID", "Flow ID", "Owner Email", ...) are known and
  --map canonical=Header names any other header.

OUTPUT (in --out)
  assigned.csv, failed.csv, unprocessed.csv: every input row is in exactly one.
  summary.json: counts, requests, retries, 429s, wall time, exit code.

CONFIGURATION
  Every flag can be set as FLOWENROLL_<FLAG> (upper case, - as _).
  Credentials only from the environment, never from flags:
    GONG_ACCESS_KEY + GONG_ACCESS_KEY_SECRET (Basic), or GONG_BEARER_TOKEN
    (OAuth); each also as <NAME>_FILE naming a file that holds it.
  GONG_BASE_URL, default https://api.gong.io; plain http only for loopback.

EXIT CODES
  0 every row was assigned
  1 fatal: bad credentials, unreadable input, output not writable, internal error
  2 usage: a wrong flag or argument
  3 finished, and some rows failed (see failed.csv)
  4 stopped early: some rows are unprocessed (signal, request cap, quota);
    the same command continues where it stopped
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	runCmd := newRunCommand(getenv, stdin, stdout, stderr)
	planCmd := newPlanCommand(getenv, stdin, stdout, stderr)
	emuCmd := newEmulatorCommand(getenv, stdout, stderr)
	rootFS := flag.NewFlagSet("flowenroll", flag.ContinueOnError)
	rootFS.SetOutput(stderr)
	root := &ffcli.Command{
		Name:        "flowenroll",
		ShortUsage:  "flowenroll <run|plan|emulator> [flags]",
		FlagSet:     rootFS,
		Subcommands: []*ffcli.Command{runCmd, planCmd, emuCmd, newServeCommand(getenv, stdout, stderr)},
		UsageFunc:   func(*ffcli.Command) string { return rootHelp },
		Exec: func(context.Context, []string) error {
			fmt.Fprint(stderr, rootHelp)
			return usagef("a command is required: run, plan or emulator")
		},
	}
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &usageError{err.Error()}
	}
	return root.Run(ctx)
}

func ffOptions() []ff.Option { return []ff.Option{ff.WithEnvVarPrefix("FLOWENROLL")} }

func newRunCommand(getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("flowenroll run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	ratePerSec := fs.Float64("rate", 3, "requests per second (Gong's default company limit is 3)")
	concurrency := fs.Int("concurrency", 4, "requests in flight")
	maxRequests := fs.Int64("max-requests", 0, "stop after this many requests, exit 4 (0 = no cap)")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit of one HTTP attempt")
	maxRetry := fs.Duration("max-retry-time", 10*time.Minute, "give up retrying a request after this long")
	maxWait := fs.Duration("max-wait", 5*time.Minute, "a 429 asking to wait longer than this ends the run with exit 4 (daily quota)")
	drain := fs.Duration("drain-timeout", 20*time.Second, "after SIGTERM, how long requests in flight may finish")
	restart := fs.Bool("restart", false, "discard the results and ledger in --out and start over")
	sandbox := fs.Bool("sandbox", false, "start the emulator in-process on loopback and run against it (no credentials needed)")
	inboxDir := fs.String("inbox", "", "run every *.csv in DIR/incoming, oldest first, into DIR/results/<name>/ (instead of --input and --out)")
	progressEvery := fs.Duration("progress-interval", 30*time.Second, "off a terminal, log progress this often")
	pushURL := fs.String("pushgateway", "", "push the run's metrics to this Prometheus Pushgateway at the end")
	pushJob := fs.String("pushgateway-job", "flowenroll", "the job label of pushed metrics")
	return &ffcli.Command{
		Name:       "run",
		ShortUsage: "flowenroll run --input PATH --out DIR [flags] | flowenroll run --inbox DIR [flags]",
		ShortHelp:  "enroll every valid row of the CSV in its Gong Engage flow",
		LongHelp: `Enroll every valid row of the CSV in its Gong Engage flow.

Rows are grouped into requests of up to --chunk-size IDs per flow and owner,
sent by --concurrency workers paced at --rate requests per second, retried
with backoff (honouring Retry-After), and written to assigned.csv, failed.csv
or unprocessed.csv in --out. Running the same command again with the same
--out continues an interrupted run; a changed input needs --restart.

Examples:
  GONG_ACCESS_KEY_FILE=/secrets/key GONG_ACCESS_KEY_SECRET_FILE=/secrets/secret \
    flowenroll run --input prospects.csv --out results/
  flowenroll run --sandbox --input samples/prospects.csv --out /tmp/demo`,
		FlagSet: fs,
		Options: ffOptions(),
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("run: unexpected arguments %q", args)
			}
			m, err := c.check(*inboxDir != "")
			if err != nil {
				return err
			}
			if c.out == "" && *inboxDir == "" {
				return usagef("--out is required")
			}
			switch {
			case *ratePerSec <= 0:
				return usagef("--rate must be above 0, got %v", *ratePerSec)
			case *concurrency < 1:
				return usagef("--concurrency must be at least 1, got %d", *concurrency)
			case *maxRequests < 0:
				return usagef("--max-requests must be 0 or more, got %d", *maxRequests)
			case *timeout <= 0, *maxRetry <= 0, *maxWait <= 0, *drain <= 0, *progressEvery <= 0:
				return usagef("--timeout, --max-retry-time, --max-wait, --drain-timeout and --progress-interval must be above 0")
			case *inboxDir != "" && c.input == "-":
				return usagef("--inbox reads files, not standard input")
			}
			if *pushURL != "" {
				u, err := url.ParseRequestURI(*pushURL)
				if err != nil {
					return usagef("--pushgateway: not a URL")
				}
				if u.User != nil {
					return usagef("--pushgateway: credentials in the URL are not accepted (they would reach error messages)")
				}
			}
			log := newLogger(c.logFormat, c.logLevel, stderr)
			defer log.Sync() //nolint:errcheck
			log.Debug("flowenroll", zap.String("version", version))

			var base, creds = getenv(gong.EnvBaseURL), gong.Credentials{}
			if *sandbox {
				url, key, secret, stopEmu, err := startSandbox(log)
				if err != nil {
					return err
				}
				defer stopEmu()
				base, creds = url, gong.Credentials{AccessKey: key, AccessKeySecret: secret}
				log.Info("sandbox: running against the in-process emulator", zap.String("baseURL", url))
			} else {
				creds, err = gong.CredentialsFromEnv(getenv, os.ReadFile)
				if err != nil {
					return err
				}
			}
			baseURL, err := gong.ParseBaseURL(base)
			if err != nil {
				return err
			}
			client := gong.NewClient(baseURL, creds, &http.Client{Timeout: *timeout}, log)
			// One pacer for the whole process: files of an inbox share the quota.
			limiter := pace.New(*ratePerSec, pace.DefaultMargin)
			tty := isTerminal(stderr)

			// --max-requests caps the whole process: the files of an inbox
			// share it, as they share the pacer.
			var spent int64
			lastStop := ""
			runFile := func(ctx context.Context, in, out string) (int, error) {
				budget := int64(0)
				if *maxRequests > 0 {
					budget = max(*maxRequests-spent, 1)
				}
				prog := progress.New(progress.Config{TTY: tty, Out: stderr, Log: log, Interval: *progressEvery})
				prog.Start(ctx)
				sum, err := enroll.Run(ctx, enroll.Config{
					InputPath: in, Stdin: stdin, OutDir: out, Restart: *restart, Input: m,
					ChunkSize: c.chunkSize, Concurrency: *concurrency, Client: client, Limiter: limiter,
					MaxRequests: budget, MaxRetryTime: *maxRetry, MaxWait: *maxWait, DrainTimeout: *drain,
					Preflight: c.preflight, Progress: prog, Log: log,
				})
				prog.Stop()
				spent += sum.RequestsThisRun
				lastStop = sum.StopReason
				if sum.StartedAt != "" && (err == nil || sum.FinishedAt != "") {
					printSummary(stdout, out, sum)
				}
				code := sum.ExitCode
				if err != nil {
					code = exitFatal
				}
				if *pushURL != "" {
					if sum.Input == "" {
						sum.Input = in
					}
					// Its own deadline: a run stopped by SIGTERM still reports.
					pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
					perr := metrics.Push(pctx, *pushURL, *pushJob, nil, sum, metrics.Succeeded(code), time.Now())
					cancel()
					if perr != nil {
						log.Warn("pushing metrics failed", zap.Error(perr))
					}
				}
				return code, err
			}

			if *inboxDir != "" {
				// A spent quota or request budget ends the scheduled run: the
				// next file would only meet it again.
				ictx, stopTaking := context.WithCancel(ctx)
				defer stopTaking()
				res, err := inbox.Process(ictx, *inboxDir, func(ctx context.Context, in, out string) (int, error) {
					code, err := runFile(ctx, in, out)
					if err != nil {
						log.Error("run failed", zap.String("input", in), zap.Error(err))
					}
					if lastStop == submit.ReasonRateLimited || lastStop == submit.ReasonRequestBudget || lastStop == submit.ReasonUnauthorized ||
						(*maxRequests > 0 && spent >= *maxRequests) {
						log.Warn("no more files this run", zap.String("reason", lastStop), zap.Int64("requests", spent))
						stopTaking()
					}
					return code, err
				}, log)
				if err != nil {
					return err
				}
				if res.ExitCode != 0 {
					return &exitError{res.ExitCode}
				}
				return nil
			}
			code, err := runFile(ctx, c.input, c.out)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code}
			}
			return nil
		},
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// startSandbox starts the emulator on a loopback port with fresh credentials.
func startSandbox(log *zap.Logger) (string, string, string, func(), error) {
	key, secret := randomHex(8), randomHex(16)
	emu, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(), AccessKey: key, AccessKeySecret: secret, Logger: log.Named("emulator")})
	if err != nil {
		return "", "", "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", "", nil, fmt.Errorf("sandbox: %w", err)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return "http://" + ln.Addr().String(), key, secret, func() { srv.Close() }, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func printSummary(w io.Writer, out string, s report.Summary) {
	fmt.Fprintf(w, "\nflowenroll: %d rows read from %s", s.RowsRead, s.Input)
	if s.Resumed {
		fmt.Fprint(w, " (resumed)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  assigned     %d\n", s.Assigned)
	fmt.Fprintf(w, "  failed       %d", s.Failed)
	if len(s.FailedByStage) > 0 {
		var parts []string
		for _, stage := range sortedKeys(s.FailedByStage) {
			n := 0
			for _, k := range s.FailedByStage[stage] {
				n += k
			}
			parts = append(parts, fmt.Sprintf("%s %d", stage, n))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  unprocessed  %d", s.Unprocessed)
	if len(s.UnprocessedByReason) > 0 {
		var parts []string
		for _, r := range sortedKeys(s.UnprocessedByReason) {
			parts = append(parts, fmt.Sprintf("%s %d", r, s.UnprocessedByReason[r]))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  requests %d, retries %d, 429s %d, time %.1fs\n", s.Requests, s.Retries, s.RateLimited, s.WallTimeSeconds)
	fmt.Fprintf(w, "  results in %s (exit %d)\n", out, s.ExitCode)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func newPlanCommand(getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("flowenroll plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	return &ffcli.Command{
		Name:       "plan",
		ShortUsage: "flowenroll plan --input PATH [--out DIR] [flags]",
		ShortHelp:  "dry run: validate the CSV and print the request plan; sends nothing",
		LongHelp: `Dry run: the same reading and validation as run. Prints the requests it would
send per flow and owner, and the rejected rows grouped by reason. With --out it
writes the rejected rows to failed.csv. Sends no assign request and needs no
credentials; with credentials (GONG_* as for run) it also resolves flow names
and checks each flow is visible to its owner (GET /v2/flows), and says
clearly when it did not.

Example:
  flowenroll plan --input prospects.csv --out check/`,
		FlagSet: fs,
		Options: ffOptions(),
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("plan: unexpected arguments %q", args)
			}
			m, err := c.check(false)
			if err != nil {
				return err
			}
			log := newLogger(c.logFormat, c.logLevel, stderr)
			defer log.Sync() //nolint:errcheck
			pc := enroll.PlanConfig{InputPath: c.input, Stdin: stdin, OutDir: c.out, Input: m, ChunkSize: c.chunkSize, Preflight: c.preflight, Log: log}
			// Credentials are optional for plan: with them it resolves flow
			// names and runs the preflight; without, it says it did not.
			creds, err := gong.CredentialsFromEnv(getenv, os.ReadFile)
			switch {
			case errors.Is(err, gong.ErrNoCredentials):
			case err != nil:
				return err
			default:
				baseURL, err := gong.ParseBaseURL(getenv(gong.EnvBaseURL))
				if err != nil {
					return err
				}
				pc.Client = gong.NewClient(baseURL, creds, &http.Client{Timeout: 30 * time.Second}, log)
				pc.Limiter = pace.New(3, pace.DefaultMargin)
			}
			p, err := enroll.MakePlan(ctx, pc)
			if err != nil {
				return err
			}
			printPlan(stdout, p)
			return nil
		},
	}
}

func printPlan(w io.Writer, p enroll.Plan) {
	fmt.Fprintf(w, "plan for %s: %d rows read, %d valid, %d rejected, %d requests\n\n", p.Input, p.RowsRead, p.Valid, p.Rejected, p.Requests)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FLOW ID\tOWNER\tROWS\tREQUESTS")
	for _, g := range p.Groups {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", g.FlowID, g.OwnerEmail, g.Rows, g.Requests)
	}
	tw.Flush()
	if len(p.RejectedByCode) > 0 {
		fmt.Fprintln(w, "\nrejected rows:")
		for _, code := range sortedKeys(p.RejectedByCode) {
			r := p.RejectedByCode[code]
			fmt.Fprintf(w, "  %s: %d, for example %s\n", code, r.Rows, r.Example)
		}
	}
	if p.FailedCSV != "" {
		fmt.Fprintf(w, "\nrejected rows written to %s\n", p.FailedCSV)
	}
	if p.Note != "" {
		fmt.Fprintf(w, "\nnote: %s\n", p.Note)
	}
	if p.FlowListings > 0 {
		fmt.Fprintf(w, "flow listings: %d requests (GET /v2/flows)\n", p.FlowListings)
	}
	fmt.Fprintln(w, "\nnothing was assigned (plan is a dry run)")
}
