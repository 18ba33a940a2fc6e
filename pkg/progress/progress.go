// Package progress shows how far a run has come: rows settled (assigned or
// failed) of the data rows, rows left unprocessed, requests sent and their
// rate, and the time left.
//
// On a terminal it draws one line on Out, rewritten in place with a carriage
// return: at most once per MinRedraw however fast rows settle, and once a
// second so that the rates and the clock move. Off a terminal (a Kubernetes
// pod, a pipe, a file) it logs one info line every Interval with the same
// figures, and writes nothing on Out. Neither writes escape codes. The
// caller decides which, typically with term.IsTerminal on stderr.
//
// Unprocessed rows (a signal, a request cap, the quota: the same command
// sends them again) are not progress: the percentage counts settled rows
// only, and the last line of an interrupted run says how many are left.
package progress

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultInterval is the time between two log lines off a terminal.
const DefaultInterval = 30 * time.Second

// MinRedraw is the shortest time between two drawings of the line: a burst
// of Settled or Unprocessed calls (after Ctrl-C, one per chunk left) is
// drawn a few times a second, not once per call.
const MinRedraw = 200 * time.Millisecond

// redraw is the longest time between two drawings of the line, so that the
// request rate and the clock move while no row settles.
const redraw = time.Second

// barWidth is the width of the bar inside its brackets.
const barWidth = 20

// Config configures a Reporter.
type Config struct {
	// TTY: Out is a terminal; draw the line on it. Otherwise log lines to Log.
	TTY bool
	// Out is where the line goes (stderr); unused off a terminal.
	Out io.Writer
	// Log gets the lines off a terminal; nil logs nothing.
	Log *zap.Logger
	// Interval between two log lines off a terminal; 0 means
	// DefaultInterval. The line is redrawn at least once a second.
	Interval time.Duration
	// Total is the number of data rows of the input, 0 if not known yet
	// (SetTotal gives it later).
	Total int
	// Now is the clock of the rates, the time left and the redraws; nil
	// means time.Now.
	Now func() time.Time
}

// Reporter follows a run. Its methods are safe for concurrent use.
type Reporter struct {
	cfg Config

	mu          sync.Mutex
	settled     int
	unprocessed int
	total       int
	requests    int64
	// At Start: rows and requests of earlier runs (a resumed run) do not
	// count in the rates.
	start           time.Time
	settledAtStart  int
	requestsAtStart int64
	started         bool
	stopped         bool
	lastDraw        time.Time
	lastWidth       int // of the line drawn last, to blank what a shorter one leaves

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

// Settled adds n rows to those settled: assigned, or failed with a final
// answer. Rows settled by an earlier run, reported before Start, are shown
// but do not count in the rates.
func (r *Reporter) Settled(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settled += n
	r.changed()
}

// Unprocessed adds n rows to those left unprocessed: written to
// unprocessed.csv, for the same command to send again. They are shown apart
// and never count as progress.
func (r *Reporter) Unprocessed(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unprocessed += n
	r.changed()
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
	r.changed()
}

// Start shows the first state and starts the clock: the line's redraws, or
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
		r.draw(r.start, false)
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

// Stop stops the clock, waits for it, and shows the last state: the line's
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
	if r.cfg.TTY {
		_, _ = io.WriteString(r.cfg.Out, "\n")
	}
}

// changed redraws the line if the last drawing is MinRedraw old; otherwise
// the next change or the clock shows it. Called with r.mu held.
func (r *Reporter) changed() {
	if !r.cfg.TTY || !r.started || r.stopped {
		return
	}
	if now := r.cfg.Now(); now.Sub(r.lastDraw) >= MinRedraw {
		r.draw(now, false)
	}
}

// draw writes the line over the last one. Called with r.mu held.
func (r *Reporter) draw(now time.Time, final bool) {
	line := Line(r.figures(now), final)
	width := len(line)
	if pad := r.lastWidth - width; pad > 0 {
		line += strings.Repeat(" ", pad)
	}
	r.lastDraw, r.lastWidth = now, width
	_, _ = io.WriteString(r.cfg.Out, "\r"+line)
}

// Figures are the state of a run at one moment.
type Figures struct {
	Settled     int // assigned or failed
	Unprocessed int // left for the same command to send again
	Total       int // data rows; 0: not known
	Requests    int64
	// RequestsPerSecond, RowsPerSecond and the time left count from Start.
	RequestsPerSecond float64
	RowsPerSecond     float64
	Percent           float64       // settled of Total, -1 if Total is not known
	ETA               time.Duration // -1 if it cannot be told
	Elapsed           time.Duration // since Start, to the second
}

// Figures returns the figures now.
func (r *Reporter) Figures() Figures {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.figures(r.cfg.Now())
}

func (r *Reporter) figures(now time.Time) Figures {
	f := Figures{Settled: r.settled, Unprocessed: r.unprocessed, Total: r.total, Requests: r.requests, Percent: -1, ETA: -1}
	if r.total > 0 {
		f.Percent = math.Round(float64(r.settled)*1000/float64(r.total)) / 10
	}
	if !r.started {
		return f
	}
	elapsed := now.Sub(r.start)
	f.Elapsed = max(elapsed.Round(time.Second), 0)
	// Rates over less than a second are noise: a run that ends at once
	// would show thousands of rows a second.
	if elapsed < time.Second {
		return f
	}
	secs := elapsed.Seconds()
	f.RequestsPerSecond = math.Round(float64(r.requests-r.requestsAtStart)/secs*100) / 100
	rows := r.settled - r.settledAtStart
	f.RowsPerSecond = math.Round(float64(rows)/secs*10) / 10
	if r.total > 0 && rows > 0 {
		left := max(r.total-r.settled-r.unprocessed, 0)
		f.ETA = time.Duration(float64(left) / (float64(rows) / secs) * float64(time.Second)).Round(time.Second)
	}
	return f
}

// Line is the terminal's line for f, the last one if final:
//
//	[=======>            ]  42% (6468/15400 rows) | 31.2 rows/s | 40 requests (0.2/s) | 3m27s, ~4m46s left
//	[=>                  ]   9% (1400/15000 rows settled, 13600 unprocessed) | ... | stopped after 1m2s; ...
//
// Unprocessed rows are counted apart and never fill the bar.
func Line(f Figures, final bool) string {
	var b strings.Builder
	if f.Total > 0 {
		filled := min(f.Settled*barWidth/f.Total, barWidth)
		bar := strings.Repeat("=", filled)
		if filled < barWidth && f.Settled > 0 {
			bar = bar[:max(filled-1, 0)] + ">"
			filled = max(filled, 1)
		}
		// Whole percents, rounded down: 100% means every row is settled.
		fmt.Fprintf(&b, "[%s%s] %3d%% (%d/%d rows", bar, strings.Repeat(" ", barWidth-filled), f.Settled*100/f.Total, f.Settled, f.Total)
	} else {
		fmt.Fprintf(&b, "(%d rows", f.Settled)
	}
	if f.Unprocessed > 0 {
		fmt.Fprintf(&b, " settled, %d unprocessed", f.Unprocessed)
	}
	fmt.Fprintf(&b, ") | %.1f rows/s | %d requests (%.1f/s) | ", f.RowsPerSecond, f.Requests, f.RequestsPerSecond)
	switch {
	case final && f.Unprocessed > 0:
		fmt.Fprintf(&b, "stopped after %s; the same command sends the %d unprocessed rows", f.Elapsed, f.Unprocessed)
	case final:
		fmt.Fprintf(&b, "done in %s", f.Elapsed)
	case f.ETA >= 0:
		fmt.Fprintf(&b, "%s, ~%s left", f.Elapsed, f.ETA)
	default:
		fmt.Fprint(&b, f.Elapsed)
	}
	return b.String()
}

func (r *Reporter) report(final bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	if r.cfg.TTY {
		r.draw(now, final)
		return
	}
	f := r.figures(now)
	fields := []zap.Field{zap.Int("rowsSettled", f.Settled)}
	if f.Unprocessed > 0 {
		fields = append(fields, zap.Int("rowsUnprocessed", f.Unprocessed))
	}
	if f.Total > 0 {
		fields = append(fields, zap.Int("rowsTotal", f.Total), zap.Float64("percent", f.Percent))
	}
	fields = append(fields, zap.Int64("requests", f.Requests), zap.Float64("requestsPerSecond", f.RequestsPerSecond))
	if f.ETA >= 0 && !final {
		fields = append(fields, zap.Duration("eta", f.ETA))
	}
	fields = append(fields, zap.Duration("elapsed", f.Elapsed))
	msg := "progress"
	if final {
		msg = "progress: end"
	}
	r.cfg.Log.Info(msg, fields...)
}
