package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// efficiency runs the job in this process over an input of several groups
// and compares the requests the emulator received with the minimum.
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
	b.section(fmt.Sprintf("request efficiency: %d rows in 12 (flow, owner) groups, owners in two cases, 1 row in 21 a repeat; %s, no faults", rows, how))
	srv, err := startEmulator(cfg)
	if err != nil {
		return err
	}
	defer srv.close()
	sum, err := job{base: srv.url, input: in, out: filepath.Join(b.dir, "efficiency-out"), rate: rate}.run(ctx, zap.NewNop())
	if err != nil {
		return err
	}
	st := srv.emu.Stats()
	b.detail("client: %d rows, assigned %d, failed %d (%v), unprocessed %d; exit %d",
		sum.RowsRead, sum.Assigned, sum.Failed, sum.FailedByStage, sum.Unprocessed, sum.ExitCode)
	b.detail("emulator: %d requests: %d assign, %d flow listings (preflight, one per owner), %d read-backs; %d 429s",
		st.Requests, st.Assign, st.ListFlows, st.ReadBack, st.RateLimited)
	b.detail("minimum: %d assign requests (sum over groups of ceil(distinct IDs / %d))", minimum, defaultChunkSize)
	b.add(figure{name: "request efficiency (requests sent / minimum)", value: fmt.Sprintf("%.2f (%d / %d)", float64(st.Requests)/float64(minimum), st.Requests, minimum),
		target: "1.00", result: verdict(st.Requests == minimum)})
	b.add(figure{name: "request efficiency, assign requests only", value: fmt.Sprintf("%.2f (%d / %d)", float64(st.Assign)/float64(minimum), st.Assign, minimum),
		target: "1.00", result: verdict(st.Assign == minimum)})
	if sum.Unprocessed > 0 || sum.FailedByStage["api"] != nil || sum.FailedByStage["request"] != nil {
		return fmt.Errorf("the job did not settle every row cleanly: %+v", sum.Counts)
	}
	return nil
}
