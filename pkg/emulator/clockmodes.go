package emulator

import (
	"errors"
	"net/http"
	"time"
)

// InstanceModes are behaviours about whose flow instance a prospect has,
// and when Gong says it was made: what a client needs to tell its own
// instances from those that were there before it. Part of Modes; each is
// off in the zero value.
type InstanceModes struct {
	// AnswerExistingAsAssigned makes assign answer a prospect already open
	// in the flow with its existing instance in prospectsAssigned (nothing
	// created), instead of failing it InvalidState in prospectsNotAssigned.
	// Gong's behaviour here is not published.
	AnswerExistingAsAssigned bool

	// ClockOffset sets the server's own clock this far from Config.Now: the
	// HTTP Date header of every answer and the flowInstanceCreateDate of
	// the instances it creates (-3m: Gong's clock three minutes behind the
	// client's). The rate limits keep Config.Now.
	ClockOffset time.Duration

	// ExistingAge dates every Fixture.Existing instance that has no
	// flowInstanceCreateDate this long before the server starts, on its
	// clock (ClockOffset included): instances someone else created seconds
	// before the run. Zero leaves them undated.
	ExistingAge time.Duration
}

// normalize checks m.
func (m InstanceModes) normalize() error {
	if m.ExistingAge < 0 {
		return errors.New("ExistingAge must not be negative")
	}
	return nil
}

// gongNow is the server's own clock: Config.Now shifted by ClockOffset.
func (s *Server) gongNow() time.Time { return s.cfg.Now().Add(s.cfg.ClockOffset) }

// createDate is flowInstanceCreateDate for an instance made at t, in UTC
// with milliseconds.
func createDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// stampDate sets the answer's Date header from the server's clock, as
// net/http would from the real one: Gong's time, to the second.
func (s *Server) stampDate(h http.Header) {
	h.Set("Date", s.gongNow().UTC().Format(http.TimeFormat))
}

// dateExisting dates the undated Existing instances as ExistingAge says;
// called by New before the server is shared.
func (s *Server) dateExisting() {
	if s.cfg.ExistingAge == 0 {
		return
	}
	at := createDate(s.gongNow().Add(-s.cfg.ExistingAge))
	for _, in := range s.instances {
		if in.Preexisting && in.FlowInstanceCreateDate == "" {
			in.FlowInstanceCreateDate = at
		}
	}
}

// existingAnswer is, with AnswerExistingAsAssigned, the prospect's open
// instance in flow, which assign then lists as assigned; nil otherwise.
// The caller holds s.mu.
func (s *Server) existingAnswer(id string, flow FlowDef) *Instance {
	if !s.cfg.AnswerExistingAsAssigned {
		return nil
	}
	for _, in := range s.byProspect[id] {
		if isOpen(in.FlowInstanceStatus) && in.FlowID == flow.ID {
			return in
		}
	}
	return nil
}
