package e2e

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// point is where, in the life of one request, the signal reaches the process.
type point int

const (
	// inFlightApplied: the signal goes first, then Gong applies the request;
	// its answer reaches no one (after SIGKILL).
	inFlightApplied point = iota
	// inFlightLost: the signal goes and the request never reaches Gong; the
	// connection is closed without an answer.
	inFlightLost
	// afterAnswer: Gong applies the request and its whole answer is on the
	// wire; then the signal, while the process journals and writes the rows.
	afterAnswer
	points
)

// inFlightHeld: the signal goes, then Gong applies the request and holds
// its answer until the sender hangs up (a SIGTERM's --drain-timeout cuts
// it). Not among the points a test picks at random: with the default
// --drain-timeout the run would wait it out.
const inFlightHeld = points + 1

func (p point) String() string {
	switch p {
	case inFlightApplied:
		return "in-flight-applied"
	case inFlightLost:
		return "in-flight-lost"
	case afterAnswer:
		return "after-answer"
	case inFlightHeld:
		return "in-flight-held"
	}
	return "point(" + strconv.Itoa(int(p)) + ")"
}

// trigger sends sig at the at-th request of a run (counting from 1) to path
// (any path if empty), at point; with again, once more that long after. The
// zero trigger sends nothing.
type trigger struct {
	at    int64
	path  string
	point point
	sig   syscall.Signal
	again time.Duration
}

// signaller is the middleware that signals the running process when the
// trigger's request arrives. Requests are counted as they arrive, so
// exactly one of several concurrent requests is the trigger's; the others
// pass through untouched.
type signaller struct {
	next     http.Handler
	requests atomic.Int64 // this run's requests
	matched  atomic.Int64 // this run's requests to the trigger's path

	mu    sync.Mutex
	trig  trigger
	proc  *os.Process
	ready chan struct{} // closed once proc is set
	fired bool
}

// arm resets the request count and sets the trigger for the next run.
func (s *signaller) arm(trig trigger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests.Store(0)
	s.matched.Store(0)
	s.trig, s.proc, s.ready, s.fired = trig, nil, make(chan struct{}), false
}

// started names the process the trigger signals.
func (s *signaller) started(p *os.Process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proc = p
	close(s.ready)
}

// disarm ends the run: it returns the requests counted and whether the
// signal was sent.
func (s *signaller) disarm() (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trig = trigger{}
	return s.requests.Load(), s.fired
}

func (s *signaller) signal(ready chan struct{}, trig trigger) {
	<-ready // the request may arrive before Start has returned to the test
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fired = s.proc.Signal(trig.sig) == nil
	if s.fired && trig.again > 0 {
		// The second signal may find the process gone: no matter.
		p := s.proc
		time.AfterFunc(trig.again, func() { _ = p.Signal(trig.sig) })
	}
}

// signalled reports whether this run's signal has been sent.
func (s *signaller) signalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired
}

func (s *signaller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	trig, ready := s.trig, s.ready
	s.mu.Unlock()
	if trig.at == 0 || (trig.path != "" && r.URL.Path != trig.path) || s.matched.Add(1) != trig.at {
		s.next.ServeHTTP(w, r)
		return
	}
	switch trig.point {
	case inFlightApplied:
		// Hold the whole request before the signal, and detach it from the
		// connection, so that Gong applies it even though its sender is gone.
		body, err := io.ReadAll(r.Body)
		s.signal(ready, trig)
		if err != nil {
			return
		}
		r = r.WithContext(context.WithoutCancel(r.Context()))
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.next.ServeHTTP(w, r)
	case inFlightLost:
		s.signal(ready, trig)
		hangUp(w)
	case inFlightHeld:
		body, err := io.ReadAll(r.Body)
		s.signal(ready, trig)
		if err != nil {
			return
		}
		gone := r.Context().Done()
		r = r.WithContext(context.WithoutCancel(r.Context()))
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.next.ServeHTTP(httptest.NewRecorder(), r) // applied
		<-gone                                      // the answer waits for the sender to hang up
	case afterAnswer:
		// Record the answer, then send it whole, with its length, so that the
		// client can read all of it before the signal.
		rec := httptest.NewRecorder()
		s.next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(rec.Body.Len()))
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		w.(http.Flusher).Flush()
		s.signal(ready, trig)
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err) // httptest's HTTP/1.1 server always hijacks
	}
	conn.Close()
}

// dropper lets Gong apply a seeded share of assign requests and then closes
// the connection without an answer, as when a proxy or the network loses the
// response. Read-backs and everything else pass through.
type dropper struct {
	next    http.Handler
	share   float64
	mu      sync.Mutex
	rng     *rand.Rand
	assigns int
	dropped int
}

func (d *dropper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != gong.PathAssign {
		d.next.ServeHTTP(w, r)
		return
	}
	d.mu.Lock()
	d.assigns++
	drop := d.rng.Float64() < d.share
	if drop {
		d.dropped++
	}
	d.mu.Unlock()
	if !drop {
		d.next.ServeHTTP(w, r)
		return
	}
	d.next.ServeHTTP(httptest.NewRecorder(), r) // applied; the answer is lost
	hangUp(w)
}

func (d *dropper) counts() (assigns, dropped int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.assigns, d.dropped
}
