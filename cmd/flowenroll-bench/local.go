package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/enroll"
)

// planGroups spreads the generated rows over 24 (flow, owner) groups. plan
// without credentials checks no flow against Gong, so any digits will do.
func planGroups() []group {
	flows := []string{flowOutbound, "1695493301223590801", flowWebinar, "1702318845120411245", "1711046208531772904", flowDemo}
	owners := []string{ownerAva, ownerBen, ownerChloe, ownerDan}
	var gs []group
	for _, f := range flows {
		for _, o := range owners {
			gs = append(gs, group{f, o})
		}
	}
	return gs
}

// rowsFile returns a generated file of n rows in dir, writing it once.
func (b *bench) rowsFile(dir string, n int) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("rows-%d.csv", n))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	b.progress("generating %d rows in %s", n, path)
	return path, writeRows(path, n, planGroups())
}

// planOf is what the plan child reports.
type planOf struct {
	RowsRead, Valid, Rejected, Requests int
	PeakRSS                             int64 // bytes, see peakRSS
}

// makePlan runs plan as the CLI does without credentials.
func makePlan(ctx context.Context, path string) (planOf, error) {
	p, err := enroll.MakePlan(ctx, enroll.PlanConfig{InputPath: path, ChunkSize: defaultChunkSize, Preflight: true, Log: zap.NewNop()})
	return planOf{RowsRead: p.RowsRead, Valid: p.Valid, Rejected: p.Rejected, Requests: p.Requests}, err
}

// peakRSS is this process's peak resident set (VmHWM), or 0 where there is
// no /proc. A child reports its own: the parent's rusage Maxrss is no use,
// since Linux carries into it the peak of the address space the child
// shared with the parent until exec (os/exec forks with CLONE_VM), so every
// child smaller than the bench would report the bench's peak.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			return kb * 1024
		}
	}
	return 0
}

// csvLoop is the yardstick: encoding/csv reading every record, nothing else.
func csvLoop(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	n := 0
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n - 1, nil // the header is not a row
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// plan times plan and the bare CSV loop over the same file, alternately,
// three times each, and compares the best of each.
func (b *bench) plan(ctx context.Context) error {
	n := 1_000_000
	if b.quick {
		n = 100_000
	}
	b.section(fmt.Sprintf("local cost: plan over %s rows (24 groups, all valid) against a bare encoding/csv loop over the same file; best of 3 each, alternating", count(n)))
	path, err := b.rowsFile(b.dir, n)
	if err != nil {
		return err
	}
	if _, err := csvLoop(path); err != nil { // into the page cache
		return err
	}
	var prof *os.File
	if b.cpuProfile != "" {
		if prof, err = os.Create(b.cpuProfile); err != nil {
			return err
		}
		defer prof.Close()
	}
	var planTimes, csvTimes []time.Duration
	var p planOf
	for range 3 {
		runtime.GC()
		start := time.Now()
		rows, err := csvLoop(path)
		if err != nil {
			return err
		}
		csvTimes = append(csvTimes, time.Since(start))
		if rows != n {
			return fmt.Errorf("the CSV loop read %d rows of %d", rows, n)
		}

		runtime.GC()
		if prof != nil {
			if err := pprof.StartCPUProfile(prof); err != nil {
				return err
			}
		}
		start = time.Now()
		p, err = makePlan(ctx, path)
		planTimes = append(planTimes, time.Since(start))
		if prof != nil {
			pprof.StopCPUProfile()
			prof = nil // one plan is enough for a profile
		}
		if err != nil {
			return err
		}
		if p.Valid != n {
			return fmt.Errorf("plan found %d valid rows of %d", p.Valid, n)
		}
	}
	bestCSV, bestPlan := slices.Min(csvTimes), slices.Min(planTimes)
	b.detail("bare csv loop: %s (best %.3f s, %.0f rows/s)", secondsOf(csvTimes), bestCSV.Seconds(), float64(n)/bestCSV.Seconds())
	b.detail("plan:          %s (best %.3f s, %.0f rows/s); %d requests planned", secondsOf(planTimes), bestPlan.Seconds(), float64(n)/bestPlan.Seconds(), p.Requests)
	if b.cpuProfile != "" {
		b.detail("CPU profile of the first plan in %s", b.cpuProfile)
	}
	ratio := bestPlan.Seconds() / bestCSV.Seconds()
	b.add(figure{name: fmt.Sprintf("plan / bare csv loop, %s rows", count(n)), value: fmt.Sprintf("%.2f (%.3f s / %.3f s)", ratio, bestPlan.Seconds(), bestCSV.Seconds()),
		target: "<= 3", result: verdict(ratio <= 3)})
	return nil
}

// memory measures the peak RSS of plan in a child process for a small and a
// ten times larger file, with a bare CSV loop's for comparison.
func (b *bench) memory(ctx context.Context) error {
	small, large := 1_000_000, 10_000_000
	if b.quick {
		small, large = 100_000, 1_000_000
	}
	b.section(fmt.Sprintf("local cost: peak memory (max RSS) of plan in a child process, %s and %s rows", count(small), count(large)))
	peaks := map[int]int64{}
	for _, n := range []int{small, large} {
		// About 62 bytes a row: the large file needs its 620 MB with room.
		if free := freeBytes(b.dir); n == large && free < max(uint64(n)*62+1<<30, 2<<30) {
			b.detail("skipped %s rows: %.1f GB free in %s, need 2 GB", count(n), float64(free)/1e9, b.dir)
			break
		}
		path, err := b.rowsFile(b.dir, n)
		if err != nil {
			return err
		}
		if n == large {
			defer os.Remove(path)
		}
		args := []string{childPlan, "-input", path}
		if b.memProfile != "" {
			args = append(args, "-memprofile", profileName(b.memProfile, n))
		}
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, b.exe, args...)
		cmd.Stdout, cmd.Stderr = &out, b.stderr
		b.progress("plan over %d rows in a child process", n)
		use, err := measure(cmd)
		if err != nil {
			return fmt.Errorf("plan child: %w", err)
		}
		var p planOf
		if err := json.Unmarshal(out.Bytes(), &p); err != nil || p.Valid != n {
			return fmt.Errorf("plan child: %q (%v)", out.String(), err)
		}
		out.Reset()
		cmd = exec.CommandContext(ctx, b.exe, childCSV, "-input", path)
		cmd.Stdout, cmd.Stderr = &out, b.stderr
		base, err := measure(cmd)
		if err != nil {
			return fmt.Errorf("csv child: %w", err)
		}
		var c planOf
		if err := json.Unmarshal(out.Bytes(), &c); err != nil || c.RowsRead != n {
			return fmt.Errorf("csv child: %q (%v)", out.String(), err)
		}
		if p.PeakRSS == 0 { // no /proc: the rusage figure, an upper bound
			p.PeakRSS, c.PeakRSS = use.maxRSS, base.maxRSS
		}
		peaks[n] = p.PeakRSS
		b.detail("%s rows: plan peak RSS %.1f MB, %.2f s, CPU %.2f s; bare csv loop peak RSS %.1f MB, %.2f s",
			count(n), mb(p.PeakRSS), use.wall.Seconds(), use.cpu.Seconds(), mb(c.PeakRSS), base.wall.Seconds())
		if b.memProfile != "" {
			b.detail("heap profile of plan over %s rows in %s", count(n), profileName(b.memProfile, n))
		}
	}
	b.add(figure{name: fmt.Sprintf("peak memory of plan, %s rows", count(small)), value: fmt.Sprintf("%.1f MB", mb(peaks[small]))})
	if peaks[large] == 0 {
		b.add(figure{name: fmt.Sprintf("peak memory of plan, %s rows", count(large)), value: "not measured (disk space)", target: "< 100 MB", result: "SKIP"})
		return nil
	}
	b.add(figure{name: fmt.Sprintf("peak memory of plan, %s rows", count(large)), value: fmt.Sprintf("%.1f MB", mb(peaks[large])),
		target: "< 100 MB", result: verdict(peaks[large] < 100e6)})
	ratio := float64(peaks[large]) / float64(peaks[small])
	b.add(figure{name: fmt.Sprintf("peak memory %s / %s rows", count(large), count(small)), value: fmt.Sprintf("%.2f", ratio),
		target: "<= 1.2", result: verdict(ratio <= 1.2)})
	return nil
}

// freeBytes is the space available to this user in dir's file system.
func freeBytes(dir string) uint64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}

// planChild is the internal-plan subcommand: plan over -input, its counts as
// JSON on stdout; with -memprofile, a heap profile at the end. No GC is
// forced before it, so its in-use figures are those of the last collection
// during the plan, with the plan's state still live.
func planChild(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(childPlan, flag.ContinueOnError)
	in := fs.String("input", "", "input CSV")
	memProfile := fs.String("memprofile", "", "heap profile file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := makePlan(ctx, *in)
	if err != nil {
		return err
	}
	p.PeakRSS = peakRSS()
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return json.NewEncoder(stdout).Encode(p)
}

// csvChild is the internal-csv subcommand: the bare loop, for its peak RSS.
func csvChild(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(childCSV, flag.ContinueOnError)
	in := fs.String("input", "", "input CSV")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n, err := csvLoop(*in)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(planOf{RowsRead: n, PeakRSS: peakRSS()})
}

func secondsOf(ds []time.Duration) string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.3f", d.Seconds())
	}
	return s + " s"
}

// count writes 1000000 as 1,000,000.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// profileName puts the row count into a profile's file name:
// plan.heap -> plan-1000000.heap.
func profileName(path string, rows int) string {
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%d%s", strings.TrimSuffix(path, ext), rows, ext)
}
