package console

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// fetch GETs path and returns the answer's headers and body.
func (c *console) fetch(t *testing.T, path string) (http.Header, string) {
	t.Helper()
	res, err := http.Get(c.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.Header, string(b)
}

// A run tells its story: a retry keeps each row's line in the upload, the
// original says it was retried and undone, downloads are named after the
// upload and no text names a path on the server.
func TestRunStory(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	file := prospectsCSV("003A", 3) + ",,,\n" + "003B00001,1695493301223590792,not-an-email,X\n" + "003B00002,1695493301223590792,also-not,Y\n"
	_, run := c.upload(t, "leads.csv", file, nil)
	c.post(t, "/api/v1/runs/"+run.ID+"/start")
	c.await(t, run.ID, ended)
	root := filepath.Dir(c.srv.st.Dir())

	h, failed := c.fetch(t, "/api/v1/runs/"+run.ID+"/files/failed.csv")
	if got := h.Get("Content-Disposition"); got != `attachment; filename=leads-failed.csv` {
		t.Errorf("failed.csv is downloaded as %q", got)
	}
	if strings.Contains(failed, root) || !strings.Contains(failed, "leads.csv:6") {
		t.Errorf("failed.csv names the server's path, or not the upload:\n%s", failed)
	}
	_, sum := c.fetch(t, "/api/v1/runs/"+run.ID+"/files/summary.json")
	got, _ := c.srv.st.Get(run.ID)
	if strings.Contains(sum, root) || strings.Contains(string(got.Summary), root) {
		t.Errorf("summary.json names the server's path:\n%s\n%s", sum, got.Summary)
	}

	status, retry := c.post(t, "/api/v1/runs/"+run.ID+"/retry")
	if status != http.StatusCreated {
		t.Fatalf("retry: %d", status)
	}
	var lines []int
	for _, r := range retry.Plan.RejectedByCode["InvalidEmail"].First {
		lines = append(lines, r.Line)
	}
	if len(lines) != 2 || lines[0] != 6 || lines[1] != 7 || retry.Plan.RejectedByCode["BlankRow"].Rows != 0 {
		t.Errorf("the retry's rows are on lines %v (want 6 and 7, the upload's), plan %+v", lines, retry.Plan.RejectedByCode)
	}
	if retry.File != "leads-retry.csv" {
		t.Errorf("the retry's file is %q", retry.File)
	}
	// The rows are fixed in the retry, on the lines of the upload.
	if status, fixed := c.fix(t, retry.ID, `{"set": {"flowInstanceOwnerEmail": "`+ava+`"}, "lines": [6, 7]}`); status != 200 || fixed.Plan.Valid != 2 {
		t.Fatalf("fix in the retry: %d %+v", status, fixed.Plan)
	}

	status, _ = c.post(t, "/api/v1/runs/"+run.ID+"/undo")
	if status != http.StatusOK {
		t.Fatalf("undo count: %d", status)
	}
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs/"+run.ID+"/undo", strings.NewReader("confirm=true"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var undo store.Run
	if res := do(t, req, &undo); res.StatusCode != http.StatusAccepted {
		t.Fatalf("undo: %d", res.StatusCode)
	}
	c.await(t, undo.ID, ended)
	orig, _ := c.srv.st.Get(run.ID)
	if len(orig.RetriedAs) != 1 || orig.RetriedAs[0] != retry.ID {
		t.Errorf("the run does not say it was retried: %v", orig.RetriedAs)
	}
	if u := orig.UndoneBy; u == nil || u.Run != undo.ID || !u.Complete || u.At.IsZero() || u.By != LocalUser {
		t.Errorf("the run does not say it was undone: %+v", u)
	}
}

// An upload the reader cannot read says so with the upload's name, not
// the path it has on the server.
func TestNoServerPathInMessages(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	body, ctype := form(t, "leads.csv", nil, nil)
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs", body)
	req.Header.Set("Content-Type", ctype)
	var e struct{ Error string }
	res := do(t, req, &e)
	if res.StatusCode != http.StatusBadRequest || strings.Contains(e.Error, c.srv.st.Dir()) || strings.Contains(e.Error, "upload.csv") || !strings.Contains(e.Error, "leads.csv") {
		t.Errorf("empty upload: %d %q", res.StatusCode, e.Error)
	}
}

// A run Gong stops with a 401 or a 403 says which, and what to do.
func TestStoppedByGong(t *testing.T) {
	for _, tc := range []struct{ reason, want string }{
		{"Unauthorized", "credentials (401)"},
		{"Forbidden", "api:flows:write"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			pipe := &fakePipeline{
				plan: func(context.Context, worker.PlanSpec) (store.PlanView, error) {
					return store.PlanView{Rows: 1, Valid: 1, Requests: 1, RejectedByCode: map[string]store.RejectedView{}}, nil
				},
				run: func(ctx context.Context, s worker.RunSpec, p worker.Progress) (worker.Result, error) {
					sum := report.Summary{Input: s.InputPath, RowsRead: 1, Counts: report.Counts{Unprocessed: 1}, StopReason: tc.reason, ExitCode: 1}
					return worker.Result{ExitCode: 1, Run: &sum}, nil
				},
			}
			c := startConsole(t, Config{Pipeline: pipe})
			_, run := c.upload(t, "leads.csv", "a,b\n1,2\n", nil)
			c.post(t, "/api/v1/runs/"+run.ID+"/start")
			done := c.await(t, run.ID, ended)
			if !strings.Contains(done.Error, tc.want) || !strings.Contains(done.Error, "continue this run") {
				t.Errorf("error: %q", done.Error)
			}
			if strings.Contains(string(done.Summary), c.srv.st.Dir()) || !strings.Contains(string(done.Summary), `"leads.csv"`) {
				t.Errorf("summary: %s", done.Summary)
			}
		})
	}
}

// Rows an earlier run of this console assigned to the same flow are shown
// as AlreadyAssigned, with that run, and not sent; once that run is
// undone, they go again.
func TestAlreadyAssigned(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	file := prospectsCSV("003A", 3)
	_, first := c.upload(t, "leads.csv", file, nil)
	c.post(t, "/api/v1/runs/"+first.ID+"/start")
	c.await(t, first.ID, ended)

	_, again := c.upload(t, "leads.csv", file+"003Z00009,"+flowSDR+","+ava+",New\n", nil)
	got := again.Plan.RejectedByCode["AlreadyAssigned"]
	if again.Plan.Valid != 1 || got.Rows != 3 || !strings.Contains(got.Example, first.ID) {
		t.Fatalf("the same rows again: %d valid, AlreadyAssigned %+v", again.Plan.Valid, got)
	}
	c.post(t, "/api/v1/runs/"+again.ID+"/start")
	done := c.await(t, again.ID, ended)
	if s := summaryOf(t, done); s.Assigned != 1 || s.Failed != 3 {
		t.Errorf("the second run: %+v", s)
	}

	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs/"+first.ID+"/undo", strings.NewReader("confirm=true"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var undo store.Run
	do(t, req, &undo)
	c.await(t, undo.ID, ended)
	if _, third := c.upload(t, "leads.csv", file, nil); third.Plan.Valid != 3 {
		t.Errorf("after the undo: %d valid, rejected %v", third.Plan.Valid, codesOf(third.Plan))
	}
}
