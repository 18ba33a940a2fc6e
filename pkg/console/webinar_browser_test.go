package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"go.uber.org/zap"
)

// webinarExport is an event's attendee list as the webinar tool exports
// it: names, emails and companies, no CRM ID, no flow, no owner.
func webinarExport(n int) string {
	var b strings.Builder
	b.WriteString("First Name,Last Name,Email,Company\n")
	for i := range n {
		fmt.Fprintf(&b, "Guest%d,Attendee,guest%d@webinar-example.com,Acme %d\n", i, i, i)
	}
	return b.String()
}

// open loads the console's page, ready for its script, with downloads
// saved into downloads and smooth scrolling off (a scroll still going
// moves a button between the moment Click finds it and the click).
func (b *browserSession) open(url, downloads string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url), chromedp.WaitVisible("body[data-ready]"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
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
}

// A webinar export (First Name, Last Name, Email, Company) is uploaded,
// given one flow and one owner from Gong's lists, checked (the check says
// the people go through bulk assignments, what they cost, and that Gong
// may create CRM records undo does not remove), run, and its results
// downloaded: every attendee assigned, with the crmProspectId Gong found
// or created and a flow instance.
func TestBrowserWebinar(t *testing.T) {
	const n = 60 // two bulk assignments: 50 and 10
	b := newBrowser(t)
	b.prefix = "webinar-"
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Log: zap.NewNop()})
	file := filepath.Join(t.TempDir(), "webinar-attendees.csv")
	if err := os.WriteFile(file, []byte(webinarExport(n)), 0o600); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()
	b.open(c.http.URL, downloads)
	p := &clicks{b: b}
	b.do(chromedp.SetUploadFiles("#file", []string{file}))
	p.click("#check-button")
	b.do(chromedp.WaitVisible("#defaults-form"))
	b.shot("no-flow-no-owner")
	p.choose("#pick-owner", chloe)
	p.choose("#pick-flow", flowWebinar)
	p.click("#defaults-button")
	b.do(chromedp.WaitVisible("#plan-people"))
	b.shot("check")
	id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.hash.slice(5)`))
	if err != nil {
		t.Fatal(err)
	}
	run, _ := c.srv.st.Get(id)
	if pl := run.Plan; pl == nil || pl.Valid != n || pl.People != n || pl.BulkSubmits != 2 || pl.Columns != nil {
		t.Fatalf("the check: %+v; want %d people in 2 bulk assignments", pl, n)
	}
	people, warning := b.text("#plan-people"), b.text("#people-warning")
	for _, want := range []string{"60 people without a CRM ID go through 2 bulk assignments of up to 50", "6 of the requests"} {
		if !strings.Contains(people, want) {
			t.Errorf("the check's people line lacks %q: %q", want, people)
		}
	}
	if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!document.querySelector("#override-cool-off")`)); err != nil || !ok {
		t.Errorf("the cool-off override is offered for a file with no CRM ID (it is an assign's): %v", err)
	}
	if !strings.Contains(warning, "creates a CRM record") || !strings.Contains(warning, "Undo removes the flow instances this run creates, not those CRM records") {
		t.Errorf("the check's warning: %q", warning)
	}

	if status, _ := c.startAs(t, id, LocalUser, `{"overrideCoolOff": true}`); status != 409 {
		t.Errorf("the cool-off override asked for a file of people only: status %d, want 409 (nothing would use it)", status)
	}
	p.click("#start-button")
	b.do(chromedp.WaitVisible("#dl-assigned-csv"))
	b.shot("results")
	if got := b.text("#run-status"); got != "finished" {
		t.Errorf("status %q, want finished", got)
	}
	recs, err := csv.NewReader(strings.NewReader(string(b.download(downloads, "#dl-assigned-csv")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n+1 {
		t.Fatalf("assigned.csv: %d records, want %d and the header", len(recs), n)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, r := range recs[1:] {
		if r[col["crmProspectId"]] == "" || r[col["flowInstanceId"]] == "" || r[col["flowId"]] != flowWebinar || !strings.HasSuffix(r[col["Email"]], "@webinar-example.com") {
			t.Fatalf("assigned row %v (header %v): want Gong's crmProspectId, a flow instance, the webinar flow and the email kept", r, recs[0])
		}
	}
	if st := g.emu.Stats(); st.Assign != 0 {
		t.Errorf("%d assign requests for people without a CRM ID", st.Assign)
	}
}
