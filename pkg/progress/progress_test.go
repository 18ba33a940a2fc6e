package progress

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer safe for the bar's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logged returns the observed entries as message and fields.
func logged(logs *observer.ObservedLogs) []map[string]any {
	var got []map[string]any
	for _, e := range logs.TakeAll() {
		m := e.ContextMap()
		m["msg"] = e.Message
		got = append(got, m)
	}
	return got
}

// TestLogLines: off a terminal, one line per interval with the figures, a
// last one at Stop, and nothing on Out. Time is synctest's: time.Sleep in
// the bubble advances a fake clock at once.
func TestLogLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.InfoLevel)
		var jsonOut syncBuffer // what a pod's log would hold
		jsonCore := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&jsonOut), zap.InfoLevel)
		var out syncBuffer
		r := New(Config{Out: &out, Log: zap.New(zapcore.NewTee(core, jsonCore))})

		r.Settled(100) // settled by an earlier run: not in the rates
		r.Requests(5)
		r.Start(t.Context())
		r.SetTotal(1100)

		r.Settled(200)
		r.Requests(25)
		time.Sleep(DefaultInterval - time.Nanosecond)
		synctest.Wait()
		if got := logged(logs); got != nil {
			t.Errorf("logged before the interval: %v", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		want := []map[string]any{{
			"msg": "progress", "rowsSettled": int64(300), "rowsTotal": int64(1100), "percent": 27.3,
			// 20 requests and 200 rows in 30 s; 800 rows left at 200/30 a second
			"requests": int64(25), "requestsPerSecond": 0.67, "eta": 2 * time.Minute, "elapsed": 30 * time.Second,
		}}
		if diff := cmp.Diff(want, logged(logs)); diff != "" {
			t.Errorf("first line (-want +got):\n%s", diff)
		}

		r.Settled(500)
		r.Requests(65)
		time.Sleep(DefaultInterval)
		synctest.Wait()
		want = []map[string]any{{
			// 60 requests and 700 rows in 60 s; 300 rows left at 700/60 a second
			"msg": "progress", "rowsSettled": int64(800), "rowsTotal": int64(1100), "percent": 72.7,
			"requests": int64(65), "requestsPerSecond": 1.0, "eta": 26 * time.Second, "elapsed": time.Minute,
		}}
		if diff := cmp.Diff(want, logged(logs)); diff != "" {
			t.Errorf("second line (-want +got):\n%s", diff)
		}

		r.Settled(300)
		r.Requests(95)
		time.Sleep(10 * time.Second)
		r.Stop()
		r.Stop() // harmless
		want = []map[string]any{{
			"msg": "progress: end", "rowsSettled": int64(1100), "rowsTotal": int64(1100), "percent": 100.0,
			"requests": int64(95), "requestsPerSecond": 1.29, "elapsed": 70 * time.Second,
		}}
		if diff := cmp.Diff(want, logged(logs)); diff != "" {
			t.Errorf("last line (-want +got):\n%s", diff)
		}
		if out.String() != "" {
			t.Errorf("wrote to Out off a terminal: %q", out.String())
		}
		if s := jsonOut.String(); strings.Count(s, "\n") != 3 || strings.ContainsRune(s, '\x1b') {
			t.Errorf("JSON lines: want 3 and no escape code, got %q", s)
		}
	})
}

// TestLogLinesUnknownTotal: without a total there is no percent and no
// time left.
func TestLogLinesUnknownTotal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.InfoLevel)
		r := New(Config{Log: zap.New(core), Interval: 10 * time.Second})
		r.Start(t.Context())
		r.Settled(40)
		r.Requests(2)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		r.Stop()
		want := []map[string]any{{
			"msg": "progress", "rowsSettled": int64(40), "requests": int64(2), "requestsPerSecond": 0.2, "elapsed": 10 * time.Second,
		}, {
			"msg": "progress: end", "rowsSettled": int64(40), "requests": int64(2), "requestsPerSecond": 0.2, "elapsed": 10 * time.Second,
		}}
		if diff := cmp.Diff(want, logged(logs)); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
	})
}

// TestStopsWithContext: the clock stops when the run's ctx ends (SIGTERM);
// Stop still logs the last line.
func TestStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.InfoLevel)
		ctx, cancel := context.WithCancel(t.Context())
		r := New(Config{Log: zap.New(core), Interval: time.Second})
		r.Start(ctx)
		cancel()
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := logged(logs); got != nil {
			t.Errorf("logged after ctx ended: %v", got)
		}
		r.Stop()
		if got := logged(logs); len(got) != 1 || got[0]["msg"] != "progress: end" {
			t.Errorf("Stop logged %v", got)
		}
	})
}

func TestNotStarted(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	var out syncBuffer
	r := New(Config{TTY: true, Out: &out, Log: zap.New(core), Total: 3})
	r.Settled(1)
	r.Stop()
	if got := logged(logs); got != nil || out.String() != "" {
		t.Errorf("Stop without Start: logged %v, wrote %q", got, out.String())
	}
	want := Figures{Settled: 1, Total: 3, Percent: 33.3, ETA: -1}
	if diff := cmp.Diff(want, r.Figures()); diff != "" {
		t.Errorf("Figures (-want +got):\n%s", diff)
	}
}

// TestBar: on a terminal the line goes to Out, rewritten in place, with the
// counts, the rates, the time left and the requests, and nothing is logged.
func TestBar(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.InfoLevel)
		var out syncBuffer
		r := New(Config{TTY: true, Out: &out, Log: zap.New(core), Total: 10})
		r.Start(t.Context())
		if diff := cmp.Diff("\r[                    ]   0% (0/10 rows) | 0.0 rows/s | 0 requests (0.0/s) | 0s", out.String()); diff != "" {
			t.Errorf("first line (-want +got):\n%s", diff)
		}
		time.Sleep(2 * time.Second)
		r.Settled(4)
		r.Requests(3)
		time.Sleep(time.Second) // a redraw with the requests
		synctest.Wait()
		lines := strings.Split(out.String(), "\r")
		want := "[=======>            ]  40% (4/10 rows) | 1.3 rows/s | 3 requests (1.0/s) | 3s, ~5s left"
		if diff := cmp.Diff(want, lines[len(lines)-1]); diff != "" {
			t.Errorf("line at 3s (-want +got):\n%s", diff)
		}
		r.Settled(6)
		r.Requests(5)
		r.Stop()
		lines = strings.Split(out.String(), "\r")
		// Blanks over what the longer line before left.
		want = "[====================] 100% (10/10 rows) | 3.3 rows/s | 5 requests (1.7/s) | done in 3s \n"
		if diff := cmp.Diff(want, lines[len(lines)-1]); diff != "" {
			t.Errorf("last line (-want +got):\n%s", diff)
		}
		if strings.ContainsRune(out.String(), '\x1b') {
			t.Errorf("escape code on the terminal (carriage returns suffice): %q", out.String())
		}
		if got := logged(logs); got != nil {
			t.Errorf("logged on a terminal: %v", got)
		}
	})
}

// TestBarTotalLater: a line started without a total counts, then shows the
// bar and the percent once SetTotal gives the total.
func TestBarTotalLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out syncBuffer
		r := New(Config{TTY: true, Out: &out})
		r.Start(t.Context())
		time.Sleep(MinRedraw)
		r.Settled(35)
		if s := out.String(); !strings.HasSuffix(s, "\r(35 rows) | 0.0 rows/s | 0 requests (0.0/s) | 0s") {
			t.Errorf("line without a total: %q", s)
		}
		time.Sleep(MinRedraw)
		r.SetTotal(70)
		if s := out.String(); !strings.Contains(s, "\r[=========>          ]  50% (35/70 rows)") {
			t.Errorf("line once the total is known: %q", s)
		}
		r.Stop()
	})
}

// counter counts the drawings of the line (each starts with a carriage
// return) and the bytes written.
type counter struct {
	draws, bytes int
	last         string
}

func (c *counter) Write(p []byte) (int, error) {
	c.draws += strings.Count(string(p), "\r")
	c.bytes += len(p)
	c.last = string(p)
	return len(p), nil
}

// TestRedraws: 15,000 calls, one row each, a millisecond apart on a fake
// clock (the rows left unprocessed after Ctrl-C come one call per chunk):
// the line is drawn once per MinRedraw, not once per call. Before, each call
// was a drawing: 15,000 of them, some 3 MB.
func TestRedraws(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
		now := start
		var out counter
		// The ticker's redraws use synctest's time, which stands still here:
		// only Settled and Unprocessed draw.
		r := New(Config{TTY: true, Out: &out, Total: 15000, Now: func() time.Time { return now }})
		r.Start(t.Context())
		for i := range 15000 {
			now = now.Add(time.Millisecond)
			if i < 1400 {
				r.Settled(1)
			} else {
				r.Unprocessed(1)
			}
		}
		r.Stop()
		// 1 at Start, 1 every 200 ms of the 15 s, 1 at Stop.
		if want := 1 + 15000/200 + 1; out.draws != want {
			t.Errorf("%d drawings for 15,000 calls, want %d", out.draws, want)
		}
		if out.bytes > 77*200 {
			t.Errorf("%d bytes written for 15,000 calls", out.bytes)
		}
		t.Logf("15,000 calls: %d drawings, %d bytes", out.draws, out.bytes)
	})
}

// TestInterrupted: the last line of a run stopped early says how many rows
// are unprocessed, and the percentage counts settled rows only.
func TestInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out syncBuffer
		r := New(Config{TTY: true, Out: &out, Total: 15400})
		r.Start(t.Context())
		time.Sleep(62 * time.Second)
		r.Settled(6468)
		r.Requests(40)
		r.Unprocessed(8932)
		r.Stop()
		lines := strings.Split(out.String(), "\r")
		want := "[=======>            ]  42% (6468/15400 rows settled, 8932 unprocessed) | 104.3 rows/s | 40 requests (0.7/s) | " +
			"stopped after 1m2s; the same command sends the 8932 unprocessed rows\n"
		if diff := cmp.Diff(want, lines[len(lines)-1]); diff != "" {
			t.Errorf("last line (-want +got):\n%s", diff)
		}
	})
	t.Run("off a terminal", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			r := New(Config{Log: zap.New(core), Total: 100})
			r.Start(t.Context())
			time.Sleep(10 * time.Second)
			r.Settled(30)
			r.Unprocessed(70)
			r.Stop()
			want := []map[string]any{{
				"msg": "progress: end", "rowsSettled": int64(30), "rowsUnprocessed": int64(70), "rowsTotal": int64(100),
				"percent": 30.0, "requests": int64(0), "requestsPerSecond": 0.0, "elapsed": 10 * time.Second,
			}}
			if diff := cmp.Diff(want, logged(logs)); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	})
}

func TestFigures(t *testing.T) {
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// before Start, and after it at start+elapsed
		settledBefore, settled int
		unprocessed            int
		requestsBefore, reqs   int64
		total                  int
		elapsed                time.Duration
		want                   Figures
	}{{
		name: "at start", total: 10, want: Figures{Total: 10, Percent: 0, ETA: -1},
	}, {
		name: "no row yet: no time left", total: 10, reqs: 2, elapsed: 4 * time.Second,
		want: Figures{Total: 10, Requests: 2, RequestsPerSecond: 0.5, Percent: 0, ETA: -1, Elapsed: 4 * time.Second},
	}, {
		name: "half way", total: 10, settled: 5, reqs: 5, elapsed: 10 * time.Second,
		want: Figures{Settled: 5, Total: 10, Requests: 5, RequestsPerSecond: 0.5, RowsPerSecond: 0.5, Percent: 50, ETA: 10 * time.Second, Elapsed: 10 * time.Second},
	}, {
		name: "resumed: earlier rows and requests not in the rates", total: 100, settledBefore: 90, requestsBefore: 50,
		settled: 5, reqs: 1, elapsed: 5 * time.Second,
		want: Figures{Settled: 95, Total: 100, Requests: 51, RequestsPerSecond: 0.2, RowsPerSecond: 1, Percent: 95, ETA: 5 * time.Second, Elapsed: 5 * time.Second},
	}, {
		name: "total unknown", settled: 7, reqs: 3, elapsed: 3 * time.Second,
		want: Figures{Settled: 7, Requests: 3, RequestsPerSecond: 1, RowsPerSecond: 2.3, Percent: -1, ETA: -1, Elapsed: 3 * time.Second},
	}, {
		name: "more rows than the total", total: 5, settled: 6, reqs: 1, elapsed: time.Second,
		want: Figures{Settled: 6, Total: 5, Requests: 1, RequestsPerSecond: 1, RowsPerSecond: 6, Percent: 120, ETA: 0, Elapsed: time.Second},
	}, {
		name: "unprocessed rows: apart, not in the percent, not left to do", total: 100, settled: 40, unprocessed: 20,
		reqs: 4, elapsed: 10 * time.Second,
		want: Figures{
			Settled: 40, Unprocessed: 20, Total: 100, Requests: 4, RequestsPerSecond: 0.4, RowsPerSecond: 4, Percent: 40,
			ETA: 10 * time.Second, Elapsed: 10 * time.Second,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			r := New(Config{Total: tt.total, Now: clock, Interval: time.Hour})
			r.Settled(tt.settledBefore)
			r.Requests(tt.requestsBefore)
			r.Start(t.Context())
			defer r.Stop()
			mu.Lock()
			now = start.Add(tt.elapsed)
			mu.Unlock()
			r.Settled(tt.settled)
			r.Unprocessed(tt.unprocessed)
			r.Requests(tt.requestsBefore + tt.reqs)
			if diff := cmp.Diff(tt.want, r.Figures()); diff != "" {
				t.Errorf("Figures (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		name  string
		f     Figures
		final bool
		want  string
	}{{
		name: "under way",
		f:    Figures{Settled: 6468, Total: 15400, Requests: 40, RequestsPerSecond: 0.2, RowsPerSecond: 31.2, Percent: 42, ETA: 286 * time.Second, Elapsed: 207 * time.Second},
		want: "[=======>            ]  42% (6468/15400 rows) | 31.2 rows/s | 40 requests (0.2/s) | 3m27s, ~4m46s left",
	}, {
		name: "total not known, no time left yet",
		f:    Figures{Settled: 12, Percent: -1, ETA: -1, Elapsed: time.Second},
		want: "(12 rows) | 0.0 rows/s | 0 requests (0.0/s) | 1s",
	}, {
		name: "rows unprocessed under way: apart, the bar and percent count settled ones",
		f:    Figures{Settled: 50, Unprocessed: 10, Total: 100, Percent: 50, ETA: 40 * time.Second, Elapsed: 50 * time.Second, RowsPerSecond: 1},
		want: "[=========>          ]  50% (50/100 rows settled, 10 unprocessed) | 1.0 rows/s | 0 requests (0.0/s) | 50s, ~40s left",
	}, {
		name: "one row short: not 100%",
		f:    Figures{Settled: 14999, Total: 15000, Percent: 100, ETA: 0, Elapsed: 50 * time.Second},
		want: "[==================> ]  99% (14999/15000 rows) | 0.0 rows/s | 0 requests (0.0/s) | 50s, ~0s left",
	}, {
		name:  "finished",
		f:     Figures{Settled: 100, Total: 100, Percent: 100, ETA: 0, Elapsed: 50 * time.Second, RowsPerSecond: 2},
		final: true,
		want:  "[====================] 100% (100/100 rows) | 2.0 rows/s | 0 requests (0.0/s) | done in 50s",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Line(tt.f, tt.final)); diff != "" {
				t.Errorf("Line (-want +got):\n%s", diff)
			}
		})
	}
}
