// Package metrics pushes the figures of a finished run to a Prometheus
// Pushgateway: a batch job does not live long enough to be scraped, so it
// pushes once at its end, as Prometheus advises for batch jobs.
//
// Every push goes to the group of its job and input (the input file's base
// name, plus any labels the caller adds), and uses Add (HTTP POST), which
// replaces the metrics of the same names in that group and leaves the others
// alone. That is client_golang's documented way (push.ExamplePusher_Add) to
// keep flowenroll_last_success_timestamp_seconds across failed runs: it is
// pushed only by a run that succeeded, so after a failed run the group still
// holds the time of the last success, and an alert on
// time() - flowenroll_last_success_timestamp_seconds sees a job that keeps
// failing. (Push, an HTTP PUT, would replace the whole group and drop it.)
//
// A run succeeded when it finished: exit 0 or 3 (Succeeded). Exit 3 means
// rows that Gong or validation refused, which retrying does not change, and
// flowenroll_rows{outcome="failed"} shows them; exit 4 (stopped early) and 1
// (fatal) leave work to do, so they are not a success.
//
// Because Add replaces only the metric names it sends, every name is sent
// on every push: the breakdowns by stage and code, and by reason, send one
// series with empty labels and the value 0 when there is nothing to break
// down, so that the series of an earlier run of the same input do not stay.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/flowenroll/flowenroll/pkg/report"
)

// InputLabel is the grouping label that names the input.
const InputLabel = "input"

// Succeeded tells whether a run with this exit code finished (0 or 3), the
// meaning of flowenroll_last_success_timestamp_seconds.
func Succeeded(exitCode int) bool {
	return exitCode == 0 || exitCode == 3
}

// Push pushes the figures of the run s, finished at now, to the Pushgateway
// at url (e.g. http://pushgateway:9091), in the group job + input + labels.
// The input is labels["input"] if set, else the base name of s.Input; set
// one of them from --input when the run failed before reading its input
// (s.Input is empty then). The time of the last success is pushed only if
// succeeded.
//
// ctx bounds the HTTP request; give it a deadline of its own, not the run's
// signal context, so that a run stopped by SIGTERM still pushes.
func Push(ctx context.Context, url, job string, labels map[string]string, s report.Summary, succeeded bool, now time.Time) error {
	if url == "" {
		return errors.New("pushgateway: no URL")
	}
	if job == "" {
		return errors.New("pushgateway: no job name")
	}
	if _, ok := labels["job"]; ok {
		return errors.New(`pushgateway: the label "job" is the job name`)
	}
	reg := prometheus.NewRegistry()
	if err := register(reg, s, succeeded, now); err != nil {
		return fmt.Errorf("pushgateway: %w", err)
	}
	// A transport of its own, closed after the one request: push's default
	// client shares http.DefaultTransport, whose idle connection would
	// outlive the push.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	p := push.New(url, job).Gatherer(reg).Client(&http.Client{Transport: tr})
	input, ok := labels[InputLabel]
	if !ok {
		input = filepath.Base(s.Input)
		if s.Input == "" {
			input = ""
		}
	}
	p.Grouping(InputLabel, input)
	for k, v := range labels {
		p.Grouping(k, v)
	}
	if err := p.AddContext(ctx); err != nil {
		return fmt.Errorf("pushgateway: %w", err)
	}
	return nil
}

// register puts the run's gauges in reg.
func register(reg *prometheus.Registry, s report.Summary, succeeded bool, now time.Time) error {
	var errs []error
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		errs = append(errs, reg.Register(g))
	}
	vec := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		errs = append(errs, reg.Register(g))
		return g
	}

	rows := vec("flowenroll_rows",
		"Data rows of the input by outcome, as in assigned.csv, failed.csv and unprocessed.csv.", "outcome")
	rows.WithLabelValues("assigned").Set(float64(s.Assigned))
	rows.WithLabelValues("failed").Set(float64(s.Failed))
	rows.WithLabelValues("unprocessed").Set(float64(s.Unprocessed))

	failed := vec("flowenroll_rows_failed",
		"Rows in failed.csv by stage (input, api, request) and error code; one series with empty labels and 0 when none failed.",
		"stage", "code")
	series := 0
	for stage, codes := range s.FailedByStage {
		for code, n := range codes {
			failed.WithLabelValues(stage, code).Set(float64(n))
			series++
		}
	}
	if series == 0 {
		failed.WithLabelValues("", "").Set(0)
	}

	unprocessed := vec("flowenroll_rows_unprocessed",
		"Rows in unprocessed.csv by reason (Interrupted, RequestBudget, RateLimited, Unauthorized, InDoubt); one series with empty labels and 0 when there are none.",
		"reason")
	for reason, n := range s.UnprocessedByReason {
		unprocessed.WithLabelValues(reason).Set(float64(n))
	}
	if len(s.UnprocessedByReason) == 0 {
		unprocessed.WithLabelValues("").Set(0)
	}

	gauge("flowenroll_requests", "Requests sent to Gong for this output directory, over all its runs.", float64(s.Requests))
	gauge("flowenroll_retries", "Requests retried.", float64(s.Retries))
	gauge("flowenroll_rate_limited", "Answers 429 (Too Many Requests) from Gong.", float64(s.RateLimited))
	gauge("flowenroll_read_backs", "Read-backs of rows in doubt.", float64(s.ReadBacks))
	gauge("flowenroll_duration_seconds", "Wall time of the run.", s.WallTimeSeconds)
	gauge("flowenroll_exit_code", "Exit code of the run: 0 all assigned, 1 fatal, 3 some rows failed, 4 stopped early.", float64(s.ExitCode))
	gauge("flowenroll_last_completion_timestamp_seconds", "When the last run ended, successful or not.", unixSeconds(now))
	if succeeded {
		gauge("flowenroll_last_success_timestamp_seconds",
			"When the last successful run ended: one that finished, exit 0 or 3.", unixSeconds(now))
	}
	return errors.Join(errs...)
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
