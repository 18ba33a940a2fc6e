// Package progress shows how far a run has come: rows settled of the total,
// requests sent and their rate, and the time left.
//
// On a terminal it draws a progress bar (github.com/schollz/progressbar) on
// Out, redrawn as rows settle and once a second. Off a terminal (a
// Kubernetes pod, a pipe, a file) it logs one info line every Interval with
// the same figures, and writes no escape codes: the caller decides which,
// typically with term.IsTerminal on stderr.
package progress

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.uber.org/zap"
)

// DefaultInterval is the time between two log lines off a terminal.
const DefaultInterval = 30 * time.Second

// redraw is the longest time between two redraws of the bar, so that the
// request rate and the clock move while no row settles.
const redraw = time.Second

// Config configures a Reporter.
type Config struct {
	// TTY: Out is a terminal; draw a bar on it. Otherwise log lines to Log.
	TTY bool
	// Out is where the bar goes (stderr); unused off a terminal.
	Out io.Writer
	// Log gets the lines off a terminal; nil logs nothing.
	Log *zap.Logger
	// Interval between two log lines off a terminal; 0 means
	// DefaultInterval. The bar is redrawn at least once a second.
	Interval time.Duration
	// Total is the number of data rows of the input, 0 if not known yet
	// (SetTotal gives it later).
	Total int
	// Now is the clock of the rates and the time left; nil means time.Now.
	Now func() time.Time
}

// Reporter follows a run. Its methods are safe for concurrent use.
type Reporter struct {
	cfg Config

	mu       sync.Mutex
	settled  int
	total    int
	requests int64
	// At Start: rows and requests of earlier runs (a resumed run) do not
	// count in the rates.
	start           time.Time
	settledAtStart  int
	requestsAtStart int64
	bar             *progressbar.ProgressBar // on a terminal, from Start on
	started         bool
	stopped         bool

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Reporter; nothing is shown before Start.
func New(cfg Config) *Reporter {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	return &Reporter{cfg: cfg, total: max(cfg.Total, 0)}
}

// Settled adds n rows to those settled (assigned or failed). Rows settled
// by an earlier run, reported before Start, are shown but do not count in
// the rates.
func (r *Reporter) Settled(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settled += n
	if r.bar != nil && !r.stopped {
		_ = r.bar.Add(n) // only fails if the count passes the total; the bar stays full
	}
}

// Requests sets the number of requests sent so far (a running total, not an
// increment).
func (r *Reporter) Requests(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = n
}

// SetTotal sets the number of data rows, when it becomes known.
func (r *Reporter) SetTotal(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= 0 || n == r.total {
		return
	}
	r.total = n
	if r.bar != nil && !r.stopped {
		// A bar of unknown length counts modulo its width: a new one, of
		// known length, starts from the right count.
		_ = r.bar.Clear()
		r.bar = r.newBar()
		_ = r.bar.Add(r.settled)
		r.bar.Describe(r.describe(r.cfg.Now()))
	}
}

// Start shows the first state and starts the clock: the bar's redraws, or
// the log lines. It ends with Stop, or when ctx ends (Stop is still needed
// for the last line). Start is called at most once.
func (r *Reporter) Start(ctx context.Context) {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return
	}
	r.started = true
	r.start = r.cfg.Now()
	r.settledAtStart, r.requestsAtStart = r.settled, r.requests
	interval := r.cfg.Interval
	if r.cfg.TTY {
		interval = min(interval, redraw)
		r.bar = r.newBar()
		_ = r.bar.RenderBlank()
		if r.settled > 0 {
			_ = r.bar.Add(r.settled)
		}
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	r.mu.Unlock()

	go func() {
		defer close(r.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.report(false)
			}
		}
	}()
}

// Stop stops the clock, waits for it, and shows the last state: the bar's
// last drawing and a newline, or a last log line. Calling it again, or
// without Start, does nothing.
func (r *Reporter) Stop() {
	r.mu.Lock()
	if !r.started || r.stopped {
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.cancel()
	<-r.done
	r.report(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.bar != nil {
		_ = r.bar.Exit()
		_, _ = io.WriteString(r.cfg.Out, "\n")
	}
}

// newBar: called with r.mu held.
func (r *Reporter) newBar() *progressbar.ProgressBar {
	total := int64(r.total)
	if total <= 0 {
		total = -1 // a spinner with the count, until SetTotal
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(r.cfg.Out),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionShowDescriptionAtLineEnd(),
		// 0: the spinner turns on redraws; otherwise a bar of unknown
		// length starts a goroutine of its own that outlives it.
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionSetDescription("0 requests"),
	)
}

// Figures are the state of a run at one moment.
type Figures struct {
	Settled  int
	Total    int // 0: not known
	Requests int64
	// RequestsPerSecond and the time left count from Start.
	RequestsPerSecond float64
	Percent           float64       // of Total, -1 if Total is not known
	ETA               time.Duration // -1 if it cannot be told yet
}

// Figures returns the figures now.
func (r *Reporter) Figures() Figures {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.figures(r.cfg.Now())
}

func (r *Reporter) figures(now time.Time) Figures {
	f := Figures{Settled: r.settled, Total: r.total, Requests: r.requests, Percent: -1, ETA: -1}
	if r.total > 0 {
		f.Percent = math.Round(float64(r.settled)*1000/float64(r.total)) / 10
	}
	elapsed := now.Sub(r.start).Seconds()
	if !r.started || elapsed <= 0 {
		return f
	}
	f.RequestsPerSecond = math.Round(float64(r.requests-r.requestsAtStart)/elapsed*100) / 100
	if rows := r.settled - r.settledAtStart; r.total > 0 && rows > 0 {
		left := max(r.total-r.settled, 0)
		f.ETA = time.Duration(float64(left) / (float64(rows) / elapsed) * float64(time.Second)).Round(time.Second)
	}
	return f
}

func (r *Reporter) describe(now time.Time) string {
	f := r.figures(now)
	return fmt.Sprintf("%d requests (%.1f/s)", f.Requests, f.RequestsPerSecond)
}

func (r *Reporter) report(final bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	if r.bar != nil {
		r.bar.Describe(r.describe(now))
		return
	}
	f := r.figures(now)
	fields := []zap.Field{zap.Int("rowsSettled", f.Settled)}
	if f.Total > 0 {
		fields = append(fields, zap.Int("rowsTotal", f.Total), zap.Float64("percent", f.Percent))
	}
	fields = append(fields, zap.Int64("requests", f.Requests), zap.Float64("requestsPerSecond", f.RequestsPerSecond))
	if f.ETA >= 0 && !final {
		fields = append(fields, zap.Duration("eta", f.ETA))
	}
	fields = append(fields, zap.Duration("elapsed", now.Sub(r.start).Round(time.Second)))
	msg := "progress"
	if final {
		msg = "progress: end"
	}
	r.cfg.Log.Info(msg, fields...)
}
