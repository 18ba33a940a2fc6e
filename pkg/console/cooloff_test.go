package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// startCoolOffGong is the emulator with its cool-off refusals on, and n
// prospects (prefix and a number) who finished flowSDR under ava: assign
// refuses them InvalidState, the cool-off-override endpoint takes them.
func startCoolOffGong(t *testing.T, prefix string, n int) (*gongStub, string) {
	t.Helper()
	fx := emulator.DefaultFixture()
	var b strings.Builder
	b.WriteString("Contact ID,Flow ID,Owner Email\n")
	for i := range n {
		id := fmt.Sprintf("%s%05d", prefix, i)
		fx.Existing = append(fx.Existing, emulator.AssignedFlow{FlowID: flowSDR, CRMProspectID: id, FlowInstanceOwnerEmail: ava, FlowInstanceStatus: emulator.StatusFinished})
		fmt.Fprintf(&b, "%s,%s,%s\n", id, flowSDR, ava)
	}
	cfg := emulator.Config{Fixture: fx, AccessKey: "key", AccessKeySecret: "secret", Logger: zap.NewNop()}
	cfg.CoolOff = true
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &gongStub{emu: emu, url: serve(t, emu)}, b.String()
}

// startAs starts a run as user, with body (none when empty).
func (c *console) startAs(t *testing.T, id, user, body string) (int, store.Run) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs/"+id+"/start", rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Email", user)
	var r store.Run
	res := do(t, req, &r)
	return res.StatusCode, r
}

// TestCoolOffOverrideAgainstGong runs a re-enrollment list through the
// console against the emulator's cool-off refusals: started plainly,
// every row fails InvalidState; started with the box ticked, every row is
// assigned through the cool-off-override endpoint, and the run record
// says who ticked it and when, as does the summary.
func TestCoolOffOverrideAgainstGong(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCode string // every row's code in failed.csv; "" for assigned
		override bool
	}{
		{name: "not ticked", body: "", wantCode: "InvalidState"},
		{name: "ticked false", body: `{"overrideCoolOff": false}`, wantCode: "InvalidState"},
		{name: "ticked", body: `{"overrideCoolOff": true}`, override: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 5
			g, file := startCoolOffGong(t, "003C", n)
			c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Auth: &Auth{Header: "X-Forwarded-Email"}})
			c.header = http.Header{"X-Forwarded-Email": {"lee@example.com"}}
			run := c.uploadAs(t, "reenroll.csv", file, "ops@example.com")
			before := time.Now()
			status, queued := c.startAs(t, run.ID, "lee@example.com", tt.body)
			if status != 202 {
				t.Fatalf("start: status %d, %+v", status, queued)
			}
			done := c.await(t, run.ID, ended)
			sum := summaryOf(t, done)
			var raw struct {
				OverrideCoolOff bool `json:"overrideCoolOff"`
			}
			_ = json.Unmarshal(done.Summary, &raw)
			if raw.OverrideCoolOff != tt.override {
				t.Errorf("summary overrideCoolOff %v, want %v", raw.OverrideCoolOff, tt.override)
			}
			st := g.emu.Stats()
			if tt.override {
				tick := done.OverrideCoolOff
				if tick == nil || tick.By != "lee@example.com" || tick.At.Before(before.Add(-time.Second)) {
					t.Errorf("run record overrideCoolOff %+v, want ticked by lee@example.com at the start", tick)
				}
				if sum.Assigned != n || sum.Failed != 0 || st.Assign != 0 {
					t.Errorf("assigned %d, failed %d, plain assigns %d; want %d, 0, 0", sum.Assigned, sum.Failed, st.Assign, n)
				}
				return
			}
			if done.OverrideCoolOff != nil {
				t.Errorf("run record overrideCoolOff %+v, want none", done.OverrideCoolOff)
			}
			var page RowPage
			c.getAs(t, "/api/v1/runs/"+run.ID+"/rows?code="+tt.wantCode, &page)
			if sum.Assigned != 0 || page.Total != n {
				t.Errorf("assigned %d, %s %d (by code %v); want 0 and %d", sum.Assigned, tt.wantCode, page.Total, page.ByCode, n)
			}
		})
	}
}

// uploadAs uploads a file as user and wants it checked.
func (c *console) uploadAs(t *testing.T, name, content, user string) store.Run {
	t.Helper()
	body, ctype := form(t, name, []byte(content), nil)
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Forwarded-Email", user)
	var r store.Run
	if res := do(t, req, &r); res.StatusCode != 201 || !r.Plan.Ready() {
		t.Fatalf("upload: status %d, plan %+v", res.StatusCode, r.Plan)
	}
	return r
}

func (c *console) getAs(t *testing.T, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.http.URL+path, nil)
	for k, v := range c.header {
		req.Header[k] = v
	}
	if res := do(t, req, out); res.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", path, res.StatusCode)
	}
}

// TestCoolOffOverrideResumeAndRetry: a resumption continues as the run
// began (an empty body keeps the tick, a different choice is refused with
// 409), and a retry of the run does not inherit the tick.
func TestCoolOffOverrideResumeAndRetry(t *testing.T) {
	sent := make(chan bool, 8)
	pipe := &fakePipeline{
		plan: func(context.Context, worker.PlanSpec) (store.PlanView, error) {
			return store.PlanView{Rows: 1, Valid: 1, Requests: 1, RejectedByCode: map[string]store.RejectedView{}}, nil
		},
		run: func(_ context.Context, s worker.RunSpec, _ worker.Progress) (worker.Result, error) {
			sent <- s.OverrideCoolOff
			// The row left, as the pipeline writes it, for the retry.
			left := "line,crmProspectId,flowId,flowInstanceOwnerEmail,reason\n2,003X,1,a@example.com,Stopped\n"
			if err := os.MkdirAll(s.OutDir, 0o700); err != nil {
				return worker.Result{ExitCode: 1}, err
			}
			if err := os.WriteFile(filepath.Join(s.OutDir, worker.UnprocessedFile), []byte(left), 0o600); err != nil {
				return worker.Result{ExitCode: 1}, err
			}
			return worker.Result{ExitCode: 4, Run: &report.Summary{RowsRead: 1, Counts: report.Counts{Unprocessed: 1}}}, nil
		},
	}
	c := startConsole(t, Config{Pipeline: pipe, Auth: &Auth{Header: "X-Forwarded-Email"}})
	c.header = http.Header{"X-Forwarded-Email": {"ops@example.com"}}
	run := c.uploadAs(t, "reenroll.csv", "Contact ID,Flow ID,Owner Email\n003X,1,a@example.com\n", "ops@example.com")
	steps := []struct {
		name, user, body string
		wantStatus       int
		wantSent         bool // the override the pipeline got
	}{
		{"first start, ticked", "lee@example.com", `{"overrideCoolOff": true}`, 202, true},
		{"resumed with an empty body", "kim@example.com", "", 202, true},
		{"resumed, ticked again", "kim@example.com", `{"overrideCoolOff": true}`, 202, true},
		{"resumed, unticked", "kim@example.com", `{"overrideCoolOff": false}`, 409, false},
		{"not JSON", "kim@example.com", `yes`, 400, false},
	}
	for _, s := range steps {
		status, r := c.startAs(t, run.ID, s.user, s.body)
		if status != s.wantStatus {
			t.Fatalf("%s: status %d, want %d", s.name, status, s.wantStatus)
		}
		if status != 202 {
			continue
		}
		if got := <-sent; got != s.wantSent {
			t.Errorf("%s: the pipeline got overrideCoolOff %v, want %v", s.name, got, s.wantSent)
		}
		if r.OverrideCoolOff == nil || r.OverrideCoolOff.By != "lee@example.com" {
			t.Errorf("%s: overrideCoolOff %+v, want lee's tick kept", s.name, r.OverrideCoolOff)
		}
		c.await(t, run.ID, func(r store.Run) bool { return r.Status == store.StatusFinished })
	}
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs/"+run.ID+"/retry", nil)
	req.Header.Set("X-Forwarded-Email", "kim@example.com")
	var retry store.Run
	if res := do(t, req, &retry); res.StatusCode != 201 || retry.OverrideCoolOff != nil {
		t.Fatalf("retry: status %d, overrideCoolOff %+v, want 201 and none", res.StatusCode, retry.OverrideCoolOff)
	}
	if status, r := c.startAs(t, retry.ID, "kim@example.com", ""); status != 202 || r.OverrideCoolOff != nil {
		t.Fatalf("retry started: status %d, overrideCoolOff %+v", status, r.OverrideCoolOff)
	}
	if <-sent {
		t.Error("the retry was sent with the override nobody ticked for it")
	}
}

// A run stopped while it waited in the queue sent nothing: starting it
// again may choose the other way; a run that began may not.
func TestCoolOffChoiceAfterAStopInTheQueue(t *testing.T) {
	yes, no := true, false
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	queuedOnly := store.Run{Status: store.StatusStopped, OverrideCoolOff: &store.Tick{By: "ana", At: now}}
	if err := chooseCoolOff(&queuedOnly, &no, "ben", now); err != nil {
		t.Errorf("a run stopped in the queue: %v, want the new choice taken", err)
	}
	if queuedOnly.OverrideCoolOff != nil {
		t.Errorf("override %+v after choosing without it, want none", queuedOnly.OverrideCoolOff)
	}
	// The page's "Continue this run" says nothing: the choice made when it
	// was queued stands.
	continued := store.Run{Status: store.StatusStopped, OverrideCoolOff: &store.Tick{By: "ana", At: now}}
	if err := chooseCoolOff(&continued, nil, "ben", now); err != nil || continued.OverrideCoolOff == nil || continued.OverrideCoolOff.By != "ana" {
		t.Errorf("continued with no choice: %v, override %+v, want ana's kept", err, continued.OverrideCoolOff)
	}
	began := store.Run{Status: store.StatusStopped, StartedAt: now, OverrideCoolOff: &store.Tick{By: "ana", At: now}}
	if err := chooseCoolOff(&began, &no, "ben", now); err == nil {
		t.Error("a run that began with the override continued without it, want it refused")
	}
	if err := chooseCoolOff(&began, &yes, "ben", now); err != nil || began.OverrideCoolOff.By != "ana" {
		t.Errorf("continuing as it began: %v, ticked by %+v, want ana's tick kept", err, began.OverrideCoolOff)
	}
}
