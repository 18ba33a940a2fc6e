package console

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// pickerAnswer is the answer of GET /api/v1/users or /api/v1/flows.
type pickerAnswer struct {
	Users []worker.Person
	Owner string
	Flows []store.FlowChoice
	Error string
}

func TestPickers(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	flow := func(id, name, folder, vis string) store.FlowChoice {
		return store.FlowChoice{ID: id, Name: name, Folder: folder, Visibility: vis}
	}
	tests := []struct {
		name     string
		path     string
		status   int
		want     pickerAnswer
		requests emulator.Stats // the listings it sends to Gong
	}{
		{"the active users", "/api/v1/users", 200, pickerAnswer{Users: []worker.Person{
			{Name: "Ava Reyes", Email: ava}, {Name: "Ben Okafor", Email: "ben.okafor@example.com"}, {Name: "Chloé Martin", Email: chloe}, {Name: "Dan Kowalski", Email: dan},
			{Name: "Zoë Müller", Email: "zoe.mueller@example.com"}, {Name: "Zoë Müller", Email: "zoe.muller@example.com"},
		}}, emulator.Stats{ListUsers: 1}},
		{"kept: no second request", "/api/v1/users", 200, pickerAnswer{Users: []worker.Person{
			{Name: "Ava Reyes", Email: ava}, {Name: "Ben Okafor", Email: "ben.okafor@example.com"}, {Name: "Chloé Martin", Email: chloe}, {Name: "Dan Kowalski", Email: dan},
			{Name: "Zoë Müller", Email: "zoe.mueller@example.com"}, {Name: "Zoë Müller", Email: "zoe.muller@example.com"},
		}}, emulator.Stats{}},
		{"the flows an owner sees", "/api/v1/flows?owner=" + ava, 200, pickerAnswer{Owner: ava, Flows: []store.FlowChoice{
			flow(flowDemo, "Inbound Demo Request", "Inbound", "Company"),
			flow(flowWebinar, "Webinar Follow-up", "Inbound", "Company"),
			flow("1695493301223590801", "Enterprise Nurture (exclusive)", "Outbound", "Company"),
			flow("1711046208531772904", "Renewal Check-in", "Outbound", "Shared"),
			flow(flowSDR, "SDR Outbound Q3", "Outbound", "Company"),
		}}, emulator.Stats{ListFlows: 1}},
		{"another owner's flows are listed apart", "/api/v1/flows?owner=ben.okafor@example.com", 200, pickerAnswer{Owner: "ben.okafor@example.com", Flows: []store.FlowChoice{
			flow(flowDemo, "Inbound Demo Request", "Inbound", "Company"),
			flow(flowWebinar, "Webinar Follow-up", "Inbound", "Company"),
			flow("1702318845120411245", "Webinar Follow-up", "Inbound", "Personal"),
			flow("1695493301223590801", "Enterprise Nurture (exclusive)", "Outbound", "Company"),
			flow(flowSDR, "SDR Outbound Q3", "Outbound", "Company"),
		}}, emulator.Stats{ListFlows: 1}},
		{"an owner's flows are kept", "/api/v1/flows?owner=" + strings.ToUpper(ava[:1]) + ava[1:], 200, pickerAnswer{Owner: "A" + ava[1:], Flows: []store.FlowChoice{
			flow(flowDemo, "Inbound Demo Request", "Inbound", "Company"),
			flow(flowWebinar, "Webinar Follow-up", "Inbound", "Company"),
			flow("1695493301223590801", "Enterprise Nurture (exclusive)", "Outbound", "Company"),
			flow("1711046208531772904", "Renewal Check-in", "Outbound", "Shared"),
			flow(flowSDR, "SDR Outbound Q3", "Outbound", "Company"),
		}}, emulator.Stats{}},
		{"no owner: Gong is not asked", "/api/v1/flows", 400, pickerAnswer{Error: "owner's email address"}, emulator.Stats{}},
		{"an owner Gong does not know", "/api/v1/flows?owner=nobody@example.com", 400, pickerAnswer{Error: "not a Gong user"}, emulator.Stats{ListFlows: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := g.emu.Stats()
			var got pickerAnswer
			if status := c.get(t, tt.path, &got); status != tt.status {
				t.Fatalf("status %d, want %d (%q)", status, tt.status, got.Error)
			}
			if !strings.Contains(got.Error, tt.want.Error) {
				t.Errorf("error %q, want it to say %q", got.Error, tt.want.Error)
			}
			got.Error, tt.want.Error = "", ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			after := g.emu.Stats()
			sent := emulator.Stats{ListUsers: after.ListUsers - before.ListUsers, ListFlows: after.ListFlows - before.ListFlows}
			if diff := cmp.Diff(tt.requests, sent); diff != "" {
				t.Errorf("listings sent to Gong (-want +got):\n%s", diff)
			}
		})
	}
	c.srv.metrics.mu.Lock()
	defer c.srv.metrics.mu.Unlock()
	if c.srv.metrics.sent != 4 {
		t.Errorf("flowenroll_console_requests_total %v, want the 4 listings", c.srv.metrics.sent)
	}
}

// A listing is kept ten minutes, then asked again.
func TestPickersListingExpires(t *testing.T) {
	g := startGong(t)
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Now: clock})
	for i, step := range []struct {
		later time.Duration
		asks  int // GET /v2/users sent so far
	}{{0, 1}, {9 * time.Minute, 1}, {2 * time.Minute, 2}, {time.Minute, 2}} {
		mu.Lock()
		now = now.Add(step.later)
		mu.Unlock()
		var got pickerAnswer
		if status := c.get(t, "/api/v1/users", &got); status != 200 || len(got.Users) != 6 {
			t.Fatalf("call %d: status %d, %d users (%q)", i, status, len(got.Users), got.Error)
		}
		if n := g.emu.Stats().ListUsers; n != step.asks {
			t.Errorf("call %d, %v later: Gong was asked %d times, want %d", i, step.later, n, step.asks)
		}
	}
}

// Gong refusing, or out of reach, is a 503 that says so; a refusal is kept
// for a minute, so a page asking again and again sends one request.
func TestPickersWhenGongRefuses(t *testing.T) {
	g := startGong(t)
	wrongKey := g.pipeline(t, 200)
	wrongKey.Client = clientFor(t, g.url, "key", "wrong")
	noScope, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(), AccessKey: "key", AccessKeySecret: "secret", Logger: zap.NewNop(),
		Hook: func(op string, _ []byte) (int, bool) {
			return http.StatusForbidden, op == emulator.OpListUsers || op == emulator.OpListFlows
		}})
	if err != nil {
		t.Fatal(err)
	}
	forbidden := &gongStub{emu: noScope, url: serve(t, noScope)}
	gone := g.pipeline(t, 200)
	gone.Client = clientFor(t, "http://127.0.0.1:1", "key", "secret")
	gone.MaxRetryTime = time.Second

	tests := []struct {
		name string
		pipe *worker.EnrollPipeline
		path string
		want string
	}{
		{"wrong credentials", wrongKey, "/api/v1/users", "credentials are wrong, or lack the scope api:users:read"},
		{"no users scope", forbidden.pipeline(t, 200), "/api/v1/users", "or lack the scope api:users:read"},
		{"no flows scope", forbidden.pipeline(t, 200), "/api/v1/flows?owner=" + ava, "or lack the scope api:flows:read"},
		{"unreachable", gone, "/api/v1/users", "cannot be reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startConsole(t, Config{Pipeline: tt.pipe})
			for i := range 2 {
				var got pickerAnswer
				if status := c.get(t, tt.path, &got); status != 503 || !strings.Contains(got.Error, tt.want) {
					t.Fatalf("call %d: status %d %q, want 503 saying %q", i, status, got.Error, tt.want)
				}
			}
		})
	}
	if n := noScope.Stats().ListUsers; n != 1 {
		t.Errorf("a refused listing was not kept: Gong was asked %d times, want 1", n)
	}
}

// A file without flow and owner columns is checked again with the pickers'
// choices: every row then goes to that flow and owner.
func TestFlowAndOwnerForTheWholeFile(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	status, run := c.upload(t, "contacts.csv", "Contact ID,First Name\n003A00001,Ann\n003A00002,Bo\n003A00003,\n", nil)
	if status != 201 {
		t.Fatalf("status %d", status)
	}
	want := &store.ColumnProblem{Missing: []string{"flowId", "flowInstanceOwnerEmail"}, Found: []string{"Contact ID", "First Name"}}
	if diff := cmp.Diff(want, run.Plan.Columns); diff != "" {
		t.Fatalf("columns (-want +got):\n%s", diff)
	}
	body, ctype := form(t, "", nil, map[string]string{"flow": flowSDR, "owner": ava})
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs/"+run.ID+"/check", body)
	req.Header.Set("Content-Type", ctype)
	var again store.Run
	if res := do(t, req, &again); res.StatusCode != 200 {
		t.Fatalf("check again: status %d", res.StatusCode)
	}
	if diff := cmp.Diff(store.Options{Flow: flowSDR, Owner: ava}, again.Options); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]store.PlanGroup{{FlowID: flowSDR, Owner: ava, Rows: 3, Requests: 1}}, again.Plan.Groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if again.Plan.Columns != nil || again.Plan.Valid != 3 || again.Plan.Rejected != 0 || !again.Plan.Ready() {
		t.Fatalf("plan %+v", again.Plan)
	}
	if status, _ := c.post(t, "/api/v1/runs/"+run.ID+"/start"); status != 202 {
		t.Fatalf("start: status %d", status)
	}
	done := c.await(t, run.ID, ended)
	if sum := summaryOf(t, done); done.ExitCode == nil || *done.ExitCode != 0 || sum.Assigned != 3 {
		t.Errorf("run ended exit %v, summary %+v", done.ExitCode, sum)
	}
	for _, in := range g.emu.Created() {
		if in.FlowID != flowSDR || in.FlowInstanceOwnerEmail != ava {
			t.Errorf("instance %+v, want every row in %s owned by %s", in, flowSDR, ava)
		}
	}
}
