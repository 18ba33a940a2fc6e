package emulator

import (
	"errors"
	"io"
	"net/http"
)

// checkSilent reports what is wrong with Silent and SilentAfter.
func (m Modes) checkSilent() error {
	switch {
	case m.SilentAfter < 0:
		return errors.New("SilentAfter must not be negative")
	case m.SilentAfter > 0 && !m.Silent:
		return errors.New("SilentAfter needs Silent")
	}
	return nil
}

// silentFor reports whether the request numbered n (from 1, in arrival
// order) goes unanswered.
func (m Modes) silentFor(n int) bool {
	return m.Silent && n > m.SilentAfter
}

// hold reads the request's body, so that net/http notices the client
// closing the connection, and waits for that; it never writes an answer.
func (s *Server) hold(r *http.Request, ep endpoint) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, MaxBodyBytes+1))
	}
	<-r.Context().Done()
	s.abandon(r, ep, "silent: never answered")
	// Abort instead of returning: net/http would otherwise write an empty
	// 200, an answer the mode promises never to give.
	panic(http.ErrAbortHandler)
}
