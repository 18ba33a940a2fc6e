package emulator

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// limitStep is one call at the fake clock's time after advancing it.
type limitStep struct {
	advance time.Duration
	creds   *gong.Credentials // default: the accepted basic pair
	want    *apiErr
}

func runLimitSteps(t *testing.T, e *env, steps []limitStep) {
	t.Helper()
	for i, st := range steps {
		e.clock.Advance(st.advance)
		creds := basic()
		if st.creds != nil {
			creds = *st.creds
		}
		_, err := e.client(t, creds).ListFlows(context.Background(), ava, "")
		if diff := cmp.Diff(st.want, asAPIErr(t, err)); diff != "" {
			t.Errorf("step %d at %s (-want +got):\n%s", i, e.clock.Now().Format(time.RFC3339Nano), diff)
		}
	}
}

func tooFast(retry time.Duration) *apiErr {
	return &apiErr{Status: http.StatusTooManyRequests, Errors: []string{"API rate limit of 3 calls per second exceeded"}, RetryAfter: retry}
}

func TestRatePerSecond(t *testing.T) {
	e := newEnv(t, Config{RatePerSecond: 3})
	wrong := gong.Credentials{AccessKey: testKey, AccessKeySecret: "wrong"}
	// The clock starts at 12:00:00.250.
	runLimitSteps(t, e, []limitStep{
		{},
		{creds: &wrong, want: &apiErr{Status: http.StatusUnauthorized, Errors: []string{msgBadBasic}}}, // not counted
		{},
		{},
		{want: tooFast(time.Second)},
		{advance: 749 * time.Millisecond, want: tooFast(time.Second)}, // 12:00:00.999
		{advance: time.Millisecond},                                   // 12:00:01.000, a new window
		{advance: 999 * time.Millisecond},                             // 12:00:01.999
		{},
		{want: tooFast(time.Second)},
		{advance: 5 * time.Second},
	})
	want := Stats{Requests: 11, ListFlows: 11, RateLimited: 3,
		ClientErrors: map[int]int{http.StatusUnauthorized: 1, http.StatusTooManyRequests: 3},
		ServerErrors: map[int]int{}, MaxInWindow: 3}
	if diff := cmp.Diff(want, e.srv.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestRateIsCompanyWide(t *testing.T) {
	e := newEnv(t, Config{RatePerSecond: 3, BearerTokens: map[string][]string{"tok": {ScopeFlowsRead, ScopeFlowsWrite}},
		AccessKey: testKey, AccessKeySecret: testSecret})
	ctx := context.Background()
	viaKey, viaToken := e.client(t, basic()), e.client(t, gong.Credentials{BearerToken: "tok"})
	if _, err := viaKey.ListFlows(ctx, ava, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := viaToken.ProspectsFlows(ctx, []string{"003A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := viaToken.Assign(ctx, gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003A"}}); err != nil {
		t.Fatal(err)
	}
	// A refused request counts too: it was a call.
	_, err := viaKey.Assign(ctx, gong.AssignRequest{FlowID: "x", FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003A"}})
	if diff := cmp.Diff(tooFast(time.Second), asAPIErr(t, err)); diff != "" {
		t.Errorf("fourth call (-want +got):\n%s", diff)
	}
}

func TestDailyLimit(t *testing.T) {
	quota := func(retry time.Duration) *apiErr {
		return &apiErr{Status: http.StatusTooManyRequests, Errors: []string{"API daily limit of 3 calls exceeded"}, RetryAfter: retry}
	}
	for _, loc := range []*time.Location{time.UTC, time.FixedZone("UTC-5", -5*3600), time.FixedZone("UTC+9", 9*3600)} {
		t.Run(loc.String(), func(t *testing.T) {
			// 23:59:58.5 UTC, read in loc: the day is the UTC day.
			clock := newFakeClock(time.Date(2026, 3, 10, 23, 59, 58, 500e6, time.UTC).In(loc))
			e := newEnv(t, Config{DailyLimit: 3, Now: clock.Now})
			e.clock = clock
			runLimitSteps(t, e, []limitStep{
				{}, {}, {},
				{want: quota(2 * time.Second)},
				{advance: time.Second, want: quota(time.Second)}, // 23:59:59.5
				{advance: 499 * time.Millisecond, want: quota(time.Second)},
				{advance: time.Millisecond}, // midnight
				{}, {},
				{want: quota(24 * time.Hour)},
			})
			if st := e.srv.Stats(); st.QuotaExceeded != 4 || st.RateLimited != 0 {
				t.Errorf("Stats %+v, want 4 QuotaExceeded", st)
			}
		})
	}
}

// TestCountRejected: with Rate 1 and DailyLimit 3, whether the per-second
// refusals eat into the daily quota decides when the quota runs out.
func TestCountRejected(t *testing.T) {
	rate := &apiErr{Status: http.StatusTooManyRequests, Errors: []string{"API rate limit of 1 calls per second exceeded"}, RetryAfter: time.Second}
	// Retry-After runs to midnight, rounded up to whole seconds.
	quota := func(retry time.Duration) *apiErr {
		return &apiErr{Status: http.StatusTooManyRequests, Errors: []string{"API daily limit of 3 calls exceeded"}, RetryAfter: retry}
	}
	tests := []struct {
		name          string
		countRejected bool
		steps         []limitStep
	}{
		{"not counted (default)", false, []limitStep{
			{}, {want: rate},
			{advance: time.Second}, // window 1: day count 2
			{advance: time.Second}, // window 2: day count 3
			{advance: time.Second, want: quota(12*time.Hour - 3*time.Second)}, // at 12:00:03.250
		}},
		{"counted", true, []limitStep{
			{}, {want: rate}, // day count 2
			{advance: time.Second}, // day count 3
			{advance: time.Second, want: quota(12*time.Hour - 2*time.Second)}, // at 12:00:02.250
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{RatePerSecond: 1, DailyLimit: 3, CountRejected: tt.countRejected})
			runLimitSteps(t, e, tt.steps)
		})
	}
}

func TestLimiterRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		l    limiter
		at   []time.Duration // offsets from a UTC midnight of each call
		want []time.Duration // Retry-After of each, 0 if admitted
	}{
		{"window ends in a fraction of a second", limiter{perSecond: 1, perDay: -1},
			[]time.Duration{100 * time.Millisecond, 100*time.Millisecond + 1}, []time.Duration{0, time.Second}},
		{"exactly on a window start", limiter{perSecond: 1, perDay: -1},
			[]time.Duration{time.Second, time.Second}, []time.Duration{0, time.Second}},
		{"quota outlives the window", limiter{perSecond: 1, perDay: 1},
			[]time.Duration{time.Hour, time.Hour + time.Nanosecond}, []time.Duration{0, 23 * time.Hour}},
		{"quota a nanosecond before midnight", limiter{perSecond: -1, perDay: 1},
			[]time.Duration{0, 24*time.Hour - 1}, []time.Duration{0, time.Second}},
		{"unlimited", limiter{perSecond: -1, perDay: -1},
			[]time.Duration{0, 0, 0, 0}, []time.Duration{0, 0, 0, 0}},
	}
	midnight := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []time.Duration
			for _, at := range tt.at {
				_, wait := tt.l.admit(midnight.Add(at))
				got = append(got, wait)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Retry-After (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	s, err := New(Config{Fixture: DefaultFixture()})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.RatePerSecond != 3 || s.cfg.DailyLimit != 10000 || s.cfg.MaxIDs != 200 || s.cfg.PageSize != 100 ||
		s.cfg.UnknownOwner != UnknownOwnerRequest || s.cfg.NumericFlowID != NumericFlowIDReject {
		t.Errorf("defaults: %+v", s.cfg)
	}
}
