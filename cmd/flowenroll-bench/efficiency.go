package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"text/tabwriter"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// stops is how many times the resumed runs of the efficiency scenario are
// stopped, and stopEvery how many assigns each run gets admitted before its
// stop: 5 stops spread over the 20 assigns the input needs.
const (
	stops     = 5
	stopEvery = 3
)

// sent is the requests the emulator received for one way of doing the job.
type sent struct {
	all, assign int
	listings    int // GET /v2/flows (flowenroll's preflight)
	readBacks   int // POST /v2/flows/prospects (flowenroll's checks of requests in doubt)
	limited     int // answered 429
	stopped     int // runs stopped before the end
}

// efficiency runs flowenroll and the naive script over an input of several
// groups, each once straight through and once stopped and resumed, and
// compares the requests the emulator received with the minimum.
func (b *bench) efficiency(ctx context.Context) error {
	in := filepath.Join(b.dir, "efficiency.csv")
	rows, minimum, err := efficiencyInput(in, defaultChunkSize)
	if err != nil {
		return err
	}
	cfg, rate, how := emulator.Config{}, float64(defaultRate), fmt.Sprintf("--rate %d against the emulator's 3/s", defaultRate)
	if b.quick {
		// The count does not depend on the pacing; unpaced, it takes a moment.
		cfg.RatePerSecond, rate, how = -1, math.Inf(1), "unpaced, emulator unlimited (-quick)"
	}
	b.section(fmt.Sprintf("request efficiency: %d rows in 12 (flow, owner) groups, owners in two cases, 1 row in 21 a repeat; %s, no faults; minimum %d assign requests (sum over groups of ceil(distinct IDs / %d))",
		rows, how, minimum, defaultChunkSize))
	b.detail("stopped and resumed: each run is stopped right after the emulator admits its assign number %d (flowenroll as by SIGTERM: requests in flight finish; the naive script as by Ctrl-C: the one in flight is dropped), %d times, then runs to the end", stopEvery, stops)

	var fe, feResumed, nv, nvResumed sent
	steps := []struct {
		name  string
		stops int
		into  *sent
		one   func(ctx context.Context, srv *server, out string, resume bool) error
	}{
		{"flowenroll, one run", 0, &fe, b.efficiencyJob(in, rate)},
		{"flowenroll, stopped and resumed", stops, &feResumed, b.efficiencyJob(in, rate)},
		{"naive script, one run", 0, &nv, efficiencyNaive(in, rate)},
		{"naive script, stopped and resumed", stops, &nvResumed, efficiencyNaive(in, rate)},
	}
	for _, st := range steps {
		b.progress("efficiency: %s", st.name)
		got, err := b.runStopped(ctx, cfg, st.stops, st.one)
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		*st.into = got
		b.detail("%s: %d requests: %d assigns, %d flow listings, %d read-backs; %d answered 429; stopped %d times", st.name, got.all, got.assign, got.listings, got.readBacks, got.limited, got.stopped)
	}
	ratio := func(n int) string { return fmt.Sprintf("%.2f (%d / %d)", float64(n)/float64(minimum), n, minimum) }
	b.add(figure{name: "request efficiency, flowenroll, one run (all requests / minimum)", value: ratio(fe.all), target: "1.00", result: verdict(fe.all == minimum)})
	b.add(figure{name: "request efficiency, flowenroll, one run (assign requests / minimum)", value: ratio(fe.assign), target: "1.00", result: verdict(fe.assign == minimum)})
	b.add(figure{name: "request efficiency, flowenroll, stopped and resumed 5 times (all / minimum)", value: ratio(feResumed.all)})
	b.add(figure{name: "request efficiency, flowenroll, stopped and resumed 5 times (assigns / minimum)", value: ratio(feResumed.assign)})
	b.add(figure{name: "request efficiency, naive script, one run (all = assigns / minimum)", value: ratio(nv.all)})
	b.add(figure{name: "request efficiency, naive script, stopped and resumed 5 times (all = assigns / minimum)", value: ratio(nvResumed.all)})

	fmt.Fprintf(b.stdout, "\n   request efficiency side by side (requests / minimum of %d)\n", minimum)
	tw := tabwriter.NewWriter(b.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "   \tflowenroll assigns\tflowenroll all\tnaive assigns\tnaive all")
	for _, r := range []struct {
		name   string
		fe, nv sent
	}{{"one run", fe, nv}, {fmt.Sprintf("stopped and resumed %d times", stops), feResumed, nvResumed}} {
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\n", r.name, ratio(r.fe.assign), ratio(r.fe.all), ratio(r.nv.assign), ratio(r.nv.all))
	}
	return tw.Flush()
}

// runStopped does a job against a fresh emulator: one run, or a run stopped
// after stopEvery assigns, stops times, and resumed to the end.
func (b *bench) runStopped(ctx context.Context, cfg emulator.Config, n int, one func(ctx context.Context, srv *server, out string, resume bool) error) (sent, error) {
	srv, err := startEmulator(cfg)
	if err != nil {
		return sent{}, err
	}
	defer srv.close()
	out, err := os.MkdirTemp(b.dir, "efficiency-out-")
	if err != nil {
		return sent{}, err
	}
	defer os.RemoveAll(out)
	var got sent
	for k := 0; ; k++ {
		runCtx, cancel := context.WithCancel(ctx)
		if k < n {
			srv.stopAfter(emulator.OpAssign, stopEvery, cancel)
		}
		err := one(runCtx, srv, out, k > 0)
		stopped := runCtx.Err() != nil && ctx.Err() == nil
		cancel()
		if err != nil && !stopped {
			return got, err
		}
		if !stopped {
			break
		}
		got.stopped++
	}
	st := srv.emu.Stats()
	got.all, got.assign, got.listings, got.readBacks, got.limited = int(st.Requests), int(st.Assign), int(st.ListFlows), int(st.ReadBack), int(st.RateLimited)
	return got, nil
}

// efficiencyJob runs flowenroll in this process, checking that the last run
// settled every row cleanly.
func (b *bench) efficiencyJob(in string, rate float64) func(ctx context.Context, srv *server, out string, resume bool) error {
	return func(ctx context.Context, srv *server, out string, resume bool) error {
		sum, err := job{base: srv.url, input: in, out: out, rate: rate, resume: resume}.run(ctx, zap.NewNop())
		if err != nil || ctx.Err() != nil {
			return err
		}
		if sum.Unprocessed > 0 || sum.FailedByStage["api"] != nil || sum.FailedByStage["request"] != nil {
			return fmt.Errorf("the job did not settle every row cleanly: %+v", sum.Counts)
		}
		return nil
	}
}

// efficiencyNaive runs the naive script, its progress file in out.
func efficiencyNaive(in string, rate float64) func(ctx context.Context, srv *server, out string, resume bool) error {
	return func(ctx context.Context, srv *server, out string, _ bool) error {
		_, err := naiveScript{base: srv.url, input: in, progress: filepath.Join(out, "progress"), rate: rate}.run(ctx)
		return err
	}
}
