package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// server is the emulator on a loopback port, with a record of when each
// request arrived and when the emulator's limiter admitted it.
type server struct {
	emu *emulator.Server
	url string
	srv *http.Server

	mu       sync.Mutex
	arrivals []arrival
	admitted []admission // when the limits let a request through
	stop     *stopAt     // see stopAfter
}

// stopAt stops a run at an admission: the bench's way to interrupt a job at
// a set point of its progress and resume it.
type stopAt struct {
	op   string
	left int
	stop func()
}

// stopAfter calls stop right after the emulator admits the n-th request of
// op from now on (emulator.OpAssign, ...), once.
func (s *server) stopAfter(op string, n int, stop func()) {
	s.mu.Lock()
	s.stop = &stopAt{op: op, left: n, stop: stop}
	s.mu.Unlock()
}

// arrival is one request as the emulator saw it.
type arrival struct {
	at, done time.Time // arrival, and the answer written
	path     string
	status   int
}

// admission is one request the emulator's limits let through.
type admission struct {
	at time.Time
	op string // emulator.OpAssign, ...
}

// startEmulator serves the default fixture with cfg's limits, open to any
// well-formed credentials.
func startEmulator(cfg emulator.Config) (*server, error) {
	s := &server{}
	cfg.Fixture = emulator.DefaultFixture()
	// The hook sees every request the limits admitted, right after they did:
	// the instants the per-second limit counts.
	cfg.Hook = func(op string, _ []byte) (int, bool) {
		now := time.Now()
		s.mu.Lock()
		s.admitted = append(s.admitted, admission{now, op})
		if st := s.stop; st != nil && st.op == op {
			if st.left--; st.left == 0 {
				st.stop()
				s.stop = nil
			}
		}
		s.mu.Unlock()
		return 0, false
	}
	emu, err := emulator.New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s.emu = emu
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.record(emu), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

func (s *server) close() { s.srv.Close() }

// record is the middleware that notes each request's arrival and status.
func (s *server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		at := time.Now()
		next.ServeHTTP(sw, r)
		done := time.Now()
		s.mu.Lock()
		s.arrivals = append(s.arrivals, arrival{at: at, done: done, path: r.URL.Path, status: sw.status})
		s.mu.Unlock()
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// pacing is what the emulator saw of a run's pacing.
type pacing struct {
	requests  int // every request that arrived
	limited   int // answered 429
	whole     stretch
	steady    stretch // the assign requests: the run after its preflight
	limitedAt []time.Duration
}

// stretch is a run of admissions: how many, from first to last, how fast.
type stretch struct {
	admitted int
	span     time.Duration
	rate     float64 // admissions per second over span
}

func stretchOf(ts []time.Time) stretch {
	st := stretch{admitted: len(ts)}
	if n := len(ts); n >= 2 {
		st.span = ts[n-1].Sub(ts[0])
		st.rate = float64(n-1) / st.span.Seconds()
	}
	return st
}

func (s *server) pacing() pacing {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := pacing{requests: len(s.arrivals)}
	adm := slices.Clone(s.admitted)
	slices.SortFunc(adm, func(a, b admission) int { return a.at.Compare(b.at) })
	var all, assign []time.Time
	for _, a := range adm {
		all = append(all, a.at)
		if a.op == emulator.OpAssign {
			assign = append(assign, a.at)
		}
	}
	p.whole, p.steady = stretchOf(all), stretchOf(assign)
	arr := slices.Clone(s.arrivals)
	slices.SortFunc(arr, func(a, b arrival) int { return a.at.Compare(b.at) })
	for _, a := range arr {
		if a.status == http.StatusTooManyRequests {
			p.limited++
			p.limitedAt = append(p.limitedAt, a.at.Sub(arr[0].at))
		}
	}
	return p
}

// writeTrace writes every request the emulator saw, in order of arrival, as
// CSV: seconds from the first arrival to its arrival, to its admission by
// the limits (paired in order; empty for a 429) and to its answer, its path
// and status, and the clock second (Unix time) the limits counted it in. It
// shows where a run lost time or drew a 429.
func (s *server) writeTrace(path string) error {
	s.mu.Lock()
	arr := slices.Clone(s.arrivals)
	adm := slices.Clone(s.admitted)
	s.mu.Unlock()
	if len(arr) == 0 {
		return nil
	}
	slices.SortFunc(arr, func(a, b arrival) int { return a.at.Compare(b.at) })
	slices.SortFunc(adm, func(a, b admission) int { return a.at.Compare(b.at) })
	t0 := arr[0].at
	var b []byte
	b = append(b, "arrival_s,admitted_s,answered_s,path,status,window\n"...)
	next := 0
	for _, a := range arr {
		admitted, window := "", a.at.Unix()
		if a.status != http.StatusTooManyRequests && next < len(adm) {
			admitted = fmt.Sprintf("%.3f", adm[next].at.Sub(t0).Seconds())
			window = adm[next].at.Unix()
			next++
		}
		b = fmt.Appendf(b, "%.3f,%s,%.3f,%s,%d,%d\n", a.at.Sub(t0).Seconds(), admitted, a.done.Sub(t0).Seconds(), a.path, a.status, window)
	}
	return os.WriteFile(path, b, 0o600)
}
