package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// quotaCase is one quota-use run: flowenroll at --rate 3 against an
// emulator allowing 3 a second counted in one window shape, and the naive
// script against another emulator of the same kind, for the same time.
type quotaCase struct {
	shape   string        // emulator.WindowAligned, WindowRolling, WindowGCRA
	span    time.Duration // how long the run sends for
	latency time.Duration // the emulator's latency per request
	jitter  time.Duration // ± on the latency, on the way in
	shared  float64       // another integration's calls per second
}

// The window shapes measured, and the cases of each.
func shapes() []string {
	return []string{emulator.WindowAligned, emulator.WindowRolling, emulator.WindowGCRA}
}

const (
	longSpan     = 90 * time.Second
	sharedSpan   = 120 * time.Second
	shortSpan    = 30 * time.Second
	jitter       = 20 * time.Millisecond
	sharedRate   = 1.0 // the other integration's calls a second
	steadyAfter  = 5 * time.Second
	benchLimit   = 3
	quickLong    = 16 * time.Second
	quickShort   = 8 * time.Second
	maxWaveCases = 8
)

// quotaCases is the matrix: each shape at 90 s and 30 s, at 0, 300 and
// 1,000 ms; then each with ±20 ms of jitter (90 s at 300 ms), and shared
// with another integration's 1 call a second (0 ms, 120 s: learning that
// takes a fixed one or two 429s, and the figure is their share).
func quotaCases(quick bool) []quotaCase {
	long, short, shared := longSpan, shortSpan, sharedSpan
	if quick {
		long, short, shared = quickLong, quickShort, quickLong
	}
	var cs []quotaCase
	for _, span := range []time.Duration{long, short} {
		for _, sh := range shapes() {
			for _, lat := range []time.Duration{0, 300 * time.Millisecond, time.Second} {
				cs = append(cs, quotaCase{shape: sh, span: span, latency: lat})
			}
		}
	}
	for _, sh := range shapes() {
		cs = append(cs, quotaCase{shape: sh, span: long, latency: 300 * time.Millisecond, jitter: jitter})
	}
	for _, sh := range shapes() {
		cs = append(cs, quotaCase{shape: sh, span: shared, shared: sharedRate})
	}
	return cs
}

func (qc quotaCase) name() string {
	n := fmt.Sprintf("%s, %v, latency %v", qc.shape, qc.span, qc.latency)
	switch {
	case qc.jitter > 0:
		n += fmt.Sprintf(" ±%v", qc.jitter)
	case qc.shared > 0:
		n += fmt.Sprintf(", shared %g/s", qc.shared)
	}
	return n
}

func (qc quotaCase) slug() string {
	r := strings.NewReplacer(", ", "-", " ", "", "±", "j", "/", "per")
	return r.Replace(qc.name())
}

// left is what the limit leaves this client, in calls a second.
func (qc quotaCase) left() float64 { return benchLimit - qc.shared }

func (qc quotaCase) emulator() emulator.Config {
	return emulator.Config{RatePerSecond: benchLimit, Latency: qc.latency,
		LimitModes: emulator.LimitModes{Window: qc.shape, Jitter: qc.jitter, SharedPerSecond: qc.shared}}
}

// side is what one client's run showed the emulator.
type side struct {
	use       float64 // admissions per second, first to last, over what the limit leaves
	admitted  int
	requests  int
	limited   int // answered 429
	steady429 int // of them after the first steadyAfter
	span      time.Duration
}

// quotaResult is one case: flowenroll's side and the naive script's.
type quotaResult struct {
	qc        quotaCase
	fe, naive side
	sum       report.Summary
	use       usage
	emuCPU    time.Duration
	wantRows  int
}

func sideOf(qc quotaCase, srv *server) side {
	p := srv.pacing()
	st := srv.emu.Stats()
	s := side{admitted: p.whole.admitted, requests: st.Requests, limited: st.RateLimited, span: p.whole.span,
		use: p.whole.rate / qc.left()}
	for _, at := range p.limitedAt {
		if at >= steadyAfter {
			s.steady429++
		}
	}
	return s
}

// quota runs the matrix, the cases of one span at once (each against
// emulators of its own: the traffic is a few requests a second), and prints
// each case, a table per window shape, and the figures.
func (b *bench) quota(ctx context.Context) error {
	cases := quotaCases(b.quick)
	// Two waves: the long runs, then the short ones.
	var long, short []quotaCase
	for _, qc := range cases {
		if qc.span == shortSpan || qc.span == quickShort {
			short = append(short, qc)
		} else {
			long = append(long, qc)
		}
	}
	var waves [][]quotaCase
	for _, w := range [][]quotaCase{long, short} {
		for len(w) > 0 {
			n := min(len(w), maxWaveCases)
			waves, w = append(waves, w[:n]), w[n:]
		}
	}
	var results []quotaResult
	for _, wave := range waves {
		b.progress("quota: %d cases at once (flowenroll and the naive script each), load %s", len(wave), loadAverage())
		rs, err := b.quotaWave(ctx, wave)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	b.section(fmt.Sprintf("quota use: flowenroll run --rate %d, concurrency %d, chunk %d, and the naive script, each against an emulator of its own allowing %d a second; load %s now",
		defaultRate, defaultConcurrency, defaultChunkSize, benchLimit, loadAverage()))
	order := quotaCases(b.quick)
	slices.SortStableFunc(results, func(x, y quotaResult) int {
		return slices.Index(order, x.qc) - slices.Index(order, y.qc)
	})
	for _, r := range results {
		b.quotaDetail(r)
	}
	b.quotaResults = results
	return nil
}

// quotaWave runs cases at once.
func (b *bench) quotaWave(ctx context.Context, cases []quotaCase) ([]quotaResult, error) {
	results := make([]quotaResult, len(cases))
	naives := make([]side, len(cases))
	errs := make([]error, 2*len(cases))
	var wg sync.WaitGroup
	for i, qc := range cases {
		wg.Go(func() { results[i], errs[2*i] = b.flowenroll(ctx, qc) })
		wg.Go(func() { naives[i], errs[2*i+1] = b.naive(ctx, qc) })
	}
	wg.Wait()
	for i := range cases {
		results[i].qc, results[i].naive = cases[i], naives[i]
		if err := errors.Join(errs[2*i], errs[2*i+1]); err != nil {
			return nil, fmt.Errorf("%s: %w", cases[i].name(), err)
		}
	}
	return results, nil
}

// input is a file of the rows a run of qc sends for about its span.
func (b *bench) input(qc quotaCase) (string, int, error) {
	requests := int(math.Ceil(qc.span.Seconds()*0.99*min(qc.left(), defaultRate))) + 1
	rows := requests * defaultChunkSize
	b.inputs.Lock()
	defer b.inputs.Unlock()
	in := filepath.Join(b.dir, fmt.Sprintf("quota-%d.csv", rows))
	if _, err := os.Stat(in); err != nil {
		if err := writeRows(in, rows, []group{{flowOutbound, ownerAva}}); err != nil {
			return "", 0, err
		}
	}
	return in, rows, nil
}

// flowenroll runs the job of qc in a child process against an emulator here.
func (b *bench) flowenroll(ctx context.Context, qc quotaCase) (quotaResult, error) {
	r := quotaResult{qc: qc}
	in, rows, err := b.input(qc)
	if err != nil {
		return r, err
	}
	r.wantRows = rows
	srv, err := startEmulator(qc.emulator())
	if err != nil {
		return r, err
	}
	defer srv.close()
	out, err := os.MkdirTemp(b.dir, "out-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(out)
	logf, err := os.Create(out + ".log")
	if err != nil {
		return r, err
	}
	defer logf.Close()
	args := []string{childRun, "-base", srv.url, "-input", in, "-out", out, "-rate", strconv.Itoa(defaultRate)}
	if b.trace != "" {
		args = append(args, "-trace", filepath.Join(b.trace, "quota-"+qc.slug()+"-client.csv"))
	}
	cmd := exec.CommandContext(ctx, b.exe, args...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, logf
	emuCPU := selfCPU()
	use, runErr := measure(cmd)
	r.emuCPU = selfCPU() - emuCPU // the whole bench process's, while this ran
	var child planOf
	if json.Unmarshal(stdout.Bytes(), &child) == nil && child.PeakRSS > 0 {
		use.maxRSS = child.PeakRSS
	}
	r.use = use
	if r.sum, err = readSummary(out); err != nil {
		return r, fmt.Errorf("%w (child: %v; log %s)", err, runErr, logf.Name())
	}
	if b.trace != "" {
		if err := srv.writeTrace(filepath.Join(b.trace, "quota-"+qc.slug()+".csv")); err != nil {
			return r, err
		}
	}
	r.fe = sideOf(qc, srv)
	return r, checkJob(r.sum, rows)
}

// naive runs the naive script for about qc's span against an emulator of
// the same kind.
func (b *bench) naive(ctx context.Context, qc quotaCase) (side, error) {
	in, _, err := b.input(qc)
	if err != nil {
		return side{}, err
	}
	// One request, then 1/rate of sleep: its rate is set by the latency.
	requests := int(qc.span.Seconds()/(1/float64(defaultRate)+qc.latency.Seconds())) + 1
	srv, err := startEmulator(qc.emulator())
	if err != nil {
		return side{}, err
	}
	defer srv.close()
	_, err = naiveScript{base: srv.url, input: in, progress: filepath.Join(b.dir, "naive-progress-"+qc.slug()), rate: defaultRate, limit: requests}.run(ctx)
	if err != nil {
		return side{}, err
	}
	return sideOf(qc, srv), nil
}

// Targets of the quota runs (issue 23).
func (qc quotaCase) useTarget() float64 {
	switch {
	case qc.jitter > 0, qc.shared > 0:
		return 0.96
	case qc.span >= longSpan || qc.span == quickLong:
		// 90 s and more
		return 0.98
	}
	return 0.95
}

// quotaDetail prints one case and adds its figures.
func (b *bench) quotaDetail(r quotaResult) {
	qc, fe, nv := r.qc, r.fe, r.naive
	b.detail("%s: flowenroll %.3f of %s (%d admitted in %.1f s, %d requests, %d answered 429, %d after the first %v; exit %d, %d rows assigned, client CPU %.2f s); naive script %.3f (%d admitted in %.1f s, %d answered 429)",
		qc.name(), fe.use, leftName(qc), fe.admitted, fe.span.Seconds(), fe.requests, fe.limited, fe.steady429, steadyAfter, r.sum.ExitCode, r.sum.Assigned, r.use.cpu.Seconds(),
		nv.use, nv.admitted, nv.span.Seconds(), nv.limited)
	t := qc.useTarget()
	b.add(figure{name: "quota use, " + qc.name(), value: fmt.Sprintf("%.3f", fe.use), target: fmt.Sprintf(">= %.2f", t), result: verdict(fe.use >= t)})
	share := float64(fe.limited) / float64(max(1, fe.requests))
	switch {
	case qc.shared > 0:
		b.add(figure{name: "429s, " + qc.name(), value: fmt.Sprintf("%d of %d = %.2f%%", fe.limited, fe.requests, 100*share), target: "< 1%", result: verdict(share < 0.01)})
	case qc.jitter > 0:
		b.add(figure{name: "429s, " + qc.name(), value: fmt.Sprintf("%d of %d = %.2f%%", fe.limited, fe.requests, 100*share), target: "<= 0.5%", result: verdict(share <= 0.005)})
	default:
		b.add(figure{name: "429s, " + qc.name(), value: fmt.Sprintf("%d (%d after %v)", fe.limited, fe.steady429, steadyAfter), target: "<= 1, 0 after " + steadyAfter.String(), result: verdict(fe.limited <= 1 && fe.steady429 == 0)})
		b.add(figure{name: "flowenroll / naive, " + qc.name(), value: fmt.Sprintf("%.2f (%.3f / %.3f)", fe.use/nv.use, fe.use, nv.use), target: ">= 1", result: verdict(fe.use >= nv.use)})
	}
	if qc.shape == emulator.WindowAligned && qc.latency == 0 && qc.shared == 0 && qc.jitter == 0 && (qc.span == longSpan || qc.span == quickLong) {
		perLakh := r.use.cpu.Seconds() / (float64(max(1, r.sum.Assigned)) / 100_000)
		b.add(figure{name: "CPU per 100,000 assigned (rate-limited run, client process)", value: fmt.Sprintf("%.3f s (%.2f s for %d)", perLakh, r.use.cpu.Seconds(), r.sum.Assigned)})
	}
}

func leftName(qc quotaCase) string {
	if qc.shared > 0 {
		return fmt.Sprintf("the %g/s left", qc.left())
	}
	return "the limit"
}

// sideBySide prints a table per window shape: flowenroll and the naive
// script, each case.
func (b *bench) sideBySide() {
	if len(b.quotaResults) == 0 {
		return
	}
	for _, sh := range shapes() {
		fmt.Fprintf(b.stdout, "\n== quota use, %s windows: admissions a second (listings included) over what the limit leaves; 429s (after the first %v)\n", sh, steadyAfter)
		tw := tabwriter.NewWriter(b.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "   RUN\tLATENCY\tFLOWENROLL\t429s\tNAIVE\tNAIVE 429s\tFLOWENROLL / NAIVE")
		for _, r := range b.quotaResults {
			if r.qc.shape != sh {
				continue
			}
			run := r.qc.span.String()
			switch {
			case r.qc.jitter > 0:
				run += fmt.Sprintf(", ±%v jitter", r.qc.jitter)
			case r.qc.shared > 0:
				run += fmt.Sprintf(", shared (%g/s left)", r.qc.left())
			}
			fmt.Fprintf(tw, "   %s\t%v\t%.3f\t%d (%d)\t%.3f\t%d\t%.2f\n", run, r.qc.latency, r.fe.use, r.fe.limited, r.fe.steady429, r.naive.use, r.naive.limited, r.fe.use/r.naive.use)
		}
		tw.Flush()
	}
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
