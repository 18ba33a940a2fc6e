package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/creack/pty"
	"github.com/xuri/excelize/v2"

	"github.com/flowenroll/flowenroll/pkg/report"
)

// The tests of issue #16, with the real binary: the inbox's rejected
// files, .txt and .xlsx uploads, --notify, the progress line after an
// interrupt, --row-failures-exit-code, and the command line's own words.

// webhook records the JSON bodies posted to it.
type webhook struct {
	mu     sync.Mutex
	bodies []map[string]any
	srv    *httptest.Server
}

func newWebhook(t *testing.T) *webhook {
	t.Helper()
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Method != http.MethodPost || json.Unmarshal(b, &m) != nil {
			m = map[string]any{"_bad": fmt.Sprintf("%s %s", r.Method, b)}
		}
		w.mu.Lock()
		w.bodies = append(w.bodies, m)
		w.mu.Unlock()
		rw.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// take returns the bodies posted since the last take.
func (w *webhook) take() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.bodies
	w.bodies = nil
	return b
}

// utf16Text is s as Excel's "Unicode Text": UTF-16LE with a BOM, CRLF.
func utf16Text(s string) []byte {
	s = strings.ReplaceAll(s, "\n", "\r\n")
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func writeXLSX(t *testing.T, path string, rows [][]string) {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	for i, r := range rows {
		for j, v := range r {
			ref, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if err := x.SetCellStr("Sheet1", ref, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := x.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// inboxRun runs the inbox in dir once against g, posting to hook.
func inboxRun(t *testing.T, g *gongStandIn, dir, hook string) runRecord {
	t.Helper()
	return rtRun(t, g, "run", "--inbox", dir, "--rate", "1000", "--chunk-size", "5", "--log-format", "json", "--notify", hook)
}

// checkResultsFolders fails the test for each results/<name>/ that holds
// neither summary.json nor reason.txt.
func checkResultsFolders(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "results"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		names = append(names, e.Name())
		_, errS := os.Stat(filepath.Join(dir, "results", e.Name(), report.SummaryFile))
		_, errR := os.Stat(filepath.Join(dir, "results", e.Name(), "reason.txt"))
		if errS != nil && errR != nil {
			t.Errorf("results/%s/ holds neither summary.json nor reason.txt", e.Name())
		}
	}
	return names
}

// checkNotices checks one notice per file, each naming the file as it was
// uploaded, its counts and where its results are; a rejected file's (exit
// 1) says why.
func checkNotices(t *testing.T, run string, got []map[string]any, want map[string][3]int, dir string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d notices posted; want one per file, %d: %v", run, len(got), len(want), got)
	}
	seen := map[string]int{}
	for _, m := range got {
		text, _ := m["text"].(string)
		file, _ := m["file"].(string)
		name := filepath.Base(file)
		seen[name]++
		counts, ok := want[name]
		if !ok {
			t.Errorf("%s: a notice for %q, which this run did not end: %v", run, file, m)
			continue
		}
		if file != name {
			t.Errorf("%s: the notice names the file %q; want %q, the name it was uploaded under (not where the inbox kept it while it ran)", run, file, name)
		}
		if !strings.Contains(text, name) {
			t.Errorf("%s: the text of %s's notice does not name it: %q", run, name, text)
		}
		figures := fmt.Sprintf("%d assigned, %d failed, %d unprocessed", counts[0], counts[1], counts[2])
		if !strings.Contains(text, figures) {
			t.Errorf("%s: the text of %s's notice lacks %q: %q", run, name, figures, text)
		}
		if !strings.Contains(text, dir) {
			t.Errorf("%s: the text of %s's notice does not say where the results are (%s): %q", run, name, dir, text)
		}
		if code, _ := m["exitCode"].(float64); code == 1 {
			if reason, _ := m["reason"].(string); reason == "" || !strings.Contains(text, "Why") {
				t.Errorf("%s: the notice of %s (exit 1) does not say why: reason %q, text %q", run, name, reason, text)
			}
		}
	}
	for f := range want {
		if seen[f] != 1 {
			t.Errorf("%s: %d notices for %s; want 1", run, seen[f], f)
		}
	}
}

// TestOperateInbox: an inbox with a file that lacks the required columns,
// a good CSV, Excel's UTF-16 "Unicode Text" and a workbook. The bad file
// goes to rejected/ with a note, once (exit 1, then 0 with rejected/ left
// alone); the others run; a fixed copy under the bad file's name then runs
// under that name. --notify posts once per file that ends.
func TestOperateInbox(t *testing.T) {
	t.Parallel()
	g := newGong(t, gongConfig(nil), nil)
	hook := newWebhook(t)
	dir := t.TempDir()
	incoming := filepath.Join(dir, "incoming")
	mustWrite(t, filepath.Join(incoming, "leads.csv"), []byte("Name,Company,Email\nAnn Lee,Acme,ann@acme.example\n"))
	mustWrite(t, filepath.Join(incoming, "good.csv"), []byte("Contact ID,Flow ID,Owner Email,Notes\n0035e00000E1aaaAAA,"+flowSDR+","+ava+",\"a, b\"\n0035e00000E1aabAAA,"+flowSDR+","+ava+",\n"))
	mustWrite(t, filepath.Join(incoming, "unicode.txt"), utf16Text("Contact ID\tFlow ID\tOwner Email\tAccount Name\n0035e00000E1tttAAA\t"+flowDemo+"\t"+dan+"\tMüller & Söhne\n0035e00000E1ttuAAA\t"+flowDemo+"\t"+dan+"\tZoë, Inc.\n0035e00000E1ttvAAA\t"+flowDemo+"\tnot-an-email\tBad\n"))
	writeXLSX(t, filepath.Join(incoming, "book.xlsx"), [][]string{
		{"Contact ID", "Flow ID", "Owner Email"},
		{"0035e00000E1xxxAAA", flowWebinar, ben},
	})

	r := inboxRun(t, g, dir, hook.srv.URL)
	if r.exit != 1 {
		t.Errorf("the first run: %v; want exit 1 for the rejected file\n%s", r, r.stderr)
	}
	rejected := filepath.Join(dir, "rejected")
	note, err := os.ReadFile(filepath.Join(rejected, "leads.csv.reason.txt"))
	if err != nil {
		t.Fatalf("no note beside the rejected file: %v (stderr %s)", err, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(rejected, "leads.csv")); err != nil {
		t.Errorf("leads.csv is not in rejected/: %v", err)
	}
	for _, want := range []string{"leads.csv", "crmProspectId", "flowInstanceOwnerEmail"} {
		if !strings.Contains(string(note), want) {
			t.Errorf("the note of the rejected file does not say %q:\n%s", want, note)
		}
	}
	t.Logf("rejected/leads.csv.reason.txt:\n%s", note)
	for name, want := range map[string][3]int{"good": {2, 0, 0}, "unicode": {2, 1, 0}, "book": {1, 0, 0}} {
		b, err := os.ReadFile(filepath.Join(dir, "results", name, report.SummaryFile))
		if err != nil {
			t.Errorf("results/%s: %v", name, err)
			continue
		}
		var s report.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if got := [3]int{s.Assigned, s.Failed, s.Unprocessed}; got != want {
			t.Errorf("results/%s/summary.json: assigned, failed, unprocessed %v; want %v", name, got, want)
		}
	}
	if a := rtReadTable(t, filepath.Join(dir, "results", "unicode", "assigned.csv")); len(a.rows) == 2 {
		if got := a.cell(a.rows[0], "Account Name") + "|" + a.cell(a.rows[1], "Account Name"); got != "Müller & Söhne|Zoë, Inc." && got != "Zoë, Inc.|Müller & Söhne" {
			t.Errorf("unicode.txt's Account Name came back as %q", got)
		}
	}
	var afterReject []string // what results/leads/ held after the rejection
	if entries, err := os.ReadDir(filepath.Join(dir, "results", "leads")); err == nil {
		for _, e := range entries {
			afterReject = append(afterReject, e.Name())
		}
	}
	checkResultsFolders(t, dir)
	checkNotices(t, "the first run", hook.take(), map[string][3]int{
		"leads.csv": {0, 0, 0}, "good.csv": {2, 0, 0}, "unicode.txt": {2, 1, 0}, "book.xlsx": {1, 0, 0},
	}, dir)

	// The next run leaves rejected/ alone and exits 0.
	before := snapshot(t, rejected)
	r = inboxRun(t, g, dir, hook.srv.URL)
	if r.exit != 0 {
		t.Errorf("the second run: %v; want exit 0 (the rejected file counts once)\n%s", r, r.stderr)
	}
	untouched(t, rejected, before)
	if n := hook.take(); len(n) != 0 {
		t.Errorf("the second run, with nothing to do, posted %d notices: %v", len(n), n)
	}

	// A fixed copy, uploaded under the same name, runs under that name.
	mustWrite(t, filepath.Join(incoming, "leads.csv"), []byte("Name,Company,Contact ID,Flow ID,Owner Email\nAnn Lee,Acme,0035e00000E1fffAAA,"+flowSDR+","+ava+"\n"))
	r = inboxRun(t, g, dir, hook.srv.URL)
	if r.exit != 0 {
		t.Errorf("the run of the fixed copy: %v; want exit 0\n%s", r, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "results", "leads", "assigned.csv")); err != nil {
		t.Errorf("the fixed copy of leads.csv did not run under its name: %v; results/ holds %v (results/leads/ held %v after the rejection)\n%s",
			err, checkResultsFolders(t, dir), afterReject, r.stderr)
	} else {
		a := rtReadTable(t, filepath.Join(dir, "results", "leads", "assigned.csv"))
		if len(a.rows) != 1 || a.cell(a.rows[0], "crmProspectId") != "0035e00000E1fffAAA" || a.cell(a.rows[0], "Name") != "Ann Lee" {
			t.Errorf("results/leads/assigned.csv: %q; want the fixed copy's row", a.rows)
		}
	}
	untouched(t, rejected, before)
	checkNotices(t, "the run of the fixed copy", hook.take(), map[string][3]int{"leads.csv": {1, 0, 0}}, dir)
	names := checkResultsFolders(t, dir)
	t.Logf("results/: %v", names)
	left, _ := os.ReadDir(incoming)
	if len(left) != 0 {
		t.Errorf("incoming/ still holds %d files", len(left))
	}
}

// TestOperateNotifyOneRun: run --input with --notify posts one notice when
// the run ends, naming the file, its counts and --out.
func TestOperateNotifyOneRun(t *testing.T) {
	t.Parallel()
	g := newGong(t, gongConfig(nil), nil)
	hook := newWebhook(t)
	in := filepath.Join(t.TempDir(), "march-leads.csv")
	mustWrite(t, in, []byte("crmProspectId,flowId,flowInstanceOwnerEmail\n0035e00000N1aaaAAA,"+flowSDR+","+ava+
		"\n0035e00000N1aabAAA,"+flowSDR+","+ava+"\n0035e00000N1aacAAA,"+flowSDR+",nobody@\n"))
	out := filepath.Join(t.TempDir(), "out")
	if r := rtRun(t, g, rtFlags(in, out, "--notify", hook.srv.URL)...); r.exit != 3 {
		t.Errorf("%v; want exit 3\n%s", r, r.stderr)
	}
	got := hook.take()
	if len(got) != 1 {
		t.Fatalf("%d notices posted; want 1: %v", len(got), got)
	}
	text, _ := got[0]["text"].(string)
	for _, want := range []string{"march-leads.csv", "2 assigned, 1 failed, 0 unprocessed", out} {
		if !strings.Contains(text, want) {
			t.Errorf("the notice's text lacks %q: %q", want, text)
		}
	}
}

// ansi matches the escape sequences of a terminal.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// TestOperateProgressAfterInterrupt runs on a pseudo-terminal, sends
// SIGTERM mid-run, and reads the last progress line: it counts the rows
// settled and shows those unprocessed apart (not 100%), and the line was
// redrawn a few times a second at most.
func TestOperateProgressAfterInterrupt(t *testing.T) {
	t.Parallel()
	g := newGong(t, gongConfig(nil), nil)
	var b strings.Builder
	b.WriteString("crmProspectId,flowId,flowInstanceOwnerEmail\n")
	const rows = 300
	for i := range rows {
		fmt.Fprintf(&b, "0035e00000P%04dAAA,%s,%s\n", i, flowSDR, ava)
	}
	in := filepath.Join(t.TempDir(), "big.csv")
	mustWrite(t, in, []byte(b.String()))
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(binary, "run", "--input", in, "--out", out, "--rate", "20", "--chunk-size", "1", "--concurrency", "2")
	cmd.Env = append(gongEnv(g.srv.URL), "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 160})
	if err != nil {
		t.Skip("no pseudo-terminal here:", err)
	}
	defer tty.Close()
	start := time.Now()
	var outBuf []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		outBuf, _ = io.ReadAll(tty) // EIO once the program closes its side
	}()
	time.Sleep(2500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	elapsed := time.Since(start)
	<-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Errorf("after SIGTERM: %v; want exit 4", err)
	}
	s := string(outBuf)
	if strings.Contains(s, "WARNING: DATA RACE") {
		t.Error("the race detector found a data race")
	}
	var sum report.Summary
	if sb, err := os.ReadFile(filepath.Join(out, report.SummaryFile)); err != nil || json.Unmarshal(sb, &sum) != nil {
		t.Fatalf("summary.json: %v\n%q", err, s)
	}
	if sum.Unprocessed == 0 {
		t.Fatalf("SIGTERM after 2.5s left no row unprocessed (%d assigned): the test needs a slower run", sum.Assigned)
	}
	// The last drawing of the line: what follows the last \r, up to the
	// end of that line.
	i := strings.LastIndex(s, "\r")
	if i < 0 {
		t.Fatalf("no progress line on the terminal:\n%q", s)
	}
	// The pty turns \n into \r\n: skip those.
	segs := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\r")
	last := segs[len(segs)-1]
	if j := strings.IndexByte(last, '\n'); j >= 0 {
		last = last[:j]
	}
	last = strings.TrimSpace(ansi.ReplaceAllString(last, ""))
	t.Logf("last progress line: %q", last)
	settled := sum.Assigned + sum.Failed
	if want := fmt.Sprintf("%d/%d rows settled", settled, rows); !strings.Contains(last, want) {
		t.Errorf("the last progress line does not say %q: %q", want, last)
	}
	if want := fmt.Sprintf("%d unprocessed", sum.Unprocessed); !strings.Contains(last, want) {
		t.Errorf("the last progress line does not show the unprocessed apart, %q: %q", want, last)
	}
	if strings.Contains(last, "100%") {
		t.Errorf("the last progress line says 100%% with %d rows unprocessed: %q", sum.Unprocessed, last)
	}
	redraws := len(segs) - 1
	limit := int(elapsed.Seconds()*5) + 5
	t.Logf("%d redraws in %v", redraws, elapsed.Round(time.Millisecond))
	if redraws > limit {
		t.Errorf("%d redraws in %v; want at most %d (5 a second)", redraws, elapsed, limit)
	}
}

// TestOperateRowFailuresExitCode: with --row-failures-exit-code 0 a run
// whose rows partly failed exits 0 (summary.json says so too); a run
// stopped by its cap still exits 4, and a fatal one 1.
func TestOperateRowFailuresExitCode(t *testing.T) {
	t.Parallel()
	g := newGong(t, gongConfig(nil), nil)
	in := filepath.Join(t.TempDir(), "in.csv")
	var b strings.Builder
	b.WriteString("crmProspectId,flowId,flowInstanceOwnerEmail\n")
	for i := range 6 {
		fmt.Fprintf(&b, "0035e00000R%04dAAA,%s,%s\n", i, flowSDR, ava)
	}
	b.WriteString("0035e00000RBADAAA," + flowSDR + ",not-an-email\n")
	mustWrite(t, in, []byte(b.String()))

	exitOf := func(out string) int {
		sb, err := os.ReadFile(filepath.Join(out, report.SummaryFile))
		if err != nil {
			return -1
		}
		var s report.Summary
		json.Unmarshal(sb, &s)
		return s.ExitCode
	}
	out := filepath.Join(t.TempDir(), "failed-rows")
	r0 := rtRun(t, g, rtFlags(in, out, "--row-failures-exit-code", "0")...)
	if r0.exit != 0 {
		t.Errorf("a run with a failed row and --row-failures-exit-code 0: %v; want exit 0\n%s", r0, r0.stderr)
	}
	t.Run("summary keeps the outcome, the printout says both", func(t *testing.T) {
		// summary.json keeps the contract's code (3: some rows failed),
		// what the run was; the flag maps only the process's exit status.
		if e := exitOf(out); e != 3 {
			t.Errorf("summary.json says exitCode %d, want 3", e)
		}
		if !strings.Contains(r0.stdout, "the process exits 0") {
			t.Errorf("the printed summary does not say the process exits 0:\n%s", r0.stdout)
		}
	})
	if r := rtRun(t, g, rtFlags(in, filepath.Join(t.TempDir(), "plain"))...); r.exit != 3 {
		t.Errorf("the same run without the flag: %v; want exit 3", r)
	}
	capped := filepath.Join(t.TempDir(), "capped")
	if r := rtRun(t, g, rtFlags(in, capped, "--row-failures-exit-code", "0", "--max-requests", "1", "--chunk-size", "1")...); r.exit != 4 {
		t.Errorf("a capped run with --row-failures-exit-code 0: %v; want exit 4\n%s", r, r.stderr)
	}
	env := gongEnv(g.srv.URL, "GONG_ACCESS_KEY=wrong", "GONG_ACCESS_KEY_SECRET=wrong")
	r := startProc(t, env, nil, rtFlags(in, filepath.Join(t.TempDir(), "fatal"), "--row-failures-exit-code", "0")...).wait(t)
	if r.exit != 1 {
		t.Errorf("a run with bad credentials and --row-failures-exit-code 0: %v; want exit 1\n%s", r, r.stderr)
	}
}

// cli runs flowenroll with no Gong behind it and env's extra entries.
func cli(t *testing.T, env []string, args ...string) runRecord {
	t.Helper()
	return startProc(t, append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...), nil, args...).wait(t)
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestOperateCommandLine: the command line's own words.
func TestOperateCommandLine(t *testing.T) {
	t.Parallel()
	t.Run("version", func(t *testing.T) {
		r := cli(t, nil, "--version")
		if r.exit != 0 || !regexp.MustCompile(`^flowenroll \S+\n$`).MatchString(r.stdout) {
			t.Errorf("flowenroll --version: exit %d, stdout %q, stderr %q; want exit 0 and \"flowenroll <version>\"", r.exit, r.stdout, r.stderr)
		}
	})
	t.Run("misspelt command", func(t *testing.T) {
		r := cli(t, nil, "runn")
		out := lines(r.output())
		if r.exit != 2 {
			t.Errorf("flowenroll runn: exit %d; want 2 (usage)", r.exit)
		}
		if len(out) != 1 || !strings.Contains(out[0], `did you mean "run"`) {
			t.Errorf("flowenroll runn printed %d lines; want one line with the suggestion:\n%s", len(out), r.output())
		}
		if strings.Contains(r.output(), "FLAGS") || strings.Contains(r.output(), "-chunk-size") {
			t.Errorf("flowenroll runn printed the help:\n%s", r.output())
		}
	})
	t.Run("help on stdout", func(t *testing.T) {
		for _, args := range [][]string{{"--help"}, {"run", "--help"}} {
			r := cli(t, nil, args...)
			if r.exit != 0 || r.stderr != "" || !strings.Contains(r.stdout, "flowenroll") || !strings.Contains(r.stdout, "run") {
				t.Errorf("flowenroll %s: exit %d, %d bytes on stdout, stderr %q; want exit 0 and the help on stdout", strings.Join(args, " "), r.exit, len(r.stdout), r.stderr)
			}
		}
	})
	in := filepath.Join(t.TempDir(), "in.csv")
	mustWrite(t, in, []byte("crmProspectId,flowId,flowInstanceOwnerEmail\n003A,"+flowSDR+","+ava+"\n"))
	t.Run("unknown env var", func(t *testing.T) {
		r := cli(t, []string{"FLOWENROLL_CHUNKSIZE=5"}, "plan", "--input", in)
		if r.exit != 0 {
			t.Errorf("plan with FLOWENROLL_CHUNKSIZE set: %v; want exit 0 (a warning)\n%s", r, r.output())
		}
		if !strings.Contains(r.stderr, "FLOWENROLL_CHUNKSIZE") || !strings.Contains(r.stderr, "FLOWENROLL_CHUNK_SIZE") {
			t.Errorf("no warning naming FLOWENROLL_CHUNK_SIZE for FLOWENROLL_CHUNKSIZE: %q", r.stderr)
		}
	})
	t.Run("missing owner column", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "owner.csv")
		mustWrite(t, bad, []byte("Contact ID,Flow ID,Ownr Email\n003A,"+flowSDR+","+ava+"\n"))
		r := cli(t, nil, "plan", "--input", bad)
		if r.exit != 1 {
			t.Errorf("plan without an owner column: %v; want exit 1", r)
		}
		if want := `--map flowInstanceOwnerEmail="Ownr Email"`; !strings.Contains(r.stderr, want) {
			t.Errorf("the message does not suggest %s: %q", want, r.lastLine())
		}
	})
	t.Run("plan prints the time at the quota", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("crmProspectId,flowId,flowInstanceOwnerEmail\n")
		for i := range 600 {
			fmt.Fprintf(&b, "003Q%05d,%s,%s\n", i, flowSDR, ava)
		}
		big := filepath.Join(t.TempDir(), "big.csv")
		mustWrite(t, big, []byte(b.String()))
		r := cli(t, nil, "plan", "--input", big, "--chunk-size", "1")
		if r.exit != 0 {
			t.Fatalf("plan: %v\n%s", r, r.output())
		}
		// 600 requests at 3 a second: 200s.
		if !strings.Contains(r.stdout, "at 3 requests a second: about 3m20s") {
			t.Errorf("plan does not print the time at the quota (600 requests at 3/s: 3m20s):\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, "600 requests") || !strings.Contains(r.stdout, strconv.Itoa(10000)) {
			t.Errorf("plan does not print the requests against the day's quota:\n%s", r.stdout)
		}
	})
}
