package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outdir"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// The undo scenarios' flows and instances beyond the suite's.
const (
	flowRenewal = "1711046208531772904" // Renewal Check-in, chloe's, shared with ava
	wantInFlow  = "failed:api/InvalidState"
)

// undoBefore are the instances open before the run: OLD1 in a flow its row
// names (the row fails, already in flow), U001 in another flow, XTRA1 whom
// the input does not name. Undo must leave all three.
var undoBefore = []emulator.AssignedFlow{
	{FlowID: flowSDR, CRMProspectID: "OLD1", FlowInstanceOwnerEmail: ava, FlowInstanceID: "9100000000000000001"},
	{FlowID: flowRenewal, CRMProspectID: "U001", FlowInstanceOwnerEmail: chloe, FlowInstanceID: "9100000000000000002"},
	{FlowID: flowDemo, CRMProspectID: "XTRA1", FlowInstanceOwnerEmail: dan, FlowInstanceID: "9100000000000000003"},
}

// newUndoScenario: 60 prospects, each in one of the suite's flows, and
// OLD1's row; rec, if given, sees every request that reaches Gong.
func newUndoScenario(t *testing.T, rec *unassignLog) *scenario {
	t.Helper()
	var rows []inputRow
	flows, owners := []string{flowSDR, flowWebinar, flowDemo}, []string{ava, ben, dan}
	for i := range 60 {
		rows = append(rows, inputRow{id: fmt.Sprintf("U%03d", i), flow: flows[i%3], owner: owners[(i/3)%3], want: wantAssigned})
	}
	rows = append(rows, inputRow{id: "OLD1", flow: flowSDR, owner: ava, want: wantInFlow})
	cfg := gongConfig(nil)
	cfg.Fixture.Existing = undoBefore
	var wrap func(http.Handler) http.Handler
	if rec != nil {
		wrap = func(h http.Handler) http.Handler { rec.next = h; return rec }
	}
	return newScenarioOf(t, prospectsFile{rows: rows}, cfg, wrap)
}

// exec runs flowenroll with args (a subcommand and its flags) against the
// scenario's Gong, with the trigger armed, like run.
func (sc *scenario) exec(t *testing.T, trig trigger, args ...string) runRecord {
	t.Helper()
	sc.gong.quiesce()
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GONG_BASE_URL=" + sc.gong.srv.URL, "GONG_ACCESS_KEY=" + accessKey, "GONG_ACCESS_KEY_SECRET=" + accessSecret,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	sc.faults.arm(trig)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc.faults.started(cmd.Process)
	err := cmd.Wait()
	rec := runRecord{args: args, exit: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("waiting for flowenroll: %v", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		rec.signal = ws.Signal()
	}
	sc.gong.quiesce()
	rec.requests, rec.fired = sc.faults.disarm()
	sc.runs = append(sc.runs, rec)
	if strings.Contains(rec.stderr, "WARNING: DATA RACE") {
		t.Errorf("%s: the race detector found a data race", args[0])
	}
	return rec
}

func (sc *scenario) undo(t *testing.T, trig trigger, extra ...string) runRecord {
	t.Helper()
	return sc.exec(t, trig, append([]string{"undo", "--out", sc.out, "--rate", "1000", "--log-format", "json"}, extra...)...)
}

func (sc *scenario) verify(t *testing.T) map[string]string {
	t.Helper()
	r := sc.exec(t, trigger{}, "verify", "--out", sc.out, "--rate", "1000", "--log-format", "json")
	if r.exit != 0 {
		t.Fatalf("verify: %v\n%s", r, r.stderr)
	}
	states := map[string]string{}
	for _, row := range readTable(t, filepath.Join(sc.out, "verify.csv")) {
		states[row["flowInstanceId"]] = row["state"]
	}
	return states
}

// held returns the IDs of the instances Gong holds, and whether each is
// from before the run.
func (sc *scenario) held() map[string]bool {
	ids := map[string]bool{}
	for _, in := range sc.gong.emu.Instances() {
		ids[in.FlowInstanceID] = in.Preexisting
	}
	return ids
}

func (sc *scenario) created() []string {
	var ids []string
	for _, c := range sc.gong.emu.Created() {
		ids = append(ids, c.FlowInstanceID)
	}
	slices.Sort(ids)
	return ids
}

func beforeOnly() map[string]bool {
	m := map[string]bool{}
	for _, in := range undoBefore {
		m[in.FlowInstanceID] = true
	}
	return m
}

// TestUndoThenReadBack: run, undo, read back. Every instance the run
// created is gone; every one that existed before is still there; a second
// undo sends nothing; verify reports each row no longer open.
func TestUndoThenReadBack(t *testing.T) {
	t.Parallel()
	sc := newUndoScenario(t, nil)
	if r := sc.run(t, trigger{}); r.exit != 3 {
		t.Fatalf("run: %v; want exit 3 (OLD1 is already in its flow)", r)
	}
	created := sc.created()
	if len(created) != 60 {
		t.Fatalf("the run created %d instances, want 60", len(created))
	}

	// Refused while another command holds --out.
	d, err := outdir.Acquire(sc.out, "run", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := sc.undo(t, trigger{})
	d.Release()
	if r.exit != 1 || r.requests != 0 || !strings.Contains(r.stderr, "held by another flowenroll run: flowenroll run") {
		t.Errorf("undo of a held --out: %v, stderr %q; want exit 1 naming the holder, no request", r, r.stderr)
	}

	dry := sc.undo(t, trigger{}, "--dry-run")
	if dry.exit != 0 || dry.requests != 0 || strings.Count(dry.stdout, ",pending") != 60 {
		t.Errorf("undo --dry-run: %v, %d rows listed; want exit 0, 60 listed, no request", dry, strings.Count(dry.stdout, ",pending"))
	}

	u := sc.undo(t, trigger{}, "--unassigned-by", ava)
	if u.exit != 0 || u.requests != 1 {
		t.Fatalf("undo: %v; want exit 0 after 1 request\n%s", u, u.stderr)
	}
	if diff := cmp.Diff(beforeOnly(), sc.held()); diff != "" {
		t.Errorf("instances in Gong after undo (-the ones from before the run +held):\n%s", diff)
	}
	if diff := cmp.Diff(created, listed(t, sc.out, "undone.csv")); diff != "" {
		t.Errorf("undone.csv (-created +listed):\n%s", diff)
	}
	if n := len(listed(t, sc.out, "undo-failed.csv")); n != 0 {
		t.Errorf("undo-failed.csv has %d rows, want none", n)
	}
	sum := undoSummary(t, sc.out)
	if sum.Undo.Removed != 60 || sum.Undo.ExitCode != 0 || sum.Undo.Unassigns != 1 || sum.Assigned != 60 {
		t.Errorf("summary.json: undo %+v, run's assigned %d", sum.Undo, sum.Assigned)
	}

	if again := sc.undo(t, trigger{}); again.exit != 0 || again.requests != 0 {
		t.Errorf("second undo: %v; want exit 0 and no request", again)
	}
	for id, state := range sc.verify(t) {
		want := "no-longer-open"
		if id == sc.instanceOf(t, "U001") {
			want = "open-in-another-flow" // its instance from before the run is open
		}
		if state != want {
			t.Errorf("verify: instance %s is %s, want %s", id, state, want)
		}
	}
}

// TestUndoKilledHalfwayResumes kills undo at its third unassign request of
// six, at each point of the request's life; verify then reports exactly the
// removed rows as no longer open, and the same undo command finishes: each
// instance reaches Gong in one unassign request, and only the run's.
func TestUndoKilledHalfwayResumes(t *testing.T) {
	t.Parallel()
	for p := range points {
		t.Run(p.String(), func(t *testing.T) {
			rec := &unassignLog{}
			sc := newUndoScenario(t, rec)
			if r := sc.run(t, trigger{}); r.exit != 3 {
				t.Fatalf("run: %v", r)
			}
			created := sc.created()
			k := sc.undo(t, trigger{at: 3, path: gong.PathUnassignByInstanceIDs, point: p, sig: syscall.SIGKILL}, "--batch-size", "10")
			if k.signal != syscall.SIGKILL {
				t.Fatalf("undo: %v; want it killed", k)
			}
			held := sc.held()
			gone := 0
			for id, state := range sc.verify(t) {
				_, still := held[id]
				if still != (state == "open") {
					t.Errorf("after the kill: instance %s is %s in verify.csv; Gong holds it: %v", id, state, still)
				}
				if !still {
					gone++
				}
			}
			// After the answer, the signal races the undo's next request
			// (--rate 1000: a millisecond away): on a loaded machine that
			// request can reach Gong before SIGKILL lands, one batch more.
			most := 30
			if p == afterAnswer {
				most = 40
			}
			if gone < 20 || gone > most {
				t.Errorf("after the kill %d instances are gone; want 20 to %d (2 to %d batches of 10)", gone, most, most/10)
			}
			r := sc.undo(t, trigger{}, "--batch-size", "10")
			if r.exit != 0 {
				t.Fatalf("resumed undo: %v\n%s", r, r.stderr)
			}
			if diff := cmp.Diff(beforeOnly(), sc.held()); diff != "" {
				t.Errorf("instances in Gong (-the ones from before the run +held):\n%s", diff)
			}
			if diff := cmp.Diff(created, listed(t, sc.out, "undone.csv")); diff != "" {
				t.Errorf("undone.csv (-created +listed):\n%s", diff)
			}
			if diff := cmp.Diff(created, rec.ids()); diff != "" {
				t.Errorf("instance IDs in unassign requests that reached Gong (-each once +sent):\n%s", diff)
			}
			if st := sc.gong.emu.Stats(); st.Unassigned != 60 {
				t.Errorf("the emulator unassigned %d instances, want 60", st.Unassigned)
			}
		})
	}
}

// unassignLog records the instance IDs of every unassign request that
// reaches Gong.
type unassignLog struct {
	next http.Handler
	mu   sync.Mutex
	sent []string
}

func (l *unassignLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == gong.PathUnassignByInstanceIDs {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req gong.UnassignByInstanceIDsRequest
		_ = json.Unmarshal(body, &req)
		l.mu.Lock()
		l.sent = append(l.sent, req.FlowInstanceIDs...)
		l.mu.Unlock()
	}
	l.next.ServeHTTP(w, r)
}

func (l *unassignLog) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.sent)
	slices.Sort(out)
	return out
}

// instanceOf is the instance the run created for a CRM ID.
func (sc *scenario) instanceOf(t *testing.T, crmID string) string {
	for _, c := range sc.gong.emu.Created() {
		if c.CRMProspectID == crmID {
			return c.FlowInstanceID
		}
	}
	t.Fatalf("no instance created for %s", crmID)
	return ""
}

// readTable reads a CSV file as header -> cell maps.
func readTable(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// listed returns the flowInstanceId column of a file, sorted.
func listed(t *testing.T, dir, name string) []string {
	var ids []string
	for _, r := range readTable(t, filepath.Join(dir, name)) {
		ids = append(ids, r["flowInstanceId"])
	}
	slices.Sort(ids)
	return ids
}

// withUndo is summary.json with its undo section.
type withUndo struct {
	report.Summary
	Undo struct {
		Removed, Kept, Pending, ExitCode int
		Unassigns                        int64 `json:"unassignRequests"`
	} `json:"undo"`
}

func undoSummary(t *testing.T, dir string) withUndo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var s withUndo
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestUndoTenThousandRows measures the requests of undo and verify after a
// run of 10,000 rows: 200 instance IDs an unassign, 200 CRM IDs a read-back.
func TestUndoTenThousandRows(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("10,000 rows")
	}
	var rows []inputRow
	flows, owners := []string{flowSDR, flowWebinar, flowDemo}, []string{ava, ben, dan}
	for i := range 10000 {
		rows = append(rows, inputRow{id: fmt.Sprintf("X%05d", i), flow: flows[i%3], owner: owners[(i/3)%3], want: wantAssigned})
	}
	sc := newScenarioOf(t, prospectsFile{rows: rows}, gongConfig(nil), nil)
	run := sc.run(t, trigger{}, "--chunk-size", "200")
	if run.exit != 0 {
		t.Fatalf("run: %v", run)
	}
	u := sc.undo(t, trigger{})
	if u.exit != 0 || u.requests != 50 || len(sc.held()) != 0 {
		t.Errorf("undo: %v, %d instances left; want exit 0 after 50 requests, none left", u, len(sc.held()))
	}
	v := sc.exec(t, trigger{}, "verify", "--out", sc.out, "--rate", "1000", "--log-format", "json")
	if v.exit != 0 || v.requests != 50 {
		t.Errorf("verify: %v; want exit 0 after 50 requests", v)
	}
	t.Logf("10,000 rows: run %d requests, undo %d, verify %d", run.requests, u.requests, v.requests)
}
