package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// secretPath is what a Slack webhook URL looks like after its host: whoever
// has it can post to the channel.
const secretPath = "/services/T0000/B0000/XXXXsecretXXXX"

// received is what a test server was sent.
type received struct {
	method, path, contentType string
	body                      map[string]any
}

// server answers every request with status and answer, and hands what it
// received to the test.
func server(t *testing.T, status int, answer string) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("body is not JSON: %v: %q", err, b)
		}
		got <- received{r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), body}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestPost(t *testing.T) {
	srv, got := server(t, http.StatusOK, "ok")
	n := Notice{File: "prospects.csv", Assigned: 118, Failed: 2, ExitCode: 3, Results: "/data/inbox/results/prospects"}
	if err := Post(t.Context(), srv.Client(), srv.URL+secretPath+"?token=abc", n); err != nil {
		t.Fatal(err)
	}
	want := received{
		method: http.MethodPost, path: secretPath + "?token=abc", contentType: "application/json",
		body: map[string]any{
			"text": ":warning: flowenroll: *prospects.csv*: some failed (exit 3)\n118 assigned, 2 failed, 0 unprocessed\n" +
				"Results: /data/inbox/results/prospects",
			"outcome": "some failed", "file": "prospects.csv", "assigned": 118.0, "failed": 2.0, "unprocessed": 0.0,
			"exitCode": 3.0, "results": "/data/inbox/results/prospects",
		},
	}
	if diff := cmp.Diff(want, <-got, cmp.AllowUnexported(received{})); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name string
		n    Notice
		want string
	}{{
		name: "every row assigned",
		n:    Notice{File: "a.csv", Assigned: 5, ExitCode: 0, Results: "results/a"},
		want: ":white_check_mark: flowenroll: *a.csv*: done (exit 0)\n5 assigned, 0 failed, 0 unprocessed\nResults: results/a",
	}, {
		name: "stopped early",
		n:    Notice{File: "a.csv", Assigned: 5, Unprocessed: 7, ExitCode: 4, Results: "results/a"},
		want: ":double_vertical_bar: flowenroll: *a.csv*: stopped early (exit 4)\n5 assigned, 0 failed, 7 unprocessed " +
			"(the next run continues)\nResults: results/a",
	}, {
		name: "rejected, with markup in the name and the reason",
		n:    Notice{File: "<b>&co.csv", ExitCode: 1, Reason: "no column for crmProspectId <none>"},
		want: ":x: flowenroll: *&lt;b&gt;&amp;co.csv*: failed (exit 1)\n0 assigned, 0 failed, 0 unprocessed\n" +
			"Why: no column for crmProspectId &lt;none&gt;",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Text(tt.n)); diff != "" {
				t.Errorf("Text (-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorsKeepTheSecret: whatever goes wrong, the message names the
// webhook by scheme and host only.
func TestErrorsKeepTheSecret(t *testing.T) {
	refused, _ := server(t, http.StatusNotFound, "no_service for "+secretPath)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name    string
		url     string
		want    string // the message, with HOST for the server's address
		wantErr error
	}{{
		name: "an answer that is not 2xx, quoting the path",
		url:  refused.URL + secretPath + "?token=abc",
		want: "notify: posting to " + refused.URL + "/…: the webhook answered 404 Not Found: no_service for …",
	}, {
		name: "nothing listening",
		url:  closed.URL + secretPath + "?token=abc",
		want: "notify: posting to " + closed.URL + "/…: dial tcp " + strings.TrimPrefix(closed.URL, "http://") + ": connect: connection refused",
	}, {
		name: "not a URL",
		url:  "https://hooks.slack.com" + secretPath + "%zz",
		want: "notify: the webhook URL is not an http or https URL",
	}, {
		name: "not http",
		url:  "ftp://hooks.slack.com" + secretPath,
		want: "notify: the webhook URL is not an http or https URL",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Post(t.Context(), nil, tt.url, Notice{File: "a.csv"})
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "token") {
				t.Errorf("the secret in %q", err)
			}
		})
	}
}

// deadlines is a transport that records the deadline of each request.
type deadlines struct {
	mu   sync.Mutex
	seen []time.Duration // left at the time of the request
	next http.RoundTripper
}

func (d *deadlines) RoundTrip(r *http.Request) (*http.Response, error) {
	dl, ok := r.Context().Deadline()
	d.mu.Lock()
	if ok {
		d.seen = append(d.seen, time.Until(dl))
	} else {
		d.seen = append(d.seen, -1)
	}
	d.mu.Unlock()
	return d.next.RoundTrip(r)
}

// TestTimeout: a Post carries a deadline of at most Timeout, even with a
// client and a ctx that have none, and a webhook that does not answer is
// given up when it passes (here: when ctx ends), with the secret kept.
func TestTimeout(t *testing.T) {
	srv, _ := server(t, http.StatusOK, "ok")
	d := &deadlines{next: srv.Client().Transport}
	if err := Post(context.Background(), &http.Client{Transport: d}, srv.URL+secretPath, Notice{}); err != nil {
		t.Fatal(err)
	}
	if len(d.seen) != 1 || d.seen[0] <= 0 || d.seen[0] > Timeout {
		t.Errorf("deadline left at the request: %v, want within (0, %v]", d.seen, Timeout)
	}

	arrived, release := make(chan struct{}), make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hung.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel() // as the deadline passing would
	}()
	err := Post(ctx, hung.Client(), hung.URL+secretPath+"?token=abc", Notice{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want one that is context.Canceled", err)
	}
	if want := "notify: posting to " + hung.URL + "/…: context canceled"; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}
