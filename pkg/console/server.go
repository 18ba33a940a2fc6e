// Package console is the ops console, `flowenroll serve`: a web page, and
// the JSON API under /api/v1 it uses, where people upload a spreadsheet,
// check it, run it through the same pipeline as `flowenroll run`, follow it
// and download the results.
//
// Every run lives in DIR/runs/<id>/ (the upload as received, run.json, and
// the pipeline's out folder with its ledger and result files), so runs
// survive a restart. Runs go through one queue, one at a time, and the
// pipeline holds one pacer: one server spends its Gong company's quota once.
//
// This package is the HTTP side: the server, sign-in, host and connection
// guards, and one file per route, named after it (run_start.go answers
// POST /api/v1/runs/{id}/start). The runs are kept by package store; the
// queue and the pipeline it runs them through are package worker's.
package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Defaults of Config.
const (
	DefaultMaxUpload  = 100 << 20
	DefaultMaxRows    = 1_000_000
	DefaultRate       = 3
	DefaultDailyQuota = 10_000
	// DefaultKeep: a month covers the questions people ask about a run
	// (what was sent, what failed) and bounds the disk to a month of uploads.
	DefaultKeep = 30 * 24 * time.Hour
)

// Config configures a Server.
type Config struct {
	DataDir  string          // DIR: every run lives in DIR/runs/<id>/
	Pipeline worker.Pipeline // the pipeline every check and run goes through
	Auth     *Auth           // nil: everyone is LocalUser (loopback only)
	// Listen is the address the server listens on: without sign-in, the
	// only name answered besides loopback names (see hostCheck).
	Listen string
	// AllowedHosts are the names a console with sign-in answers to (*.x
	// for any name under x); none means any.
	AllowedHosts []string

	MaxUpload  int64   // bytes; 0 means DefaultMaxUpload
	MaxRows    int     // 0 means DefaultMaxRows
	Rate       float64 // requests per second, for the estimates; 0 means DefaultRate
	DailyQuota int     // requests a day, for the estimates; 0 means DefaultDailyQuota
	// MaxConns caps the connections held at once (0: DefaultMaxConns);
	// at the cap the longest idle one is closed to make room.
	MaxConns int
	// UploadTimeout is how long one upload may take (0: DefaultUploadTimeout).
	UploadTimeout time.Duration
	// Keep is how long after a run ended its upload and result files are
	// kept (its summary stays in the history); 0 keeps them forever.
	Keep time.Duration
	// Admins may delete any run; others only the runs they uploaded.
	Admins []string
	// Banner is shown at the top of the page (the sandbox says so).
	Banner string

	Log *zap.Logger
	Now func() time.Time
}

// Server is the console. Handler serves it; Run runs its queue.
type Server struct {
	cfg     Config
	log     *zap.Logger
	st      *store.Store
	q       *worker.Queue
	reg     *prometheus.Registry
	metrics *metrics
	lists   *listings // Gong's users and flows, kept for the pickers
	handler http.Handler
	tmpl    *template.Template
	ready   atomic.Bool
	closing chan struct{} // closed when Run's context ends: events streams end
	conns   *connGuard
	fixMu   sync.Mutex // one fix at a time: each rewrites the run's fixes
}

// New opens DIR and builds the server; runs start once Run is called.
func New(cfg Config) (*Server, error) {
	if cfg.Pipeline == nil {
		return nil, fmt.Errorf("console: no pipeline")
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.DailyQuota <= 0 {
		cfg.DailyQuota = DefaultDailyQuota
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Auth == nil {
		cfg.Auth = &Auth{}
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.UploadTimeout <= 0 {
		cfg.UploadTimeout = DefaultUploadTimeout
	}
	st, err := store.Open(cfg.DataDir, cfg.Now)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Log, st: st, closing: make(chan struct{}), conns: newConnGuard(cfg.MaxConns, cfg.Log, cfg.Now)}
	s.q = worker.NewQueue(st, cfg.Pipeline, cfg.Log, cfg.Rate)
	s.reg = prometheus.NewRegistry()
	s.metrics = newMetrics(st, cfg.Now, cfg.DataDir)
	s.metrics.auth = cfg.Auth
	s.q.Sent = s.metrics.add
	s.reg.MustRegister(s.metrics)
	s.lists = newListings(cfg.Now)
	if s.tmpl, err = parsePage(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Handler serves the page, the API, /healthz, /readyz and /metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Run queues again the runs that were queued or running when the server last
// stopped, then runs the queue until ctx ends. Then the running run drains
// (as `run` does on SIGTERM) and stays queued, and Run returns.
func (s *Server) Run(ctx context.Context) error {
	lock, err := store.LockData(s.cfg.DataDir, s.cfg.Now())
	if err != nil {
		return err
	}
	defer lock.Close()
	var again []store.Run
	for _, r := range s.st.List() {
		if r.Status == store.StatusQueued || r.Status == store.StatusRunning {
			again = append(again, r)
		}
	}
	// Oldest queued first: list is newest first.
	for i := len(again) - 1; i >= 0; i-- {
		r := again[i]
		if _, err := s.st.Update(r.ID, func(r *store.Run) error { r.Status = store.StatusQueued; return nil }); err != nil {
			return err
		}
		s.q.Enqueue(r.ID)
		s.log.Info("run queued again after a restart", zap.String("run", r.ID))
	}
	s.ready.Store(true)
	defer s.ready.Store(false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.q.Loop(ctx)
	}()
	s.sweep()
	sweeps := time.NewTicker(sweepEvery)
	defer sweeps.Stop()
	for ctx.Err() == nil {
		select {
		case <-sweeps.C:
			s.sweep()
		case <-ctx.Done():
		}
	}
	close(s.closing)
	<-done
	return nil
}

// routes builds the handler: security headers on everything, sign-in and
// cross-origin protection on everything but the probes and metrics.
func (s *Server) routes() http.Handler {
	app := http.NewServeMux()
	app.HandleFunc("GET /{$}", s.page)
	app.HandleFunc("GET /static/{name}", s.static)
	app.HandleFunc("GET /favicon.ico", s.favicon)
	app.HandleFunc("GET /api/v1/me", s.me)
	app.HandleFunc("GET /api/v1/users", s.users)
	app.HandleFunc("GET /api/v1/flows", s.flows)
	app.HandleFunc("GET /api/v1/runs", s.listRuns)
	app.HandleFunc("POST /api/v1/runs", s.upload)
	app.HandleFunc("GET /api/v1/runs/{id}", s.getRun)
	app.HandleFunc("DELETE /api/v1/runs/{id}", s.deleteRun)
	app.HandleFunc("POST /api/v1/runs/{id}/check", s.recheck)
	app.HandleFunc("POST /api/v1/runs/{id}/fix", s.fix)
	app.HandleFunc("POST /api/v1/runs/{id}/start", s.start)
	app.HandleFunc("POST /api/v1/runs/{id}/stop", s.stop)
	app.HandleFunc("POST /api/v1/runs/{id}/retry", s.retry)
	app.HandleFunc("POST /api/v1/runs/{id}/undo", s.undo)
	app.HandleFunc("POST /api/v1/runs/{id}/verify", s.verify)
	app.HandleFunc("GET /api/v1/runs/{id}/events", s.events)
	app.HandleFunc("GET /api/v1/runs/{id}/rows", s.rows)
	app.HandleFunc("GET /api/v1/runs/{id}/files/{name}", s.file)
	app.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "No such API path.")
	})

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "Refused: this request came from another site.")
	}))
	root := http.NewServeMux()
	hosts := newHostCheck(s.cfg.Listen, s.cfg.Auth.open(), s.cfg.AllowedHosts)
	// The probes answer whatever name the kubelet uses; they tell nothing.
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	root.HandleFunc("GET /readyz", s.readyz)
	root.Handle("GET /metrics", hosts.wrap(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	root.Handle("/", hosts.wrap(s.cfg.Auth.requireUser(cop.Handler(app))))
	return securityHeaders(root)
}

// securityHeaders: the page runs only its own script and style (no inline
// script), cannot be framed, and nothing is sniffed or cached.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
