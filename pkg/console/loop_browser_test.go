package console

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/flowenroll/flowenroll/pkg/console/store"
	"go.uber.org/zap"
)

// loopExport is a messy export: a report's title rows above the header, a
// flow misspelled on three rows, owners by name (one who is no Gong user),
// one mistyped CRM ID (on line 13 of the file), blank rows, and the
// report's footer.
func loopExport() string {
	var b strings.Builder
	b.WriteString("Gong Engage Candidates - Q4\nFiltered By: Owner equals Ava Reyes\n\n")
	b.WriteString("Contact ID,First Name,Account,Flow,Contact owner,Notes\n")
	for i := range 12 {
		flow, owner := "SDR Outbound Q3", "Ava Reyes"
		switch {
		case i%3 == 1:
			flow = "SDR Outbond Q3"
		case i == 5:
			owner = "Avva Reyes"
		}
		id := fmt.Sprintf("003LOOP%09d", i)
		if i == 7 {
			id = "3.00007E+14" // a spreadsheet's way with a long number
		}
		fmt.Fprintf(&b, "%s,Name %d,Acme %d,%s,%s,\"called, left a message\"\n", id, i, i, flow, owner)
		if i == 3 || i == 9 {
			b.WriteString(",,,,,\n")
		}
	}
	b.WriteString("\n\"Confidential Information - Do Not Distribute\"\n\"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.\"\n")
	return b.String()
}

// clicks counts what a person does with the mouse: clicks and choices.
type clicks struct {
	b *browserSession
	n int
}

func (c *clicks) click(sel string) {
	c.b.t.Helper()
	c.n++
	c.b.do(chromedp.WaitVisible(sel), chromedp.Click(sel))
}

// choose picks a value in a select, as a person does: one choice.
func (c *clicks) choose(sel, value string) {
	c.b.t.Helper()
	c.n++
	c.b.do(chromedp.WaitVisible(sel))
	c.b.wait(`document.querySelector('` + sel + ` option[value="` + value + `"]')`)
	c.b.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('` + sel + `'); s.value = "` + value + `"; s.dispatchEvent(new Event("change")); })()`))
}

// The whole loop in the page, on an export that needs fixes: upload, fix
// every fixable row in place, start, every fixable row assigned, download,
// undo; no file edited, and at most 12 clicks and choices.
func TestBrowserFixLoop(t *testing.T) {
	for _, width := range []int64{1280, 800} {
		t.Run(fmt.Sprint(width), func(t *testing.T) { fixLoop(t, width) })
	}
}

func fixLoop(t *testing.T, width int64) {
	b := newBrowser(t)
	b.prefix = fmt.Sprintf("loop-%d-", width)
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Log: zap.NewNop()})
	file := filepath.Join(t.TempDir(), "leads.csv")
	if err := os.WriteFile(file, []byte(loopExport()), 0o600); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()
	b.do(chromedp.Navigate(c.http.URL), chromedp.WaitVisible("body[data-ready]"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: width, Height: 900, DeviceScaleFactor: 1}); err != nil {
				return err
			}
			if _, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: ptrTo(true),
			}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
			})
			return err
		}))
	p := &clicks{b: b}

	p.n++ // choosing the file
	b.do(chromedp.SetUploadFiles("#file", []string{file}))
	p.click("#check-button")
	b.do(chromedp.WaitVisible("#rejected"))
	b.shot("check")
	id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.hash.slice(5)`))
	if err != nil {
		t.Fatal(err)
	}
	run, _ := c.srv.st.Get(id)
	t.Logf("the check: %d rows, %d ready, rejected %v", run.Plan.Rows, run.Plan.Valid, codesOf(run.Plan))

	// The misspelled flow: the check's suggestion, for all its rows.
	if got := b.text("#fix-FlowNameNotFound-0-suggest"); got != "Use SDR Outbound Q3 for these 4 rows" {
		t.Errorf("the flow's fix says %q", got)
	}
	p.click("#fix-FlowNameNotFound-0-suggest")
	b.wait(`!document.querySelector("#fix-FlowNameNotFound-0-suggest") && document.querySelector("#fixes-made")`)
	// The owner no Gong user is called: one picked from Gong's users.
	p.choose("#fix-OwnerNotFound-0-pick", ava)
	b.wait(`!document.querySelector("#fix-OwnerNotFound-0-pick")`)
	// The mistyped CRM ID, corrected in its row (its line in the file,
	// below the title rows).
	b.shot("fixing")
	crm := `#row-13-crmProspectId`
	p.n++ // into the field
	b.do(chromedp.WaitVisible(crm), chromedp.SetValue(crm, "003LOOP000000007"))
	p.click("#row-13-save")
	b.wait(`!document.querySelector("#row-13-save") || !document.querySelector("#run-error").hidden`)
	if msg := b.text("#run-error"); msg != "" {
		t.Fatalf("the row's fix: %s", msg)
	}
	b.shot("fixed")
	run, _ = c.srv.st.Get(id)
	if run.Plan.Valid != 12 || run.Plan.Rejected != 2 || run.Plan.RejectedByCode["BlankRow"].Rows != 2 {
		t.Fatalf("after the fixes: %d ready, rejected %v", run.Plan.Valid, codesOf(run.Plan))
	}
	if up, _ := os.ReadFile(filepath.Join(c.srv.st.RunDir(id), "upload.csv")); string(up) != loopExport() {
		t.Error("the upload was changed")
	}

	p.click("#start-button")
	b.do(chromedp.WaitVisible("#dl-results-xlsx"))
	b.shot("results")
	run, _ = c.srv.st.Get(id)
	if s := summaryOf(t, run); s.Assigned != 12 || s.Failed != 2 {
		t.Errorf("the run: %d assigned, %d failed; want the 12 fixable rows assigned, the 2 blank rows failed", s.Assigned, s.Failed)
	}
	p.n++
	if got := b.download(downloads, "#dl-results-xlsx"); len(got) == 0 {
		t.Error("results.xlsx is empty")
	}

	p.click("#undo-button")
	b.do(chromedp.WaitVisible("#undo-question"))
	p.click("#undo-yes")
	b.wait(`document.querySelector("#run-title").textContent.startsWith("Undo of ") && document.querySelector("#run-status").textContent === "finished"`)
	b.do(chromedp.Click(`#run-meta a`), chromedp.WaitVisible("#run-story"))
	b.shot("undone")
	if got := b.text("#run-story"); !strings.Contains(got, "Undone by run") {
		t.Errorf("the run does not say it was undone: %q", got)
	}
	t.Logf("the loop took %d clicks and choices", p.n)
	if p.n > 12 {
		t.Errorf("the loop took %d clicks and choices, want at most 12", p.n)
	}
	overflow, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Errorf("at %d px the page scrolls sideways", width)
	}
}

func codesOf(p *store.PlanView) map[string]int {
	m := map[string]int{}
	for c, v := range p.RejectedByCode {
		m[c] = v.Rows
	}
	return m
}
