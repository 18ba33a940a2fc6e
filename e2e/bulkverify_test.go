package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/reconcile"
)

// peopleFile is n people without a CRM ID (First Name, Last Name, Email,
// Company; flowWebinar, Ben) and, after them, k rows by CRM ID (flowSDR,
// Ava).
func peopleFile(t *testing.T, n, k int) string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"crmProspectId", "flowId", "flowInstanceOwnerEmail", "First Name", "Last Name", "Email", "Company"})
	for i := range n {
		w.Write([]string{"", flowWebinar, ben, "Pat", fmt.Sprintf("Guest%d", i), fmt.Sprintf("guest%d@verify.example.org", i), "Acme"})
	}
	for i := range k {
		w.Write([]string{fmt.Sprintf("VER%04d", i), flowSDR, ava, "", "", "", ""})
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "webinar.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// askGong sends one request to the emulator as another Gong client would
// (a person in Gong's own screens), outside the run.
func askGong(t *testing.T, sc *scenario, path string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, sc.gong.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(accessKey, accessSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", path, res.StatusCode)
	}
}

// TestVerifyPeopleWithoutCRMID runs a file of people without a CRM ID
// (bulk assignments), then, after Gong changed some of them, `verify`:
// each person is read back by the crmProspectId Gong returned and judged
// by the flowInstanceId Gong returned, as a row by CRM ID is.
func TestVerifyPeopleWithoutCRMID(t *testing.T) {
	t.Parallel()
	const n, k = 60, 3
	cfg := gongConfig(nil)
	cfg.BulkPolls = 1
	sc := newScenarioOf(t, prospectsFile{}, cfg, nil)
	sc.in = peopleFile(t, n, k)
	if r := sc.run(t, trigger{}, "--chunk-size", "200"); r.exit != 0 {
		t.Fatalf("run: %v, want exit 0: %s", r, r.lastLine())
	}
	assigned := readTable(t, filepath.Join(sc.out, "assigned.csv"))
	if len(assigned) != n+k {
		t.Fatalf("assigned.csv: %d rows, want %d", len(assigned), n+k)
	}
	byLine := map[string]map[string]string{}
	for _, a := range assigned {
		if a["crmProspectId"] == "" || a["flowInstanceId"] == "" {
			t.Fatalf("assigned row without Gong's crmProspectId or flowInstanceId: %v", a)
		}
		byLine[a["line"]] = a
	}
	// In Gong meanwhile: person 0's instance ended; person 1 removed and
	// enrolled again in the same flow (another instance); person 2 removed
	// and enrolled in another flow. Lines: the header is line 1.
	ended, again, moved := byLine["2"], byLine["3"], byLine["4"]
	askGong(t, sc, gong.PathUnassignByInstanceIDs, gong.UnassignByInstanceIDsRequest{FlowInstanceIDs: []string{ended["flowInstanceId"], again["flowInstanceId"], moved["flowInstanceId"]}})
	askGong(t, sc, gong.PathAssign, gong.AssignRequest{CRMProspectsIDs: []string{again["crmProspectId"]}, FlowID: flowWebinar, FlowInstanceOwnerEmail: ben})
	askGong(t, sc, gong.PathAssign, gong.AssignRequest{CRMProspectsIDs: []string{moved["crmProspectId"]}, FlowID: flowDemo, FlowInstanceOwnerEmail: ben})

	sc.verify(t)
	rows := readTable(t, filepath.Join(sc.out, reconcile.VerifyFile))
	if len(rows) != n+k {
		t.Fatalf("verify.csv: %d rows, want %d (every assigned row, people included)", len(rows), n+k)
	}
	want := map[string]string{"2": reconcile.StateNoLongerOpen, "3": reconcile.StateOpenAsAnotherInstance, "4": reconcile.StateOpenInAnotherFlow}
	wrong := 0
	for _, v := range rows {
		a := byLine[v["line"]]
		w := want[v["line"]]
		if w == "" {
			w = reconcile.StateOpen
		}
		if a == nil || v["crmProspectId"] != a["crmProspectId"] || v["flowInstanceId"] != a["flowInstanceId"] || v["state"] != w {
			wrong++
			if wrong <= 5 {
				t.Errorf("verify.csv line %s: crmProspectId %q, instance %q, state %q; want %q, %q, %q",
					v["line"], v["crmProspectId"], v["flowInstanceId"], v["state"], a["crmProspectId"], a["flowInstanceId"], w)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d rows of verify.csv wrong", wrong, len(rows))
	}
}
