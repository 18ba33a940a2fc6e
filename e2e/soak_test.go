package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	oc "github.com/flowenroll/flowenroll/pkg/outcome"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/ledger"
)

// Flags of TestSoak. make test runs the default; make soak many more.
var (
	soakRuns     = flag.Int("soak.runs", 50, "TestSoak: number of seeded scenarios")
	soakFirst    = flag.Uint64("soak.seed", 1, "TestSoak: seed of the first scenario; the others follow it")
	soakParallel = flag.Int("soak.parallel", 12, "TestSoak: scenarios run at once (mostly waiting on backoff, pacing and timeouts)")
	soakReport   = flag.String("soak.report", "", "TestSoak: also write the totals to this file")
	soakKeep     = flag.String("soak.keep", "", "TestSoak: copy the input and output directory of each failed scenario under this directory")
)

// TestSoak runs seeded scenarios, each a mixed input against an emulator
// that injects a random mix of faults, with a random SIGKILL or SIGTERM at a
// request, then the same command again (faults on or off) until the job
// finishes. After every run that ends by itself, summary.json must agree
// with the files and every row be in exactly one file; after the last, each
// row must have its one right outcome, assigned.csv must be what Gong
// created, and no row may have been sent again after it was settled.
//
// A seed fixes the input, the fault rates and seeds, the signals and where
// they land; which of several concurrent requests draws which fault is up to
// the scheduler. Rerun one scenario with -run 'TestSoak/seed=0042$' (among
// the first -soak.runs), or -args -soak.seed=42 -soak.runs=1.
func TestSoak(t *testing.T) {
	t.Parallel()
	if *soakRuns <= 0 {
		t.Skip("-soak.runs is 0")
	}
	tot := &soakTotals{first: *soakFirst, last: *soakFirst + uint64(*soakRuns) - 1, exits: map[string]int{}}
	start := time.Now()
	seeds := make(chan uint64)
	var wg sync.WaitGroup
	for range max(*soakParallel, 1) {
		wg.Go(func() {
			for seed := range seeds {
				t.Run(fmt.Sprintf("seed=%04d", seed), func(t *testing.T) { soakScenario(t, seed, tot) })
			}
		})
	}
	for seed := tot.first; seed <= tot.last; seed++ {
		seeds <- seed
	}
	close(seeds)
	wg.Wait()
	tot.elapsed = time.Since(start)

	text := tot.String()
	if t.Failed() {
		text += "result: FAIL (see the failed scenarios above)\n"
	} else {
		text += "result: PASS\n"
	}
	t.Logf("soak totals:\n%s", text)
	if *soakReport != "" {
		if err := os.WriteFile(*soakReport, []byte(text), 0o644); err != nil {
			t.Errorf("writing -soak.report: %v", err)
		}
	}
	if tot.lost > 0 || tot.misreported > 0 || tot.resent > 0 || tot.people.sentTwice > 0 || tot.people.inDoubtRead > 0 || tot.resentWrong > 0 {
		t.Errorf("%d rows lost, %d misreported, %d sent again after settling, %d people in two bulk requests, %d people InDoubt of a job read, %d people sent again wrongly by --resend-in-doubt: all must be 0",
			tot.lost, tot.misreported, tot.resent, tot.people.sentTwice, tot.people.inDoubtRead, tot.resentWrong)
	}
}

// soakRun is what one run of a scenario is given: faults or none, a
// request cap or none, and the signal to send (the zero trigger sends none).
type soakRun struct {
	faults bool
	cap    int // --max-requests; 0: none
	trig   trigger
}

// flags are the run's own flags, after the scenario's.
func (r soakRun) flags() []string {
	if r.cap > 0 {
		return []string{"--max-requests", strconv.Itoa(r.cap)}
	}
	return nil
}

func (r soakRun) String() string {
	s := "clean"
	if r.faults {
		s = "faults"
	}
	if r.cap > 0 {
		s += fmt.Sprintf(" + --max-requests %d", r.cap)
	}
	if r.trig.sig != 0 {
		what := "assign"
		switch r.trig.path {
		case gong.PathProspectsFlows:
			what = "read-back"
		case gong.PathBulkAssignments:
			what = "bulk submit"
		}
		name := "SIGKILL"
		if r.trig.sig == syscall.SIGTERM {
			name = "SIGTERM"
		}
		if r.trig.again > 0 {
			name += fmt.Sprintf(" twice, %v apart", r.trig.again)
		}
		s += fmt.Sprintf(" + %s at %s #%d (%v)", name, what, r.trig.at, r.trig.point)
	}
	return s
}

// drawSoakRuns draws the first runs of a scenario: the first with faults
// and, most of the time, a signal somewhere in it; the second and third with
// faults half of the time and sometimes a signal early on, at an assign or
// at the first read-back. A SIGTERM is sent twice a third of the time,
// 10-200 ms apart (flowenroll takes that for the same request) or 1.1-1.6 s
// apart (a second signal: the process ends at once if it is still
// draining), and a run has a request cap one time in seven. Later runs (up
// to soakMaxRuns) are clean: the job must then finish.
func drawSoakRuns(rng *rand.Rand, assigns int) []soakRun {
	runs := make([]soakRun, 3)
	for i := range runs {
		r := &runs[i]
		r.faults = i == 0 || rng.IntN(2) == 0
		if rng.IntN(7) == 0 {
			r.cap = 6 + rng.IntN(assigns+1) // above the listings (one per owner)
		}
		u := rng.IntN(100)
		kill, term := 45, 75 // run 1: 45% SIGKILL, 30% SIGTERM, 25% none
		if i > 0 {
			kill, term = 25, 40
		}
		switch {
		case u < kill:
			r.trig.sig = syscall.SIGKILL
		case u < term:
			r.trig.sig = syscall.SIGTERM
			switch rng.IntN(6) {
			case 0: // a repeat, as from a supervisor signalling the group
				r.trig.again = time.Duration(10+rng.IntN(190)) * time.Millisecond
			case 1: // an impatient operator, if the drain is still going on
				r.trig.again = time.Duration(1100+rng.IntN(500)) * time.Millisecond
			}
		default:
			continue
		}
		r.trig.point = point(rng.IntN(int(points)))
		if r.trig.again > time.Second {
			// The signalled request is held (settleWatch.hold) so that the
			// drain is still going on when the second signal comes.
			r.trig.point = inFlightApplied
		}
		r.trig.path = gong.PathAssign
		switch {
		case i == 0:
			r.trig.at = 1 + rng.Int64N(int64(assigns))
		case rng.IntN(3) == 0:
			r.trig.path, r.trig.at = gong.PathProspectsFlows, 1
		default:
			r.trig.at = 1 + rng.Int64N(4)
		}
	}
	return runs
}

// soakMaxRuns bounds the runs of one scenario.
const soakMaxRuns = 8

func soakScenario(t *testing.T, seed uint64, tot *soakTotals) {
	rng := rand.New(rand.NewPCG(seed, 0x736f616b))
	plan := newSoakPlan(rng)
	runs := drawSoakRuns(rng, plan.assigns)
	prng := peopleRNG(seed)
	people, withPeople := addSoakPeople(prng, &plan)
	if withPeople {
		retargetToBulk(prng, runs, people.submits)
		plan.notes = append(plan.notes, people.notes...)
	}
	cfg := gongConfig(nil)
	cfg.Fixture, cfg.PoisonIDs = plan.fixture, plan.poison
	cfg.BulkModes = people.modes
	if seed%2 == 1 { // half the scenarios: a 400 that names no poison ID
		cfg.PoisonAnswer = emulator.PoisonNamesNothing
	}
	cfg.Modes.InstanceModes = soakInstanceModes(seed)
	plan.notes = append(plan.notes, describeInstanceModes(cfg.Modes.InstanceModes))
	watch := &settleWatch{resent: map[string]string{}}
	sc := newScenarioOf(t, plan.input, cfg, func(h http.Handler) http.Handler { watch.next = h; return watch })
	watch.emu, watch.journal, watch.sig = sc.gong.emu, filepath.Join(sc.out, ledger.FileName), sc.faults
	if *soakKeep != "" {
		t.Cleanup(func() { // before t.TempDir's cleanup, registered earlier
			if t.Failed() {
				keep(t, sc, filepath.Join(*soakKeep, fmt.Sprintf("seed=%04d", seed)))
			}
		})
	}
	t.Logf("%d rows; flags %s; faults: %s; special rows: %s",
		len(plan.input.rows), strings.Join(plan.flags, " "), describeFaults(plan.faults), strings.Join(plan.notes, ", "))

	var story []string
	fig := soakFigures{exits: map[string]int{}, audit: audit{rows: len(plan.input.rows)}, withPeople: withPeople,
		people: peopleAudit{rows: people.rows}}
	defer func() {
		t.Logf("runs: %s", strings.Join(story, "; "))
		st := sc.gong.emu.Stats()
		fig.runs, fig.requests, fig.faults, fig.failed = len(sc.runs), st.Requests, st.Faults, t.Failed()
		fig.bulkSubmits, fig.bulkReads = st.BulkSubmit, st.BulkStatus
		tot.add(fig)
	}()
	for n := 1; ; n++ {
		if n > soakMaxRuns {
			fig.unfinished = true
			t.Fatalf("not finished after %d runs", soakMaxRuns)
		}
		rp := soakRun{}
		if n <= len(runs) {
			rp = runs[n-1]
		}
		f := emulator.Faults{}
		if rp.faults {
			f = plan.faults
			f.Seed = int64(seed)*16 + int64(n)
		}
		if err := sc.gong.emu.SetFaults(f); err != nil {
			t.Fatal(err)
		}
		watch.hold.Store(0)
		if rp.trig.again > time.Second {
			watch.hold.Store(int64(secondSignalHold))
		}
		began := time.Now()
		r := sc.run(t, rp.trig, append(slices.Clone(plan.flags), rp.flags()...)...)
		story = append(story, fmt.Sprintf("%d: %v: %v, %.1fs", n, rp, r, time.Since(began).Seconds()))
		if r.fired && rp.trig.sig == syscall.SIGTERM {
			fig.terms++
		}
		if r.fired && rp.trig.path == gong.PathBulkAssignments {
			fig.bulkSignals++
		}
		if r.signal == syscall.SIGKILL {
			// The files may be half written; the journal is the truth, and
			// the next run rebuilds them from it.
			fig.kills++
			fig.exits["SIGKILL"]++
			continue
		}
		if r.signal != 0 {
			t.Fatalf("run %d: %v; flowenroll must end by itself after SIGTERM", n, r)
		}
		if strings.Contains(r.stderr, "second signal, exiting now") {
			// Ended at once by the second SIGTERM (exit 4): like a kill, it
			// leaves the journal, not the files, up to date.
			if r.exit != 4 {
				t.Errorf("run %d: %v after a second SIGTERM; want exit 4", n, r)
			}
			fig.exits["second SIGTERM"]++
			continue
		}
		fig.exits[fmt.Sprintf("exit %d", r.exit)]++
		sum := sc.summary(t, r) // summary.json agrees with the files and the exit code
		if n > 1 && !sum.Resumed {
			t.Errorf("run %d: summary.json says resumed: false", n)
		}
		// Two slow answers before any other (the slow fault) are a silent
		// address to the run: exit 1, every row unprocessed Unreachable, and
		// the same command goes on (contract: exit 1 within twice --timeout).
		silent := r.exit == 1 && sum.StopReason == oc.ReasonUnreachable && rp.faults && plan.faults.SlowAnswerRate > 0
		if silent {
			fig.exits["exit 1 (slow answers first: Unreachable)"]++
		}
		if r.exit == 4 && withPeople && sc.onlyPeopleInDoubt(t) {
			// Done: people of unanswered bulk requests are left for a
			// person to decide (--resend-in-doubt), and a plain rerun
			// would settle nothing more.
			fig.endedInDoubt = true
			break
		}
		if r.exit == 4 || silent {
			// Stopped early (SIGTERM, or rows left in doubt when retries ran
			// out): every row is in one file, nothing is claimed that Gong
			// did not create, and what Gong created is assigned.csv's or
			// unprocessed, to be read back.
			fig.audit = fig.audit.max(sc.inspect(t, false, true))
			continue
		}
		if r.exit != 3 {
			t.Fatalf("run %d: %v; want exit 3 (the input always has rows that fail) or 4", n, r)
		}
		break
	}

	// With people left InDoubt, Gong may hold instances of theirs that
	// assigned.csv rightly does not claim.
	fig.audit = fig.audit.max(sc.inspect(t, true, fig.endedInDoubt))
	if withPeople {
		fig.people = sc.checkPeople(t)
	}
	if fig.endedInDoubt {
		before := len(sc.runs)
		fig.resentInDoubt, fig.resentWrong = sc.resendInDoubt(t, plan.flags)
		fig.exits["after the end: --resend-in-doubt, then plain"] += len(sc.runs) - before
		fig.audit = fig.audit.max(sc.check(t, true))
	}
	resent := watch.report()
	for _, why := range resent {
		t.Errorf("sent again after it had settled: %s", why)
	}
	fig.resent = len(resent)
	var wrong int
	fig.exhausted, wrong = checkExhausted(t, sc.out)
	fig.audit.misreported += wrong
}

// checkExhausted counts the rows failed RetriesExhausted, and those of them
// misreported: each must have given up on a 429. After any other retried
// failure (a 5xx, a lost or unreadable answer) Gong may have applied the
// request, and the row must be read back (or left InDoubt), not reported
// failed.
func checkExhausted(t *testing.T, out string) (exhausted, wrong int) {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "failed.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("failed.csv: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, r := range recs[1:] {
		if r[col["stage"]]+"/"+r[col["errorCode"]] != "request/RetriesExhausted" {
			continue
		}
		exhausted++
		if r[col["httpStatus"]] != "429" {
			wrong++
			t.Errorf("line %s (%s) failed RetriesExhausted with HTTP status %q; only a 429 leaves a row surely not applied: %s",
				r[col["line"]], r[col["crmProspectId"]], r[col["httpStatus"]], r[col["errorMessage"]])
		}
	}
	return exhausted, wrong
}

// soakFigures are what one scenario did and found.
type soakFigures struct {
	runs, kills, terms, requests int
	exits                        map[string]int // how runs ended
	faults                       emulator.FaultCounts
	audit                        audit // the most rows lost and misreported at any one check
	resent, exhausted            int
	unfinished, failed           bool
	// Scenarios with people without a CRM ID.
	people                 peopleAudit
	bulkSubmits, bulkReads int
	endedInDoubt           bool // the last run exited 4, only people InDoubt left
	withPeople             bool
	bulkSignals            int // signals sent at a bulk submit
	// After --resend-in-doubt: people sent again, and of them those that
	// were not InDoubt, or sent more than twice.
	resentInDoubt, resentWrong int
}

// max is the worse of two audits of the same rows.
func (a audit) max(b audit) audit {
	return audit{rows: max(a.rows, b.rows), lost: max(a.lost, b.lost), misreported: max(a.misreported, b.misreported)}
}

// keep copies the scenario's input and output directory to dir, with the
// instances the emulator created.
func keep(t *testing.T, sc *scenario, dir string) {
	if err := os.CopyFS(filepath.Join(dir, "out"), os.DirFS(sc.out)); err != nil {
		t.Logf("-soak.keep: %v", err)
		return
	}
	in, err := os.ReadFile(sc.in)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "prospects.csv"), in, 0o600)
	}
	if err == nil {
		created, _ := json.MarshalIndent(sc.gong.emu.Instances(), "", "  ")
		err = os.WriteFile(filepath.Join(dir, "emulator-instances.json"), created, 0o600)
	}
	if err != nil {
		t.Logf("-soak.keep: %v", err)
		return
	}
	t.Logf("kept the input and results in %s", dir)
}

func addFaults(a, b emulator.FaultCounts) emulator.FaultCounts {
	a.ServerError += b.ServerError
	a.RateLimitStorm += b.RateLimitStorm
	a.ResetBefore += b.ResetBefore
	a.DropAfterApply += b.DropAfterApply
	a.SlowAnswer += b.SlowAnswer
	a.TruncatedBody += b.TruncatedBody
	a.InvalidJSON += b.InvalidJSON
	a.Poisoned += b.Poisoned
	return a
}

// settleWatch stands between the signaller and the emulator. As each assign
// request arrives, before Gong sees it, it checks that the request carries
// no row that is settled already, in either of two senses:
//
//   - the journal (ledger.jsonl) holds a "settled" entry for the row: the
//     tool recorded its outcome, so it must never send the row again (the
//     contract's "rows already settled are not sent again");
//   - Gong created an instance for the (ID, flow) earlier, whether or not
//     the tool heard of it. A request whose answer was lost leaves its rows
//     in doubt, and the tool must read them back and claim the instance
//     instead of sending them again (which would make Gong answer "already
//     in flow" for a row the tool itself assigned).
//
// Rows are named by (ID, flow): every plan gives each pair to one row (its
// duplicate is never sent). The second sense is the finer one; the first
// also covers rows that failed. Both are checked at the moment the request
// reaches Gong, so a request sent before the row settled but arriving after
// it would be caught too.
//
// It also bounds how long the emulator may hold a request: the signaller
// detaches the request it kills in flight from its connection, and a slow
// answer (SlowAnswerDelay 1h) would otherwise keep that connection open.
// And, with hold set, it holds every request that arrives once the signal
// is sent, so that a SIGTERM's drain lasts until a second signal comes.
type settleWatch struct {
	next    http.Handler
	emu     *emulator.Server
	journal string
	sig     *signaller
	hold    atomic.Int64 // a time.Duration

	mu     sync.Mutex
	resent map[string]string // ID@flow -> why it should not have been sent
}

// abandonAfter is the longest the emulator answers a request: longer than
// the client's --timeout, far shorter than a slow answer.
const abandonAfter = 5 * time.Second

// secondSignalHold is settleWatch.hold for a run that gets a second SIGTERM
// 1.1 to 1.6 s after the first: longer than that, shorter than --timeout.
const secondSignalHold = 1800 * time.Millisecond

func (w *settleWatch) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), abandonAfter)
	defer cancel()
	r = r.WithContext(ctx)
	if d := time.Duration(w.hold.Load()); d > 0 && w.sig.signalled() {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if r.URL.Path == gong.PathAssign && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		// The emulator reads the same bytes and, if the body broke off, the
		// same error.
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errorReader{err}))
		var req gong.AssignRequest
		if err == nil && json.Unmarshal(body, &req) == nil {
			w.inspect(req)
		}
	}
	w.next.ServeHTTP(rw, r)
}

func (w *settleWatch) inspect(req gong.AssignRequest) {
	settled := w.settled()
	created := map[string]string{}
	for _, c := range w.emu.Created() {
		created[c.CRMProspectID+"@"+c.FlowID] = c.FlowInstanceID
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range req.CRMProspectsIDs {
		k := id + "@" + req.FlowID
		if _, seen := w.resent[k]; seen {
			continue
		}
		switch {
		case settled[k] != "":
			w.resent[k] = "the journal had settled it: " + settled[k]
		case created[k] != "":
			w.resent[k] = "Gong had created its instance " + created[k]
		}
	}
}

// settled reads the journal's "settled" entries: ID@flow -> outcome. A line
// without its newline is being written (or torn) and is not read.
func (w *settleWatch) settled() map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(w.journal)
	if err != nil {
		return out
	}
	for line := range bytes.Lines(b) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			break
		}
		// The journal's settled rows (format version 2).
		var e struct {
			Rows []struct {
				Kind          string `json:"kind"`
				CRMProspectID string `json:"crmProspectId"`
				FlowID        string `json:"flowId"`
				Stage         string `json:"stage"`
				Code          string `json:"code"`
				Instance      *struct {
					ID string `json:"id"`
				} `json:"instance"`
			} `json:"rows"`
		}
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		for _, r := range e.Rows {
			k := r.CRMProspectID + "@" + r.FlowID
			if r.Kind == "assigned" && r.Instance != nil {
				out[k] = "assigned, instance " + r.Instance.ID
			} else {
				out[k] = "failed " + r.Stage + "/" + r.Code
			}
		}
	}
	return out
}

// report lists the rows sent again after settling, sorted.
func (w *settleWatch) report() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for k, why := range w.resent {
		out = append(out, k+": "+why)
	}
	sort.Strings(out)
	return out
}

// errorReader ends a body with err (io.EOF if nil).
type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) {
	if r.err == nil {
		return 0, io.EOF
	}
	return 0, r.err
}

// soakTotals are the figures of all scenarios.
type soakTotals struct {
	first, last uint64
	elapsed     time.Duration

	mu                                         sync.Mutex
	scenarios, failed, unfinished              int
	runs, kills, terms, requests               int
	faults                                     emulator.FaultCounts
	rows, lost, misreported, resent, exhausted int
	exits                                      map[string]int

	withPeople, endedInDoubt, bulkSubmits, bulkReads int
	people                                           peopleAudit
	resentInDoubt, resentWrong, bulkSignals          int
}

func (ty *soakTotals) add(f soakFigures) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	ty.scenarios++
	if f.failed {
		ty.failed++
	}
	if f.unfinished {
		ty.unfinished++
	}
	ty.runs += f.runs
	ty.kills += f.kills
	ty.terms += f.terms
	ty.requests += f.requests
	ty.faults = addFaults(ty.faults, f.faults)
	ty.rows += f.audit.rows
	ty.lost += f.audit.lost
	ty.misreported += f.audit.misreported
	ty.resent += f.resent
	ty.exhausted += f.exhausted
	for k, n := range f.exits {
		ty.exits[k] += n
	}
	if f.withPeople {
		ty.withPeople++
	}
	if f.endedInDoubt {
		ty.endedInDoubt++
	}
	ty.bulkSubmits += f.bulkSubmits
	ty.bulkReads += f.bulkReads
	ty.people.rows += f.people.rows
	ty.people.assigned += f.people.assigned
	ty.people.inDoubt += f.people.inDoubt
	ty.people.failed += f.people.failed
	ty.people.sentTwice += f.people.sentTwice
	ty.people.inDoubtRead += f.people.inDoubtRead
	ty.bulkSignals += f.bulkSignals
	ty.resentInDoubt += f.resentInDoubt
	ty.resentWrong += f.resentWrong
}

func (ty *soakTotals) String() string {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	f := ty.faults
	var exits []string
	for k, n := range ty.exits {
		exits = append(exits, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(exits)
	var b strings.Builder
	fmt.Fprintf(&b, "scenarios:       %d (seeds %d to %d), in %s; %d failed, %d of them unfinished after %d runs\n",
		ty.scenarios, ty.first, ty.last, ty.elapsed.Round(time.Second), ty.failed, ty.unfinished, soakMaxRuns)
	fmt.Fprintf(&b, "runs:            %d runs of flowenroll (%s)\n", ty.runs, strings.Join(exits, ", "))
	fmt.Fprintf(&b, "faults injected: %d (5xx %d, 429 storm answers %d, reset before apply %d, drop after apply %d, slow answer %d, truncated body %d, HTML instead of JSON %d, poisoned requests %d)\n",
		f.Total(), f.ServerError, f.RateLimitStorm, f.ResetBefore, f.DropAfterApply, f.SlowAnswer, f.TruncatedBody, f.InvalidJSON, f.Poisoned)
	fmt.Fprintf(&b, "kills:           %d SIGKILL\n", ty.kills)
	fmt.Fprintf(&b, "signals:         %d SIGTERM\n", ty.terms)
	fmt.Fprintf(&b, "requests:        %d reached the emulator\n", ty.requests)
	fmt.Fprintf(&b, "rows:            %d\n", ty.rows)
	fmt.Fprintf(&b, "rows lost:       %d\n", ty.lost)
	fmt.Fprintf(&b, "rows misreported: %d\n", ty.misreported)
	fmt.Fprintf(&b, "rows sent again after settling: %d\n", ty.resent)
	fmt.Fprintf(&b, "rows failed RetriesExhausted under 429 storms (an honest outcome): %d\n", ty.exhausted)
	p := ty.people
	fmt.Fprintf(&b, "people without a CRM ID: %d scenarios, %d rows (%d assigned, %d failed, %d left InDoubt for --resend-in-doubt; %d scenarios ended so, exit 4), %d bulk submits and %d reads reached the emulator\n",
		ty.withPeople, p.rows, p.assigned, p.failed, p.inDoubt, ty.endedInDoubt, ty.bulkSubmits, ty.bulkReads)
	fmt.Fprintf(&b, "signals at a bulk submit: %d (SIGKILL or SIGTERM)\n", ty.bulkSignals)
	fmt.Fprintf(&b, "people in two bulk requests Gong accepted: %d\n", p.sentTwice)
	fmt.Fprintf(&b, "people InDoubt though their job was read: %d\n", p.inDoubtRead)
	fmt.Fprintf(&b, "then, in those %d scenarios, one run with --resend-in-doubt: %d people sent a second time, %d of them not InDoubt before or sent more than twice\n",
		ty.endedInDoubt, ty.resentInDoubt, ty.resentWrong)
	return b.String()
}
