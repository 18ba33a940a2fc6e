package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// events streams the run as server-sent events: an event "run" with the
// run's JSON at every change, until the client goes or the server stops.
// Route: GET /api/v1/runs/{id}/events.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.runOr404(w, r); !ok {
		return
	}
	id := r.PathValue("id")
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// A stream reads nothing after its request and lasts as long as the
	// reader wants: no read deadline (the server's ReadTimeout would end
	// it), and a write deadline per event instead of one for the answer.
	_ = rc.SetReadDeadline(time.Time{})
	send := func(format string, a ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := fmt.Fprintf(w, format, a...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// A comment line now and then keeps proxies from closing a quiet stream.
	keepalive := time.NewTicker(25 * time.Second)
	defer keepalive.Stop()
	var last []byte
	for {
		changed := s.st.Watch()
		run, _ := s.view(id)
		b, err := json.Marshal(run)
		if err != nil {
			return
		}
		if !bytes.Equal(b, last) {
			if !send("event: run\ndata: %s\n\n", b) {
				return
			}
			last = b
		}
		select {
		case <-changed:
		case <-keepalive.C:
			if !send(": keepalive\n\n") {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
}
