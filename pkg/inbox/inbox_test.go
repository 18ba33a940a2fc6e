package inbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// mtime is the modification time of a test file of age i: i minutes after
// the oldest.
func mtime(i int) time.Time {
	return time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
}

// file is a file put in the inbox before a test, with its age rank.
type file struct {
	path string // relative to the inbox
	age  int    // mtime(age)
}

func setup(t *testing.T, files []file) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("crmProspectId,flowId,flowInstanceOwnerEmail\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime(f.age), mtime(f.age)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tree lists the files under dir, relative, sorted; directories are left
// out, lock files are not.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// outcome is what the fake run of one input does.
type outcome struct {
	code      int
	err       error
	requests  int64
	stop      bool
	noSummary bool     // write no summary.json, as a run that could not start
	write     []string // other files the run writes in its results directory
}

// fakeRun is a FileFunc that records the inputs it was given (their names in
// claimed/) and returns the outcome set for each; 0 by default. Like the real
// run it creates its output directory and writes summary.json there.
type fakeRun struct {
	mu       sync.Mutex
	calls    []string
	budgets  []int64              // File.MaxRequests of each call
	outcomes map[string][]outcome // by name; one per call, the last repeats
	// hook, if set, runs after the call is recorded; an outcome it returns
	// replaces the one set in outcomes.
	hook func(ctx context.Context, name string) *outcome
}

func (f *fakeRun) run(ctx context.Context, file File) Outcome {
	o := f.do(ctx, file)
	return Outcome{ExitCode: o.code, Err: o.err, Requests: o.requests, Stop: o.stop}
}

// process calls Run with the fake, as the command does.
func (f *fakeRun) process(t *testing.T, ctx context.Context, dir string, maxRequests int64) Result {
	t.Helper()
	got, err := Run(ctx, Config{Dir: dir, Run: f.run, MaxRequests: maxRequests, Log: zaptest.NewLogger(t), Now: func() time.Time { return mtime(60) }})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *fakeRun) do(ctx context.Context, file File) outcome {
	name, input, out := file.Name, file.Input, file.Out
	if filepath.Base(filepath.Dir(input)) != ClaimedDir || filepath.Base(input) != name {
		return outcome{code: 1, err: fmt.Errorf("input %s not claimed/%s", input, name)}
	}
	if want := filepath.Join(filepath.Dir(filepath.Dir(input)), ResultsDir, baseName(name)); out != want {
		return outcome{code: 1, err: fmt.Errorf("out %s, want %s", out, want)}
	}
	if _, err := os.Stat(input); err != nil {
		return outcome{code: 1, err: err}
	}
	f.mu.Lock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	f.calls = append(f.calls, name)
	f.budgets = append(f.budgets, file.MaxRequests)
	var o outcome
	if set := f.outcomes[name]; len(set) > 0 {
		o = set[min(n, len(set)-1)]
	}
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		if h := hook(ctx, name); h != nil {
			o = *h
		}
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return outcome{code: 1, err: err}
	}
	files := o.write
	if !o.noSummary {
		files = append(files, "summary.json")
	}
	for _, w := range files {
		if err := os.WriteFile(filepath.Join(out, w), []byte("{}\n"), 0o600); err != nil {
			return outcome{code: 1, err: err}
		}
	}
	return o
}

// legacy is the fake as a RunFunc, for Process.
func (f *fakeRun) legacy(ctx context.Context, input, out string) (int, error) {
	o := f.do(ctx, File{Name: filepath.Base(input), Input: input, Out: out})
	return o.code, o.err
}

func (f *fakeRun) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func res(dir, name string, code int) FileResult {
	return FileResult{Name: name, Out: filepath.Join(dir, ResultsDir, baseName(name)), ExitCode: code}
}

func TestProcess(t *testing.T) {
	tests := []struct {
		name     string
		files    []file
		outcomes map[string][]outcome
		want     func(dir string) Result
		wantTree []string
	}{{
		name:  "empty inbox",
		files: nil,
		want:  func(string) Result { return Result{} },
	}, {
		name:     "one file, every row assigned: moved to its results",
		files:    []file{{"incoming/a.csv", 0}},
		want:     func(d string) Result { return Result{Files: []FileResult{res(d, "a.csv", 0)}} },
		wantTree: []string{"results/a/input/a.csv", "results/a/summary.json"},
	}, {
		name:  "oldest first, then by name",
		files: []file{{"incoming/c.csv", 1}, {"incoming/b.csv", 1}, {"incoming/a.csv", 2}, {"incoming/z.csv", 0}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "z.csv", 0), res(d, "b.csv", 0), res(d, "c.csv", 0), res(d, "a.csv", 0)}}
		},
		wantTree: []string{
			"results/a/input/a.csv", "results/a/summary.json", "results/b/input/b.csv", "results/b/summary.json",
			"results/c/input/c.csv", "results/c/summary.json", "results/z/summary.json", "results/z/input/z.csv",
		},
	}, {
		name:     "some rows failed (3): settled, moved",
		files:    []file{{"incoming/a.csv", 0}, {"incoming/b.csv", 1}},
		outcomes: map[string][]outcome{"a.csv": {{code: 3}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 3), res(d, "b.csv", 0)}, ExitCode: 3}
		},
		wantTree: []string{"results/a/input/a.csv", "results/a/summary.json", "results/b/input/b.csv", "results/b/summary.json"},
	}, {
		name:     "stopped early (4): kept in claimed/, the next file still runs",
		files:    []file{{"incoming/a.csv", 0}, {"incoming/b.csv", 1}},
		outcomes: map[string][]outcome{"a.csv": {{code: 4}}, "b.csv": {{code: 3}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 4), res(d, "b.csv", 3)}, ExitCode: 4}
		},
		wantTree: []string{"claimed/a.csv", "results/a/summary.json", "results/b/input/b.csv", "results/b/summary.json"},
	}, {
		name:  "fatal (1) is the worst: kept in claimed/",
		files: []file{{"incoming/a.csv", 0}, {"incoming/b.csv", 1}, {"incoming/c.csv", 2}, {"incoming/d.csv", 3}},
		outcomes: map[string][]outcome{
			"a.csv": {{code: 3}}, "b.csv": {{code: 1, err: errors.New("Gong answered 401")}}, "c.csv": {{code: 4}},
		},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 3), res(d, "b.csv", 1), res(d, "c.csv", 4), res(d, "d.csv", 0)}, ExitCode: 1}
		},
		wantTree: []string{
			"claimed/b.csv", "claimed/c.csv", "results/a/input/a.csv", "results/a/summary.json", "results/b/summary.json",
			"results/c/summary.json", "results/d/input/d.csv", "results/d/summary.json",
		},
	}, {
		name:     "an error with exit 0, or an unknown code, counts as fatal",
		files:    []file{{"incoming/a.csv", 0}, {"incoming/b.csv", 1}},
		outcomes: map[string][]outcome{"a.csv": {{code: 0, err: errors.New("boom")}}, "b.csv": {{code: 2}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 1), res(d, "b.csv", 1)}, ExitCode: 1}
		},
		wantTree: []string{"claimed/a.csv", "claimed/b.csv", "results/a/summary.json", "results/b/summary.json"},
	}, {
		name:  "files left in claimed/ by earlier runs go before incoming ones, however old",
		files: []file{{"incoming/old.csv", 0}, {"claimed/late.csv", 5}, {"claimed/later.csv", 6}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "late.csv", 0), res(d, "later.csv", 0), res(d, "old.csv", 0)}}
		},
		wantTree: []string{
			"results/late/input/late.csv", "results/late/summary.json", "results/later/input/later.csv",
			"results/later/summary.json", "results/old/input/old.csv", "results/old/summary.json",
		},
	}, {
		name: "a name used before is claimed under a new one",
		files: []file{
			{"results/daily/input/daily.csv", 0}, {"results/daily-2/input/daily-2.csv", 0}, {"claimed/x.csv", 0},
			{"incoming/daily.csv", 3}, {"incoming/x.csv", 4},
		},
		outcomes: map[string][]outcome{"x.csv": {{code: 4}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "x.csv", 4), res(d, "daily-3.csv", 0), res(d, "x-2.csv", 0)}, ExitCode: 4}
		},
		wantTree: []string{
			"claimed/x.csv", "results/daily-2/input/daily-2.csv", "results/daily-3/input/daily-3.csv", "results/daily-3/summary.json",
			"results/daily/input/daily.csv", "results/x-2/summary.json", "results/x-2/input/x-2.csv", "results/x/summary.json",
		},
	}, {
		name: "only regular, visible .csv, .txt, .tsv and .xlsx files are taken",
		files: []file{
			{"incoming/a.csv.part", 0}, {"incoming/.b.csv", 0}, {"incoming/notes.pdf", 0}, {"incoming/sub.csv/c.csv", 0},
			{"incoming/~$book.xlsx", 0}, {"incoming/old.xls", 0},
		},
		want: func(string) Result { return Result{} },
		wantTree: []string{
			"incoming/.b.csv", "incoming/a.csv.part", "incoming/notes.pdf", "incoming/old.xls", "incoming/sub.csv/c.csv",
			"incoming/~$book.xlsx",
		},
	}, {
		name: "Excel's Unicode Text (.txt), .tsv, .xlsx and upper case are taken; a shared base gets -2",
		files: []file{
			{"incoming/unicode.txt", 0}, {"incoming/tabs.tsv", 1}, {"incoming/book.xlsx", 2}, {"incoming/LOUD.CSV", 3},
			{"incoming/book.csv", 4},
		},
		want: func(d string) Result {
			return Result{Files: []FileResult{
				res(d, "unicode.txt", 0), res(d, "tabs.tsv", 0), res(d, "book.xlsx", 0), res(d, "LOUD.CSV", 0), res(d, "book-2.csv", 0),
			}}
		},
		wantTree: []string{
			"results/LOUD/input/LOUD.CSV", "results/LOUD/summary.json", "results/book-2/input/book-2.csv",
			"results/book-2/summary.json", "results/book/input/book.xlsx", "results/book/summary.json",
			"results/tabs/input/tabs.tsv", "results/tabs/summary.json", "results/unicode/input/unicode.txt",
			"results/unicode/summary.json",
		},
	}, {
		name: "an input named like a result file never lands on it",
		files: []file{
			{"incoming/failed.csv", 0}, {"incoming/summary.csv", 1}, {"claimed/x.csv", 2}, {"results/x/input/x.csv", 0},
		},
		outcomes: map[string][]outcome{"failed.csv": {{code: 3, write: []string{"failed.csv", "assigned.csv"}}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "x.csv", 0), res(d, "failed.csv", 3), res(d, "summary.csv", 0)}, ExitCode: 3}
		},
		wantTree: []string{
			"results/failed/assigned.csv", "results/failed/failed.csv", "results/failed/input/failed.csv",
			"results/failed/summary.json", "results/summary/input/summary.csv", "results/summary/summary.json",
			"results/x/input/x-2.csv", "results/x/input/x.csv", "results/x/summary.json",
		},
	}, {
		name:     "a fatal run that wrote no summary leaves a reason.txt",
		files:    []file{{"incoming/a.csv", 0}},
		outcomes: map[string][]outcome{"a.csv": {{code: 1, err: errors.New("Gong answered 401"), noSummary: true}}},
		want:     func(d string) Result { return Result{Files: []FileResult{res(d, "a.csv", 1)}, ExitCode: 1} },
		wantTree: []string{"claimed/a.csv", "results/a/reason.txt"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t, tt.files)
			fake := &fakeRun{outcomes: tt.outcomes}
			got := fake.process(t, t.Context(), dir, 0)
			if diff := cmp.Diff(tt.want(dir), got); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(sorted(tt.wantTree), tree(t, dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			for _, sub := range []string{IncomingDir, ClaimedDir, ResultsDir, RejectedDir} {
				info, err := os.Stat(filepath.Join(dir, sub))
				if err != nil {
					t.Fatal(err)
				}
				if !info.IsDir() || (tt.files == nil && info.Mode().Perm() != 0o700) {
					t.Errorf("%s: mode %v", sub, info.Mode())
				}
			}
		})
	}
}

// TestProcessSignal: once ctx ends (SIGTERM) no new file is taken; the file
// being run gets the ctx and stops with 4 itself, and the whole is 4.
func TestProcessSignal(t *testing.T) {
	t.Run("during a file", func(t *testing.T) {
		dir := setup(t, []file{{"incoming/a.csv", 0}, {"incoming/b.csv", 1}})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		fake := &fakeRun{hook: func(ctx context.Context, name string) *outcome {
			cancel() // the signal arrives while a.csv runs
			<-ctx.Done()
			return &outcome{code: 4}
		}}
		got, err := Run(ctx, Config{Dir: dir, Run: fake.run, Log: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		want := Result{Files: []FileResult{res(dir, "a.csv", 4)}, ExitCode: 4}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Result (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"claimed/a.csv", "incoming/b.csv", "results/a/summary.json"}, tree(t, dir)); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}
	})
	t.Run("before the first file", func(t *testing.T) {
		dir := setup(t, []file{{"incoming/a.csv", 0}})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		fake := &fakeRun{}
		got, err := Run(ctx, Config{Dir: dir, Run: fake.run, Log: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Result{ExitCode: 4}, got); diff != "" {
			t.Errorf("Result (-want +got):\n%s", diff)
		}
		if calls := fake.Calls(); len(calls) != 0 {
			t.Errorf("ran %v after the signal", calls)
		}
	})
	t.Run("nothing left", func(t *testing.T) {
		dir := setup(t, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		got, err := Run(ctx, Config{Dir: dir, Run: (&fakeRun{}).run, Log: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Result{}, got); diff != "" {
			t.Errorf("Result (-want +got):\n%s", diff)
		}
	})
}

// TestResume: a file stopped early (4) is run again by the next Process,
// before a new file that is older, and then moved.
func TestResume(t *testing.T) {
	dir := setup(t, []file{{"incoming/a.csv", 1}, {"incoming/b.csv", 2}})
	fake := &fakeRun{outcomes: map[string][]outcome{"a.csv": {{code: 4}, {code: 3}}}}

	first, err := Run(t.Context(), Config{Dir: dir, Run: fake.run, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Files: []FileResult{res(dir, "a.csv", 4), res(dir, "b.csv", 0)}, ExitCode: 4}, first); diff != "" {
		t.Errorf("first Result (-want +got):\n%s", diff)
	}

	// A new file, older than a.csv, arrives before the next scheduled run.
	setupFile(t, dir, file{"incoming/c.csv", 0})
	second, err := Run(t.Context(), Config{Dir: dir, Run: fake.run, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Files: []FileResult{res(dir, "a.csv", 3), res(dir, "c.csv", 0)}, ExitCode: 3}, second); diff != "" {
		t.Errorf("second Result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a.csv", "b.csv", "a.csv", "c.csv"}, fake.Calls()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	want := []string{
		"results/a/input/a.csv", "results/a/summary.json", "results/b/input/b.csv", "results/b/summary.json",
		"results/c/input/c.csv", "results/c/summary.json",
	}
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func setupFile(t *testing.T, dir string, f file) {
	t.Helper()
	p := filepath.Join(dir, f.path)
	if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime(f.age), mtime(f.age)); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrent: two runs over the same inbox at once, with files left in
// claimed/ and new ones, each file run exactly once. The first run of each
// Process waits until the other Process is also running a file, so that the
// two overlap.
func TestConcurrent(t *testing.T) {
	var files []file
	var names []string
	for i := range 20 {
		name := fmt.Sprintf("f%02d.csv", i)
		names = append(names, name)
		sub := IncomingDir
		if i%7 == 0 {
			sub = ClaimedDir // left by an earlier run
		}
		files = append(files, file{sub + "/" + name, i % 5})
	}
	dir := setup(t, files)

	entered := make(chan struct{}, 2)
	overlap := make(chan struct{})
	var mu sync.Mutex
	first := 0
	fake := &fakeRun{hook: func(ctx context.Context, name string) *outcome {
		mu.Lock()
		first++
		wait := first <= 2
		mu.Unlock()
		if wait {
			entered <- struct{}{}
			<-overlap
		}
		return nil
	}}
	go func() {
		<-entered
		<-entered
		close(overlap)
	}()

	var wg sync.WaitGroup
	results := make([]Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			results[i], errs[i] = Run(t.Context(), Config{Dir: dir, Run: fake.run, Log: zaptest.NewLogger(t).Named(fmt.Sprint("run", i))})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	calls := fake.Calls()
	slices.Sort(calls)
	if diff := cmp.Diff(names, calls); diff != "" {
		t.Errorf("runs, each file once (-want +got):\n%s", diff)
	}
	var got []string
	for i, r := range results {
		if r.ExitCode != 0 {
			t.Errorf("run %d: exit %d", i, r.ExitCode)
		}
		if len(r.Files) == 0 {
			t.Errorf("run %d ran no file: no overlap", i)
		}
		for _, f := range r.Files {
			got = append(got, f.Name)
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	var wantTree []string
	for _, n := range names {
		base := n[:len(n)-len(".csv")]
		wantTree = append(wantTree, "results/"+base+"/input/"+n, "results/"+base+"/summary.json")
	}
	if diff := cmp.Diff(wantTree, tree(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestLockHeld: a file in claimed/ whose lock another process holds (a run
// still going) is not taken.
func TestLockHeld(t *testing.T) {
	dir := setup(t, []file{{"claimed/busy.csv", 0}, {"incoming/busy.csv", 1}, {"incoming/free.csv", 2}})
	lock, err := tryLock(filepath.Join(dir, ClaimedDir, "busy.lock"))
	if err != nil || lock == nil {
		t.Fatalf("tryLock: %v, %v", lock, err)
	}
	defer lock.Close()
	fake := &fakeRun{}
	got, err := Process(t.Context(), dir, fake.legacy, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Files: []FileResult{res(dir, "free.csv", 0)}}, got); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	want := []string{"claimed/busy.csv", "claimed/busy.lock", "incoming/busy.csv", "results/free/input/free.csv", "results/free/summary.json"}
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReject: a file the run rejects moves to rejected/ with a note, counts
// as 1 once, is never run again, and a fixed copy under the same name runs
// under that name.
func TestReject(t *testing.T) {
	dir := setup(t, []file{{"incoming/a.csv", 0}, {"incoming/b.csv", 1}})
	why := errors.New(`a.csv:1: the header row names no column for crmProspectId`)
	fake := &fakeRun{outcomes: map[string][]outcome{
		// As the real run: its results directory made, nothing in it.
		"a.csv": {{code: 1, err: fmt.Errorf("reading the input: %w", Reject(why)), noSummary: true}, {}},
	}}

	first := fake.process(t, t.Context(), dir, 0)
	want := Result{Files: []FileResult{{Name: "a.csv", Out: res(dir, "a.csv", 0).Out, ExitCode: 1, Rejected: true}, res(dir, "b.csv", 0)}, ExitCode: 1}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first Result (-want +got):\n%s", diff)
	}
	wantTree := []string{"rejected/a.csv", "rejected/a.csv.reason.txt", "results/b/input/b.csv", "results/b/summary.json"}
	if diff := cmp.Diff(wantTree, tree(t, dir)); diff != "" {
		t.Errorf("files after the rejection (-want +got):\n%s", diff)
	}
	wantNote := `a.csv was not run, and will not be tried again.

Why: reading the input: a.csv:1: the header row names no column for crmProspectId

What to do: fix the file and put it in incoming/ again, under the same name
if you like. flowenroll reads CSV text (.csv, .txt, .tsv; Excel's "CSV UTF-8"
or "Unicode Text") and Excel workbooks (.xlsx), with a header row naming
crmProspectId, flowId (or flowName) and flowInstanceOwnerEmail.

The file is kept as rejected/a.csv (rejected 2026-03-01 09:00 UTC).
`
	if diff := cmp.Diff(wantNote, readFile(t, filepath.Join(dir, "rejected/a.csv.reason.txt"))); diff != "" {
		t.Errorf("note (-want +got):\n%s", diff)
	}

	// The next scheduled run: nothing to do, and it does not fail.
	if diff := cmp.Diff(Result{}, fake.process(t, t.Context(), dir, 0)); diff != "" {
		t.Errorf("second Result (-want +got):\n%s", diff)
	}

	// A fixed copy under the same name runs as a.csv.
	setupFile(t, dir, file{"incoming/a.csv", 5})
	if diff := cmp.Diff(Result{Files: []FileResult{res(dir, "a.csv", 0)}}, fake.process(t, t.Context(), dir, 0)); diff != "" {
		t.Errorf("third Result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a.csv", "b.csv", "a.csv"}, fake.Calls()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	wantTree = []string{
		"rejected/a.csv", "rejected/a.csv.reason.txt", "results/a/input/a.csv", "results/a/summary.json",
		"results/b/input/b.csv", "results/b/summary.json",
	}
	if diff := cmp.Diff(wantTree, tree(t, dir)); diff != "" {
		t.Errorf("files after the fixed copy (-want +got):\n%s", diff)
	}
}

// TestRejectAgain: a second broken copy of the same name does not replace
// the first in rejected/; a rejected run that wrote something in its results
// directory leaves a reason.txt there, and a marker with exit 0 still counts.
func TestRejectAgain(t *testing.T) {
	dir := setup(t, []file{{"rejected/a.csv", 0}, {"rejected/a.csv.reason.txt", 0}, {"incoming/a.csv", 1}, {"incoming/c.tsv", 2}})
	fake := &fakeRun{outcomes: map[string][]outcome{
		"a.csv": {{code: 1, err: Reject(errors.New("not CSV text")), noSummary: true}},
		"c.tsv": {{code: 0, err: Reject(errors.New("a ZIP archive")), noSummary: true, write: []string{"ledger.jsonl"}}},
	}}
	got := fake.process(t, t.Context(), dir, 0)
	want := Result{Files: []FileResult{
		{Name: "a.csv", Out: res(dir, "a.csv", 0).Out, ExitCode: 1, Rejected: true},
		{Name: "c.tsv", Out: res(dir, "c.tsv", 0).Out, ExitCode: 1, Rejected: true},
	}, ExitCode: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	wantTree := []string{
		"rejected/a-2.csv", "rejected/a-2.csv.reason.txt", "rejected/a.csv", "rejected/a.csv.reason.txt",
		"rejected/c.tsv", "rejected/c.tsv.reason.txt", "results/c/ledger.jsonl", "results/c/reason.txt",
	}
	if diff := cmp.Diff(wantTree, tree(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if got := readFile(t, filepath.Join(dir, "rejected/a.csv")); got != "crmProspectId,flowId,flowInstanceOwnerEmail\n" {
		t.Errorf("the first rejected copy was replaced: %q", got)
	}
	if note := readFile(t, filepath.Join(dir, "rejected/a-2.csv.reason.txt")); !strings.Contains(note, "kept as rejected/a-2.csv") {
		t.Errorf("note of the second copy: %q", note)
	}
	if note := readFile(t, filepath.Join(dir, "results/c/reason.txt")); !strings.HasPrefix(note, "c.tsv was not run") {
		t.Errorf("reason.txt: %q", note)
	}
}

// TestReasonCleared: the reason.txt of a fatal run goes once the file's
// next run writes its summary.
func TestReasonCleared(t *testing.T) {
	dir := setup(t, []file{{"incoming/a.csv", 0}})
	fake := &fakeRun{outcomes: map[string][]outcome{"a.csv": {{code: 1, noSummary: true}, {code: 3}}}}
	if got := fake.process(t, t.Context(), dir, 0); got.ExitCode != 1 {
		t.Fatalf("first run: %+v", got)
	}
	note := readFile(t, filepath.Join(dir, "results/a/reason.txt"))
	if !strings.HasPrefix(note, "a.csv could not be run to the end (exit 1).\n\nWhy: see the job's log\n") {
		t.Errorf("reason.txt: %q", note)
	}
	if diff := cmp.Diff(Result{Files: []FileResult{res(dir, "a.csv", 3)}, ExitCode: 3}, fake.process(t, t.Context(), dir, 0)); diff != "" {
		t.Errorf("second Result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"results/a/input/a.csv", "results/a/summary.json"}, tree(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestStop: a run that says Stop, or a spent request cap, ends the call
// with the files left for the next; each file gets what is left of the cap.
func TestStop(t *testing.T) {
	files := []file{{"incoming/a.csv", 0}, {"incoming/b.csv", 1}, {"incoming/c.csv", 2}}
	tests := []struct {
		name        string
		maxRequests int64
		outcomes    map[string][]outcome
		want        func(dir string) Result
		wantBudgets []int64
	}{{
		name:     "Stop after a quota: the rest wait",
		outcomes: map[string][]outcome{"a.csv": {{code: 4, stop: true}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 4)}, ExitCode: 4}
		},
		wantBudgets: []int64{0},
	}, {
		name:     "Stop on the last file: nothing left, exit as the files say",
		outcomes: map[string][]outcome{"c.csv": {{code: 3, stop: true}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 0), res(d, "b.csv", 0), res(d, "c.csv", 3)}, ExitCode: 3}
		},
		wantBudgets: []int64{0, 0, 0},
	}, {
		name:        "the cap is shared and spent",
		maxRequests: 10,
		outcomes:    map[string][]outcome{"a.csv": {{requests: 6}}, "b.csv": {{code: 4, requests: 4}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 0), res(d, "b.csv", 4)}, ExitCode: 4}
		},
		wantBudgets: []int64{10, 4},
	}, {
		name:        "a cap not spent lets every file run",
		maxRequests: 10,
		outcomes:    map[string][]outcome{"a.csv": {{requests: 3}}, "b.csv": {{requests: 3}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 0), res(d, "b.csv", 0), res(d, "c.csv", 0)}}
		},
		wantBudgets: []int64{10, 7, 4},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t, files)
			fake := &fakeRun{outcomes: tt.outcomes}
			got := fake.process(t, t.Context(), dir, tt.maxRequests)
			if diff := cmp.Diff(tt.want(dir), got); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBudgets, fake.budgets); diff != "" {
				t.Errorf("budgets (-want +got):\n%s", diff)
			}
			for _, f := range files[len(got.Files):] {
				if _, err := os.Stat(filepath.Join(dir, f.path)); err != nil {
					t.Errorf("%s was not left in incoming/: %v", f.path, err)
				}
			}
		})
	}
}

// TestTakesFileTypes: the inbox takes exactly the files of input.FileTypes
// (the console's picker offers the same list), in any case, and gives
// each its base name; other files are left with a warning.
func TestTakesFileTypes(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i, ft := range input.FileTypes() {
		for _, name := range []string{"f" + strconv.Itoa(i) + ft.Ext, "G" + strconv.Itoa(i) + strings.ToUpper(ft.Ext)} {
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			want = append(want, name)
			if got := baseName(name); got != strings.TrimSuffix(name, filepath.Ext(name)) {
				t.Errorf("baseName(%q) = %q", name, got)
			}
		}
	}
	for _, name := range []string{"old.xls", "deck.pdf", "book.numbers", "plain"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if got := baseName(name); got != name {
			t.Errorf("baseName(%q) = %q, want it whole", name, got)
		}
	}
	inputs, ignored, err := listInputs(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(inputs)
	slices.Sort(want)
	if !slices.Equal(inputs, want) {
		t.Errorf("taken %q, want %q", inputs, want)
	}
	slices.Sort(ignored)
	if wantIgnored := []string{"book.numbers", "deck.pdf", "old.xls", "plain"}; !slices.Equal(ignored, wantIgnored) {
		t.Errorf("left %q, want %q", ignored, wantIgnored)
	}
}
