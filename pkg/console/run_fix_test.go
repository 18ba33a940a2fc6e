package console

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/console/store"
)

// messyCSV is an export that needs fixes: a misspelled flow on two rows,
// owners by name (one who is no Gong user), a row without its CRM ID.
const messyCSV = "Contact ID,Flow,Owner,First Name\n" +
	"003FIX0000000001,SDR Outbond Q3,Ava Reyes,Ann\n" + // 2
	"003FIX0000000002,SDR Outbond Q3,Ava Reyes,Bob\n" + // 3
	"003FIX0000000003,SDR Outbound Q3,Ava Reyes,Cid\n" + // 4
	",SDR Outbound Q3,Ava Reyes,Dee\n" + // 5
	"003FIX0000000005,SDR Outbound Q3,Nobody Here,Eve\n" // 6

func (c *console) fix(t *testing.T, id, body string) (int, store.Run) {
	t.Helper()
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs/"+id+"/fix", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	var r store.Run
	res := do(t, req, &r)
	return res.StatusCode, r
}

func TestFixInPlace(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	status, run := c.upload(t, "leads.csv", messyCSV, nil)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %+v", status, run)
	}
	if run.Plan.Valid != 1 || run.Plan.RejectedByCode["FlowNameNotFound"].Rows != 2 {
		t.Fatalf("plan before fixes: %+v", run.Plan)
	}
	steps := []struct {
		name, body string
		status     int
		valid      int
		gone       string // a code no row has any more
	}{
		{"a line that is no row", `{"set": {"crmProspectId": "003FIX0000000009"}, "lines": [40]}`, 400, 1, ""},
		{"two columns at once", `{"set": {"crmProspectId": "1", "flowId": "2"}, "lines": [2]}`, 400, 1, ""},
		{"a flow by name, by code and value", `{"set": {"flowId": "SDR Outbound Q3"}, "code": "FlowNameNotFound", "from": "SDR Outbond Q3"}`, 200, 3, "FlowNameNotFound"},
		{"a CRM ID by line", `{"set": {"crmProspectId": "003FIX0000000004"}, "lines": [5]}`, 200, 4, "MissingValue"},
		{"an owner no one is called", `{"set": {"flowInstanceOwnerEmail": "Nobody Else"}, "code": "OwnerNotFound"}`, 400, 4, ""},
		{"an owner by name, by code", `{"set": {"flowInstanceOwnerEmail": "Ava Reyes"}, "code": "OwnerNotFound"}`, 200, 5, "OwnerNotFound"},
	}
	for _, s := range steps {
		status, got := c.fix(t, run.ID, s.body)
		if status != s.status {
			t.Fatalf("%s: status %d, want %d: %+v", s.name, status, s.status, got)
		}
		if status != 200 {
			continue
		}
		if got.Plan.Valid != s.valid {
			t.Fatalf("%s: %d valid rows, want %d: %+v", s.name, got.Plan.Valid, s.valid, got.Plan.RejectedByCode)
		}
		if _, left := got.Plan.RejectedByCode[s.gone]; left {
			t.Fatalf("%s: rows still rejected with %s", s.name, s.gone)
		}
	}
	dir := c.srv.st.RunDir(run.ID)
	if up, _ := os.ReadFile(filepath.Join(dir, "upload.csv")); string(up) != messyCSV {
		t.Fatalf("the upload was changed:\n%s", up)
	}
	fixes, err := c.srv.st.Fixes(run.ID)
	if err != nil || len(fixes) != 3 || fixes[0].By != LocalUser || fixes[0].At.IsZero() || len(fixes[0].Lines) != 2 {
		t.Fatalf("fixes kept: %+v, %v", fixes, err)
	}

	if status, r := c.post(t, "/api/v1/runs/"+run.ID+"/start"); status != http.StatusAccepted {
		t.Fatalf("start: %d %+v", status, r)
	}
	done := c.await(t, run.ID, ended)
	if sum := summaryOf(t, done); sum.Assigned != 5 {
		t.Fatalf("after the fixes: %+v", sum)
	}
	var assigned bytes.Buffer
	req, _ := http.NewRequest("GET", c.http.URL+"/api/v1/runs/"+run.ID+"/files/assigned.csv", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = assigned.ReadFrom(res.Body)
	res.Body.Close()
	recs, err := csv.NewReader(&assigned).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]string{}
	for _, rec := range recs[1:] {
		sent[rec[0]] = rec[1] + " " + rec[3]
	}
	if sent["5"] != "003FIX0000000004 "+ava || sent["6"] != "003FIX0000000005 "+ava {
		t.Fatalf("assigned.csv does not show the values sent: %v", sent)
	}

	if status, _ := c.fix(t, run.ID, `{"set": {"crmProspectId": "003FIX0000000009"}, "lines": [2]}`); status != http.StatusConflict {
		t.Fatalf("a fix after the start: %d, want 409", status)
	}
}

func TestFixNeedsSignIn(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Auth: &Auth{Users: usersFile(t)}})
	if status, _ := c.fix(t, "20261206-230511-bb02b3", `{"set": {"crmProspectId": "1"}, "lines": [2]}`); status != http.StatusUnauthorized {
		t.Fatalf("unauthenticated fix: %d, want 401", status)
	}
}

func TestFixGroups(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	_, run := c.upload(t, "leads.csv", messyCSV, nil)
	got := run.Plan.RejectedByCode["FlowNameNotFound"].Fixes
	if len(got) != 1 || got[0].Rows != 2 || got[0].Value != "SDR Outbond Q3" || got[0].Suggest == nil || got[0].Suggest.ID != flowSDR {
		t.Fatalf("FlowNameNotFound's fixes: %+v", got)
	}
	if got := run.Plan.RejectedByCode["MissingValue"].Fixes; len(got) != 1 || got[0].Column != "crmProspectId" {
		t.Fatalf("MissingValue's fixes: %+v", got)
	}
}

// A column taken as the CRM ID or the owner that holds something else is
// said before Start.
func TestMappingWarnings(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	for _, tc := range []struct {
		name, file, want string
	}{
		{"emails as CRM IDs", "Contact ID,Flow ID,Owner Email\njo@acme.com," + flowSDR + "," + ava + "\nal@acme.com," + flowSDR + "," + ava + "\n", "holds email addresses"},
		{"dates as CRM IDs", "Contact ID,Flow ID,Owner Email\n2026-01-02," + flowSDR + "," + ava + "\n2026-01-03," + flowSDR + "," + ava + "\n", "holds dates"},
		{"names as CRM IDs", "Contact ID,Flow ID,Owner Email\nJo Smith," + flowSDR + "," + ava + "\nAl Jones," + flowSDR + "," + ava + "\n", "holds people's names"},
		{"IDs as owners", "Contact ID,Flow ID,Owner\n003A1," + flowSDR + ",0055e000001\n003A2," + flowSDR + ",0055e000002\n", "neither emails nor names"},
		{"a good file", prospectsCSV("003A", 4), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, run := c.upload(t, "leads.csv", tc.file, nil)
			got := strings.Join(run.Plan.Warnings, " ")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}
