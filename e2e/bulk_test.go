package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gong"
	pkgoutcome "github.com/flowenroll/flowenroll/pkg/outcome"
)

// mixedFile is 300 rows with a CRM ID (flowSDR, Ava) and 300 people without
// one (a webinar export's First Name, Last Name, Email, Company; flowWebinar,
// Ben), interleaved, and one person repeated with the email in upper case.
func mixedFile(t *testing.T) (string, prospectsFile, []string) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"crmProspectId", "flowId", "flowInstanceOwnerEmail", "First Name", "Last Name", "Email", "Company"})
	var rows []inputRow
	var emails []string
	for i := range 300 {
		id := fmt.Sprintf("MIX%04d", i)
		w.Write([]string{id, flowSDR, ava, "", "", "", ""})
		rows = append(rows, inputRow{id: id, flow: flowSDR, owner: ava, want: wantAssigned})
		email := fmt.Sprintf("guest%d@webinar.example.org", i)
		emails = append(emails, email)
		w.Write([]string{"", flowWebinar, ben, "Pat", fmt.Sprintf("Guest%d", i), email, "Acme"})
		rows = append(rows, inputRow{flow: flowWebinar, owner: ben, want: wantAssigned})
	}
	w.Write([]string{"", flowWebinar, ben, "Pat", "Guest7", strings.ToUpper(emails[7]), "Acme"})
	rows = append(rows, inputRow{flow: flowWebinar, owner: ben, want: wantDuplicate})
	w.Flush()
	path := filepath.Join(t.TempDir(), "webinar.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, prospectsFile{rows: rows}, emails
}

// bulkLog records the emails of every bulk submit that reached Gong.
type bulkLog struct {
	mu     sync.Mutex
	sent   map[string]int // lower-case email -> bulk submits carrying it
	submit int
}

func (l *bulkLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == gong.PathBulkAssignments && r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			var req gong.BulkRequest
			_ = json.Unmarshal(b, &req)
			l.mu.Lock()
			l.submit++
			for _, p := range req.Prospects {
				l.sent[strings.ToLower(p.Email)]++
			}
			l.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// twice lists the emails sent in more than one bulk submit.
func (l *bulkLog) twice() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for e, n := range l.sent {
		if n > 1 {
			out = append(out, e)
		}
	}
	return out
}

func mixedScenario(t *testing.T) (*scenario, *bulkLog) {
	t.Helper()
	in, input, emails := mixedFile(t)
	cfg := gongConfig(nil)
	cfg.BulkPolls = 1 // every job is read twice: IN_PROGRESS, then done
	cfg.BulkFailProspect = map[string]string{emails[11]: emulator.BulkCRMOperationFailed}
	input.rows[2*11+1].want = "failed:api/" + pkgoutcome.CodeCRMOperationFailed
	log := &bulkLog{sent: map[string]int{}}
	sc := newScenarioOf(t, input, cfg, log.wrap)
	sc.in = in
	return sc, log
}

// checkMixed checks that every row is in exactly one file with its outcome,
// and people assigned with the crmProspectId and instance Gong gave.
func checkMixed(t *testing.T, sc *scenario) {
	t.Helper()
	res := readResults(t, sc.out)
	if len(res.twice) > 0 {
		t.Errorf("lines in more than one file: %v", res.twice)
	}
	wrong := 0
	for i, in := range sc.input.rows {
		o, ok := res.byLine[i+2]
		if !ok || !in.accepts(o.key()) {
			wrong++
			if wrong <= 5 {
				t.Errorf("line %d: %q, want %s", i+2, o.key(), in.want)
			}
			continue
		}
		if o.file == "assigned" && (o.id == "" || o.instanceID == "") {
			t.Errorf("line %d assigned without Gong's crmProspectId or flowInstanceId", i+2)
		}
	}
	if len(res.byLine) != len(sc.input.rows) {
		t.Errorf("%d lines in the result files, the input has %d", len(res.byLine), len(sc.input.rows))
	}
}

// TestMixedFile runs the mixed file once: CRM-ID rows by assign, people by
// bulk assignments of 50, each read at most twice.
func TestMixedFile(t *testing.T) {
	t.Parallel()
	sc, log := mixedScenario(t)
	plan := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, "plan", "--input", sc.in)
	if want := "300 rows by CRM ID (assign); 300 people without one in 6 bulk assignments"; !strings.Contains(plan.stdout, want) {
		t.Errorf("plan says:\n%s\nwant it to say %q", plan.output(), want)
	}
	if st := sc.gong.emu.Stats(); st.BulkSubmit+st.Assign != 0 {
		t.Errorf("plan sent %d bulk submits and %d assigns", st.BulkSubmit, st.Assign)
	}
	r := sc.run(t, trigger{}, "--chunk-size", "200")
	if r.exit != 3 {
		t.Fatalf("%v, want exit 3: %s", r, r.lastLine())
	}
	sum := sc.summary(t, r)
	checkMixed(t, sc)
	st := sc.gong.emu.Stats()
	if sum.BulkSubmits != int64(st.BulkSubmit) || sum.BulkReads != int64(st.BulkStatus) {
		t.Errorf("summary.json: %d bulk submits and %d reads; Gong saw %d and %d", sum.BulkSubmits, sum.BulkReads, st.BulkSubmit, st.BulkStatus)
	}
	if log.submit != 6 || st.BulkSubmit != 6 {
		t.Errorf("%d bulk submits, want 6 (300 people, 50 a request)", st.BulkSubmit)
	}
	if st.BulkStatus > 2*st.BulkSubmit {
		t.Errorf("%d reads for %d bulk requests: more than 2 each", st.BulkStatus, st.BulkSubmit)
	}
	t.Logf("requests per 1,000: CRM-ID rows %d (assign), people %d (%d submits, %d reads)",
		st.Assign*1000/300, (st.BulkSubmit+st.BulkStatus)*1000/300, st.BulkSubmit, st.BulkStatus)

	// undo ends every instance the run created, people's included (by
	// flowInstanceId); the CRM records Gong created stay.
	before := len(sc.gong.emu.Instances())
	u := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, "undo", "--out", sc.out, "--rate", "1000", "--log-format", "json")
	if u.exit != 0 {
		t.Fatalf("undo: exit %d: %s", u.exit, u.lastLine())
	}
	if removed := before - len(sc.gong.emu.Instances()); removed != 300+299 {
		t.Errorf("undo removed %d instances, want %d (300 by CRM ID, 299 people)", removed, 300+299)
	}
}

// TestMixedFileKilled kills the run at points of the bulk path (after a
// 202, in flight, a lost 202) and resumes it: no person is sent in two bulk
// requests, the rows of the lost 202 wait InDoubt until --resend-in-doubt,
// and in the end every row is in exactly one file.
func TestMixedFileKilled(t *testing.T) {
	t.Parallel()
	sc, log := mixedScenario(t)
	kills := []trigger{
		{at: 2, path: gong.PathBulkAssignments, point: afterAnswer, sig: syscall.SIGKILL},
		{at: 6, point: inFlightApplied, sig: syscall.SIGKILL},
		{at: 1, path: gong.PathBulkAssignments, point: inFlightApplied, sig: syscall.SIGKILL},
		{at: 3, point: afterAnswer, sig: syscall.SIGTERM},
	}
	for _, k := range kills {
		r := sc.run(t, k)
		if r.exit == 0 || r.exit == 3 {
			break
		}
	}
	var last runRecord
	for range 4 {
		last = sc.run(t, trigger{})
		if last.exit != 4 {
			break
		}
	}
	if twice := log.twice(); len(twice) > 0 {
		t.Errorf("%d people sent in more than one bulk request, e.g. %s", len(twice), twice[0])
	}
	res := readResults(t, sc.out)
	inDoubt := 0
	for _, o := range res.byLine {
		switch {
		case o.file != "unprocessed":
		case o.code == pkgoutcome.ReasonInDoubt:
			inDoubt++
		default:
			t.Errorf("a row unprocessed %s after resuming", o.code)
		}
	}
	if inDoubt > 0 && last.exit != 4 {
		t.Errorf("%d rows InDoubt, exit %d; want 4", inDoubt, last.exit)
	}
	sc.summary(t, last)
	t.Logf("%d runs, %d bulk submits, %d rows InDoubt before --resend-in-doubt", len(sc.runs), log.submit, inDoubt)
	last = sc.run(t, trigger{}, "--resend-in-doubt")
	sc.summary(t, last)
	for i := range sc.input.rows {
		if sc.input.rows[i].want == wantAssigned && sc.input.rows[i].id == "" {
			// A person of a lost 202 sent again: Gong has them in the flow.
			sc.input.rows[i].want += "|failed:api/" + pkgoutcome.CodeFlowAssignmentFailed
		}
	}
	checkMixed(t, sc)
	if last.exit != 3 {
		t.Errorf("after --resend-in-doubt: %v, want exit 3", last)
	}
}

// TestRequestCutByDrainTimeout: SIGTERM while a request is at Gong, whose
// answer comes only after --drain-timeout has cut it. Gong applied it, so
// its rows are InDoubt: the next run reads CRM-ID rows back (assigned,
// not sent again and refused as already in the flow) and never sends
// people again by itself; every row ends in exactly one file.
func TestRequestCutByDrainTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
	}{
		{name: "bulk submit", path: gong.PathBulkAssignments},
		{name: "assign", path: gong.PathAssign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, log := mixedScenario(t)
			r := sc.run(t, trigger{at: 1, path: tt.path, point: inFlightHeld, sig: syscall.SIGTERM}, "--drain-timeout", "200ms")
			if r.exit != 4 || !r.fired {
				t.Fatalf("run 1: %v (signalled %v); want exit 4", r, r.fired)
			}
			var last runRecord
			for range 3 {
				if last = sc.run(t, trigger{}); last.exit != 4 {
					break
				}
			}
			if twice := log.twice(); len(twice) > 0 {
				t.Errorf("%d people sent in more than one bulk request, e.g. %s", len(twice), twice[0])
			}
			res := readResults(t, sc.out)
			byCode := map[string]int{}
			for _, o := range res.byLine {
				byCode[o.key()]++
			}
			wantDoubt := 0
			if tt.path == gong.PathBulkAssignments {
				wantDoubt = 50 // the cut request's people, for a person to decide
			}
			if n := byCode["unprocessed:"+pkgoutcome.ReasonInDoubt]; n != wantDoubt {
				t.Errorf("%d rows InDoubt after resuming, want %d: %v", n, wantDoubt, byCode)
			}
			if n := byCode["failed:api/"+pkgoutcome.CodeAlreadyInFlow]; n != 0 {
				t.Errorf("%d rows AlreadyInFlow: the cut request's rows were sent again without a read-back", n)
			}
			if wantDoubt == 0 {
				checkMixed(t, sc)
			}
		})
	}
}
