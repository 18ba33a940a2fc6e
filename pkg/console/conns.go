package console

import (
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Limits of the HTTP server. The console serves long event streams and
// large uploads, so a single ReadTimeout or WriteTimeout for everything
// does not fit: the server sets the short ones, and the handlers that need
// longer extend their own deadlines (uploads, events, downloads).
const (
	DefaultMaxConns = 1024 // connections held at once; see connGuard
	// DefaultUploadTimeout is how long one upload may take to arrive: 100 MB
	// at 1 Mbit/s is 14 minutes.
	DefaultUploadTimeout = 20 * time.Minute
	readHeaderTimeout    = 10 * time.Second
	readTimeout          = time.Minute      // a whole request but an upload
	writeTimeout         = 10 * time.Minute // an answer; a results.xlsx of a million rows included
	idleTimeout          = time.Minute      // a kept-alive connection between requests
	maxHeaderBytes       = 64 << 10
	eventWriteTimeout    = 30 * time.Second // one event of a stream, to a slow reader
)

// HTTPServer returns the http.Server for Handler with the console's
// timeouts and its cap on connections; serve it on Listener(ln).
func (s *Server) HTTPServer(errorLog *zap.Logger) *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         s.conns.track,
		ErrorLog:          zap.NewStdLog(errorLog),
	}
}

// Listener wraps ln so that the server holds at most Config.MaxConns
// connections.
func (s *Server) Listener(ln net.Listener) net.Listener {
	return &guardedListener{Listener: ln, g: s.conns}
}

// connGuard caps the connections held at once. A plain limit that stops
// accepting at the cap (netutil.LimitListener) lets idle connections lock
// out everyone, the liveness probe and signed-in people included. So at the
// cap the guard makes room instead: it closes the connection that has been
// idle (between requests, or opened and silent) the longest. A connection
// serving a request is never closed; when every one is busy the newcomer is
// closed at once. Idle connections cost the server one file each and
// nothing else, so closing them loses nothing a client does not redo.
type connGuard struct {
	max int
	log *zap.Logger
	now func() time.Time

	mu      sync.Mutex
	conns   map[net.Conn]*connInfo
	evicted int64
}

type connInfo struct {
	state http.ConnState
	since time.Time // when it last became idle or new
}

func newConnGuard(max int, log *zap.Logger, now func() time.Time) *connGuard {
	return &connGuard{max: max, log: log, now: now, conns: map[net.Conn]*connInfo{}}
}

// admit makes room for c and holds it; false means c was closed.
func (g *connGuard) admit(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.conns) >= g.max {
		var victim net.Conn
		var oldest time.Time
		for vc, in := range g.conns {
			if in.state != http.StateActive && (victim == nil || in.since.Before(oldest)) {
				victim, oldest = vc, in.since
			}
		}
		g.evicted++
		if victim == nil {
			_ = c.Close()
			return false
		}
		delete(g.conns, victim)
		_ = victim.Close()
	}
	g.conns[c] = &connInfo{state: http.StateNew, since: g.now()}
	return true
}

// track is the server's ConnState hook.
func (g *connGuard) track(c net.Conn, st http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(g.conns, c)
	default:
		in, ok := g.conns[c]
		if !ok {
			return // closed by admit already
		}
		if in.state != st {
			in.state, in.since = st, g.now()
		}
	}
}

// held is how many connections the guard holds.
func (g *connGuard) held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// closedAtCap is how many connections were closed to keep to the cap.
func (g *connGuard) closedAtCap() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.evicted
}

type guardedListener struct {
	net.Listener
	g *connGuard
}

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.g.admit(c) {
			return c, nil
		}
	}
}
