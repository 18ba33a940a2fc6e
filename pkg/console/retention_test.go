package console

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/report"
	"github.com/google/go-cmp/cmp"
)

func TestLongFileNameRefused(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	status, _ := c.upload(t, strings.Repeat("a", 2<<20)+".csv", prospectsCSV("003A", 2), nil)
	if status != http.StatusBadRequest {
		t.Errorf("a 2 MB file name: %d, want 400", status)
	}
	if status, _ := c.upload(t, strings.Repeat("a", 251)+".csv", prospectsCSV("003A", 2), nil); status != http.StatusCreated {
		t.Errorf("a 255-byte file name: %d, want 201", status)
	}
	if n := len(c.srv.st.List()); n != 1 {
		t.Errorf("%d runs kept, want 1", n)
	}
}

// --keep deletes the upload and the result files of a run that ended
// longer ago; its record and summary stay, and what needs the files says
// they are gone.
func TestKeepDeletesOldFiles(t *testing.T) {
	g := startGong(t)
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Now: clock, Keep: 30 * 24 * time.Hour})
	_, old := c.upload(t, "old.csv", prospectsCSV("003A", 3), nil)
	c.post(t, "/api/v1/runs/"+old.ID+"/start")
	ended := c.await(t, old.ID, ended)
	before := dataBytes(c.srv.cfg.DataDir)

	mu.Lock()
	now = now.Add(20 * 24 * time.Hour)
	mu.Unlock()
	_, recent := c.upload(t, "recent.csv", prospectsCSV("003B", 3), nil)
	c.srv.sweep()
	if !c.srv.st.HasFiles(old.ID) {
		t.Fatal("20 days after: the files are gone, want them kept 30 days")
	}
	mu.Lock()
	now = now.Add(11 * 24 * time.Hour)
	mu.Unlock()
	c.srv.sweep()

	entries, _ := os.ReadDir(c.srv.st.RunDir(old.ID))
	if len(entries) != 1 || entries[0].Name() != "run.json" {
		t.Errorf("after 31 days the run's folder holds %v, want only %s", entries, "run.json")
	}
	if !c.srv.st.HasFiles(recent.ID) {
		t.Error("the run uploaded 11 days ago lost its files")
	}
	var got store.Run
	c.get(t, "/api/v1/runs/"+old.ID, &got)
	if got.FilesDeletedBy != keptBy || got.FilesDeletedAt.IsZero() || !cmp.Equal(summaryOf(t, got), summaryOf(t, ended)) {
		t.Errorf("the record after --keep: deleted by %q at %v, summary %s", got.FilesDeletedBy, got.FilesDeletedAt, got.Summary)
	}
	for _, tt := range []struct{ method, path string }{
		{"GET", "/files/assigned.csv"}, {"GET", "/rows"}, {"POST", "/start"}, {"POST", "/retry"}, {"POST", "/undo"},
	} {
		req, _ := http.NewRequest(tt.method, c.http.URL+"/api/v1/runs/"+old.ID+tt.path, nil)
		if res := do(t, req, nil); res.StatusCode != http.StatusGone {
			t.Errorf("%s %s: %d, want 410", tt.method, tt.path, res.StatusCode)
		}
	}
	if after := dataBytes(c.srv.cfg.DataDir); after >= before {
		t.Errorf("data %d bytes after, %d before", after, before)
	}
	res, err := http.Get(c.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "flowenroll_console_data_bytes ") || !strings.Contains(string(b), "flowenroll_console_volume_free_bytes ") {
		t.Errorf("no disk metrics in /metrics")
	}
}

// A run is deleted by its uploader or an admin, not by anyone else, and not
// while it runs; the deletion is recorded.
func TestDeleteRun(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Auth: &Auth{Header: "X-Forwarded-Email"}, Admins: []string{"admin@example.com"}})
	as := func(user, method, path string, body io.Reader, ctype string) (int, store.Run) {
		req, _ := http.NewRequest(method, c.http.URL+path, body)
		req.Header.Set("X-Forwarded-Email", user)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		var r store.Run
		return do(t, req, &r).StatusCode, r
	}
	upload := func(user string) store.Run {
		body, ctype := form(t, "leads.csv", []byte(prospectsCSV("003A", 3)), nil)
		status, r := as(user, "POST", "/api/v1/runs", body, ctype)
		if status != http.StatusCreated {
			t.Fatalf("upload: %d", status)
		}
		return r
	}
	ann := upload("ann@example.com")
	if status, _ := as("bob@example.com", "DELETE", "/api/v1/runs/"+ann.ID, nil, ""); status != http.StatusForbidden {
		t.Errorf("someone else deletes: %d, want 403", status)
	}
	status, got := as("ann@example.com", "DELETE", "/api/v1/runs/"+ann.ID, nil, "")
	if status != http.StatusOK || got.FilesDeletedBy != "ann@example.com" || c.srv.st.HasFiles(ann.ID) {
		t.Errorf("the uploader deletes: %d, by %q, files left %v", status, got.FilesDeletedBy, c.srv.st.HasFiles(ann.ID))
	}
	if _, err := os.Stat(filepath.Join(c.srv.st.RunDir(ann.ID), "run.json")); err != nil {
		t.Errorf("the record is gone: %v", err)
	}
	other := upload("carl@example.com")
	if status, got := as("admin@example.com", "DELETE", "/api/v1/runs/"+other.ID, nil, ""); status != http.StatusOK || got.FilesDeletedBy != "admin@example.com" {
		t.Errorf("an admin deletes: %d, by %q", status, got.FilesDeletedBy)
	}
	// A run in the queue or going is not deleted under its feet.
	going := upload("ann@example.com")
	c.srv.st.Update(going.ID, func(r *store.Run) error { r.Status = store.StatusRunning; return nil })
	if status, _ := as("ann@example.com", "DELETE", "/api/v1/runs/"+going.ID, nil, ""); status != http.StatusConflict || !c.srv.st.HasFiles(going.ID) {
		t.Errorf("deleting a running run: %d", status)
	}
	c.srv.st.Update(going.ID, func(r *store.Run) error { r.Status = store.StatusChecked; return nil })
}

// A run whose undo works on its ledger and files cannot be deleted until
// the undo ends (it was: 200, and the undo found its ledger gone).
func TestDeleteWaitsForTheRunsUndo(t *testing.T) {
	release := make(chan struct{})
	inUndo := make(chan string, 1)
	pipe := &fakePipeline{
		plan: func(context.Context, worker.PlanSpec) (store.PlanView, error) {
			return store.PlanView{Rows: 1, Valid: 1, Requests: 1, RejectedByCode: map[string]store.RejectedView{}}, nil
		},
		run: func(ctx context.Context, s worker.RunSpec, _ worker.Progress) (worker.Result, error) {
			if err := os.MkdirAll(s.OutDir, 0o700); err != nil {
				return worker.Result{}, err
			}
			return worker.Result{ExitCode: 0, Run: &report.Summary{RowsRead: 1}}, os.WriteFile(filepath.Join(s.OutDir, "ledger.jsonl"), []byte("x"), 0o600)
		},
		undoCount: func(context.Context, string) (int, error) { return 1, nil },
		undo: func(ctx context.Context, s worker.ReconcileSpec) (worker.Result, error) {
			inUndo <- s.OutDir
			<-release
			_, err := os.Stat(filepath.Join(s.OutDir, "ledger.jsonl"))
			return worker.Result{ExitCode: 0}, err
		},
	}
	c := startConsole(t, Config{Pipeline: pipe})
	_, a := c.upload(t, "a.csv", "Contact ID,Flow ID,Owner Email\n003A,1,a@example.com\n", nil)
	if st, _ := c.post(t, "/api/v1/runs/"+a.ID+"/start"); st != 202 {
		t.Fatal(st)
	}
	c.await(t, a.ID, ended)
	var undo store.Run
	if st := c.postForm(t, "/api/v1/runs/"+a.ID+"/undo", confirm, nil, &undo); st != 202 {
		t.Fatal(st)
	}
	out := <-inUndo
	req, _ := http.NewRequest("DELETE", c.http.URL+"/api/v1/runs/"+a.ID, nil)
	res := do(t, req, nil)
	if res.StatusCode != http.StatusConflict {
		t.Errorf("DELETE while the run's undo goes: %d, want 409", res.StatusCode)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the undo's folder: %v", err)
	}
	close(release)
	if u := c.await(t, undo.ID, ended); u.Error != "" {
		t.Errorf("the undo ended with %q", u.Error)
	}
}
