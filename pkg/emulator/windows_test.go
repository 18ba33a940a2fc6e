package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestWindowShapes(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name  string
		modes LimitModes
		steps []limitStep
		most  int // Stats.MaxInWindow
	}{
		// The clock starts at 12:00:00.250.
		{"rolling: any 4 within one second", LimitModes{Window: WindowRolling}, []limitStep{
			{}, {advance: ms(300)}, {advance: ms(300)},
			{advance: ms(300), want: tooFast(time.Second)}, // .250+.900: 3 within the second
			{advance: ms(101)}, // 1.001 s after the first
			{advance: ms(50), want: tooFast(time.Second)}, // .300 ago, .600 ago, .050 ago
			{advance: ms(250)},                            // the second is a second old
		}, 3},
		{"aligned lets 6 through across a boundary", LimitModes{}, []limitStep{
			{advance: ms(700)}, {}, {}, // 12:00:00.950
			{advance: ms(100)}, {}, {}, // 12:00:01.050
			{want: tooFast(time.Second)},
		}, 3},
		// A bucket of 3 refilled at 3 a second lets 5 through within
		// two thirds of a second.
		{"gcra: a burst of 3, then one every third of a second", LimitModes{Window: WindowGCRA}, []limitStep{
			{}, {}, {},
			{want: tooFast(time.Second)},
			{advance: ms(333), want: tooFast(time.Second)},
			{advance: ms(1)},
			{want: tooFast(time.Second)},
			{advance: ms(334)},
		}, 5},
		// Another integration's call lands half a second after the first
		// request, and counts: with the client's two in the same second, a
		// third is refused.
		{"shared, rolling", LimitModes{Window: WindowRolling, SharedPerSecond: 1}, []limitStep{
			{}, {advance: ms(300)},
			{advance: ms(300), want: tooFast(time.Second)},
			{advance: ms(401)}, // the first is a second old
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{RatePerSecond: 3, LimitModes: tt.modes})
			runLimitSteps(t, e, tt.steps)
			if got := e.srv.Stats().MaxInWindow; got != tt.most {
				t.Errorf("MaxInWindow %d, want %d", got, tt.most)
			}
		})
	}
}

func TestSharedCallsAreCounted(t *testing.T) {
	e := newEnv(t, Config{RatePerSecond: 3, LimitModes: LimitModes{Window: WindowRolling, SharedPerSecond: 2}})
	// 2 a second from 12:00:00.500 on (the client's first call is at
	// .250): with them, the client has 1 of each second left.
	runLimitSteps(t, e, []limitStep{
		{},
		{advance: 2 * time.Second}, // 2.250: shared at 1.500 and 2.000 in the second
		{advance: 100 * time.Millisecond, want: tooFast(time.Second)},
		{advance: 900 * time.Millisecond}, // 3.250: shared at 2.500 and 3.000
	})
	if got := e.srv.Shared(); got != 6 {
		t.Errorf("shared calls %d, want 6 (from .500 to 3.000)", got)
	}
	if st := e.srv.Stats(); st.Requests != 4 || st.RateLimited != 1 {
		t.Errorf("Stats %+v, want 4 requests, 1 answered 429: the shared calls are not the server's", st)
	}
}

func TestJitterStaysWithinItsBounds(t *testing.T) {
	l := newLimiter(Config{Seed: 5, LimitModes: LimitModes{Jitter: 20 * time.Millisecond}})
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		d := l.latency(300 * time.Millisecond)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 280*time.Millisecond || hi > 320*time.Millisecond || hi-lo < 35*time.Millisecond {
		t.Errorf("latencies from %v to %v, want 280ms to 320ms, spread over most of it", lo, hi)
	}
	if d := l.latency(0); d < 0 {
		t.Errorf("latency %v, want none below 0", d)
	}
}

// Jitter on a live server: answers come at varying times.
func TestJitterDelaysAnswers(t *testing.T) {
	e := newEnv(t, Config{LimitModes: LimitModes{Jitter: 5 * time.Millisecond}})
	runLimitSteps(t, e, []limitStep{{}, {}, {}})
	if st := e.srv.Stats(); st.ListFlows != 3 || st.ClientErrors[http.StatusTooManyRequests] != 0 {
		t.Errorf("Stats %+v, want 3 listings answered", st)
	}
}

func TestLimitModesAreChecked(t *testing.T) {
	_, err := New(Config{Fixture: DefaultFixture(), LimitModes: LimitModes{Window: "sliding", Jitter: -1, SharedPerSecond: -2}})
	for _, want := range []string{`window "sliding"`, "Jitter -1ns is negative", "SharedPerSecond -2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New: %v, want an error containing %q", err, want)
		}
	}
}
