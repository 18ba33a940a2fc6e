package console

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
	"go.uber.org/zap"
)

var update = flag.Bool("update", false, "write the browser test's screenshots to docs/console/")

// chromium finds the browser: FLOWENROLL_CHROMIUM, or one on the PATH.
func chromium() string {
	if p := os.Getenv("FLOWENROLL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserSession drives a headless Chromium with the flags a machine
// without network needs; screenshots go to dir.
type browserSession struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
	// prefix starts the screenshots' names, so that two tests writing
	// to docs/console/ do not take each other's numbers.
	prefix string
}

func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browserSession {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip("no Chromium found (set FLOWENROLL_CHROMIUM, or apt-get install chromium): the browser test did not run")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	shots := t.TempDir()
	if *update {
		shots = filepath.Join("..", "..", "docs", "console")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &browserSession{t: t, ctx: ctx, shots: shots}
}

func (b *browserSession) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// shot saves a full-page screenshot named for the step.
func (b *browserSession) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	b.n++
	path := filepath.Join(b.shots, fmt.Sprintf("%s%d-%s.png", b.prefix, b.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// wait waits until the JavaScript condition holds, with no time limit of
// its own: the page's state decides, not a clock.
func (b *browserSession) wait(cond string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(0))); err != nil {
		b.t.Fatalf("waiting for %s: %v", cond, err)
	}
}

func (b *browserSession) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// download clicks a link and returns the file the browser saved.
func (b *browserSession) download(dir, link string) []byte {
	b.t.Helper()
	progress := chromedp.Events(b.ctx, browser.DownloadProgress)
	b.do(chromedp.Click(link))
	for ev, err := range progress {
		if err != nil {
			b.t.Fatal(err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			data, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				b.t.Fatal(err)
			}
			return data
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			b.t.Fatalf("the download of %s was cancelled", link)
		}
	}
	b.t.Fatalf("no download from %s", link)
	return nil
}

// A person uploads an export with bad rows and an owner column the reader
// does not know, maps the column, starts, watches it finish, downloads the
// results and retries the failed rows: through the real pipeline, against
// the in-process emulator.
func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 4), Log: zap.NewNop(),
		Banner: "Sandbox: runs go to a built-in stand-in for Gong, not to your company."})
	export, err := filepath.Abs(filepath.Join("testdata", "export.csv"))
	if err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()

	// The script is deferred: wait for its handlers before using the form.
	b.do(chromedp.Navigate(c.http.URL), chromedp.WaitVisible("body[data-ready]"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: ptrTo(true),
			})
			if err != nil {
				return err
			}
			// A smooth scroll still going moves a button between the moment
			// Click finds it and the moment it clicks: the click then misses.
			_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
			})
			return err
		}))
	b.shot("upload")

	b.do(chromedp.SetUploadFiles("#file", []string{export}), chromedp.Click("#check-button"), chromedp.WaitVisible("#mapping"))
	b.shot("unknown-column")
	if got := b.text("#mapping"); !strings.Contains(got, "the email of the flow's owner") {
		t.Errorf("the mapping does not ask for the owner column: %q", got)
	}

	b.do(chromedp.SetValue("#map-flowInstanceOwnerEmail", "Account Exec"), chromedp.Click("#map-button"), chromedp.WaitVisible("#rejected"))
	b.shot("check")
	rejected := b.text("#rejected")
	for _, want := range []string{"ScientificNotation", "InvalidEmail", "Duplicate", "FlowNotVisible", "MissingValue", "Export the file again"} {
		if !strings.Contains(rejected, want) {
			t.Errorf("the check does not show %q: %q", want, rejected)
		}
	}

	b.do(chromedp.Click("#start-button"))
	b.wait(`(document.querySelector("#bar") && document.querySelector("#bar").value > 0) || document.querySelector("#dl-failed-csv")`)
	b.shot("running")
	b.do(chromedp.WaitVisible("#dl-failed-csv"), chromedp.WaitVisible("#failed-code"))
	// The header's count of the day's requests follows the run: drawn as 0
	// when the page loaded, it shows the run's once it ended.
	b.wait(`document.querySelector("#quota b").textContent !== "0"`)
	b.shot("results")
	if got := b.text("#run-status"); got != "finished, some rows failed" {
		t.Errorf("status %q", got)
	}
	hash, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("location.hash"))
	if err != nil {
		t.Fatal(err)
	}

	failed, err := csv.NewReader(strings.NewReader(string(b.download(downloads, "#dl-failed-csv")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for _, r := range failed[1:] {
		codes[r[5]]++
	}
	want := map[string]int{"ScientificNotation": 2, "InvalidEmail": 1, "Duplicate": 1, "FlowNotVisible": 1, "MissingValue": 1, "InvalidArgument": 1}
	for code, n := range want {
		if codes[code] != n {
			t.Errorf("failed.csv: %d rows of %s, want %d (all: %v)", codes[code], code, n, codes)
		}
	}
	x, err := excelize.OpenReader(strings.NewReader(string(b.download(downloads, "#dl-results-xlsx"))))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("assigned")
	typ, _ := x.GetCellType("assigned", "C2")
	x.Close()
	if len(rows) != 37 || typ != excelize.CellTypeInlineString {
		t.Errorf("results.xlsx: %d rows in assigned (want 36 and the header), flow ID cell of type %v", len(rows), typ)
	}

	// Browse the failed rows of one reason.
	b.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("failed-code"); s.value = "ScientificNotation"; s.dispatchEvent(new Event("change")); })()`))
	b.wait(`document.querySelectorAll("#failed-body tbody tr").length === 2 && document.querySelector("#failed-body .fix")`)
	b.shot("failed-rows")

	b.do(chromedp.Click("#retry-button"))
	b.wait(`document.querySelector("#run-title").textContent.endsWith("-retry.csv")`)
	b.do(chromedp.WaitVisible("#rejected"))
	b.shot("retry")
	if got := b.text("#run-meta"); !strings.Contains(got, "a retry of run") {
		t.Errorf("the retry does not say what it retries: %q", got)
	}

	// The retry runs like any upload: its two sendable rows go to Gong
	// again, and Gong answers for them.
	b.do(chromedp.Click("#start-button"), chromedp.WaitVisible("#dl-failed-csv"))
	// The runs list shows both runs finished.
	b.wait(`document.querySelector("#runs tbody").textContent.split("finished, some rows failed").length === 3`)
	b.shot("retry-finished")

	undoAndVerify(t, b, g, hash)
}

// undoAndVerify goes back to the first run (hash is its page), undoes it
// after the confirmation, and verifies it: every row no longer open.
func undoAndVerify(t *testing.T, b *browserSession, g *gongStub, hash string) {
	t.Helper()
	b.do(chromedp.Click(`#runs a[href="`+hash+`"]`), chromedp.WaitVisible("#undo-button"), chromedp.Click("#undo-button"), chromedp.WaitVisible("#undo-question"))
	if got := b.text("#undo-question"); !strings.Contains(got, "the 36 flow instances this run created") || !strings.Contains(got, "by the console") {
		t.Errorf("the confirmation says %q", got)
	}
	b.shot("undo-confirm")
	atGong := len(g.emu.Instances())
	b.do(chromedp.Click("#undo-yes"))
	b.wait(`document.querySelector("#run-title").textContent.startsWith("Undo of ") && document.querySelector("#run-status").textContent === "finished"`)
	b.do(chromedp.WaitVisible("#dl-undone-csv"))
	b.shot("undo-finished")
	if got := strings.Fields(b.text("#run-body .figures")); !slices.Equal(got[:4], []string{"36", "flow", "instances", "36"}) {
		t.Errorf("the undo's figures: %q", got)
	}
	if left := len(g.emu.Instances()); left != atGong-36 {
		t.Errorf("Gong holds %d instances after the undo, %d before", left, atGong)
	}

	b.do(chromedp.Click(`#run-meta a`), chromedp.WaitVisible("#verify-button"), chromedp.Click("#verify-button"))
	b.wait(`document.querySelector("#run-title").textContent.startsWith("Verify of ") && document.querySelector("#run-status").textContent === "finished"`)
	b.shot("verify")
	if got := strings.Join(strings.Fields(b.text("#run-body .figures")), " "); !strings.Contains(got, "36 rows read back 0 open 36 no longer open") {
		t.Errorf("the verify's figures: %q", got)
	}
}

// A person uploads a list of contacts with neither a flow nor an owner
// column, picks both from Gong's lists, sees every row ready, starts, and
// the run finishes with every row in that flow, owned by that owner.
func TestBrowserPickers(t *testing.T) {
	b := newBrowser(t)
	b.prefix = "pickers-"
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Log: zap.NewNop()})
	file := filepath.Join(t.TempDir(), "contacts.csv")
	if err := os.WriteFile(file, []byte("Contact ID,First Name\n003A00001,Ann\n003A00002,Bo\n003A00003,Cy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(c.http.URL), chromedp.WaitVisible("body[data-ready]"),
		chromedp.SetUploadFiles("#file", []string{file}), chromedp.Click("#check-button"), chromedp.WaitVisible("#defaults-form"))
	b.wait(`document.querySelectorAll("#pick-owner option").length > 1 || document.querySelector("#pick-status").textContent !== ""`)
	if got := b.text("#pick-status"); got != "" {
		t.Fatalf("the owner picker says %q", got)
	}
	b.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("pick-owner"); s.value = "` + ava + `"; s.dispatchEvent(new Event("change")); })()`))
	b.wait(`!document.querySelector("#pick-flow").disabled && document.querySelector('#pick-flow option[value="` + flowSDR + `"]')`)
	b.do(chromedp.SetValue("#pick-flow", flowSDR))
	b.shot("choose")
	b.do(chromedp.Click("#defaults-button"), chromedp.WaitVisible("#default-flow"))
	b.shot("check")
	if got := b.text("#default-flow"); got != "Every row without a flow goes to: SDR Outbound Q3 ("+flowSDR+")" {
		t.Errorf("the check says %q", got)
	}
	if got := b.text("#default-owner"); got != "Every row without an owner goes to: Ava Reyes <"+ava+">" {
		t.Errorf("the check says %q", got)
	}
	if got := strings.Fields(b.text("#run-body .figures")); !slices.Equal(got[:6], []string{"3", "rows", "read", "3", "ready", "to"}) {
		t.Errorf("the check's figures: %q", got)
	}
	b.do(chromedp.Click("#start-button"), chromedp.WaitVisible("#dl-assigned-csv"))
	if got := b.text("#run-status"); got != "finished" {
		t.Errorf("status %q", got)
	}
	created := g.emu.Created()
	if len(created) != 3 {
		t.Fatalf("%d flow instances created, want 3", len(created))
	}
	for _, in := range created {
		if in.FlowID != flowSDR || in.FlowInstanceOwnerEmail != ava {
			t.Errorf("instance %+v, want every row in %s owned by %s", in, flowSDR, ava)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
