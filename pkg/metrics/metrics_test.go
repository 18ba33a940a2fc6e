package metrics

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/report"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// finished is when the first run of the tests ends; the next one ends a day
// later.
const finished = 1772352900 // 2026-03-01T08:15:00Z

func at(unix int64) time.Time { return time.Unix(unix, 0).UTC() }

const later = finished + 24*60*60

// settled: 3 assigned, 2 failed, finished (exit 3).
func settled() report.Summary {
	return report.Summary{
		Input: "/data/inbox/claimed/prospects.csv", WallTimeSeconds: 12.5, RowsRead: 5,
		Counts: report.Counts{
			Assigned: 3, Failed: 2,
			FailedByStage:       map[string]map[string]int{"input": {"InvalidEmail": 1}, "api": {"InvalidState": 1}},
			UnprocessedByReason: map[string]int{},
		},
		RequestCounts: outcome.RequestCounts{Requests: 4, Retries: 2, RateLimited: 1, ReadBacks: 1, Splits: 1, FlowListings: 2},
		ExitCode:      3,
	}
}

// stopped: the daily quota ran out (exit 4); nothing failed this time.
func stopped() report.Summary {
	return report.Summary{
		Input: "prospects.csv", WallTimeSeconds: 3, RowsRead: 5,
		Counts: report.Counts{
			Assigned: 1, Unprocessed: 4,
			FailedByStage:       map[string]map[string]int{},
			UnprocessedByReason: map[string]int{"RateLimited": 4},
		},
		RequestCounts: outcome.RequestCounts{Requests: 2, RateLimited: 1},
		ExitCode:      4,
	}
}

// series flattens metric families into "name{label=value,...}" -> value,
// leaving out the labels in skip (the grouping labels) and keeping only
// series whose labels in match have those values.
func series(mfs []*dto.MetricFamily, match map[string]string, skip ...string) map[string]float64 {
	got := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "flowenroll_") {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue metric
				}
			}
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(labels)) {
				if !slices.Contains(skip, k) && labels[k] != "" {
					parts = append(parts, k+"="+labels[k])
				}
			}
			got[mf.GetName()+"{"+strings.Join(parts, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return got
}

func wantSettled() map[string]float64 {
	return map[string]float64{
		"flowenroll_rows{outcome=assigned}":                     3,
		"flowenroll_rows{outcome=failed}":                       2,
		"flowenroll_rows{outcome=unprocessed}":                  0,
		"flowenroll_rows_failed{code=InvalidEmail,stage=input}": 1,
		"flowenroll_rows_failed{code=InvalidState,stage=api}":   1,
		"flowenroll_rows_unprocessed{}":                         0,
		"flowenroll_requests{}":                                 4,
		"flowenroll_retries{}":                                  2,
		"flowenroll_rate_limited{}":                             1,
		"flowenroll_read_backs{}":                               1,
		"flowenroll_duration_seconds{}":                         12.5,
		"flowenroll_exit_code{}":                                3,
		"flowenroll_last_completion_timestamp_seconds{}":        finished,
		"flowenroll_last_success_timestamp_seconds{}":           finished,
	}
}

// wantStopped: lastSuccess 0 means none.
func wantStopped(lastSuccess float64) map[string]float64 {
	m := map[string]float64{
		"flowenroll_rows{outcome=assigned}":               1,
		"flowenroll_rows{outcome=failed}":                 0,
		"flowenroll_rows{outcome=unprocessed}":            4,
		"flowenroll_rows_failed{}":                        0,
		"flowenroll_rows_unprocessed{reason=RateLimited}": 4,
		"flowenroll_requests{}":                           2,
		"flowenroll_retries{}":                            0,
		"flowenroll_rate_limited{}":                       1,
		"flowenroll_read_backs{}":                         0,
		"flowenroll_duration_seconds{}":                   3,
		"flowenroll_exit_code{}":                          4,
		"flowenroll_last_completion_timestamp_seconds{}":  later,
	}
	if lastSuccess != 0 {
		m["flowenroll_last_success_timestamp_seconds{}"] = lastSuccess
	}
	return m
}

// pushed is one request as a Pushgateway would receive it.
type pushed struct {
	Method   string
	Grouping map[string]string
	Series   map[string]float64
}

// TestPushRequest checks what Push sends, against an httptest server: POST
// (Add), the grouping in the path, the gauges in the body.
func TestPushRequest(t *testing.T) {
	tests := []struct {
		name      string
		labels    map[string]string
		s         report.Summary
		succeeded bool
		now       int64 // 0: finished
		want      pushed
	}{{
		name: "finished with failed rows: a success", labels: map[string]string{"namespace": "sales"},
		s: settled(), succeeded: true,
		want: pushed{
			Method:   http.MethodPost,
			Grouping: map[string]string{"job": "flowenroll", "input": "prospects.csv", "namespace": "sales"},
			Series:   wantSettled(),
		},
	}, {
		name: "stopped early: no last success", s: stopped(), succeeded: false, now: later,
		want: pushed{
			Method:   http.MethodPost,
			Grouping: map[string]string{"job": "flowenroll", "input": "prospects.csv"},
			Series:   wantStopped(0),
		},
	}, {
		name: "the input named by the caller, a path in it", labels: map[string]string{"input": "inbox/daily.csv"},
		s: settled(), succeeded: true,
		want: pushed{
			Method:   http.MethodPost,
			Grouping: map[string]string{"job": "flowenroll", "input": "inbox/daily.csv"},
			Series:   wantSettled(),
		},
	}, {
		name: "failed before reading the input: empty input", s: report.Summary{ExitCode: 1},
		want: pushed{
			Method:   http.MethodPost,
			Grouping: map[string]string{"job": "flowenroll", "input": ""},
			Series: map[string]float64{
				"flowenroll_rows{outcome=assigned}": 0, "flowenroll_rows{outcome=failed}": 0, "flowenroll_rows{outcome=unprocessed}": 0,
				"flowenroll_rows_failed{}": 0, "flowenroll_rows_unprocessed{}": 0,
				"flowenroll_requests{}": 0, "flowenroll_retries{}": 0, "flowenroll_rate_limited{}": 0, "flowenroll_read_backs{}": 0,
				"flowenroll_duration_seconds{}": 0, "flowenroll_exit_code{}": 1,
				"flowenroll_last_completion_timestamp_seconds{}": finished,
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []pushed
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, err := decode(r)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				mu.Lock()
				got = append(got, p)
				mu.Unlock()
			}))
			defer srv.Close()
			now := at(finished)
			if tt.now != 0 {
				now = at(tt.now)
			}
			if err := Push(t.Context(), srv.URL, "flowenroll", tt.labels, tt.s, tt.succeeded, now); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff([]pushed{tt.want}, got); diff != "" {
				t.Errorf("pushed (-want +got):\n%s", diff)
			}
		})
	}
}

// decode reads a push request: /metrics/job/<job>/<label>/<value>..., a
// component ending in @base64 has its value in base64url, "=" for empty.
func decode(r *http.Request) (pushed, error) {
	p := pushed{Method: r.Method, Grouping: map[string]string{}}
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/metrics/"), "/")
	if len(parts)%2 != 0 {
		return p, fmt.Errorf("path %s", r.URL.Path)
	}
	for i := 0; i < len(parts); i += 2 {
		name, value := parts[i], parts[i+1]
		if n, ok := strings.CutSuffix(name, "@base64"); ok {
			name = n
			if value == "=" {
				value = ""
			} else {
				b, err := base64URL(value)
				if err != nil {
					return p, err
				}
				value = b
			}
		}
		p.Grouping[name] = value
	}
	dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
	var mfs []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		err := dec.Decode(mf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p, err
		}
		mfs = append(mfs, mf)
	}
	p.Series = series(mfs, nil)
	return p, nil
}

func base64URL(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	return string(b), err
}

func TestPushErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer srv.Close()
	tests := []struct {
		name, url, job string
		labels         map[string]string
		want           string
	}{
		{name: "no URL", job: "flowenroll", want: "pushgateway: no URL"},
		{name: "no job", url: srv.URL, want: "pushgateway: no job name"},
		{name: "job label", url: srv.URL, job: "flowenroll", labels: map[string]string{"job": "x"}, want: `pushgateway: the label "job" is the job name`},
		{name: "label of a metric", url: srv.URL, job: "flowenroll", labels: map[string]string{"outcome": "x"},
			want: "already contains grouping label outcome"},
		{name: "gateway refuses", url: srv.URL, job: "flowenroll", want: "unexpected status code 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Push(t.Context(), tt.url, tt.job, tt.labels, settled(), true, at(finished))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestSucceeded(t *testing.T) {
	got := map[int]bool{}
	for code := range 5 {
		got[code] = Succeeded(code)
	}
	want := map[int]bool{0: true, 1: false, 2: false, 3: true, 4: false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Succeeded (-want +got):\n%s", diff)
	}
}

// TestPushgateway pushes to a real Pushgateway and reads the series back:
// a successful run, then a run stopped early, which must keep the time of
// the last success and drop the first run's failed-row codes.
func TestPushgateway(t *testing.T) {
	url := os.Getenv("PUSHGATEWAY_URL")
	if url == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI: PUSHGATEWAY_URL is not set: .ci/run starts a Pushgateway with scripts/pushgateway.sh and must export it")
	}
	if url == "" {
		t.Skip(`PUSHGATEWAY_URL is not set; run: export "$(scripts/pushgateway.sh)" (from the repository root), then go test ./pkg/metrics; scripts/pushgateway.sh stop`)
	}
	job := "flowenroll_test"
	// A group of its own, so that runs of this test at once do not meet.
	input := fmt.Sprintf("prospects-%d-%d.csv", os.Getpid(), time.Now().UnixNano())
	labels := map[string]string{"input": input, "namespace": "sales"}
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, url+"/metrics/job/"+job+"/input/"+input+"/namespace/sales", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		http.DefaultClient.CloseIdleConnections()
	})
	match := map[string]string{"job": job, "input": input, "namespace": "sales"}
	skip := []string{"job", "input", "namespace", "instance"}

	if err := Push(t.Context(), url, job, labels, settled(), true, at(finished)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantSettled(), series(scrape(t, url), match, skip...)); diff != "" {
		t.Errorf("after a successful run (-want +got):\n%s", diff)
	}

	if err := Push(t.Context(), url, job, labels, stopped(), false, at(later)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantStopped(finished), series(scrape(t, url), match, skip...)); diff != "" {
		t.Errorf("after a run stopped early (-want +got):\n%s", diff)
	}
}

// scrape reads the Pushgateway's /metrics in the text format.
func scrape(t *testing.T, url string) []*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Collect(maps.Values(byName))
}
