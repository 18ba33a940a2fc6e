package inbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

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

// outcome is what the fake run of one input does.
type outcome struct {
	code int
	err  error
}

// fakeRun is a RunFunc that records the inputs it was given (their names in
// claimed/) and returns the outcome set for each; 0 by default. Like the real
// run it creates its output directory and writes summary.json there.
type fakeRun struct {
	mu       sync.Mutex
	calls    []string
	outcomes map[string][]outcome // by name; one per call, the last repeats
	// hook, if set, runs after the call is recorded; an outcome it returns
	// replaces the one set in outcomes.
	hook func(ctx context.Context, name string) *outcome
}

func (f *fakeRun) run(ctx context.Context, input, out string) (int, error) {
	name := filepath.Base(input)
	if filepath.Base(filepath.Dir(input)) != ClaimedDir {
		return 1, fmt.Errorf("input %s not in claimed/", input)
	}
	if want := filepath.Join(filepath.Dir(filepath.Dir(input)), ResultsDir, name[:len(name)-len(".csv")]); out != want {
		return 1, fmt.Errorf("out %s, want %s", out, want)
	}
	if _, err := os.Stat(input); err != nil {
		return 1, err
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return 1, err
	}
	if err := os.WriteFile(filepath.Join(out, "summary.json"), []byte("{}\n"), 0o600); err != nil {
		return 1, err
	}
	f.mu.Lock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	f.calls = append(f.calls, name)
	var o outcome
	if set := f.outcomes[name]; len(set) > 0 {
		o = set[min(n, len(set)-1)]
	}
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		if o := hook(ctx, name); o != nil {
			return o.code, o.err
		}
	}
	return o.code, o.err
}

func (f *fakeRun) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func res(dir, name string, code int) FileResult {
	return FileResult{Name: name, Out: filepath.Join(dir, ResultsDir, name[:len(name)-len(".csv")]), ExitCode: code}
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
		wantTree: []string{"results/a/a.csv", "results/a/summary.json"},
	}, {
		name:  "oldest first, then by name",
		files: []file{{"incoming/c.csv", 1}, {"incoming/b.csv", 1}, {"incoming/a.csv", 2}, {"incoming/z.csv", 0}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "z.csv", 0), res(d, "b.csv", 0), res(d, "c.csv", 0), res(d, "a.csv", 0)}}
		},
		wantTree: []string{
			"results/a/a.csv", "results/a/summary.json", "results/b/b.csv", "results/b/summary.json",
			"results/c/c.csv", "results/c/summary.json", "results/z/summary.json", "results/z/z.csv",
		},
	}, {
		name:     "some rows failed (3): settled, moved",
		files:    []file{{"incoming/a.csv", 0}, {"incoming/b.csv", 1}},
		outcomes: map[string][]outcome{"a.csv": {{code: 3}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 3), res(d, "b.csv", 0)}, ExitCode: 3}
		},
		wantTree: []string{"results/a/a.csv", "results/a/summary.json", "results/b/b.csv", "results/b/summary.json"},
	}, {
		name:     "stopped early (4): kept in claimed/, the next file still runs",
		files:    []file{{"incoming/a.csv", 0}, {"incoming/b.csv", 1}},
		outcomes: map[string][]outcome{"a.csv": {{code: 4}}, "b.csv": {{code: 3}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "a.csv", 4), res(d, "b.csv", 3)}, ExitCode: 4}
		},
		wantTree: []string{"claimed/a.csv", "results/a/summary.json", "results/b/b.csv", "results/b/summary.json"},
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
			"claimed/b.csv", "claimed/c.csv", "results/a/a.csv", "results/a/summary.json", "results/b/summary.json",
			"results/c/summary.json", "results/d/d.csv", "results/d/summary.json",
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
			"results/late/late.csv", "results/late/summary.json", "results/later/later.csv",
			"results/later/summary.json", "results/old/old.csv", "results/old/summary.json",
		},
	}, {
		name: "a name used before is claimed under a new one",
		files: []file{
			{"results/daily/daily.csv", 0}, {"results/daily-2/daily-2.csv", 0}, {"claimed/x.csv", 0},
			{"incoming/daily.csv", 3}, {"incoming/x.csv", 4},
		},
		outcomes: map[string][]outcome{"x.csv": {{code: 4}}},
		want: func(d string) Result {
			return Result{Files: []FileResult{res(d, "x.csv", 4), res(d, "daily-3.csv", 0), res(d, "x-2.csv", 0)}, ExitCode: 4}
		},
		wantTree: []string{
			"claimed/x.csv", "results/daily-2/daily-2.csv", "results/daily-3/daily-3.csv", "results/daily-3/summary.json",
			"results/daily/daily.csv", "results/x-2/summary.json", "results/x-2/x-2.csv", "results/x/summary.json",
		},
	}, {
		name:     "only regular, visible *.csv files are taken",
		files:    []file{{"incoming/a.csv.part", 0}, {"incoming/.b.csv", 0}, {"incoming/notes.txt", 0}, {"incoming/sub.csv/c.csv", 0}},
		want:     func(string) Result { return Result{} },
		wantTree: []string{"incoming/.b.csv", "incoming/a.csv.part", "incoming/notes.txt", "incoming/sub.csv/c.csv"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t, tt.files)
			fake := &fakeRun{outcomes: tt.outcomes}
			got, err := Process(t.Context(), dir, fake.run, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want(dir), got); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTree, tree(t, dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			for _, sub := range []string{IncomingDir, ClaimedDir, ResultsDir} {
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
		got, err := Process(ctx, dir, fake.run, zaptest.NewLogger(t))
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
		got, err := Process(ctx, dir, fake.run, zaptest.NewLogger(t))
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
		got, err := Process(ctx, dir, (&fakeRun{}).run, zaptest.NewLogger(t))
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

	first, err := Process(t.Context(), dir, fake.run, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Files: []FileResult{res(dir, "a.csv", 4), res(dir, "b.csv", 0)}, ExitCode: 4}, first); diff != "" {
		t.Errorf("first Result (-want +got):\n%s", diff)
	}

	// A new file, older than a.csv, arrives before the next scheduled run.
	setupFile(t, dir, file{"incoming/c.csv", 0})
	second, err := Process(t.Context(), dir, fake.run, zaptest.NewLogger(t))
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
		"results/a/a.csv", "results/a/summary.json", "results/b/b.csv", "results/b/summary.json",
		"results/c/c.csv", "results/c/summary.json",
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
			results[i], errs[i] = Process(t.Context(), dir, fake.run, zaptest.NewLogger(t).Named(fmt.Sprint("run", i)))
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
		wantTree = append(wantTree, "results/"+base+"/"+n, "results/"+base+"/summary.json")
	}
	if diff := cmp.Diff(wantTree, tree(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestLockHeld: a file in claimed/ whose lock another process holds (a run
// still going) is not taken.
func TestLockHeld(t *testing.T) {
	dir := setup(t, []file{{"claimed/busy.csv", 0}, {"incoming/busy.csv", 1}, {"incoming/free.csv", 2}})
	lock, err := tryLock(filepath.Join(dir, ClaimedDir, "busy.csv.lock"))
	if err != nil || lock == nil {
		t.Fatalf("tryLock: %v, %v", lock, err)
	}
	defer lock.Close()
	fake := &fakeRun{}
	got, err := Process(t.Context(), dir, fake.run, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Files: []FileResult{res(dir, "free.csv", 0)}}, got); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	want := []string{"claimed/busy.csv", "claimed/busy.csv.lock", "incoming/busy.csv", "results/free/free.csv", "results/free/summary.json"}
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}
