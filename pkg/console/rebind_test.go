package console

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/flowenroll/flowenroll/pkg/console/store"
	"go.uber.org/zap"
)

// attackPage is what a page on evil.example runs once its name points to
// 127.0.0.1: it is same-origin with itself, so the browser sends its
// requests and lets it read the answers. It tries to upload, start a run
// and read a run's rows, and leaves the statuses in window.attack.
const attackPage = `<!doctype html><title>evil</title><script>
(async () => {
  const id = new URLSearchParams(location.search).get("run");
  const out = {};
  const fd = new FormData();
  fd.append("file", new Blob(["Contact ID,Flow ID,Owner Email\n003X1,1695493301223590792,ava.reyes@example.com\n"]), "x.csv");
  try { out.upload = (await fetch("/api/v1/runs", {method: "POST", body: fd})).status; } catch (e) { out.upload = String(e); }
  try { out.start = (await fetch("/api/v1/runs/" + id + "/start", {method: "POST"})).status; } catch (e) { out.start = String(e); }
  try { out.rows = (await fetch("/api/v1/runs/" + id + "/rows")).status; } catch (e) { out.rows = String(e); }
  try { out.list = (await fetch("/api/v1/runs")).status; } catch (e) { out.list = String(e); }
  window.attack = JSON.stringify(out);
})();
</script>`

// TestBrowserRebindingRefused: a page served from evil.example:PORT, with
// evil.example resolving to 127.0.0.1 (Chromium's --host-resolver-rules
// stands in for the attacker's DNS), reaches a console without sign-in:
// every request it makes is refused.
func TestBrowserRebindingRefused(t *testing.T) {
	b := newBrowser(t, chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1"))
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Log: zap.NewNop(), Listen: "127.0.0.1:0"})
	status, run := c.upload(t, "leads.csv", prospectsCSV("003A", 3), nil)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d", status)
	}
	// After the rebind, the attacker's page (loaded before it) and the
	// console are one origin: one listener, the page at /evil, and every
	// other path the console itself, as the browser's requests reach it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /evil", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(attackPage))
	})
	mux.Handle("/", c.srv.Handler())
	hs := &http.Server{Handler: mux}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() {
		hs.Close()
		<-served
	})
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	b.do(chromedp.Navigate("http://evil.example:" + port + "/evil?run=" + run.ID))
	b.wait("window.attack !== undefined")
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("window.attack"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	t.Logf("the rebound page got %v", got)
	for _, k := range []string{"upload", "start", "rows", "list"} {
		if got[k] != float64(http.StatusMisdirectedRequest) {
			t.Errorf("%s from the rebound page: %v, want %d", k, got[k], http.StatusMisdirectedRequest)
		}
	}
	if r, _ := c.srv.st.Get(run.ID); r.Status != store.StatusChecked {
		t.Errorf("the run is %s after the attack, want it untouched (checked)", r.Status)
	}
	if n := len(c.srv.st.List()); n != 1 {
		t.Errorf("%d runs after the attack, want 1", n)
	}
}

// The page's "Delete this run": the files go, the page says so, and the
// quota line is in the header.
func TestBrowserDeleteRun(t *testing.T) {
	b := newBrowser(t)
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Log: zap.NewNop()})
	status, run := c.upload(t, "leads.csv", prospectsCSV("003A", 3), nil)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d", status)
	}
	b.do(chromedp.Navigate(c.http.URL+"/#run/"+run.ID), chromedp.WaitVisible("body[data-ready]"), chromedp.WaitVisible("#delete-button"))
	if q := b.text("#quota"); !strings.Contains(q, "of the company's 10000 a day") {
		t.Errorf("the quota line: %q", q)
	}
	// The person says yes to the page's confirm().
	b.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`), chromedp.Click("#delete-button"), chromedp.WaitVisible("#files-deleted"))
	if got := b.text("#files-deleted"); !strings.Contains(got, "deleted") || !strings.Contains(got, "local") {
		t.Errorf("the page says %q", got)
	}
	if c.srv.st.HasFiles(run.ID) {
		t.Error("the run's files are still there")
	}
}
