package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Internal subcommands: the child processes the bench starts from its own
// binary. They are not for people.
const (
	childRun  = "internal-run"
	childPlan = "internal-plan"
	childCSV  = "internal-csv"
)

// bench is one run of the program: its settings and the figures so far.
type bench struct {
	quick      bool
	exe        string // this binary, for the child processes
	dir        string // temporary inputs and outputs, in os.TempDir()
	cpuProfile string // CPU profile of plan, if set
	memProfile string // heap profiles of plan, if set (see profileName)
	trace      string // directory for the request traces of the quota runs, if set
	stdout     io.Writer
	stderr     io.Writer
	figures    []figure
	// quotaResults are the quota runs, flowenroll's and the naive
	// script's, in the order of quotaCases.
	quotaResults []quotaResult
	inputs       sync.Mutex // the quota runs' input files, written once
}

// figure is one line of the final table.
type figure struct {
	name   string
	value  string
	target string
	result string // PASS, MISS, SKIP, or "" when there is no target
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// scenario is one part of the run, selectable with -only.
type scenario struct {
	name string
	run  func(b *bench, ctx context.Context) error
}

func scenarios() []scenario {
	return []scenario{
		{"quota", (*bench).quota},
		{"efficiency", (*bench).efficiency},
		{"plan", (*bench).plan},
		{"memory", (*bench).memory},
	}
}

const helpText = `flowenroll-bench runs flowenroll against the Gong emulator and prints the
figures of make bench with their targets (PASS or MISS), the quota use and
request efficiency beside a naive script's. A full run takes about 12 minutes
on a quiet machine and needs 2 GB free in the temporary directory. A missed
target is a result: the exit code is 0 once every figure is printed.

Usage: flowenroll-bench [-quick] [-only NAME[,NAME...]] [-cpuprofile FILE] [-memprofile FILE] [-trace DIR]

Scenarios (-only): quota (every window shape the emulator counts in,
aligned, rolling and GCRA, at 90 s and 30 s, at 0, 300 and 1,000 ms of
latency, with ±20 ms of jitter, and with another integration sharing the
limit; each beside the naive script; also prints CPU per 100,000
prospects), efficiency (one run and 5 stops, flowenroll and the naive
script), plan, memory.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case childRun:
			return runChild(ctx, args[1:], stdout, stderr)
		case childPlan:
			return planChild(ctx, args[1:], stdout)
		case childCSV:
			return csvChild(args[1:], stdout)
		}
	}
	fs := flag.NewFlagSet("flowenroll-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, helpText) }
	quick := fs.Bool("quick", false, "short runs, for a smoke test; the figures are not valid measurements")
	only := fs.String("only", "", "run only these scenarios, comma-separated")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of plan (the plan scenario) to this file")
	memProfile := fs.String("memprofile", "", "write heap profiles of plan (the memory scenario) to this file, with the row count inserted: plan.heap -> plan-1000000.heap")
	trace := fs.String("trace", "", "write each quota run's requests, as the emulator and the client saw them, to CSV files in this directory, and print the gaps between them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *trace != "" {
		if err := os.MkdirAll(*trace, 0o700); err != nil {
			return err
		}
	}
	all := scenarios()
	chosen := all
	if *only != "" {
		chosen = nil
		for _, name := range strings.Split(*only, ",") {
			i := slices.IndexFunc(all, func(s scenario) bool { return s.name == strings.TrimSpace(name) })
			if i < 0 {
				return fmt.Errorf("-only: no scenario %q; there are %s", name, names(all))
			}
			chosen = append(chosen, all[i])
		}
	}

	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this binary for the child processes: %w", err)
	}
	dir, err := os.MkdirTemp("", "flowenroll-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{quick: *quick, exe: exe, dir: dir, cpuProfile: *cpuProfile, memProfile: *memProfile, trace: *trace, stdout: stdout, stderr: stderr}

	start := time.Now()
	fmt.Fprintf(stdout, "flowenroll-bench %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "machine: %s\n", machine())
	if rev := revision(ctx); rev != "" {
		fmt.Fprintf(stdout, "source:  %s\n", rev)
	}
	fmt.Fprintf(stdout, "load:    %s at the start (other work on the machine skews the times)\n", loadAverage())
	if b.quick {
		fmt.Fprintln(stdout, "mode:    -quick: short runs; the figures are a smoke test, not measurements")
	}
	for _, s := range chosen {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.run(b, ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	b.table()
	fmt.Fprintf(stdout, "\nbench time %s; load %s at the end\n", time.Since(start).Round(time.Second), loadAverage())
	return nil
}

func names(ss []scenario) string {
	var n []string
	for _, s := range ss {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

// section starts a scenario's block of output.
func (b *bench) section(title string) {
	fmt.Fprintf(b.stdout, "\n== %s\n", title)
}

// detail prints one indented line of a scenario's block.
func (b *bench) detail(format string, a ...any) {
	fmt.Fprintf(b.stdout, "   "+format+"\n", a...)
}

// progress goes to stderr: what the bench is doing while nothing prints.
func (b *bench) progress(format string, a ...any) {
	fmt.Fprintf(b.stderr, "flowenroll-bench: "+format+"\n", a...)
}

// add records a figure and prints it in the scenario's block.
func (b *bench) add(f figure) {
	if b.quick && f.result != "" && f.result != "SKIP" {
		f.result += " (quick)"
	}
	b.figures = append(b.figures, f)
	line := fmt.Sprintf("%s: %s", f.name, f.value)
	if f.target != "" {
		line += fmt.Sprintf("  [target %s: %s]", f.target, f.result)
	}
	b.detail("%s", line)
}

// table prints every figure again, in one place.
func (b *bench) table() {
	b.sideBySide()
	fmt.Fprintln(b.stdout, "\n== figures")
	tw := tabwriter.NewWriter(b.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tTARGET\tRESULT")
	met, missed := 0, 0
	for _, f := range b.figures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.name, f.value, f.target, f.result)
		switch {
		case strings.HasPrefix(f.result, "PASS"):
			met++
		case strings.HasPrefix(f.result, "MISS"):
			missed++
		}
	}
	tw.Flush()
	fmt.Fprintf(b.stdout, "\ntargets met %d, missed %d\n", met, missed)
}

// machine describes the host the figures come from.
func machine() string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb int64
			if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); err == nil {
				mem = fmt.Sprintf(", %.1f GiB memory", float64(kb)/(1<<20))
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s %s/%s, %d CPUs (%s)%s", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpu, mem)
}

// revision names the source measured, when run inside its git checkout.
func revision(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return "git " + strings.TrimSpace(string(out))
}

// loadAverage is the 1, 5 and 15-minute load average, where Linux gives it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
