package console

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestHostAllowed(t *testing.T) {
	tests := []struct {
		name    string
		check   hostCheck
		host    string
		allowed bool
	}{
		{"loopback ip", newHostCheck("127.0.0.1:8080", true, nil), "127.0.0.1:8080", true},
		{"other loopback ip", newHostCheck("127.0.0.1:8080", true, nil), "127.0.0.2:8080", true},
		{"ipv6 loopback", newHostCheck("[::1]:8080", true, nil), "[::1]:8080", true},
		{"localhost", newHostCheck("127.0.0.1:8080", true, nil), "localhost:8080", true},
		{"localhost trailing dot", newHostCheck("127.0.0.1:8080", true, nil), "LOCALHOST.:8080", true},
		{"a .localhost name", newHostCheck("127.0.0.1:8080", true, nil), "console.localhost:8080", true},
		{"rebound name", newHostCheck("127.0.0.1:8080", true, nil), "evil.example:8080", false},
		{"rebound name without port", newHostCheck("127.0.0.1:8080", true, nil), "evil.example", false},
		{"localhost as a suffix only", newHostCheck("127.0.0.1:8080", true, nil), "evillocalhost:8080", false},
		{"no host", newHostCheck("127.0.0.1:8080", true, nil), "", false},
		{"the listen name", newHostCheck("console.internal:8080", true, nil), "console.internal:8080", true},
		{"unspecified listen is no name", newHostCheck("0.0.0.0:8080", true, nil), "0.0.0.0:8080", false},
		{"sign-in: any", newHostCheck(":8080", false, nil), "evil.example", true},
		{"sign-in: allowed", newHostCheck(":8080", false, []string{"console.example.com"}), "console.example.com", true},
		{"sign-in: wildcard", newHostCheck(":8080", false, []string{"*.example.com"}), "a.example.com:443", true},
		{"sign-in: not allowed", newHostCheck(":8080", false, []string{"console.example.com"}), "evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check.HostAllowed(tt.host); got != tt.allowed {
				t.Errorf("HostAllowed(%q) = %v, want %v", tt.host, got, tt.allowed)
			}
		})
	}
}

// A page on a name rebound to 127.0.0.1 reaches the console with its own
// name in Host: every route but the probes refuses it.
func TestReboundHostRefused(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Listen: "127.0.0.1:0"})
	for _, tt := range []struct {
		method, path, host string
		want               int
	}{
		{"GET", "/api/v1/runs", "evil.example", http.StatusMisdirectedRequest},
		{"POST", "/api/v1/runs", "evil.example:8080", http.StatusMisdirectedRequest},
		{"GET", "/", "evil.example", http.StatusMisdirectedRequest},
		{"GET", "/metrics", "evil.example", http.StatusMisdirectedRequest},
		{"GET", "/healthz", "evil.example", http.StatusOK},
		{"GET", "/api/v1/runs", "", http.StatusOK}, // the test server's own 127.0.0.1:PORT
		{"GET", "/api/v1/runs", "localhost", http.StatusOK},
	} {
		req, _ := http.NewRequest(tt.method, c.http.URL+tt.path, nil)
		if tt.host != "" {
			req.Host = tt.host
		}
		if res := do(t, req, nil); res.StatusCode != tt.want {
			t.Errorf("%s %s with Host %q: %d, want %d", tt.method, tt.path, tt.host, res.StatusCode, tt.want)
		}
	}
}

// The auth header is believed only from a trusted proxy.
func TestForgedAuthHeader(t *testing.T) {
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		want    int
	}{
		{"no proxy given: loopback (a proxy in the pod)", nil, "127.0.0.1:4444", http.StatusOK},
		{"no proxy given: another pod", nil, "10.1.2.3:4444", http.StatusForbidden},
		{"the proxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}, "10.0.0.7:4444", http.StatusOK},
		{"not the proxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}, "10.1.2.3:4444", http.StatusForbidden},
		{"not the proxy, even loopback", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}, "127.0.0.1:4444", http.StatusForbidden},
		{"ipv6 proxy", []netip.Prefix{netip.MustParsePrefix("fd00::/8")}, "[fd00::5]:4444", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Auth{Header: "X-Forwarded-Email", TrustedProxies: tt.trusted}
			h := a.requireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if userOf(r.Context()) != "vp.sales@example.com" {
					t.Errorf("user %q", userOf(r.Context()))
				}
			}))
			req := httptest.NewRequest("GET", "/api/v1/me", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("X-Forwarded-Email", "vp.sales@example.com")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("%d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if rec.Code == http.StatusForbidden && !strings.Contains(rec.Body.String(), "--trusted-proxy") {
				t.Errorf("the refusal does not say what to do: %s", rec.Body)
			}
			if rec.Code == http.StatusForbidden && a.Refused()["untrusted_proxy"] != 1 {
				t.Errorf("refused sign-ins %v", a.Refused())
			}
		})
	}
}

// Guessing passwords: at most 10 checks a second per address, fewer once
// they fail, whatever the guesser sends.
func TestGuessingThrottled(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	a := &Auth{Users: usersFile(t), Throttle: NewThrottle(func() time.Time { return now })}
	h := a.requireUser(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("a guess signed in") }))
	const seconds, perSecond = 10, 1000
	checked := make([]int, seconds)
	for s := range seconds {
		for i := range perSecond {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = "10.9.9.9:5000"
			// Other names too: the address is throttled, not only the name.
			req.SetBasicAuth([]string{"ops", "admin", "root"}[i%3], "guess")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusUnauthorized:
				checked[s]++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("a guess: %d", rec.Code)
			}
			now = now.Add(time.Second / perSecond)
		}
	}
	total := 0
	for s, n := range checked {
		total += n
		if n > 10 {
			t.Errorf("second %d: %d passwords checked, want at most 10", s, n)
		}
	}
	if a.Refused()["throttled"] != int64(seconds*perSecond-total) {
		t.Errorf("refused %v, checked %d", a.Refused(), total)
	}
	t.Logf("%d guesses a second for %d s: %d checked (%v a second)", perSecond, seconds, total, checked)

	// The right password from another address still gets in once the
	// name's pause is over.
	now = now.Add(maxFailPause)
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.0.0.1:5000"
	req.SetBasicAuth("ops", "s3cret")
	if u, why := a.user(req); why != signedIn || u != "ops" {
		t.Errorf("the user after the pause: %q, %v", u, why)
	}
}

// Behind a trusted proxy the throttle counts the client the proxy saw, so
// one guesser does not slow everyone behind the same ingress.
func TestThrottleBehindTrustedProxy(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	a := &Auth{Users: usersFile(t), Throttle: NewThrottle(func() time.Time { return now }),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}}
	h := a.requireUser(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	try := func(remote, xff, name, pass string) int {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		req.SetBasicAuth(name, pass)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for range 50 {
		try("10.0.0.2:1000", "1.2.3.4, 203.0.113.9", "admin", "guess") // a client's own XFF is not believed: the last hop is
	}
	if got := try("10.0.0.2:1000", "198.51.100.7", "ops", "s3cret"); got != http.StatusOK {
		t.Errorf("another client behind the same proxy: %d, want 200", got)
	}
	if got := try("10.0.0.2:1000", "203.0.113.9", "other", "guess"); got != http.StatusTooManyRequests {
		t.Errorf("the guesser behind the proxy: %d, want 429", got)
	}
	// A peer that is not the proxy is counted by its own address, whatever
	// X-Forwarded-For it sends.
	if got := try("192.0.2.1:1000", "198.51.100.7", "other", "guess"); got != http.StatusUnauthorized {
		t.Errorf("a direct client with a forged X-Forwarded-For: %d, want 401", got)
	}
}
