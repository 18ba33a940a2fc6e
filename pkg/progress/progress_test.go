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

// TestBar: on a terminal the bar goes to Out, with the counts, the rows
// rate, the time left and the requests, and nothing is logged.
func TestBar(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.InfoLevel)
		var out syncBuffer
		r := New(Config{TTY: true, Out: &out, Log: zap.New(core), Total: 10})
		r.Start(t.Context())
		if s := out.String(); !strings.Contains(s, "0%") || !strings.Contains(s, "(0/10") {
			t.Errorf("blank bar: %q", s)
		}
		time.Sleep(2 * time.Second)
		r.Settled(4)
		r.Requests(3)
		time.Sleep(time.Second) // a redraw with the requests
		synctest.Wait()
		s := out.String()
		for _, want := range []string{"40%", "|", "(4/10", "rows/s", "3 requests (1.0/s)", "[3s:"} {
			if !strings.Contains(s, want) {
				t.Errorf("bar without %q: %q", want, s)
			}
		}
		r.Settled(6)
		r.Requests(5)
		r.Stop()
		s = out.String()
		for _, want := range []string{"100%", "(10/10", "5 requests"} {
			if !strings.Contains(s, want) {
				t.Errorf("last bar without %q: %q", want, s)
			}
		}
		if !strings.HasSuffix(s, "\n") {
			t.Errorf("no newline after the bar: %q", s)
		}
		if strings.ContainsRune(s, '\x1b') {
			t.Errorf("escape code in the bar (carriage returns suffice): %q", s)
		}
		if got := logged(logs); got != nil {
			t.Errorf("logged on a terminal: %v", got)
		}
	})
}

// TestBarTotalLater: a bar started without a total counts, then shows the
// percent once SetTotal gives the total.
func TestBarTotalLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out syncBuffer
		r := New(Config{TTY: true, Out: &out})
		r.Start(t.Context())
		r.Settled(35) // more than the bar's width: an unknown length counts modulo it
		synctest.Wait()
		if s := out.String(); !strings.Contains(s, "(35/-") {
			t.Errorf("bar of unknown length: %q", s)
		}
		r.SetTotal(70)
		synctest.Wait()
		if s := out.String(); !strings.Contains(s, "50%") || !strings.Contains(s, "(35/70") {
			t.Errorf("bar once the total is known: %q", s)
		}
		r.Stop()
	})
}

func TestFigures(t *testing.T) {
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// before Start, and after it at start+elapsed
		settledBefore, settled int
		requestsBefore, reqs   int64
		total                  int
		elapsed                time.Duration
		want                   Figures
	}{{
		name: "at start", total: 10, want: Figures{Total: 10, Percent: 0, ETA: -1},
	}, {
		name: "no row yet: no time left", total: 10, reqs: 2, elapsed: 4 * time.Second,
		want: Figures{Total: 10, Requests: 2, RequestsPerSecond: 0.5, Percent: 0, ETA: -1},
	}, {
		name: "half way", total: 10, settled: 5, reqs: 5, elapsed: 10 * time.Second,
		want: Figures{Settled: 5, Total: 10, Requests: 5, RequestsPerSecond: 0.5, Percent: 50, ETA: 10 * time.Second},
	}, {
		name: "resumed: earlier rows and requests not in the rates", total: 100, settledBefore: 90, requestsBefore: 50,
		settled: 5, reqs: 1, elapsed: 5 * time.Second,
		want: Figures{Settled: 95, Total: 100, Requests: 51, RequestsPerSecond: 0.2, Percent: 95, ETA: 5 * time.Second},
	}, {
		name: "total unknown", settled: 7, reqs: 3, elapsed: 3 * time.Second,
		want: Figures{Settled: 7, Requests: 3, RequestsPerSecond: 1, Percent: -1, ETA: -1},
	}, {
		name: "more rows than the total", total: 5, settled: 6, reqs: 1, elapsed: time.Second,
		want: Figures{Settled: 6, Total: 5, Requests: 1, RequestsPerSecond: 1, Percent: 120, ETA: 0},
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
			r.Requests(tt.requestsBefore + tt.reqs)
			if diff := cmp.Diff(tt.want, r.Figures()); diff != "" {
				t.Errorf("Figures (-want +got):\n%s", diff)
			}
		})
	}
}
