package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/report"
	"go.uber.org/zap"
)

// Two uploads started at once go through one queue and one pacer: the
// emulator, counting requests per clock-aligned second as Gong does, never
// sees more than its limit of 3, and answers no 429.
func TestTwoRunsShareThePacer(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 5)})
	_, first := c.upload(t, "first.csv", prospectsCSV("003A", 30), nil)
	_, second := c.upload(t, "second.csv", prospectsCSV("003B", 30), nil)
	before := g.emu.Stats()
	begin := time.Now()
	if status, _ := c.post(t, "/api/v1/runs/"+first.ID+"/start"); status != 202 {
		t.Fatalf("start first: %d", status)
	}
	status, queued := c.post(t, "/api/v1/runs/"+second.ID+"/start")
	if status != 202 {
		t.Fatalf("start second: %d", status)
	}
	// The second waits while the first runs, and says where it stands.
	if queued.Status == store.StatusQueued && queued.QueuePosition != 1 {
		t.Errorf("second run: queue position %d, want 1", queued.QueuePosition)
	}
	r1 := c.await(t, first.ID, ended)
	r2 := c.await(t, second.ID, ended)
	elapsed := time.Since(begin)
	for _, r := range []store.Run{r1, r2} {
		if s := summaryOf(t, r); s.Assigned != 30 || *r.ExitCode != 0 {
			t.Errorf("run %s: exit %d, %+v", r.File, *r.ExitCode, s)
		}
	}
	if !r2.StartedAt.After(r1.StartedAt) || r2.StartedAt.Before(r1.EndedAt) {
		t.Errorf("the runs overlapped: first %v to %v, second from %v", r1.StartedAt, r1.EndedAt, r2.StartedAt)
	}
	st := g.emu.Stats()
	if st.MaxInWindow > 3 || st.RateLimited != 0 {
		t.Errorf("at most %d requests in one second (limit 3), %d answered 429", st.MaxInWindow, st.RateLimited)
	}
	sent := st.Requests - before.Requests
	t.Logf("two runs of 30 rows at 5 IDs a request: %d requests (%d assign, %d flow listings) in %.1fs = %.2f/s, at most %d in one second, %d 429s",
		sent, st.Assign-before.Assign, st.ListFlows-before.ListFlows, elapsed.Seconds(), float64(sent)/elapsed.Seconds(), st.MaxInWindow, st.RateLimited)
}

// A person stops a run: it drains and ends stopped; Start continues it from
// its ledger, and no row is sent twice.
func TestStopAndResume(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 3)})
	_, run := c.upload(t, "p.csv", prospectsCSV("003A", 30), nil)
	c.post(t, "/api/v1/runs/"+run.ID+"/start")
	c.await(t, run.ID, func(r store.Run) bool { return r.Progress != nil && r.Progress.Settled > 0 })
	if status, _ := c.post(t, "/api/v1/runs/"+run.ID+"/stop"); status != 202 {
		t.Fatalf("stop: %d", status)
	}
	stopped := c.await(t, run.ID, ended)
	if stopped.Status != store.StatusStopped || *stopped.ExitCode != 4 || stopped.StoppedBy != LocalUser {
		t.Fatalf("after stop: %s, exit %d, by %q", stopped.Status, *stopped.ExitCode, stopped.StoppedBy)
	}
	left := summaryOf(t, stopped).Unprocessed
	if left == 0 {
		t.Fatal("the run finished before the stop took: nothing to resume")
	}
	if status, _ := c.post(t, "/api/v1/runs/"+run.ID+"/start"); status != 202 {
		t.Fatalf("resume: %d", status)
	}
	done := c.await(t, run.ID, func(r store.Run) bool { return r.Status == store.StatusFinished })
	s := summaryOf(t, done)
	if s.Assigned != 30 || s.Failed != 0 || s.Unprocessed != 0 || *done.ExitCode != 0 {
		t.Errorf("after resuming: exit %d, %+v", *done.ExitCode, s)
	}
	if created := len(g.emu.Created()); created != 30 {
		t.Errorf("Gong created %d instances for 30 rows", created)
	}
	t.Logf("stopped with %d of 30 rows left; resumed to 30 assigned, %d created at Gong", left, len(g.emu.Created()))
}

// The server stops in the middle of a run (SIGTERM): the run drains and is
// queued again; a new server on the same folder continues it, and every row
// is accounted for once, none sent twice.
func TestRestartInTheMiddle(t *testing.T) {
	g := startGong(t)
	dir := t.TempDir()
	first := startConsole(t, Config{DataDir: dir, Pipeline: g.pipeline(t, 3)})
	_, run := first.upload(t, "p.csv", prospectsCSV("003A", 30), nil)
	first.post(t, "/api/v1/runs/"+run.ID+"/start")
	first.await(t, run.ID, func(r store.Run) bool { return r.Progress != nil && r.Progress.Settled > 0 })
	first.stop()

	var meta store.Run
	b, err := os.ReadFile(filepath.Join(dir, "runs", run.ID, "run.json"))
	if err != nil || json.Unmarshal(b, &meta) != nil {
		t.Fatalf("run.json: %v", err)
	}
	if meta.Status != store.StatusQueued {
		t.Fatalf("after the server stopped, the run is %s, want queued", meta.Status)
	}
	createdBefore := len(g.emu.Created())
	if createdBefore == 30 {
		t.Fatal("the run finished before the server stopped: nothing to resume")
	}

	second := startConsole(t, Config{DataDir: dir, Pipeline: g.pipeline(t, 3)})
	done := second.await(t, run.ID, ended)
	s := summaryOf(t, done)
	if done.Status != store.StatusFinished || s.Assigned != 30 || s.Failed != 0 || s.Unprocessed != 0 {
		t.Fatalf("after the restart: %s, %+v, error %q", done.Status, s, done.Error)
	}
	created := g.emu.Created()
	seen := map[string]bool{}
	for _, a := range created {
		if seen[a.CRMProspectID] {
			t.Errorf("%s was assigned twice", a.CRMProspectID)
		}
		seen[a.CRMProspectID] = true
	}
	ids := assignedIDs(t, filepath.Join(dir, "runs", run.ID, "out", worker.AssignedFile))
	if len(ids) != 30 || len(created) != 30 {
		t.Errorf("assigned.csv has %d rows, Gong created %d instances; want 30 and 30", len(ids), len(created))
	}
	t.Logf("restart after %d of 30 instances created: finished with 30 rows assigned, 30 instances at Gong", createdBefore)
}

func assignedIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range recs[1:] {
		ids = append(ids, r[1])
	}
	return ids
}

// Retry makes a new run of the failed and unprocessed rows.
func TestRetry(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	file := prospectsCSV("003A", 3) + "003B00001,1695493301223590792,not-an-email,X\n"
	_, run := c.upload(t, "p.csv", file, nil)
	c.post(t, "/api/v1/runs/"+run.ID+"/start")
	c.await(t, run.ID, ended)
	status, retry := c.post(t, "/api/v1/runs/"+run.ID+"/retry")
	if status != 201 {
		t.Fatalf("retry: status %d", status)
	}
	if retry.RetryOf != run.ID || retry.Status != store.StatusChecked || retry.Plan.Rows != 1 || retry.Plan.RejectedByCode["InvalidEmail"].Rows != 1 {
		t.Errorf("retry %+v, plan %+v", retry, retry.Plan)
	}
	status, _ = c.post(t, "/api/v1/runs/"+retry.ID+"/retry")
	if status != 409 {
		t.Errorf("retry of a run not started: status %d, want 409", status)
	}
}

// A queued run can be stopped before it starts; the queue gives each run
// its place. The pipeline here is a fake that holds the first run until
// told, so the queue's states can be seen one by one.
func TestQueuePlaces(t *testing.T) {
	release := make(chan struct{})
	started := make(chan string, 3)
	pipe := &fakePipeline{
		plan: func(context.Context, worker.PlanSpec) (store.PlanView, error) {
			return store.PlanView{Rows: 1, Valid: 1, Requests: 1, RejectedByCode: map[string]store.RejectedView{}}, nil
		},
		run: func(ctx context.Context, s worker.RunSpec, p worker.Progress) (worker.Result, error) {
			started <- s.OutDir
			select {
			case <-release:
			case <-ctx.Done():
				return worker.Result{ExitCode: 4, Run: &report.Summary{Counts: report.Counts{Unprocessed: 1}}}, nil
			}
			return worker.Result{ExitCode: 0, Run: &report.Summary{Counts: report.Counts{Assigned: 1}}}, nil
		},
	}
	c := startConsole(t, Config{Pipeline: pipe, Log: zap.NewNop()})
	var ids []string
	for _, name := range []string{"a.csv", "b.csv", "c.csv"} {
		_, r := c.upload(t, name, "x\n", nil)
		ids = append(ids, r.ID)
		c.post(t, "/api/v1/runs/"+r.ID+"/start")
	}
	<-started
	var b, cc store.Run
	c.get(t, "/api/v1/runs/"+ids[1], &b)
	c.get(t, "/api/v1/runs/"+ids[2], &cc)
	if b.QueuePosition != 1 || cc.QueuePosition != 2 {
		t.Errorf("queue places %d and %d, want 1 and 2", b.QueuePosition, cc.QueuePosition)
	}
	if status, r := c.post(t, "/api/v1/runs/"+ids[1]+"/stop"); status != 202 || r.Status != store.StatusStopped {
		t.Errorf("stop a queued run: %d, %s", status, r.Status)
	}
	c.get(t, "/api/v1/runs/"+ids[2], &cc)
	if cc.QueuePosition != 1 {
		t.Errorf("after the stop, the last run is at place %d, want 1", cc.QueuePosition)
	}
	close(release)
	last := <-started
	if !strings.Contains(last, ids[2]) {
		t.Errorf("the queue ran %s next, want %s", last, ids[2])
	}
	c.await(t, ids[2], ended)
}

// The page's "sent today" counts a run's requests as it goes, not only
// when it ends: a long run shows its use of the day's quota while it runs.
func TestSentTodayCountsARunAsItGoes(t *testing.T) {
	reported, release := make(chan struct{}), make(chan struct{})
	pipe := &fakePipeline{
		plan: func(context.Context, worker.PlanSpec) (store.PlanView, error) {
			return store.PlanView{Rows: 1, Valid: 1, Requests: 1, RejectedByCode: map[string]store.RejectedView{}}, nil
		},
		run: func(ctx context.Context, s worker.RunSpec, p worker.Progress) (worker.Result, error) {
			p.Requests(7)
			close(reported)
			<-release
			// Two more went after the last report.
			return worker.Result{ExitCode: 0, Run: &report.Summary{Counts: report.Counts{Assigned: 1}, RequestsThisRun: 9}}, nil
		},
	}
	c := startConsole(t, Config{Pipeline: pipe, Log: zap.NewNop()})
	_, r := c.upload(t, "a.csv", "x\n", nil)
	c.post(t, "/api/v1/runs/"+r.ID+"/start")
	var me struct{ SentToday int }
	<-reported
	c.get(t, "/api/v1/me", &me)
	if me.SentToday != 7 {
		t.Errorf("sent today %d while the run goes, want the 7 it reported", me.SentToday)
	}
	close(release)
	c.await(t, r.ID, ended)
	c.get(t, "/api/v1/me", &me)
	if me.SentToday != 9 {
		t.Errorf("sent today %d after the run, want its 9", me.SentToday)
	}
}
