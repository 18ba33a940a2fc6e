package console

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"go.uber.org/zap"
)

// "Header is on row N" in the page's reading options reaches the check: the
// run is read from that row, and keeps it for a re-check.
func TestBrowserHeaderRow(t *testing.T) {
	b := newBrowser(t)
	b.prefix = "header-row-"
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Log: zap.NewNop()})
	file := filepath.Join(t.TempDir(), "report.csv")
	export := "Gong Engage Candidates - Q4\nContact ID,Flow ID,Owner Email\n\n" + prospectsCSV("003H", 3)
	if err := os.WriteFile(file, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(c.http.URL), chromedp.WaitVisible("body[data-ready]"),
		chromedp.SetUploadFiles("#file", []string{file}),
		chromedp.Click("details.options summary"),
		chromedp.WaitVisible("#opt-header-row"),
		chromedp.SetValue("#opt-header-row", "4"),
		chromedp.Click("#check-button"),
		chromedp.WaitVisible("#run-title"))
	b.wait(`location.hash.length > 5`)
	id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.hash.slice(5)`))
	if err != nil {
		t.Fatal(err)
	}
	b.shot("header-row")
	run, _ := c.srv.st.Get(id)
	if run.Options.HeaderRow != 4 || run.Plan == nil || run.Plan.Rows != 3 || run.Plan.Valid != 3 {
		t.Fatalf("header row %d, plan %+v: want row 4, 3 rows all valid (the decoy header on row 2 passed over)", run.Options.HeaderRow, run.Plan)
	}
}
