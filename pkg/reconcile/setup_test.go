package reconcile_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/internal/testkit"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Flows and owners of emulator.DefaultFixture.
const (
	flowSDR     = "1695493301223590792"
	flowWebinar = "1702318845120411230"
	flowDemo    = "1711046208531772911"
	ava         = "ava.reyes@example.com"
	ben         = "ben.okafor@example.com"
)

// world is an emulated Gong and the output directory of a run against it.
type world struct {
	emu    *emulator.Server
	srv    *httptest.Server
	client *gong.Client
	dir    string
	// wrap, if set, handles each request in front of the emulator.
	wrap func(w http.ResponseWriter, r *http.Request, next http.Handler)
}

func newWorld(t *testing.T, existing ...emulator.AssignedFlow) *world {
	t.Helper()
	fx := emulator.DefaultFixture()
	fx.Existing = existing
	emu, err := emulator.New(emulator.Config{Fixture: fx, RatePerSecond: -1, AccessKey: "k", AccessKeySecret: "s", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{emu: emu, dir: filepath.Join(t.TempDir(), "out")}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.wrap != nil {
			w.wrap(rw, r, emu)
			return
		}
		emu.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	base, _ := url.Parse(w.srv.URL)
	w.client = gong.NewClient(base, gong.Credentials{AccessKey: "k", AccessKeySecret: "s"}, &http.Client{Timeout: 10 * time.Second}, zaptest.NewLogger(t))
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return w
}

// prospect is one row of a run: line, CRM ID, flow, owner.
type prospect struct {
	line      int
	id, flow  string
	owner     string
	wantFresh bool // the run creates an instance for it
}

// run assigns the rows through the emulator, one request a row, and
// journals the outcomes in a ledger as flowenroll run does, with
// assigned.csv's header naming one carried column, "note".
func (w *world) run(t *testing.T, rows []prospect) []outcome.Outcome {
	t.Helper()
	led, _, err := ledger.Open(w.dir, "sha-of-input", "prospects.csv", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	var outs []outcome.Outcome
	for _, p := range rows {
		row := outcome.Row{Line: p.line, CRMProspectID: p.id, FlowID: p.flow, OwnerEmail: p.owner, Extra: []string{"=note " + strconv.Itoa(p.line)}}
		resp, err := w.client.Assign(context.Background(), gong.AssignRequest{CRMProspectsIDs: []string{p.id}, FlowID: p.flow, FlowInstanceOwnerEmail: p.owner})
		if err != nil {
			t.Fatal(err)
		}
		o := outcome.Fail(row, outcome.StageAPI, "InvalidState", "already in flow")
		if len(resp.ProspectsAssigned) == 1 {
			a := resp.ProspectsAssigned[0]
			o = outcome.Assign(row, outcome.Instance{ID: a.FlowInstanceID, FlowName: a.FlowName, Status: a.FlowInstanceStatus}, resp.RequestID)
		}
		if (o.Kind == outcome.Assigned) != p.wantFresh {
			t.Fatalf("line %d: assigned %v, want %v", p.line, o.Kind == outcome.Assigned, p.wantFresh)
		}
		outs = append(outs, o)
	}
	if err := led.Settle(outs...); err != nil {
		t.Fatal(err)
	}
	head := append(report.Columns(report.AssignedFile), "note")
	f, err := os.Create(filepath.Join(w.dir, report.AssignedFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cw := csv.NewWriter(f)
	cw.Write(head)
	cw.Flush()
	return outs
}

// gw is a gateway with fast retries.
func gw(t *testing.T, maxRetry time.Duration) *gateway.Gateway {
	return gateway.New(gateway.Config{Log: zaptest.NewLogger(t), InitialInterval: time.Millisecond, MaxRetryTime: maxRetry})
}

// open returns the instance IDs the emulator holds, sorted.
func (w *world) open() []string {
	var ids []string
	for _, in := range w.emu.Instances() {
		ids = append(ids, in.FlowInstanceID)
	}
	sort.Strings(ids)
	return ids
}

// readCSV reads a result file as header -> cell maps.
func readCSV(t *testing.T, path string) []map[string]string { return testkit.ReadRows(t, path) }

func readSummary(t *testing.T, dir string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// column returns the named column of rows.
func column(rows []map[string]string, name string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[name])
	}
	sort.Strings(out)
	return out
}

func gatewayWithBudget(t *testing.T, n int64) *gateway.Gateway {
	return gateway.New(gateway.Config{Log: zaptest.NewLogger(t), InitialInterval: time.Millisecond, MaxRetryTime: time.Second, MaxRequests: n})
}
