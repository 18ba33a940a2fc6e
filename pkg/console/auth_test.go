package console

import (
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/console/store"
)

func TestCheckListen(t *testing.T) {
	users := &Auth{Users: map[string][]byte{"ops": []byte("$2y$10$x")}}
	tests := []struct {
		addr  string
		auth  *Auth
		allow bool
	}{
		{"127.0.0.1:8080", &Auth{}, true},
		{"[::1]:8080", &Auth{}, true},
		{"localhost:8080", nil, true},
		{":8080", &Auth{}, false},
		{"0.0.0.0:8080", &Auth{}, false},
		{"10.0.0.5:8080", &Auth{}, false},
		{":8080", users, true},
		{":8080", &Auth{Header: "X-Forwarded-Email"}, false},
		{":8080", &Auth{Header: "X-Forwarded-Email", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, true},
		{"127.0.0.1:8080", &Auth{Header: "X-Forwarded-Email"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := CheckListen(tt.addr, tt.auth)
			if (err == nil) != tt.allow {
				t.Errorf("CheckListen(%q) = %v, want allowed %v", tt.addr, err, tt.allow)
			}
			if err != nil && !strings.Contains(err.Error(), "FLOWENROLL_USERS_FILE") && !strings.Contains(err.Error(), "--trusted-proxy") {
				t.Errorf("the refusal does not say what to do: %v", err)
			}
		})
	}
}

func TestParseUsers(t *testing.T) {
	tests := []struct {
		name, file, err string
	}{
		{"bcrypt", "ops:$2y$05$abcdefghijklmnopqrstuu5Vh9ILVWcZoVtuqS0QGDAkVxoS/7nDi\n", ""},
		{"md5 refused", "ops:$apr1$abc$def\n", "not a bcrypt hash"},
		{"no colon", "ops\n", "not name:hash"},
		{"empty", "# nobody\n\n", "no users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseUsers(strings.NewReader(tt.file))
			if got := errText(err); !strings.Contains(got, tt.err) || (tt.err == "") != (err == nil) {
				t.Errorf("error %q, want %q", got, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "$") {
				t.Errorf("the error shows a hash: %v", err)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestProbesAndMetrics(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	c.upload(t, "p.csv", prospectsCSV("003A", 2), nil)
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
		"/metrics": `flowenroll_console_runs{status="checked"} 1`,
	} {
		res, err := http.Get(c.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, %q does not hold %q", path, res.StatusCode, b, want)
		}
	}
}

func TestEstimate(t *testing.T) {
	tests := []struct {
		requests int
		want     store.Estimate
	}{
		{0, store.Estimate{Rate: 3, DailyQuota: 10000, Days: 1}},
		{6, store.Estimate{Seconds: 2, Rate: 3, DailyQuota: 10000, Today: 6, Days: 1}},
		{25000, store.Estimate{Seconds: 3334, Rate: 3, DailyQuota: 10000, Today: 10000, Days: 3}},
	}
	for _, tt := range tests {
		if got := *estimate(tt.requests, 3, 10000); got != tt.want {
			t.Errorf("estimate(%d) = %+v, want %+v", tt.requests, got, tt.want)
		}
	}
}
