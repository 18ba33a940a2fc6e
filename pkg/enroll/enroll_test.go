package enroll

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowenroll/flowenroll/internal/testkit"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/pace"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/internal/apispec"
	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	sdr     = "1695493301223590792"
	webinar = "1702318845120411230"
	unknown = "1699999999999999999"
	ava     = "ava.reyes@example.com"
	ben     = "ben.okafor@example.com"
)

// writeInput writes a CSV of rows (crmProspectId, flowId, owner) and returns its path.
func writeInput(t *testing.T, rows [][3]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("crmProspectId,flowId,flowInstanceOwnerEmail\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s\n", r[0], r[1], r[2])
	}
	p := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func prospects(n int, flow, owner, prefix string) [][3]string {
	var out [][3]string
	for i := range n {
		out = append(out, [3]string{fmt.Sprintf("%s%05d", prefix, i), flow, owner})
	}
	return out
}

type env struct {
	emu *emulator.Server
	srv *httptest.Server
	cfg Config
}

// newEnv starts an emulator (fast: no per-second limit unless set) and a
// Config pointing at it.
func newEnv(t *testing.T, emuCfg emulator.Config, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	if emuCfg.Fixture.Flows == nil {
		emuCfg.Fixture = emulator.DefaultFixture()
	}
	if emuCfg.RatePerSecond == 0 {
		emuCfg.RatePerSecond = -1
	}
	emuCfg.AccessKey, emuCfg.AccessKeySecret = "key", "secret"
	emu, err := emulator.New(emuCfg)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = emu
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base, _ := gong.ParseBaseURL(srv.URL)
	log := zaptest.NewLogger(t)
	// Every request the client sends, and every answer it gets, is checked
	// against Gong's published spec; answers the emulator marks as faults
	// it injects on purpose are left out.
	spec := apispec.Load(t, apispec.IgnoreResponses(func(_ int, h http.Header) bool { return h.Get(emulator.FaultHeader) != "" }))
	hc := &http.Client{Transport: spec.Transport(t, srv.Client().Transport)}
	return &env{emu: emu, srv: srv, cfg: Config{
		OutDir: t.TempDir(), ChunkSize: 200, Concurrency: 4,
		Client:  gong.NewClient(base, gong.Credentials{AccessKey: "key", AccessKeySecret: "secret"}, hc, log),
		Limiter: pace.New(0, 0), MaxRetryTime: time.Minute, MaxWait: time.Minute, DrainTimeout: time.Minute,
		Log: log,
	}}
}

// lineOutcome is where a line ended and how.
type lineOutcome struct {
	File   string // assigned, failed, unprocessed
	Code   string // failed: stage/errorCode; unprocessed: reason
	ID     string
	FlowID string
}

// results reads the three CSVs and fails the test if a line is in more than one.
func results(t *testing.T, dir string) map[int]lineOutcome {
	t.Helper()
	out := map[int]lineOutcome{}
	for _, name := range []string{"assigned", "failed", "unprocessed"} {
		f, err := os.Open(filepath.Join(dir, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s.csv: %v", name, err)
		}
		for _, r := range recs[1:] {
			line, err := strconv.Atoi(r[0])
			if err != nil {
				t.Fatalf("%s.csv: line column %q", name, r[0])
			}
			o := lineOutcome{File: name, ID: r[1], FlowID: r[2]}
			switch name {
			case "failed":
				o.Code = r[4] + "/" + r[5]
			case "unprocessed":
				o.Code = r[4]
			}
			if prev, dup := out[line]; dup {
				t.Errorf("line %d is in %s.csv and in %s.csv", line, prev.File, name)
			}
			out[line] = o
		}
	}
	return out
}

// accountedFor checks that lines 2..n+1 are each in exactly one file.
func accountedFor(t *testing.T, dir string, n int) map[int]lineOutcome {
	t.Helper()
	res := results(t, dir)
	for line := 2; line <= n+1; line++ {
		if _, ok := res[line]; !ok {
			t.Errorf("line %d is in no result file", line)
		}
	}
	if len(res) != n {
		t.Errorf("%d lines in the result files, want %d", len(res), n)
	}
	return res
}

// assignedMatchesEmulator checks assigned.csv against the instances the emulator created.
func assignedMatchesEmulator(t *testing.T, res map[int]lineOutcome, emu *emulator.Server) {
	t.Helper()
	var got, want []string
	for _, o := range res {
		if o.File == "assigned" {
			got = append(got, o.ID+"@"+o.FlowID)
		}
	}
	for _, c := range emu.Created() {
		want = append(want, c.CRMProspectID+"@"+c.FlowID)
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assigned.csv vs instances the emulator created (-emulator +assigned.csv):\n%s", diff)
	}
}

func count(res map[int]lineOutcome) map[string]int {
	c := map[string]int{}
	for _, o := range res {
		c[o.File+":"+o.Code]++
	}
	return c
}

func TestRunAccountsForEveryRow(t *testing.T) {
	rows := prospects(450, sdr, ava, "A")
	rows = append(rows, prospects(30, webinar, ben, "B")...)
	rows = append(rows, prospects(5, unknown, ben, "U")...)
	rows = append(rows,
		[3]string{"", sdr, ava},                           // missing ID
		[3]string{"X1", "1.69549E+18", ava},               // not digits
		[3]string{"X2", sdr, "not-an-email"},              // bad email
		[3]string{"A00001", sdr, "AVA.REYES@example.com"}, // duplicate, owner in other case
		[3]string{"bad id!", webinar, ben},                // Gong: InvalidArgument
	)
	e := newEnv(t, emulator.Config{}, nil)
	e.cfg.InputPath = writeInput(t, rows)
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := accountedFor(t, e.cfg.OutDir, len(rows))
	want := map[string]int{
		"assigned:":                       480,
		"failed:request/FlowNotFound":     5,
		"failed:input/MissingValue":       1,
		"failed:input/ScientificNotation": 1,
		"failed:input/InvalidEmail":       1,
		"failed:input/Duplicate":          1,
		"failed:api/InvalidArgument":      1,
	}
	if diff := cmp.Diff(want, count(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	assignedMatchesEmulator(t, res, e.emu)
	// 450 SDR rows: 200+200+50; 31 webinar rows: 1; unknown: 1.
	if sum.Requests != 5 || sum.ExitCode != outcome.ExitSomeFailed || sum.RowsRead != len(rows) || sum.Assigned != 480 {
		t.Errorf("summary = %+v, want 5 requests, exit 3, %d rows read, 480 assigned", sum, len(rows))
	}
}

func TestChunkSizeAndGrouping(t *testing.T) {
	var sizes []int
	rows := append(prospects(7, sdr, ava, "A"), prospects(3, sdr, ben, "B")...)
	e := newEnv(t, emulator.Config{}, nil)
	e.cfg.InputPath = writeInput(t, rows)
	e.cfg.ChunkSize, e.cfg.Concurrency = 3, 1
	e.cfg.Client = recordingClient{Client: e.cfg.Client, sizes: &sizes}
	if _, err := Run(context.Background(), e.cfg); err != nil {
		t.Fatal(err)
	}
	// ava: 3, 3, then 1 at the end; ben: 3 (fills at its third row).
	if diff := cmp.Diff([]int{3, 3, 3, 1}, sizes); diff != "" {
		t.Errorf("request sizes (-want +got):\n%s", diff)
	}
}

type recordingClient struct {
	gateway.Client
	sizes *[]int
}

func (c recordingClient) Assign(ctx context.Context, req gong.AssignRequest) (*gong.AssignResponse, error) {
	*c.sizes = append(*c.sizes, len(req.CRMProspectsIDs))
	return c.Client.Assign(ctx, req)
}

func TestUnauthorizedExitsOneWithRowsUnprocessed(t *testing.T) {
	e := newEnv(t, emulator.Config{}, nil)
	base, _ := gong.ParseBaseURL(e.srv.URL)
	e.cfg.Client = gong.NewClient(base, gong.Credentials{AccessKey: "key", AccessKeySecret: "wrong"}, e.srv.Client(), e.cfg.Log)
	rows := append(prospects(450, sdr, ava, "A"), [3]string{"", sdr, ava})
	e.cfg.InputPath = writeInput(t, rows)
	e.cfg.Concurrency = 1
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ExitCode != outcome.ExitFatal {
		t.Errorf("exit = %d, want 1", sum.ExitCode)
	}
	res := accountedFor(t, e.cfg.OutDir, len(rows))
	want := map[string]int{"unprocessed:Unauthorized": 450, "failed:input/MissingValue": 1}
	if diff := cmp.Diff(want, count(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if n := e.emu.Stats().Assign; n != 1 {
		t.Errorf("%d assign requests, want 1: nothing is sent after a 401", n)
	}
}

func TestNoRequestOverTheLimitAtRate3(t *testing.T) {
	// 40 requests at the default --rate 3 against Gong's 3 per second,
	// counted by the emulator in fixed 1-second windows, on a fake clock: the
	// pacing alone must keep every window at 3 or fewer.
	synctest.Test(t, func(t *testing.T) {
		emu, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(), RatePerSecond: 3, Latency: 30 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		base, _ := gong.ParseBaseURL("http://127.0.0.1:1")
		log := zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
		cfg := Config{
			InputPath: writeInput(t, prospects(40*20, sdr, ava, "A")), OutDir: t.TempDir(),
			ChunkSize: 20, Concurrency: 4, MaxRetryTime: time.Minute, MaxWait: time.Minute, DrainTimeout: time.Minute,
			Client:  gong.NewClient(base, gong.Credentials{AccessKey: "k", AccessKeySecret: "s"}, &http.Client{Transport: testkit.Transport{Handler: emu}}, log),
			Limiter: pace.New(3, pace.DefaultMargin), Log: log,
		}
		start := time.Now()
		sum, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		st := emu.Stats()
		if st.RateLimited != 0 || sum.RateLimited != 0 || st.MaxInWindow > 3 {
			t.Errorf("emulator: %d 429s, %d at most in a window; client saw %d 429s; want none over the limit", st.RateLimited, st.MaxInWindow, sum.RateLimited)
		}
		if sum.Assigned != 800 || sum.Requests != 40 {
			t.Errorf("assigned %d in %d requests, want 800 in 40", sum.Assigned, sum.Requests)
		}
		// The figure, not a limit: make bench reports it for real time.
		t.Logf("40 requests in %v of fake time: %.2f requests per second", time.Since(start), 40/time.Since(start).Seconds())
	})
}

func TestRequestBudgetThenResume(t *testing.T) {
	rows := append(prospects(500, sdr, ava, "A"), prospects(10, webinar, ben, "B")...)
	rows = append(rows, [3]string{"X", "12x", ava})
	e := newEnv(t, emulator.Config{}, nil)
	e.cfg.InputPath = writeInput(t, rows)
	e.cfg.ChunkSize, e.cfg.Concurrency, e.cfg.MaxRequests = 100, 1, 2

	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := accountedFor(t, e.cfg.OutDir, len(rows))
	if sum.ExitCode != outcome.ExitStoppedEarly || count(res)["unprocessed:RequestBudget"] != 310 || sum.Assigned != 200 {
		t.Fatalf("first run: exit %d, outcomes %v; want exit 4 with 200 assigned and 310 left", sum.ExitCode, count(res))
	}

	for run := 2; run <= 5; run++ {
		sum, err = Run(context.Background(), e.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Resumed {
			t.Errorf("run %d did not resume", run)
		}
		if sum.ExitCode != outcome.ExitStoppedEarly {
			break
		}
	}
	if sum.ExitCode != outcome.ExitSomeFailed {
		t.Fatalf("last run exit %d, want 3", sum.ExitCode)
	}
	res = accountedFor(t, e.cfg.OutDir, len(rows))
	want := map[string]int{"assigned:": 510, "failed:input/InvalidFlowId": 1}
	if diff := cmp.Diff(want, count(res)); diff != "" {
		t.Errorf("outcomes after resuming (-want +got):\n%s", diff)
	}
	assignedMatchesEmulator(t, res, e.emu)
	if st := e.emu.Stats(); st.ClientErrors[400] != 0 || sum.Requests != int64(st.Requests) {
		t.Errorf("emulator saw %d requests (%v errors), summary says %d", st.Requests, st.ClientErrors, sum.Requests)
	}
}

func TestChangedInputIsRefused(t *testing.T) {
	e := newEnv(t, emulator.Config{}, nil)
	e.cfg.InputPath = writeInput(t, prospects(3, sdr, ava, "A"))
	if _, err := Run(context.Background(), e.cfg); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(e.cfg.OutDir, report.AssignedFile))
	if err := os.WriteFile(e.cfg.InputPath, []byte("crmProspectId,flowId,flowInstanceOwnerEmail\nZ,"+sdr+","+ava+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), e.cfg)
	if !errors.Is(err, ledger.ErrInputChanged) || !strings.Contains(err.Error(), "--restart") {
		t.Fatalf("err = %v, want ErrInputChanged naming --restart", err)
	}
	after, _ := os.ReadFile(filepath.Join(e.cfg.OutDir, report.AssignedFile))
	if string(before) != string(after) {
		t.Error("a refused run changed assigned.csv")
	}
	e.cfg.Restart = true
	sum, err := Run(context.Background(), e.cfg)
	if err != nil || sum.Assigned != 1 || sum.RowsRead != 1 {
		t.Errorf("with --restart: %+v, %v; want the new input alone", sum, err)
	}
}

func TestSignalStopsDispatchAndResumes(t *testing.T) {
	// The "signal" arrives while the second request is at Gong: it is
	// answered (drained), nothing new is sent, the rest is unprocessed.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	e := newEnv(t, emulator.Config{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 2 {
				cancel()
			}
			h.ServeHTTP(w, r)
		})
	})
	rows := prospects(1000, sdr, ava, "A")
	e.cfg.InputPath = writeInput(t, rows)
	e.cfg.ChunkSize, e.cfg.Concurrency = 100, 1
	sum, err := Run(ctx, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := accountedFor(t, e.cfg.OutDir, len(rows))
	if sum.ExitCode != outcome.ExitStoppedEarly || sum.Assigned != 200 || count(res)["unprocessed:Interrupted"] != 800 {
		t.Fatalf("interrupted run: exit %d, outcomes %v; want exit 4, 200 assigned, 800 interrupted", sum.ExitCode, count(res))
	}
	sum, err = Run(context.Background(), e.cfg)
	if err != nil || sum.ExitCode != outcome.ExitOK || sum.Assigned != 1000 {
		t.Fatalf("resumed run: %+v, %v; want all 1000 assigned, exit 0", sum, err)
	}
	assignedMatchesEmulator(t, accountedFor(t, e.cfg.OutDir, len(rows)), e.emu)
}

func TestStdinInput(t *testing.T) {
	e := newEnv(t, emulator.Config{}, nil)
	e.cfg.InputPath = "-"
	e.cfg.Stdin = strings.NewReader("Contact ID;x\n")
	e.cfg.Stdin = strings.NewReader("Contact ID,Flow ID,Owner Email\nA1," + sdr + "," + ava + "\n")
	sum, err := Run(context.Background(), e.cfg)
	if err != nil || sum.Assigned != 1 || sum.Input != "stdin" {
		t.Fatalf("%+v, %v", sum, err)
	}
}

func TestStdinResumesFromItsKeptCopy(t *testing.T) {
	e := newEnv(t, emulator.Config{}, nil)
	var b strings.Builder
	b.WriteString("crmProspectId,flowId,flowInstanceOwnerEmail\n")
	for _, r := range prospects(30, sdr, ava, "S") {
		b.WriteString(r[0] + "," + r[1] + "," + r[2] + "\n")
	}
	e.cfg.InputPath, e.cfg.Stdin = "-", strings.NewReader(b.String())
	e.cfg.ChunkSize, e.cfg.Concurrency, e.cfg.MaxRequests = 10, 1, 1
	if sum, err := Run(context.Background(), e.cfg); err != nil || sum.ExitCode != outcome.ExitStoppedEarly {
		t.Fatalf("first run: %+v, %v; want exit 4", sum, err)
	}
	// The resumed Job has nothing on standard input: the kept copy serves.
	e.cfg.Stdin, e.cfg.MaxRequests = strings.NewReader(""), 0
	sum, err := Run(context.Background(), e.cfg)
	if err != nil || sum.ExitCode != outcome.ExitOK || sum.Assigned != 30 || !sum.Resumed {
		t.Fatalf("resumed run: %+v, %v; want all 30 assigned, exit 0", sum, err)
	}
	if left, _ := filepath.Glob(filepath.Join(e.cfg.OutDir, ".stdin-*")); len(left) != 0 {
		t.Errorf("temporary copies left behind: %v", left)
	}
}
