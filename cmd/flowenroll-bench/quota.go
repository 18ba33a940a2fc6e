package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// quotaCase is one quota-use run: the client at --rate 3 against the
// emulator's per-second limit.
type quotaCase struct {
	name    string
	slug    string        // for file names
	limit   int           // the emulator's requests per second
	latency time.Duration // the emulator's latency per request
	shared  bool          // the limit is below --rate, as when another client shares the quota
}

// The four runs of the issue.
func quotaAlone0() quotaCase { return quotaCase{name: "alone, latency 0", slug: "0ms", limit: 3} }
func quotaAlone300() quotaCase {
	return quotaCase{name: "alone, latency 300ms", slug: "300ms", limit: 3, latency: 300 * time.Millisecond}
}
func quotaAlone1s() quotaCase {
	return quotaCase{name: "alone, latency 1s", slug: "1s", limit: 3, latency: time.Second}
}
func quotaShared() quotaCase {
	return quotaCase{name: "shared, emulator limit 2/s", slug: "shared", limit: 2, shared: true}
}

// minSpan is how long a quota run must send for its figure to count;
// sharedSpan is longer, because the 429s that teach the pacer the lower
// limit are a fixed few (two, then one per failed probe) and the figure is
// their share; naiveSpan is about how long the naive script is run for its
// figure: it sends at a steady rate set by the latency. The bench must stay
// under 8 minutes.
const (
	minSpan    = 45 * time.Second
	sharedSpan = 66 * time.Second
	naiveSpan  = 30 * time.Second
)

// quotaRow is one latency of the side-by-side table: requests per second
// over the limit, for the assigns and for all requests.
type quotaRow struct {
	latency               time.Duration
	feAssign, feAll       float64
	naiveAssign, naiveAll float64
}

// quota runs one case: the job in a child process, the emulator here.
func (b *bench) quota(ctx context.Context, qc quotaCase) error {
	// Enough assign requests to send for longer than minSpan at the most the
	// pacing allows (0.995 of the limit).
	span := minSpan
	if qc.shared {
		span = sharedSpan
	}
	requests := int(math.Ceil(span.Seconds()*0.995*float64(qc.limit))) + 5
	if b.quick {
		requests = 20
	}
	rows := requests * defaultChunkSize
	b.section(fmt.Sprintf("quota use, %s: emulator %d/s, latency %v; flowenroll run --rate %d, concurrency %d, chunk %d; %d rows, one (flow, owner)",
		qc.name, qc.limit, qc.latency, defaultRate, defaultConcurrency, defaultChunkSize, rows))
	in := filepath.Join(b.dir, fmt.Sprintf("quota-%d.csv", rows))
	if _, err := os.Stat(in); err != nil {
		if err := writeRows(in, rows, []group{{flowOutbound, ownerAva}}); err != nil {
			return err
		}
	}
	srv, err := startEmulator(emulator.Config{RatePerSecond: qc.limit, Latency: qc.latency})
	if err != nil {
		return err
	}
	defer srv.close()

	out, err := os.MkdirTemp(b.dir, "out-")
	if err != nil {
		return err
	}
	logf, err := os.Create(out + ".log")
	if err != nil {
		return err
	}
	defer logf.Close()
	b.progress("quota %s: running %d requests, about %.0f s", qc.name, requests, float64(requests)/(0.99*float64(min(qc.limit, defaultRate))))
	args := []string{childRun, "-base", srv.url, "-input", in, "-out", out, "-rate", strconv.Itoa(defaultRate)}
	clientTrace := ""
	if b.trace != "" {
		clientTrace = filepath.Join(b.trace, "quota-"+qc.slug+"-client.csv")
		args = append(args, "-trace", clientTrace)
	}
	cmd := exec.CommandContext(ctx, b.exe, args...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, logf
	emuCPU := selfCPU()
	use, runErr := measure(cmd)
	emuCPU = selfCPU() - emuCPU
	var child planOf
	if json.Unmarshal(stdout.Bytes(), &child) == nil && child.PeakRSS > 0 {
		use.maxRSS = child.PeakRSS
	}
	sum, err := readSummary(out)
	if err != nil {
		return fmt.Errorf("%w (child: %v; log %s)", err, runErr, logf.Name())
	}
	os.RemoveAll(out) // the results of 40,000 rows; the summary is read
	p := srv.pacing()
	st := srv.emu.Stats()
	if b.trace != "" {
		path := filepath.Join(b.trace, "quota-"+qc.slug+".csv")
		if err := srv.writeTrace(path); err != nil {
			return err
		}
		b.progress("trace in %s and %s", path, clientTrace)
		if gaps, err := traceGaps(clientTrace); err == nil {
			b.detail("trace: %s", gaps)
		}
	}

	b.detail("client: %d rows, assigned %d, failed %d, unprocessed %d; %d requests (%d flow listings), %d retries, %d 429s; exit %d; %.1f s",
		sum.RowsRead, sum.Assigned, sum.Failed, sum.Unprocessed, sum.Requests, sum.FlowListings, sum.Retries, sum.RateLimited, sum.ExitCode, use.wall.Seconds())
	b.detail("emulator: %d requests arrived, %d admitted, %d answered 429, at most %d admitted in one 1-second window",
		p.requests, p.whole.admitted, st.RateLimited, st.MaxInWindow)
	b.detail("whole run: first to last admission %.1f s, %d admissions, %.3f/s = %.3f of the limit (includes the preflight's flow listing, which the first assign waits for)",
		p.whole.span.Seconds(), p.whole.admitted, p.whole.rate, p.whole.rate/float64(qc.limit))
	b.detail("steady part: first to last assign admitted %.1f s, %d assigns, %.3f/s", p.steady.span.Seconds(), p.steady.admitted, p.steady.rate)
	if p.steady.span < span {
		b.detail("note: sent for %.1f s, under the %v aimed at", p.steady.span.Seconds(), span)
	}
	if len(p.limitedAt) > 0 {
		b.detail("429s at (s after the first request): %s", seconds(p.limitedAt, 12))
	}
	perLakh := 0.0
	if sum.Assigned > 0 {
		perLakh = use.cpu.Seconds() / (float64(sum.Assigned) / 100_000)
	}
	b.detail("client process: CPU %.2f s (%.3f s per 100,000 assigned), peak RSS %.1f MB; emulator (this process): CPU %.2f s",
		use.cpu.Seconds(), perLakh, mb(use.maxRSS), emuCPU.Seconds())
	if sum.ExitCode != 0 {
		b.detail("note: the job ended with exit %d", sum.ExitCode)
	}

	b.quotaFigures(qc, p, st, sum, use, perLakh)
	if err := checkJob(sum, rows); err != nil || qc.shared {
		return err
	}
	return b.naiveQuota(ctx, qc, in, p)
}

// quotaFigures adds the figures of one flowenroll quota run.
func (b *bench) quotaFigures(qc quotaCase, p pacing, st emulator.Stats, sum report.Summary, use usage, perLakh float64) {
	quotaUse, rate := p.steady.rate/float64(qc.limit), p.steady.rate
	if qc.shared {
		share := 0.0
		if st.Requests > 0 {
			share = float64(st.RateLimited) / float64(st.Requests)
		}
		b.add(figure{name: "quota use, " + qc.name, value: fmt.Sprintf("%.3f (%.3f/s of %d/s)", quotaUse, rate, qc.limit),
			target: ">= 0.90", result: verdict(quotaUse >= 0.90)})
		b.add(figure{name: "429s, " + qc.name, value: fmt.Sprintf("%d of %d requests = %.1f%%", st.RateLimited, st.Requests, 100*share),
			target: "< 2%", result: verdict(share < 0.02)})
		return
	}
	b.add(figure{name: "quota use, " + qc.name, value: fmt.Sprintf("%.3f (%.3f/s of %d/s)", quotaUse, rate, qc.limit),
		target: ">= 0.98", result: verdict(quotaUse >= 0.98)})
	b.add(figure{name: "429s, " + qc.name, value: strconv.Itoa(st.RateLimited), target: "0", result: verdict(st.RateLimited == 0)})
	if qc.latency == 0 {
		b.add(figure{name: "CPU per 100,000 assigned (rate-limited run, client process)",
			value: fmt.Sprintf("%.3f s (%.2f s for %d)", perLakh, use.cpu.Seconds(), sum.Assigned)})
	}
}

// naiveQuota runs the naive script against a fresh emulator of the same
// case, for about naiveSpan, and sets its figures beside flowenroll's (fe).
func (b *bench) naiveQuota(ctx context.Context, qc quotaCase, in string, fe pacing) error {
	// One request, then 1/rate of sleep: its rate is set by the latency.
	requests := int(naiveSpan.Seconds()/(1/float64(defaultRate)+qc.latency.Seconds())) + 1
	if b.quick {
		requests = 10
	}
	srv, err := startEmulator(emulator.Config{RatePerSecond: qc.limit, Latency: qc.latency})
	if err != nil {
		return err
	}
	defer srv.close()
	b.progress("quota %s: the naive script, %d requests", qc.name, requests)
	res, err := naiveScript{base: srv.url, input: in, progress: filepath.Join(b.dir, "naive-progress-"+qc.slug), rate: defaultRate, limit: requests}.run(ctx)
	if err != nil {
		return err
	}
	p := srv.pacing()
	b.detail("naive script (sleep 1/%d s after each answer, Retry-After on a 429), against the same emulator: %d requests, %d answered 429; first to last assign admitted %.1f s, %.3f/s",
		defaultRate, res.sent, res.limited, p.steady.span.Seconds(), p.steady.rate)
	limit := float64(qc.limit)
	row := quotaRow{latency: qc.latency, feAssign: fe.steady.rate / limit, feAll: fe.whole.rate / limit, naiveAssign: p.steady.rate / limit, naiveAll: p.whole.rate / limit}
	b.quotaRows = append(b.quotaRows, row)
	b.add(figure{name: "quota use, naive script, latency " + qc.slug, value: fmt.Sprintf("%.3f (%.3f/s of %d/s)", row.naiveAssign, p.steady.rate, qc.limit)})
	b.add(figure{name: "quota use, flowenroll / naive script, latency " + qc.slug, value: fmt.Sprintf("%.3f (%.3f / %.3f)", row.feAssign/row.naiveAssign, row.feAssign, row.naiveAssign),
		target: ">= 1", result: verdict(row.feAssign >= row.naiveAssign)})
	return nil
}

// sideBySide prints the quota runs' table: flowenroll and the naive script
// at each latency.
func (b *bench) sideBySide() {
	if len(b.quotaRows) == 0 {
		return
	}
	fmt.Fprintln(b.stdout, "\n== quota use side by side: requests per second / the emulator's limit, flowenroll (--rate 3, concurrency 4) and the naive script")
	tw := tabwriter.NewWriter(b.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "   LATENCY\tFLOWENROLL ASSIGNS\tFLOWENROLL ALL\tNAIVE ASSIGNS\tNAIVE ALL\tFLOWENROLL / NAIVE")
	for _, r := range b.quotaRows {
		fmt.Fprintf(tw, "   %v\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\n", r.latency, r.feAssign, r.feAll, r.naiveAssign, r.naiveAll, r.feAssign/r.naiveAssign)
	}
	tw.Flush()
}

// checkJob fails the bench when the job did not do the work it measures.
func checkJob(sum report.Summary, rows int) error {
	if sum.Assigned != rows {
		return fmt.Errorf("the job assigned %d of %d rows (exit %d); the figures would not mean what they say", sum.Assigned, rows, sum.ExitCode)
	}
	return nil
}

// usage is what a child process cost.
type usage struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // bytes
}

// measure runs cmd and reads its resource usage.
func measure(cmd *exec.Cmd) (usage, error) {
	start := time.Now()
	err := cmd.Run()
	u := usage{wall: time.Since(start)}
	if ps := cmd.ProcessState; ps != nil {
		u.cpu = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			u.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
			if runtime.GOOS == "darwin" {
				u.maxRSS = ru.Maxrss // bytes on macOS
			}
		}
	}
	return u, err
}

// selfCPU is the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mb(bytes int64) float64 { return float64(bytes) / 1e6 }

// seconds lists up to n durations in seconds.
func seconds(ds []time.Duration, n int) string {
	s := ""
	for i, d := range ds {
		if i == n {
			s += fmt.Sprintf(" ... (%d more)", len(ds)-n)
			break
		}
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.1f", d.Seconds())
	}
	return s
}

// traceGaps sums up a client trace: the gaps between the pacer's releases
// against those between the requests that left for the wire. Pacing keeps
// the first at 350 ms or more; whatever comes between the pacer and the wire
// can bunch the second.
func traceGaps(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var paced, sent []int64
	for _, line := range strings.Split(string(b), "\n")[1:] {
		ns, event, ok := strings.Cut(line, ",")
		if !ok {
			continue
		}
		t, err := strconv.ParseInt(ns, 10, 64)
		if err != nil {
			return "", err
		}
		if event == "paced" {
			paced = append(paced, t)
		} else {
			sent = append(sent, t)
		}
	}
	sum := func(ts []int64) string {
		if len(ts) < 2 {
			return "-"
		}
		slices.Sort(ts)
		var gaps []time.Duration
		for i := 1; i < len(ts); i++ {
			gaps = append(gaps, time.Duration(ts[i]-ts[i-1]))
		}
		short := 0
		for _, g := range gaps {
			if g < 300*time.Millisecond {
				short++
			}
		}
		slices.Sort(gaps)
		return fmt.Sprintf("min %v, median %v, %d of %d under 300ms", gaps[0].Round(time.Millisecond), gaps[len(gaps)/2].Round(time.Millisecond), short, len(gaps))
	}
	delay := "-"
	if len(paced) == len(sent) && len(sent) > 0 {
		var ds []time.Duration
		for i := range sent {
			ds = append(ds, time.Duration(sent[i]-paced[i]))
		}
		slices.Sort(ds)
		delay = fmt.Sprintf("median %v, max %v", ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	}
	return fmt.Sprintf("gaps between pacer releases: %s; between requests leaving for the wire: %s; pacer to wire (paired in order): %s",
		sum(paced), sum(sent), delay), nil
}
