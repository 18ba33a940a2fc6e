package console

import (
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/xuri/excelize/v2"
	"golang.org/x/crypto/bcrypt"
)

// usersFile is an htpasswd file with one user, ops:s3cret.
func usersFile(t *testing.T) map[string][]byte {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// htpasswd -B writes $2y$: the same algorithm under another name.
	line := "# the console's users\nops:$2y$" + string(hash[4:]) + "\n"
	users, err := ParseUsers(strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func TestRequests(t *testing.T) {
	g := startGong(t)
	basic := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Auth: &Auth{Users: usersFile(t)}, MaxUpload: 4 << 10})
	proxied := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Auth: &Auth{Header: "X-Forwarded-Email"}})
	open := startConsole(t, Config{Pipeline: g.pipeline(t, 200), MaxUpload: 4 << 10, MaxRows: 5})

	upload := func(name, content string) func(*testing.T, *console) *http.Request {
		return func(t *testing.T, c *console) *http.Request {
			body, ctype := form(t, name, []byte(content), nil)
			req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs", body)
			req.Header.Set("Content-Type", ctype)
			return req
		}
	}
	get := func(path string) func(*testing.T, *console) *http.Request {
		return func(t *testing.T, c *console) *http.Request {
			req, _ := http.NewRequest("GET", c.http.URL+path, nil)
			return req
		}
	}
	with := func(mk func(*testing.T, *console) *http.Request, f func(*http.Request)) func(*testing.T, *console) *http.Request {
		return func(t *testing.T, c *console) *http.Request {
			req := mk(t, c)
			f(req)
			return req
		}
	}
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
	tests := []struct {
		name    string
		console *console
		req     func(*testing.T, *console) *http.Request
		status  int
		errText string // a part of the error message, if any
	}{
		{"no sign-in", basic, get("/api/v1/runs"), 401, "Sign in"},
		{"wrong password", basic, with(get("/api/v1/runs"), func(r *http.Request) { r.SetBasicAuth("ops", "guess") }), 401, "Sign in"},
		{"unknown user", basic, with(get("/api/v1/runs"), func(r *http.Request) { r.SetBasicAuth("eve", "s3cret") }), 401, "Sign in"},
		{"signed in", basic, with(get("/api/v1/runs"), func(r *http.Request) { r.SetBasicAuth("ops", "s3cret") }), 200, ""},
		{"the page needs sign-in too", basic, get("/"), 401, ""},
		{"probes need none", basic, get("/healthz"), 200, ""},
		{"proxy header missing", proxied, get("/api/v1/runs"), 401, "Sign in"},
		{"proxy header", proxied, with(get("/api/v1/runs"), func(r *http.Request) { r.Header.Set("X-Forwarded-Email", "ops@example.com") }), 200, ""},
		{"loopback needs no sign-in", open, get("/api/v1/runs"), 200, ""},
		{"cross-site POST", open, with(upload("p.csv", prospectsCSV("003A", 3)), func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }), 403, "another site"},
		{"cross-origin POST", open, with(upload("p.csv", prospectsCSV("003A", 3)), func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }), 403, "another site"},
		{"cross-site POST, signed in", basic, with(upload("p.csv", prospectsCSV("003A", 3)), func(r *http.Request) {
			r.SetBasicAuth("ops", "s3cret")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		}), 403, "another site"},
		{"same-origin POST", open, with(upload("p.csv", prospectsCSV("003A", 3)), func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-origin") }), 201, ""},
		{"unknown run", open, get("/api/v1/runs/20260101-000000-abcdef"), 404, "no run"},
		{"not a run ID", open, get("/api/v1/runs/..%2F..%2Fetc"), 404, "no run"},
		{"unknown run's file", open, get("/api/v1/runs/20260101-000000-abcdef/files/failed.csv"), 404, "no run"},
		{"unknown API path", open, get("/api/v1/nothing"), 404, "No such"},
		{"too large", open, upload("big.csv", prospectsCSV("003A", 200)), 413, "larger than this console takes (4096 bytes)"},
		{"not CSV", open, upload("picture.png", png), 400, "not a CSV file or an Excel workbook"},
		{"broken workbook", open, upload("book.xlsx", "PK\x03\x04 not really a zip"), 400, "not an Excel workbook (.xlsx), or a damaged one"},
		{"no file", open, upload("", ""), 400, "No file"},
		{"too many rows", open, upload("p.csv", prospectsCSV("003A", 6)), 400, "at most 5"},
		{"not multipart", open, func(t *testing.T, c *console) *http.Request {
			req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs", strings.NewReader("a,b\n"))
			req.Header.Set("Content-Type", "text/csv")
			return req
		}, 400, "multipart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answer struct{ Error string }
			res := do(t, tt.req(t, tt.console), &answer)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%q)", res.StatusCode, tt.status, answer.Error)
			}
			if !strings.Contains(answer.Error, tt.errText) {
				t.Errorf("error %q, want it to say %q", answer.Error, tt.errText)
			}
			if res.StatusCode == 401 && tt.console == basic && res.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate: a browser would not ask for the password")
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestUploadIsChecked(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Auth: &Auth{Header: "X-Forwarded-Email"}})
	file := prospectsCSV("003A", 4) + "003B00001,1.69549E+18,ava.reyes@example.com,X\n" + "003B00002,1695493301223590792,not-an-email,Y\n"
	body, ctype := form(t, "export.csv", []byte(file), nil)
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Forwarded-Email", "ops@example.com")
	var run store.Run
	if res := do(t, req, &run); res.StatusCode != 201 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if run.Status != store.StatusChecked || run.CreatedBy != "ops@example.com" || run.File != "export.csv" {
		t.Errorf("run %+v", run)
	}
	want := store.PlanView{
		Rows: 6, Valid: 4, Rejected: 2, Requests: 3, Checked: true,
		RejectedByCode: map[string]store.RejectedView{
			"ScientificNotation": {Rows: 1, Fix: fixFor("ScientificNotation"), First: []store.RowRef{{Line: 6, CRMProspectID: "003B00001", FlowID: "1.69549E+18", Owner: ava, Stage: "input", Code: "ScientificNotation", FixColumn: "flowId"}},
				Fixes: []store.FixGroup{{Column: "flowId", Value: "1.69549E+18", Rows: 1, Owner: ava}}},
			"InvalidEmail": {Rows: 1, Fix: fixFor("InvalidEmail"), First: []store.RowRef{{Line: 7, CRMProspectID: "003B00002", FlowID: flowSDR, Owner: "not-an-email", Stage: "input", Code: "InvalidEmail", FixColumn: "flowInstanceOwnerEmail"}},
				Fixes: []store.FixGroup{{Column: "flowInstanceOwnerEmail", Value: "not-an-email", Rows: 1}}},
		},
		Groups:   []store.PlanGroup{{FlowID: flowSDR, Owner: ava, Rows: 2, Requests: 1}, {FlowID: flowWebinar, Owner: chloe, Rows: 1, Requests: 1}, {FlowID: flowDemo, Owner: dan, Rows: 1, Requests: 1}},
		Estimate: &store.Estimate{Seconds: 1, Rate: 3, DailyQuota: 10000, Today: 3, Days: 1},
	}
	ignoreMessages := cmpopts.IgnoreFields(store.RejectedView{}, "Example")
	ignoreRowMessages := cmpopts.IgnoreFields(store.RowRef{}, "Message")
	if diff := cmp.Diff(want, *run.Plan, ignoreMessages, ignoreRowMessages); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	msg := run.Plan.RejectedByCode["ScientificNotation"].First[0].Message
	if !strings.HasPrefix(msg, "export.csv:6: ") {
		t.Errorf("the message names %q, not the uploaded file: %q", msg, msg)
	}
	if g.emu.Stats().Assign != 0 {
		t.Error("a check sent an assign request")
	}
}

func TestMapAColumnAndCheckAgain(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	file := strings.Replace(prospectsCSV("003A", 3), "Owner Email", "Account Exec", 1)
	status, run := c.upload(t, "export.csv", file, nil)
	if status != 201 {
		t.Fatalf("status %d", status)
	}
	want := &store.ColumnProblem{Missing: []string{"flowInstanceOwnerEmail"}, Found: []string{"Contact ID", "Flow ID", "Account Exec", "First Name"}}
	if diff := cmp.Diff(want, run.Plan.Columns); diff != "" {
		t.Fatalf("columns (-want +got):\n%s", diff)
	}
	if status, _ := c.post(t, "/api/v1/runs/"+run.ID+"/start"); status != 409 {
		t.Errorf("start with a column missing: status %d, want 409", status)
	}
	body, ctype := form(t, "", nil, map[string]string{"map": "flowInstanceOwnerEmail=Account Exec"})
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs/"+run.ID+"/check", body)
	req.Header.Set("Content-Type", ctype)
	var again store.Run
	if res := do(t, req, &again); res.StatusCode != 200 {
		t.Fatalf("check again: status %d", res.StatusCode)
	}
	if again.Plan.Columns != nil || again.Plan.Valid != 3 || again.Options.Map["flowInstanceOwnerEmail"] != "Account Exec" {
		t.Errorf("after mapping: plan %+v, options %+v", again.Plan, again.Options)
	}
}

func TestWorkbookUpload(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	x := excelize.NewFile()
	rows := [][]any{
		{"Contact ID", "Flow ID", "Owner Email"},
		{"003A00001", flowSDR, ava},                 // IDs stored as text
		{"003A00002", 1.695493301223590792e18, ava}, // a flow ID stored as a number
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := x.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	status, run := c.upload(t, "export.xlsx", buf.String(), nil)
	if status != 201 {
		t.Fatalf("status %d", status)
	}
	if !run.Converted || run.Plan.Rows != 2 || run.Plan.Valid != 1 {
		t.Fatalf("plan %+v", run.Plan)
	}
	// The workbook stores the ID as a number, which Excel has rounded (and
	// shows as 1.69549E+18): the cell is refused.
	if run.Plan.Rejected != 1 || run.Plan.RejectedByCode["RoundedNumber"].Rows != 1 {
		t.Errorf("the number-stored flow ID was not caught: %+v", run.Plan.RejectedByCode)
	}
}

func TestStartToFinishAndResults(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	file := prospectsCSV("003A", 6) + "003B00001,1.69549E+18,ava.reyes@example.com,X\n"
	_, run := c.upload(t, "export.csv", file, nil)
	status, queued := c.post(t, "/api/v1/runs/"+run.ID+"/start")
	if status != 202 || (queued.Status != store.StatusQueued && queued.Status != store.StatusRunning) || queued.StartedBy != LocalUser {
		t.Fatalf("start: status %d, run %+v", status, queued)
	}
	done := c.await(t, run.ID, ended)
	if done.Status != store.StatusFinished || done.ExitCode == nil || *done.ExitCode != 3 {
		t.Fatalf("run ended %s, exit %v, error %q", done.Status, done.ExitCode, done.Error)
	}
	sum := summaryOf(t, done)
	if sum.RowsRead != 7 || sum.Assigned != 6 || sum.Failed != 1 || sum.Unprocessed != 0 {
		t.Errorf("summary %+v", sum)
	}
	if status, _ := c.post(t, "/api/v1/runs/"+run.ID+"/start"); status != 409 {
		t.Errorf("a finished run started again: status %d", status)
	}

	assigned := download(t, c, run.ID, "assigned.csv")
	recs, err := csv.NewReader(strings.NewReader(assigned)).ReadAll()
	if err != nil || len(recs) != 7 {
		t.Fatalf("assigned.csv: %d records, %v", len(recs), err)
	}
	var page RowPage
	c.get(t, "/api/v1/runs/"+run.ID+"/rows?code=ScientificNotation", &page)
	if page.Total != 1 || page.ByCode["ScientificNotation"] != 1 || page.Rows[0].Line != 8 {
		t.Errorf("failed rows %+v", page)
	}

	x, err := excelize.OpenReader(strings.NewReader(download(t, c, run.ID, "results.xlsx")))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if diff := cmp.Diff([]string{"assigned", "failed", "unprocessed"}, x.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	flow, _ := x.GetCellValue("failed", "C2")
	typ, _ := x.GetCellType("failed", "C2")
	if flow != "1.69549E+18" || typ != excelize.CellTypeInlineString {
		t.Errorf("failed!C2 = %q of type %v, want the ID as text", flow, typ)
	}
	cols, _ := x.GetCols("assigned")
	ids := slices.Sorted(slices.Values(cols[1][1:]))
	if want := []string{"003A00000", "003A00001", "003A00002", "003A00003", "003A00004", "003A00005"}; !slices.Equal(ids, want) {
		t.Errorf("assigned crmProspectId column %q, want %q", ids, want)
	}
	var list struct{ Runs []store.Run }
	c.get(t, "/api/v1/runs", &list)
	if len(list.Runs) != 1 || list.Runs[0].StartedBy != LocalUser || list.Runs[0].CreatedBy != LocalUser {
		t.Errorf("runs %+v", list.Runs)
	}
}

func download(t *testing.T, c *console, id, name string) string {
	t.Helper()
	res, err := http.Get(c.http.URL + "/api/v1/runs/" + id + "/files/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("%s: status %d, disposition %q: %s", name, res.StatusCode, res.Header.Get("Content-Disposition"), b)
	}
	return string(b)
}
