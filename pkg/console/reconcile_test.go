package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/internal/testkit"
	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/reconcile"
)

// postForm posts fields as a form, with the headers, and decodes the answer.
func (c *console) postForm(t *testing.T, path string, fields url.Values, header map[string]string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("POST", c.http.URL+path, strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return do(t, req, out).StatusCode
}

var confirm = url.Values{"confirm": {"true"}}

// column is the cells of one column of a result file, sorted.
func column(t *testing.T, path, name string) []string {
	t.Helper()
	var out []string
	for _, row := range testkit.ReadRows(t, path) {
		out = append(out, row[name])
	}
	slices.Sort(out)
	return out
}

// A run is undone through the real pipeline against the emulator: the
// confirmation counts its instances and sends nothing; the undo, a run of
// its own, removes exactly them; a verify then finds every row no longer
// open.
func TestUndoThenVerify(t *testing.T) {
	g := startGong(t)
	dir := t.TempDir()
	c := startConsole(t, Config{DataDir: dir, Pipeline: g.pipeline(t, 200)})
	_, run := c.upload(t, "export.csv", prospectsCSV("003A", 6)+"003B00001,1695493301223590792,not-an-email,X\n", nil)
	c.post(t, "/api/v1/runs/"+run.ID+"/start")
	c.await(t, run.ID, ended)
	_, other := c.upload(t, "other.csv", prospectsCSV("003C", 3), nil)
	c.post(t, "/api/v1/runs/"+other.ID+"/start")
	c.await(t, other.ID, ended)
	assigned := column(t, filepath.Join(dir, "runs", run.ID, "out", worker.AssignedFile), "crmProspectId")

	before := g.emu.Stats()
	var preview UndoPreview
	if status := c.postForm(t, "/api/v1/runs/"+run.ID+"/undo", nil, nil, &preview); status != 200 {
		t.Fatalf("undo without confirm: status %d", status)
	}
	if diff := cmp.Diff(UndoPreview{Instances: 6, By: byConsole}, preview); diff != "" {
		t.Errorf("confirmation (-want +got):\n%s", diff)
	}
	if g.emu.Stats().Requests != before.Requests {
		t.Error("the confirmation sent a request to Gong")
	}

	var undo store.Run
	if status := c.postForm(t, "/api/v1/runs/"+run.ID+"/undo", confirm, nil, &undo); status != 202 {
		t.Fatalf("undo: status %d", status)
	}
	if undo.Kind != store.KindUndo || undo.Of != run.ID || undo.StartedBy != LocalUser || undo.CreatedBy != LocalUser || undo.UnassignedBy != "" {
		t.Errorf("undo run %+v", undo)
	}
	undone := c.await(t, undo.ID, ended)
	if undone.Status != store.StatusFinished || *undone.ExitCode != 0 || undone.Outcome != "every flow instance the run created is removed" {
		t.Fatalf("undo ended %s, exit %d, error %q", undone.Status, *undone.ExitCode, undone.Error)
	}
	var sum struct{ Instances, Removed, Kept, Pending int }
	if err := json.Unmarshal(undone.Summary, &sum); err != nil || sum.Instances != 6 || sum.Removed != 6 || sum.Kept != 0 || sum.Pending != 0 {
		t.Errorf("undo summary %s (%v)", undone.Summary, err)
	}
	path := filepath.Join(t.TempDir(), "undone.csv")
	if err := os.WriteFile(path, []byte(download(t, c, undo.ID, worker.UndoneFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(assigned, column(t, path, "crmProspectId")); diff != "" {
		t.Errorf("undone.csv's rows are not assigned.csv's (-assigned +undone):\n%s", diff)
	}
	download(t, c, undo.ID, worker.UndoFailedFile)
	var left []string
	for _, in := range g.emu.Instances() {
		left = append(left, in.CRMProspectID)
	}
	slices.Sort(left)
	if want := []string{"003C00000", "003C00001", "003C00002"}; !slices.Equal(left, want) {
		t.Errorf("instances at Gong after the undo: %q, want only the other run's %q", left, want)
	}

	var verify store.Run
	if status := c.postForm(t, "/api/v1/runs/"+run.ID+"/verify", nil, nil, &verify); status != 202 || verify.Kind != store.KindVerify || verify.Of != run.ID {
		t.Fatalf("verify: status %d, run %+v", status, verify)
	}
	verified := c.await(t, verify.ID, ended)
	if verified.Status != store.StatusFinished || *verified.ExitCode != 0 {
		t.Fatalf("verify ended %s, exit %d, error %q", verified.Status, *verified.ExitCode, verified.Error)
	}
	if err := os.WriteFile(path, []byte(download(t, c, verify.ID, worker.VerifyFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	if states := column(t, path, "state"); len(states) != 6 || slices.ContainsFunc(states, func(s string) bool { return s != "no-longer-open" }) {
		t.Errorf("verify.csv states %q, want 6 times no-longer-open", states)
	}
	var vsum struct{ ByState map[string]int }
	if err := json.Unmarshal([]byte(download(t, c, verify.ID, worker.SummaryFile)), &vsum); err != nil || !cmp.Equal(vsum.ByState, map[string]int{"no-longer-open": 6}) {
		t.Errorf("verify's summary.json: %+v (%v)", vsum, err)
	}

	// Undone once, there is nothing left to undo.
	c.postForm(t, "/api/v1/runs/"+run.ID+"/undo", nil, nil, &preview)
	var answer struct{ Error string }
	if preview.Instances != 0 || c.postForm(t, "/api/v1/runs/"+run.ID+"/undo", confirm, nil, &answer) != 409 || !strings.Contains(answer.Error, "Nothing to undo") {
		t.Errorf("a second undo: %d instances, then %q", preview.Instances, answer.Error)
	}
}

// holdingPipeline's runs and undos hold until released or stopped; undo
// records what it was asked.
func holdingPipeline(release <-chan struct{}, asked chan<- worker.ReconcileSpec) *fakePipeline {
	hold := func(ctx context.Context) (worker.Result, error) {
		select {
		case <-release:
			return worker.Result{ExitCode: 0, Undo: &reconcile.UndoSummary{Removed: 1}}, nil
		case <-ctx.Done():
			return worker.Result{ExitCode: 4, Undo: &reconcile.UndoSummary{Pending: 1}}, nil
		}
	}
	return &fakePipeline{
		plan: func(context.Context, worker.PlanSpec) (store.PlanView, error) {
			return store.PlanView{Rows: 1, Valid: 1, Requests: 1, RejectedByCode: map[string]store.RejectedView{}}, nil
		},
		run: func(ctx context.Context, s worker.RunSpec, _ worker.Progress) (worker.Result, error) {
			if err := os.MkdirAll(s.OutDir, 0o700); err != nil {
				return worker.Result{ExitCode: 1}, err
			}
			return hold(ctx)
		},
		undoCount: func(context.Context, string) (int, error) { return 7, nil },
		undo: func(ctx context.Context, s worker.ReconcileSpec) (worker.Result, error) {
			asked <- s
			if err := os.WriteFile(filepath.Join(s.OutDir, worker.UndoneFile), []byte("line\n"), 0o600); err != nil {
				return worker.Result{ExitCode: 1}, err
			}
			return hold(ctx)
		},
		verify: func(ctx context.Context, _ worker.ReconcileSpec) (worker.Result, error) { return hold(ctx) },
	}
}

// Undo and verify are refused where they cannot act, and, like every state
// change, from another site; the confirmation names the user only if it is
// an email address.
func TestUndoRefusals(t *testing.T) {
	release := make(chan struct{})
	pipe := holdingPipeline(release, make(chan worker.ReconcileSpec, 1))
	c := startConsole(t, Config{Pipeline: pipe, Log: zap.NewNop(), Auth: &Auth{Header: "X-Forwarded-Email"}})
	as := func(user string) map[string]string { return map[string]string{"X-Forwarded-Email": user} }
	ops := as("ops@example.com")
	c.header = http.Header{"X-Forwarded-Email": {"ops@example.com"}}
	upload := func() store.Run {
		body, ctype := form(t, "a.csv", []byte("x\n"), nil)
		req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs", body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-Forwarded-Email", "ops@example.com")
		var r store.Run
		do(t, req, &r)
		return r
	}
	checked := upload()
	running := upload()
	c.postForm(t, "/api/v1/runs/"+running.ID+"/start", nil, ops, nil)
	c.await(t, running.ID, func(r store.Run) bool { return r.Status == store.StatusRunning })

	tests := []struct {
		name, path string
		header     map[string]string
		fields     url.Values
		status     int
		errText    string
	}{
		{"undo while running", "/api/v1/runs/" + running.ID + "/undo", ops, confirm, 409, "This run is running"},
		{"verify while running", "/api/v1/runs/" + running.ID + "/verify", ops, nil, 409, "This run is running"},
		{"undo before starting", "/api/v1/runs/" + checked.ID + "/undo", ops, nil, 409, "not started"},
		{"undo of no run", "/api/v1/runs/20260101-000000-abcdef/undo", ops, confirm, 404, "no run"},
		{"verify of no run", "/api/v1/runs/20260101-000000-abcdef/verify", ops, nil, 404, "no run"},
		{"undo from another site", "/api/v1/runs/" + running.ID + "/undo", map[string]string{"X-Forwarded-Email": "ops@example.com", "Sec-Fetch-Site": "cross-site"}, confirm, 403, "another site"},
		{"verify from another site", "/api/v1/runs/" + running.ID + "/verify", map[string]string{"X-Forwarded-Email": "ops@example.com", "Origin": "https://evil.example"}, nil, 403, "another site"},
		{"undo signed out", "/api/v1/runs/" + running.ID + "/undo", nil, confirm, 401, "Sign in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answer struct{ Error string }
			status := c.postForm(t, tt.path, tt.fields, tt.header, &answer)
			if status != tt.status || !strings.Contains(answer.Error, tt.errText) {
				t.Errorf("status %d %q, want %d %q", status, answer.Error, tt.status, tt.errText)
			}
		})
	}

	close(release)
	c.await(t, running.ID, ended)
	for user, want := range map[string]UndoPreview{
		"ava.reyes@example.com":       {Instances: 7, By: "ava.reyes@example.com"},
		"ops":                         {Instances: 7, By: byConsole},
		"Ava <ava.reyes@example.com>": {Instances: 7, By: byConsole},
	} {
		var got UndoPreview
		if status := c.postForm(t, "/api/v1/runs/"+running.ID+"/undo", nil, as(user), &got); status != 200 || got != want {
			t.Errorf("confirmation for %q: status %d, %+v, want %+v", user, status, got, want)
		}
	}
}

// An undo is a run of its own: it carries the user's email to Gong, is
// queued again when the server stops in its middle, continues on the next
// start, and keeps its files; an undo of an undo is refused.
func TestUndoResumesAfterARestart(t *testing.T) {
	release := make(chan struct{})
	asked := make(chan worker.ReconcileSpec, 2)
	pipe := holdingPipeline(release, asked)
	dir := t.TempDir()
	ava := map[string]string{"X-Forwarded-Email": "ava.reyes@example.com"}
	first := startConsole(t, Config{DataDir: dir, Pipeline: pipe, Log: zap.NewNop(), Auth: &Auth{Header: "X-Forwarded-Email"}})
	first.header = http.Header{"X-Forwarded-Email": {"ava.reyes@example.com"}}
	var run store.Run
	body, ctype := form(t, "a.csv", []byte("x\n"), nil)
	req, _ := http.NewRequest("POST", first.http.URL+"/api/v1/runs", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Forwarded-Email", "ava.reyes@example.com")
	do(t, req, &run)
	first.postForm(t, "/api/v1/runs/"+run.ID+"/start", nil, ava, nil)
	first.await(t, run.ID, func(r store.Run) bool { return r.Status == store.StatusRunning })
	first.postForm(t, "/api/v1/runs/"+run.ID+"/stop", nil, ava, nil)
	first.await(t, run.ID, ended)

	var undo store.Run
	if status := first.postForm(t, "/api/v1/runs/"+run.ID+"/undo", confirm, ava, &undo); status != 202 {
		t.Fatalf("undo: %d", status)
	}
	spec := <-asked
	if spec.UnassignedBy != "ava.reyes@example.com" || spec.OutDir != filepath.Join(dir, "runs", run.ID, "out") {
		t.Errorf("undo asked %+v", spec)
	}
	first.stop()
	second := startConsole(t, Config{DataDir: dir, Pipeline: pipe, Log: zap.NewNop(), Auth: &Auth{Header: "X-Forwarded-Email"}})
	if spec := <-asked; spec.UnassignedBy != "ava.reyes@example.com" {
		t.Errorf("the undo continued with %+v", spec)
	}
	second.header = first.header
	close(release)
	done := second.await(t, undo.ID, ended)
	if done.Status != store.StatusFinished || done.StartedBy != "ava.reyes@example.com" || !strings.Contains(string(done.Summary), `"removed":1,`) {
		t.Errorf("after the restart the undo ended %+v", done)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "runs", undo.ID, "out", worker.UndoneFile)); string(got) != "line\n" {
		t.Errorf("the undo's own undone.csv: %q, %v", got, err)
	}
	var answer struct{ Error string }
	if status := second.postForm(t, "/api/v1/runs/"+undo.ID+"/undo", confirm, ava, &answer); status != 409 || !strings.Contains(answer.Error, "itself an undo") {
		t.Errorf("undo of an undo: %d %q", status, answer.Error)
	}
}
