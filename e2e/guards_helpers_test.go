package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// The helpers of the tests of issue #13 (guards_test.go): processes started
// with an environment of the test's choosing, second doors to the same
// emulator, and checks that files were left alone and that no secret was
// printed.

// gongEnv is the environment of a run against base: PATH, HOME, the base
// URL and, unless creds gives others, the suite's access key and secret.
// A NAME= entry in creds sets nothing.
func gongEnv(base string, creds ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GONG_BASE_URL=" + base}
	if creds == nil {
		creds = []string{"GONG_ACCESS_KEY=" + accessKey, "GONG_ACCESS_KEY_SECRET=" + accessSecret}
	}
	for _, kv := range creds {
		if !strings.HasSuffix(kv, "=") {
			env = append(env, kv)
		}
	}
	return env
}

// runFlags are the flags of the harness's runs (sc.run) for in and out.
func runFlags(in, out string, extra ...string) []string {
	args := []string{"run", "--input", in, "--out", out,
		"--rate", "1000", "--chunk-size", strconv.Itoa(chunkSize), "--concurrency", strconv.Itoa(concurrency),
		"--log-format", "json"}
	return append(args, extra...)
}

// proc is one flowenroll process the test started and has not waited for.
type proc struct {
	cmd            *exec.Cmd
	args           []string
	stdout, stderr bytes.Buffer
	stdin          io.WriteCloser // with startPiped
	done           chan struct{}  // closed once the process has been waited for
	rec            runRecord
}

// startProc starts flowenroll with args and env; stdin may be nil.
func startProc(t *testing.T, env []string, stdin io.Reader, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), args: args, done: make(chan struct{})}
	p.cmd.Env, p.cmd.Stdin = env, stdin
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// startPiped starts flowenroll with a pipe on its standard input, which the
// test writes through p.stdin.
func startPiped(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), args: args, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// wait waits for the process to end and returns its record; it may be
// called once, from any goroutine (it does not call t.Fatal).
func (p *proc) wait(t *testing.T) runRecord {
	err := p.cmd.Wait()
	p.rec = runRecord{args: p.args[1:], exit: p.cmd.ProcessState.ExitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Errorf("waiting for flowenroll: %v", err)
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		p.rec.signal = ws.Signal()
	}
	if strings.Contains(p.rec.output(), accessSecret) {
		t.Errorf("flowenroll %s printed the access key secret", p.args[0])
	}
	if strings.Contains(p.rec.stderr, "WARNING: DATA RACE") {
		t.Errorf("flowenroll %s: the race detector found a data race", p.args[0])
	}
	close(p.done)
	return p.rec
}

// runOnce runs flowenroll to its end and records the run in sc (for the
// failure report), if sc is not nil.
func runOnce(t *testing.T, sc *scenario, env []string, stdin io.Reader, args ...string) runRecord {
	t.Helper()
	var sent int
	if sc != nil {
		sc.gong.quiesce()
		sent = sc.gong.emu.Stats().Requests
	}
	r := startProc(t, env, stdin, args...).wait(t)
	if sc != nil {
		sc.gong.quiesce()
		r.requests = int64(sc.gong.emu.Stats().Requests - sent)
		sc.runs = append(sc.runs, r)
	}
	return r
}

// output is everything a run printed.
func (r runRecord) output() string { return r.stdout + r.stderr }

// lastLine is the last line of the run's standard error: the message of a
// fatal error, for a failure report.
func (r runRecord) lastLine() string {
	s := strings.TrimSpace(r.stderr)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// newDoor serves h on another port, with the connection count quiesce
// waits on: a second address of the same emulator.
func newDoor(t *testing.T, h http.Handler) *gongStandIn {
	t.Helper()
	d := &gongStandIn{}
	d.idle = sync.NewCond(&d.mu)
	d.srv = httptest.NewUnstartedServer(h)
	d.srv.Config.ConnState = d.connState
	d.srv.Start()
	t.Cleanup(d.srv.Close)
	return d
}

// counter counts the requests that reach it, and those that carry an
// Authorization header, and answers each 404.
type counter struct {
	requests, authorized atomic.Int64
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	if r.Header.Get("Authorization") != "" {
		c.authorized.Add(1)
	}
	http.NotFound(w, r)
}

// fileState is a file as the test left it: its bytes and mode, or the
// symlink it is and the target it names.
type fileState struct {
	mode fs.FileMode
	data string // a regular file's bytes, a symlink's target
}

// snapshot records every file under dir (but the lock file, which the
// holder rewrites), by path relative to dir.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	files := map[string]fileState{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && path == dir && errors.Is(err, fs.ErrNotExist):
			return nil // no folder, no files
		case err != nil || d.IsDir() || d.Name() == ".flowenroll.lock":
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		st := fileState{mode: info.Mode()}
		if info.Mode()&fs.ModeSymlink != 0 {
			st.data, err = os.Readlink(path)
		} else {
			var b []byte
			b, err = os.ReadFile(path)
			st.data = string(b)
		}
		files[rel] = st
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// untouched fails the test for every file under dir that differs from
// before (bytes, mode, symlink target), appeared or vanished.
func untouched(t *testing.T, dir string, before map[string]fileState) {
	t.Helper()
	after := snapshot(t, dir)
	for name, was := range before {
		now, ok := after[name]
		switch {
		case !ok:
			t.Errorf("%s was removed", filepath.Join(dir, name))
		case now.mode != was.mode:
			t.Errorf("%s: mode %v, was %v", filepath.Join(dir, name), now.mode, was.mode)
		case now.data != was.data:
			t.Errorf("%s was rewritten (%d bytes, was %d)", filepath.Join(dir, name), len(now.data), len(was.data))
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s was created", filepath.Join(dir, name))
		}
	}
}

// noSecret fails the test if secret is in what the run printed or in any
// file under dirs.
func noSecret(t *testing.T, secret string, r runRecord, dirs ...string) {
	t.Helper()
	if strings.Contains(r.output(), secret) {
		t.Errorf("the secret %q is in flowenroll's output:\n%s", secret, r.output())
	}
	for _, dir := range dirs {
		for name, f := range snapshot(t, dir) {
			if strings.Contains(f.data, secret) {
				t.Errorf("the secret %q is in %s", secret, filepath.Join(dir, name))
			}
		}
	}
}

// noResults fails the test if out holds any result file or journal.
func noResults(t *testing.T, out string) {
	t.Helper()
	for _, name := range []string{"assigned.csv", "failed.csv", "unprocessed.csv", "summary.json", "ledger.jsonl"} {
		if _, err := os.Lstat(filepath.Join(out, name)); err == nil {
			t.Errorf("%s was written", filepath.Join(out, name))
		}
	}
}

// leftSpool returns the copies of standard input (kept or temporary) and
// other temporary files in out.
func leftSpool(t *testing.T, out string) []string {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, ".stdin") || strings.HasSuffix(n, ".tmp") {
			left = append(left, n)
		}
	}
	return left
}

// onlyInputFailures fails the test if failed.csv holds rows that failed
// after they were sent: a run that never had an answer from Gong fails
// rows only before sending them, and leaves the rest unprocessed.
func onlyInputFailures(t *testing.T, out string) {
	t.Helper()
	lines := map[string][]int{}
	for line, o := range readResults(t, out).byLine {
		if o.file == "failed" && !strings.HasPrefix(o.code, "input/") {
			lines[o.code] = append(lines[o.code], line)
		}
	}
	for code, l := range lines {
		slices.Sort(l)
		t.Errorf("%d rows failed %s (lines %v...); with no answer from Gong they must be unprocessed", len(l), code, l[:min(len(l), 5)])
	}
}

// bytesRead is how many bytes the process has read through read(2)
// (/proc/PID/io rchar), or -1 if it cannot be told.
func bytesRead(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// pairGate is in front of two doors to one emulator, for two runs started
// at once on one --out. A side's requests wait until the other side's
// process has exited or the other side has sent a request too: the run
// holding --out cannot finish, and so release it, before the other run
// has tried to take it; if both send (the lock failed), neither waits.
// Once released, the winner may be killed at its killAt-th assign.
type pairGate struct {
	next http.Handler

	mu     sync.Mutex
	exited [2]chan struct{} // closed when side i's process has been waited for
	asked  [2]chan struct{} // closed at side i's first request
	seen   [2]int           // requests of side i this round
	procs  [2]*os.Process
	killAt int // the winner's assign to SIGKILL it at (0: none)
	killed bool
	assign int // the winner's assigns so far
}

// round resets the gate for two new processes.
func (g *pairGate) round(killAt int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range 2 {
		g.exited[i], g.asked[i] = make(chan struct{}), make(chan struct{})
		g.seen[i], g.procs[i] = 0, nil
	}
	g.killAt, g.killed, g.assign = killAt, false, 0
}

// side is the handler of door i.
func (g *pairGate) side(i int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.seen[i]++
		if g.seen[i] == 1 {
			close(g.asked[i])
		}
		exited, asked := g.exited[1-i], g.asked[1-i]
		g.mu.Unlock()
		select {
		case <-exited:
		case <-asked:
		case <-r.Context().Done():
			return
		}
		if r.URL.Path == gong.PathAssign && g.killNow(i) {
			// Gong applies the request; its answer reaches no one.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r = r.WithContext(context.WithoutCancel(r.Context()))
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		g.next.ServeHTTP(w, r)
	})
}

// killNow counts an assign of side i once the other side has exited, and
// kills side i's process at the killAt-th.
func (g *pairGate) killNow(i int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.exited[1-i]:
	default:
		return false
	}
	g.assign++
	if g.killAt == 0 || g.assign != g.killAt || g.procs[i] == nil {
		return false
	}
	g.killed = g.procs[i].Signal(syscall.SIGKILL) == nil
	return g.killed
}

// firstRequest is closed when side i sends its first request of the round.
func (g *pairGate) firstRequest(i int) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.asked[i]
}

// started names side i's process.
func (g *pairGate) started(i int, p *os.Process) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.procs[i] = p
}

// ended notes that side i's process has been waited for.
func (g *pairGate) ended(i int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.exited[i])
}

// requests returns the requests each side sent this round.
func (g *pairGate) requests() [2]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen
}
