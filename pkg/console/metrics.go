package console

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the console's Prometheus metrics, derived from the runs the
// store holds (counted once, in the summaries), and the requests sent.
type metrics struct {
	st       *store.Store
	runs     *prometheus.Desc
	rows     *prometheus.Desc
	requests *prometheus.Desc
	signins  *prometheus.Desc
	auth     *Auth
	disk     diskDescs
	dataDir  string

	now func() time.Time

	mu       sync.Mutex
	measured time.Time // when dataSize was measured: walking DIR is not free
	dataSize int64
	sent     float64 // requests sent by this process
	day      string  // the UTC day of today
	today    int64   // requests sent on day
}

// add counts n requests sent now.
func (m *metrics) add(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent += float64(n)
	if d := m.now().UTC().Format(time.DateOnly); d != m.day {
		m.day, m.today = d, 0
	}
	m.today += n
}

// sentOn is how many requests this process sent on the UTC day of t: a
// run's as it goes (at each progress report), an undo's or a verify's
// when it ends, the pickers' listings as they are made.
func (m *metrics) sentOn(t time.Time) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.UTC().Format(time.DateOnly) != m.day {
		return 0
	}
	return m.today
}

// diskDescs describe the disk the runs take.
type diskDescs struct{ data, volume, free *prometheus.Desc }

// dataSizeEvery is how often the size of DIR is measured again.
const dataSizeEvery = time.Minute

func newMetrics(st *store.Store, now func() time.Time, dataDir string) *metrics {
	return &metrics{
		st: st, now: now, dataDir: dataDir,
		disk: diskDescs{
			data:   prometheus.NewDesc("flowenroll_console_data_bytes", "Bytes of the files under --data: the runs' uploads, ledgers and results (measured at most once a minute).", nil, nil),
			volume: prometheus.NewDesc("flowenroll_console_volume_bytes", "Size of the volume holding --data.", nil, nil),
			free:   prometheus.NewDesc("flowenroll_console_volume_free_bytes", "Bytes free on the volume holding --data.", nil, nil),
		},
		runs: prometheus.NewDesc("flowenroll_console_runs", "Runs the console holds, by status.",
			[]string{"status"}, nil),
		rows: prometheus.NewDesc("flowenroll_console_rows", "Rows of the runs the console holds, by outcome, from their last summary.",
			[]string{"outcome"}, nil),
		requests: prometheus.NewDesc("flowenroll_console_requests_total", "Requests to Gong sent by this process: its runs, and the listings of the page's pickers.",
			nil, nil),
		signins: prometheus.NewDesc("flowenroll_console_signins_refused_total", "Requests refused at sign-in, by reason: no_or_wrong_credentials, untrusted_proxy (the auth header from an address not trusted), throttled (too many password checks from one address or for one name).",
			[]string{"reason"}, nil),
	}
}

// listed adds the requests of a listing for the page's pickers.
func (m *metrics) listed(n int64) {
	m.add(n)
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.runs
	ch <- m.rows
	ch <- m.requests
	ch <- m.signins
	ch <- m.disk.data
	ch <- m.disk.volume
	ch <- m.disk.free
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	byStatus := map[string]int{store.StatusChecked: 0, store.StatusQueued: 0, store.StatusRunning: 0, store.StatusFinished: 0, store.StatusStopped: 0}
	byOutcome := map[string]int{"assigned": 0, "failed": 0, "unprocessed": 0}
	for _, r := range m.st.List() {
		byStatus[r.Status]++
		var sum store.Summary
		if len(r.Summary) > 0 && json.Unmarshal(r.Summary, &sum) == nil {
			byOutcome["assigned"] += sum.Assigned
			byOutcome["failed"] += sum.Failed
			byOutcome["unprocessed"] += sum.Unprocessed
		}
	}
	for k, v := range byStatus {
		ch <- prometheus.MustNewConstMetric(m.runs, prometheus.GaugeValue, float64(v), k)
	}
	for k, v := range byOutcome {
		ch <- prometheus.MustNewConstMetric(m.rows, prometheus.GaugeValue, float64(v), k)
	}
	m.mu.Lock()
	sent := m.sent
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.requests, prometheus.CounterValue, sent)
	m.collectDisk(ch)
	if m.auth != nil {
		for reason, n := range m.auth.Refused() {
			ch <- prometheus.MustNewConstMetric(m.signins, prometheus.CounterValue, float64(n), reason)
		}
	}
}

func (m *metrics) collectDisk(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	if now := m.now(); m.measured.IsZero() || now.Sub(m.measured) >= dataSizeEvery {
		m.dataSize, m.measured = dataBytes(m.dataDir), now
	}
	size := m.dataSize
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.disk.data, prometheus.GaugeValue, float64(size))
	if vol, free, ok := volumeSpace(m.dataDir); ok {
		ch <- prometheus.MustNewConstMetric(m.disk.volume, prometheus.GaugeValue, float64(vol))
		ch <- prometheus.MustNewConstMetric(m.disk.free, prometheus.GaugeValue, float64(free))
	}
}
