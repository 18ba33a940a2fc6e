package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"go.uber.org/zap"
)

// A re-enrollment list of people who finished the flow: the person ticks
// the cool-off override by the Start button, every row is assigned, and
// the run record and the run's page say who ticked it.
func TestBrowserCoolOffOverride(t *testing.T) {
	const n = 4
	b := newBrowser(t)
	b.prefix = "cool-off-"
	g, list := startCoolOffGong(t, "003K", n)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Log: zap.NewNop()})
	file := filepath.Join(t.TempDir(), "reenroll.csv")
	if err := os.WriteFile(file, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	b.open(c.http.URL, t.TempDir())
	b.do(chromedp.SetUploadFiles("#file", []string{file}), chromedp.Click("#check-button"), chromedp.WaitVisible("#override-cool-off"))
	if got := b.text("#override-cool-off-warning"); !strings.Contains(got, "finished this flow recently") {
		t.Errorf("the override's warning: %q", got)
	}
	b.do(chromedp.Click("#override-cool-off"))
	b.shot("ticked")
	id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.hash.slice(5)`))
	if err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Click("#start-button"), chromedp.WaitVisible("#dl-assigned-csv"))
	b.shot("results")
	run, _ := c.srv.st.Get(id)
	if run.OverrideCoolOff == nil || run.OverrideCoolOff.By != LocalUser || run.OverrideCoolOff.At.IsZero() {
		t.Fatalf("run record overrideCoolOff %+v, want ticked by %s", run.OverrideCoolOff, LocalUser)
	}
	if sum := summaryOf(t, run); sum.Assigned != n {
		t.Errorf("assigned %d of %d", sum.Assigned, n)
	}
	b.wait(`document.querySelector("#runs tbody").textContent.includes("(cool-off override)")`)
	if got := b.text("#run-override"); !strings.Contains(got, "used the cool-off override, ticked by "+LocalUser) {
		t.Errorf("the run's page says %q", got)
	}
}
