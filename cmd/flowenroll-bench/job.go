package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/flowenroll/flowenroll/pkg/enroll"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/pace"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// The defaults of `flowenroll run` (cmd/flowenroll/run.go): the bench
// measures the job as people run it.
const (
	defaultRate        = 3
	defaultConcurrency = 4
	defaultChunkSize   = 200
	defaultTimeout     = 30 * time.Second
	defaultMaxRetry    = 10 * time.Minute
	defaultMaxWait     = 5 * time.Minute
	defaultDrain       = 20 * time.Second
)

// job is one `flowenroll run` against the emulator at base.
type job struct {
	base, input, out string
	rate             float64      // --rate; +Inf runs unpaced
	resume           bool         // continue the job in out (no --restart)
	trace            *clientTrace // if set, notes when the pacer and the transport let each request go
}

// run wires the job the way cmd/flowenroll does and runs it. It leaves out
// the CLI's progress reporting (off a terminal, a log line every 30 s).
func (j job) run(ctx context.Context, log *zap.Logger) (report.Summary, error) {
	baseURL, err := gong.ParseBaseURL(j.base)
	if err != nil {
		return report.Summary{}, err
	}
	hc := &http.Client{Timeout: defaultTimeout}
	defer hc.CloseIdleConnections()
	pacer := pace.New(j.rate, pace.DefaultMargin)
	pacer.Keep(filepath.Join(j.out, pace.StateFile)) // as cmd/flowenroll does
	var limiter pace.Limiter = pacer
	if j.trace != nil {
		hc.Transport = tracedTransport{http.DefaultTransport, j.trace}
		limiter = tracedPacer{pacer, j.trace}
	}
	// The emulator runs open: any well-formed key pair is accepted.
	client := gong.NewClient(baseURL, gong.Credentials{AccessKey: "bench", AccessKeySecret: "bench"}, hc, log)
	return enroll.Run(ctx, enroll.Config{
		InputPath: j.input, OutDir: j.out, Restart: !j.resume,
		ChunkSize: defaultChunkSize, Concurrency: defaultConcurrency,
		Client: client, Limiter: limiter,
		MaxRetryTime: defaultMaxRetry, MaxWait: defaultMaxWait, DrainTimeout: defaultDrain,
		Preflight: true, Log: log,
	})
}

// clientTrace is the client's side of a quota run's trace: when the pacer
// let a request go, and when the request reached the HTTP transport. What
// happens between the two (journaling the chunk, encoding it) is outside the
// pacer's reckoning.
type clientTrace struct {
	mu     sync.Mutex
	events []string
}

func (t *clientTrace) note(event string) {
	at := time.Now()
	t.mu.Lock()
	t.events = append(t.events, fmt.Sprintf("%d,%s", at.UnixNano(), event))
	t.mu.Unlock()
}

func (t *clientTrace) write(path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return os.WriteFile(path, []byte("unix_ns,event\n"+strings.Join(t.events, "\n")+"\n"), 0o600)
}

// tracedPacer is the run's pacer, noting each release.
type tracedPacer struct {
	p *pace.Pacer
	t *clientTrace
}

func (l tracedPacer) Turn(ctx context.Context, op string) (pace.Turn, error) {
	t, err := l.p.Turn(ctx, op)
	if err == nil {
		l.t.note("paced")
	}
	return t, err
}
func (l tracedPacer) Heard(t pace.Turn, a pace.Answer) { l.p.Heard(t, a) }

func (l tracedPacer) Wait(ctx context.Context) error {
	err := l.p.Wait(ctx)
	if err == nil {
		l.t.note("paced")
	}
	return err
}
func (l tracedPacer) RateLimited(retryAfter time.Duration) { l.p.RateLimited(retryAfter) }
func (l tracedPacer) Answered()                            { l.p.Answered() }

// tracedTransport notes each request as it starts on the wire.
type tracedTransport struct {
	next http.RoundTripper
	t    *clientTrace
}

func (tr tracedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tr.t.note("sent " + r.URL.Path)
	return tr.next.RoundTrip(r)
}

// runChild is the internal-run subcommand: the job in a process of its own,
// logging JSON at info level to stderr as the CLI does. The parent reads
// summary.json from -out; the child prints its peak RSS as JSON.
func runChild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(childRun, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var j job
	fs.StringVar(&j.base, "base", "", "emulator base URL")
	fs.StringVar(&j.input, "input", "", "input CSV")
	fs.StringVar(&j.out, "out", "", "output directory")
	fs.Float64Var(&j.rate, "rate", defaultRate, "--rate")
	trace := fs.String("trace", "", "write the client's side of the trace to this CSV")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *trace != "" {
		j.trace = &clientTrace{}
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(stderr)), zapcore.InfoLevel))
	defer log.Sync() //nolint:errcheck
	if _, err := j.run(ctx, log); err != nil {
		return err
	}
	if j.trace != nil {
		if err := j.trace.write(*trace); err != nil {
			return err
		}
	}
	return json.NewEncoder(stdout).Encode(planOf{PeakRSS: peakRSS()})
}

// readSummary reads the summary.json a job wrote.
func readSummary(out string) (report.Summary, error) {
	var s report.Summary
	b, err := os.ReadFile(filepath.Join(out, report.SummaryFile))
	if err != nil {
		return s, fmt.Errorf("the job wrote no summary: %w", err)
	}
	return s, json.Unmarshal(b, &s)
}
