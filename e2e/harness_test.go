package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// Flows and owners of emulator.DefaultFixture used by the input.
const (
	flowSDR     = "1695493301223590792" // SDR Outbound Q3
	flowWebinar = "1702318845120411230" // Webinar Follow-up (company)
	flowDemo    = "1711046208531772911" // Inbound Demo Request
	flowUnknown = "1699999999999999999" // no such flow: 404

	ava = "ava.reyes@example.com"
	ben = "ben.okafor@example.com"
	dan = "dan.kowalski@example.com"

	accessKey    = "e2e-key"
	accessSecret = "e2e-secret"
)

// Flags of every run: a fast pace and small chunks, so that one run makes
// many requests and a kill can land between, during and after them.
const (
	chunkSize   = 10
	concurrency = 3
)

// Outcomes, as outcome.key spells them.
const (
	wantAssigned     = "assigned"
	wantMissingValue = "failed:input/MissingValue"
	wantBadEmail     = "failed:input/InvalidEmail"
	wantDuplicate    = "failed:input/Duplicate"
	// A flow Gong does not know fails the request with 404, or, with the
	// preflight through GET /v2/flows, the row before anything is sent.
	wantUnknownFlow = "failed:request/FlowNotFound|failed:input/FlowNotVisible"
)

// inputRow is one data row of the input and the outcome one uninterrupted
// run gives it.
type inputRow struct {
	id, flow, owner string
	want            string // outcome.key, or several joined by |
	// email is a person's without a CRM ID (id is then empty), sent by
	// bulk assignment: Gong finds or creates their CRM record.
	email string
}

func (r inputRow) accepts(key string) bool {
	return slices.Contains(strings.Split(r.want, "|"), key)
}

// prospectsFile is the input every scenario feeds the binary.
type prospectsFile struct {
	rows []inputRow // rows[i] is on line i+2
	// minRequests is the fewest requests one uninterrupted run makes: one
	// assign per chunk of valid rows. Listings, read-backs and the unknown
	// flow's request may come on top.
	minRequests int
}

// newProspects builds the input: 50 prospects for each of three owners, each
// prospect in each of three company flows (so a read-back finds instances
// in other flows to leave alone), shuffled, plus rows that fail: two without
// an ID, two with a bad owner email, a duplicate and three in a flow Gong
// does not know. It is the same for every scenario.
func newProspects() prospectsFile {
	rng := rand.New(rand.NewPCG(2024, 7))
	var rows []inputRow
	for _, owner := range []string{ava, ben, dan} {
		prefix := strings.ToUpper(owner[:3])
		for _, flow := range []string{flowSDR, flowWebinar, flowDemo} {
			for i := range 50 {
				rows = append(rows, inputRow{id: fmt.Sprintf("%s%04d", prefix, i), flow: flow, owner: owner, want: wantAssigned})
			}
		}
	}
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	insert := func(r inputRow, from int) int {
		at := from + rng.IntN(len(rows)-from+1)
		rows = slices.Insert(rows, at, r)
		return at
	}
	insert(inputRow{id: "", flow: flowSDR, owner: ava, want: wantMissingValue}, 0)
	insert(inputRow{id: "", flow: flowDemo, owner: dan, want: wantMissingValue}, 0)
	insert(inputRow{id: "BADMAIL1", flow: flowSDR, owner: "not-an-email", want: wantBadEmail}, 0)
	insert(inputRow{id: "BADMAIL2", flow: flowWebinar, owner: "ben.okafor@", want: wantBadEmail}, 0)
	for i := range 3 {
		insert(inputRow{id: fmt.Sprintf("UNK%04d", i), flow: flowUnknown, owner: ben, want: wantUnknownFlow}, 0)
	}
	first := rng.IntN(len(rows) / 2)
	for rows[first].want != wantAssigned {
		first++
	}
	dup := rows[first]
	dup.want = wantDuplicate
	insert(dup, first+1)

	// Every (flow, owner) group of valid rows holds 50 rows: 5 full chunks.
	return prospectsFile{rows: rows, minRequests: 9 * 50 / chunkSize}
}

func (p prospectsFile) write(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	people := slices.ContainsFunc(p.rows, func(r inputRow) bool { return r.email != "" })
	if people {
		w.Write([]string{"crmProspectId", "flowId", "flowInstanceOwnerEmail", "First Name", "Last Name", "Email"})
	} else {
		w.Write([]string{"crmProspectId", "flowId", "flowInstanceOwnerEmail"})
	}
	for _, r := range p.rows {
		switch {
		case r.email != "":
			w.Write([]string{"", r.flow, r.owner, "Pat", "Guest " + strings.ToLower(r.email), r.email})
		case people:
			w.Write([]string{r.id, r.flow, r.owner, "", "", ""})
		default:
			w.Write([]string{r.id, r.flow, r.owner})
		}
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "prospects.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// gongStandIn is the emulator behind an HTTP server, with a count of the
// connections not yet closed: a run starts only when every connection of
// the one before is gone, so that no request of a dead process reaches the
// emulator while its successor runs.
type gongStandIn struct {
	emu *emulator.Server
	srv *httptest.Server

	mu   sync.Mutex
	idle *sync.Cond // signalled when open drops
	open int
}

// gongConfig is the emulator of every scenario: the default fixture, no
// rate limit, the suite's credentials. now is its clock (nil: time.Now).
func gongConfig(now func() time.Time) emulator.Config {
	return emulator.Config{
		Fixture: emulator.DefaultFixture(), RatePerSecond: -1,
		AccessKey: accessKey, AccessKeySecret: accessSecret, Seed: 1, Now: now,
	}
}

// newGong starts the emulator with cfg; wrap puts fault injection in front
// of it.
func newGong(t *testing.T, cfg emulator.Config, wrap func(http.Handler) http.Handler) *gongStandIn {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := &gongStandIn{emu: emu}
	g.idle = sync.NewCond(&g.mu)
	var h http.Handler = emu
	if wrap != nil {
		h = wrap(h)
	}
	g.srv = httptest.NewUnstartedServer(h)
	g.srv.Config.ConnState = g.connState
	g.srv.Start()
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gongStandIn) connState(_ net.Conn, s http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch s {
	case http.StateNew:
		g.open++
	case http.StateClosed, http.StateHijacked:
		g.open--
		g.idle.Broadcast()
	}
}

// quiesce waits until every connection is closed: after a process exits,
// the server reads its requests still in the socket, answers them, and
// sees the end of each connection.
func (g *gongStandIn) quiesce() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.open > 0 {
		g.idle.Wait()
	}
}

// runRecord is one run of the binary, kept for the failure report.
type runRecord struct {
	args     []string
	exit     int            // -1 when a signal ended the process
	signal   syscall.Signal // the signal that ended it, if any
	fired    bool           // the scenario's signal was sent during the run
	requests int64          // requests the emulator saw from this run
	stdout   string
	stderr   string
}

func (r runRecord) String() string {
	s := fmt.Sprintf("exit %d", r.exit)
	if r.signal != 0 {
		s = "ended by " + r.signal.String()
	}
	return fmt.Sprintf("%s after %d requests (signal sent: %v)", s, r.requests, r.fired)
}

// scenario is one output directory driven through several runs of the same
// command against one emulator.
type scenario struct {
	input  prospectsFile
	in     string
	out    string
	gong   *gongStandIn
	faults *signaller
	runs   []runRecord
}

// newScenario writes the suite's input and starts the emulator (with clock
// now, nil for time.Now) behind a signaller, and behind wrap, if given,
// closer to the emulator.
func newScenario(t *testing.T, wrap func(http.Handler) http.Handler, now func() time.Time) *scenario {
	t.Helper()
	return newScenarioOf(t, newProspects(), gongConfig(now), wrap)
}

// newScenarioOf is newScenario with its own input and emulator.
func newScenarioOf(t *testing.T, input prospectsFile, cfg emulator.Config, wrap func(http.Handler) http.Handler) *scenario {
	t.Helper()
	sc := &scenario{input: input, out: filepath.Join(t.TempDir(), "out")}
	sc.in = sc.input.write(t)
	sc.gong = newGong(t, cfg, func(h http.Handler) http.Handler {
		if wrap != nil {
			h = wrap(h)
		}
		sc.faults = &signaller{next: h}
		return sc.faults
	})
	t.Cleanup(func() {
		if t.Failed() {
			sc.dump(t)
		}
	})
	return sc
}

// run runs the command once with the trigger armed (the zero trigger sends
// no signal) and waits for the process to end.
func (sc *scenario) run(t *testing.T, trig trigger, extra ...string) runRecord {
	t.Helper()
	sc.gong.quiesce()
	args := []string{"run", "--input", sc.in, "--out", sc.out,
		"--rate", "1000", "--chunk-size", strconv.Itoa(chunkSize), "--concurrency", strconv.Itoa(concurrency),
		"--log-format", "json"}
	args = append(args, extra...)
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
	rec := runRecord{args: args[1:], exit: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("waiting for flowenroll: %v", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		rec.signal = ws.Signal()
	}
	sc.gong.quiesce() // every request of this run has been answered or dropped
	rec.requests, rec.fired = sc.faults.disarm()
	sc.runs = append(sc.runs, rec)
	if strings.Contains(rec.stderr, "WARNING: DATA RACE") {
		t.Errorf("run %d: the race detector found a data race in flowenroll", len(sc.runs))
	}
	return rec
}

// resume runs the command, without faults, until it finishes (exit 0 or 3),
// at most max times, and checks that each run resumed. It returns the last
// run's summary.
func (sc *scenario) resume(t *testing.T, max int, extra ...string) report.Summary {
	t.Helper()
	for i := 1; ; i++ {
		r := sc.run(t, trigger{}, extra...)
		sum := sc.summary(t, r)
		if !sum.Resumed {
			t.Errorf("run %d: summary.json says resumed: false after an interrupted run", len(sc.runs))
		}
		switch {
		case r.exit == 0 || r.exit == 3:
			return sum
		case r.exit != 4:
			t.Fatalf("run %d: %v; want 0, 3 or 4", len(sc.runs), r)
		case i == max:
			t.Fatalf("still exit 4 after %d resumed runs", max)
		}
	}
}

// summary reads summary.json, checks that it matches the process's exit
// code and the rows of the three CSV files, and returns it.
func (sc *scenario) summary(t *testing.T, r runRecord) report.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sc.out, report.SummaryFile))
	if err != nil {
		t.Fatalf("run %d: %v", len(sc.runs), err)
	}
	var sum report.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatalf("run %d: summary.json: %v", len(sc.runs), err)
	}
	if sum.ExitCode != r.exit {
		t.Errorf("run %d: summary.json says exit %d, the process exited %d", len(sc.runs), sum.ExitCode, r.exit)
	}
	if sum.RowsRead != len(sc.input.rows) {
		t.Errorf("run %d: summary.json says %d rows read, the input has %d", len(sc.runs), sum.RowsRead, len(sc.input.rows))
	}
	res := readResults(t, sc.out)
	want := report.Counts{FailedByStage: map[string]map[string]int{}, UnprocessedByReason: map[string]int{}}
	for _, o := range res.byLine {
		switch o.file {
		case "assigned":
			want.Assigned++
		case "failed":
			want.Failed++
			stage, code, _ := strings.Cut(o.code, "/")
			if want.FailedByStage[stage] == nil {
				want.FailedByStage[stage] = map[string]int{}
			}
			want.FailedByStage[stage][code]++
		case "unprocessed":
			want.Unprocessed++
			want.UnprocessedByReason[o.code]++
		}
	}
	if diff := cmp.Diff(want, sum.Counts, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("run %d: summary.json counts differ from the CSV files (-CSV +summary.json):\n%s", len(sc.runs), diff)
	}
	return sum
}

// dump logs every run and the end of its log, for a failed test.
func (sc *scenario) dump(t *testing.T) {
	t.Helper()
	for i, r := range sc.runs {
		t.Logf("run %d: flowenroll %s\n  %v\n  stdout: %s", i+1, strings.Join(r.args, " "), r, strings.TrimSpace(r.stdout))
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		t.Logf("run %d: last log lines:\n  %s", i+1, strings.Join(lines, "\n  "))
	}
}

// outcome is where a line of the input ended.
type outcome struct {
	file       string // assigned, failed, unprocessed
	code       string // failed: stage/errorCode; unprocessed: reason
	id, flow   string
	instanceID string // assigned only
}

// key is the outcome as inputRow.want spells it.
func (o outcome) key() string {
	if o.code == "" {
		return o.file
	}
	return o.file + ":" + o.code
}

// results are the three CSV files, by input line.
type results struct {
	byLine map[int]outcome
	twice  map[int][]string // lines found in more than one file (or twice in one)
}

// readResults reads assigned.csv, failed.csv and unprocessed.csv.
func readResults(t *testing.T, dir string) results {
	t.Helper()
	res := results{byLine: map[int]outcome{}, twice: map[int][]string{}}
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
		if len(recs) == 0 {
			t.Fatalf("%s.csv has no header", name)
		}
		for _, r := range recs[1:] {
			line, err := strconv.Atoi(r[0])
			if err != nil {
				t.Fatalf("%s.csv: line column %q", name, r[0])
			}
			o := outcome{file: name, id: r[1], flow: r[2]}
			switch name {
			case "assigned":
				o.instanceID = r[5]
			case "failed":
				o.code = r[4] + "/" + r[5]
			case "unprocessed":
				o.code = r[4]
			}
			if prev, dup := res.byLine[line]; dup {
				if len(res.twice[line]) == 0 {
					res.twice[line] = []string{prev.key()}
				}
				res.twice[line] = append(res.twice[line], o.key())
			}
			res.byLine[line] = o
		}
	}
	return res
}

// tally is what the audits of one test found, over all its scenarios.
type tally struct {
	mu                                                sync.Mutex
	scenarios, runs, signals, rows, lost, misreported int
}

func (ty *tally) add(sc *scenario, a audit) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	ty.scenarios++
	ty.runs += len(sc.runs)
	for _, r := range sc.runs {
		if r.fired {
			ty.signals++
		}
	}
	ty.rows += a.rows
	ty.lost += a.lost
	ty.misreported += a.misreported
}

// logAtEnd logs the totals once every subtest of t has finished.
func (ty *tally) logAtEnd(t *testing.T, what string) {
	t.Cleanup(func() {
		ty.mu.Lock()
		defer ty.mu.Unlock()
		t.Logf("%s: %d scenarios, %d runs, %d %s, %d rows audited, %d rows lost, %d rows misreported",
			t.Name(), ty.scenarios, ty.runs, ty.signals, what, ty.rows, ty.lost, ty.misreported)
	})
}

// audit is what one check of the output directory found.
type audit struct {
	rows, lost, misreported int
}

// check asserts the invariants that hold after every run that ended by
// itself: each data row is in exactly one of the three files, as the row it
// is in the input; assigned.csv names exactly the instances the emulator
// created, with their IDs; no row is failed as "already in flow" unless its
// prospect was in the flow before the run (otherwise this tool itself
// assigned it); and, when final, each row has the outcome one uninterrupted
// run gives it.
func (sc *scenario) check(t *testing.T, final bool) audit {
	t.Helper()
	return sc.inspect(t, final, false)
}

// inspect is check; with inDoubt, an instance the emulator created for a
// row that is in unprocessed.csv is no error: the run stopped while Gong
// may have acted on the row without an answer, and the next run reads it
// back. assigned.csv must still name only instances the emulator created.
func (sc *scenario) inspect(t *testing.T, final, inDoubt bool) audit {
	t.Helper()
	res := readResults(t, sc.out)
	a := audit{rows: len(sc.input.rows)}
	wrong := map[int]bool{}
	// The CRM ID Gong gave each person sent without one: a person's row is
	// named by it, once Gong has answered for them.
	bulkIDs := sc.gong.emu.BulkPeople()
	for i, in := range sc.input.rows {
		line := i + 2
		o, ok := res.byLine[line]
		switch {
		case !ok:
			a.lost++
			t.Errorf("line %d (%s in flow %s) is in none of the three files", line, in.id, in.flow)
			continue
		case len(res.twice[line]) > 0:
			a.lost++
			t.Errorf("line %d (%s in flow %s) is in more than one place: %v", line, in.id, in.flow, res.twice[line])
		}
		if in.email != "" {
			// A person: assigned.csv names the CRM ID Gong gave them;
			// the other files that ID or none.
			gave := bulkIDs[strings.ToLower(in.email)]
			if o.flow != in.flow || (o.file == "assigned" && (gave == "" || o.id != gave)) || (o.id != "" && o.id != gave) {
				wrong[line] = true
				t.Errorf("line %d of %s.csv is %q in flow %s; the input has person %s in flow %s, whom Gong gave CRM ID %q", line, o.file, o.id, o.flow, in.email, in.flow, gave)
			}
		} else if o.id != in.id || o.flow != in.flow {
			wrong[line] = true
			t.Errorf("line %d of %s.csv is %s in flow %s; the input has %s in flow %s", line, o.file, o.id, o.flow, in.id, in.flow)
		}
		if (o.code == "api/InvalidState" || o.code == "api/AlreadyInFlow") && !in.accepts(o.key()) {
			wrong[line] = true
			t.Errorf("line %d (%s in flow %s) is failed as InvalidState (already in flow): flowenroll itself assigned it", line, in.id, in.flow)
		}
		if final && !in.accepts(o.key()) {
			wrong[line] = true
			t.Errorf("line %d (%s in flow %s): %s, want %s", line, in.id, in.flow, o.key(), in.want)
		}
	}
	for line, o := range res.byLine {
		if line < 2 || line >= len(sc.input.rows)+2 {
			t.Errorf("%s.csv names line %d; the input's data rows are on lines 2 to %d", o.file, line, len(sc.input.rows)+1)
		}
	}

	// assigned.csv against what Gong holds, as (ID, flow, instance) triples.
	var got, want []string
	byTriple := map[string]int{}
	for line, o := range res.byLine {
		if o.file == "assigned" {
			k := o.id + "@" + o.flow + "#" + o.instanceID
			got = append(got, k)
			byTriple[k] = line
		}
	}
	// ID@flow of the rows left in unprocessed.csv and of those assigned: a
	// row's duplicate may be left while the row itself is assigned.
	left, claimed := map[string]bool{}, map[string]bool{}
	for line, o := range res.byLine {
		switch o.file {
		case "unprocessed":
			id := o.id
			if i := line - 2; i >= 0 && i < len(sc.input.rows) && sc.input.rows[i].email != "" {
				// A person left in doubt: Gong may have enrolled them
				// under the CRM ID it gave them.
				id = bulkIDs[strings.ToLower(sc.input.rows[i].email)]
			}
			left[id+"@"+o.flow] = true
		case "assigned":
			claimed[o.id+"@"+o.flow] = true
		}
	}
	created := map[string]bool{}
	for _, c := range sc.gong.emu.Created() {
		if k := c.CRMProspectID + "@" + c.FlowID; inDoubt && left[k] && !claimed[k] {
			continue
		}
		k := c.CRMProspectID + "@" + c.FlowID + "#" + c.FlowInstanceID
		want = append(want, k)
		created[k] = true
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assigned.csv differs from the instances the emulator created (-emulator +assigned.csv):\n%s", diff)
		for k, line := range byTriple {
			if !created[k] {
				wrong[line] = true
			}
		}
	}
	a.misreported = len(wrong)
	return a
}

// reasons counts unprocessed.csv's rows by reason.
func reasons(t *testing.T, dir string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, o := range readResults(t, dir).byLine {
		if o.file == "unprocessed" {
			n[o.code]++
		}
	}
	return n
}
