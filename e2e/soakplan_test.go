package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// Flows and owners of emulator.DefaultFixture that only the soak uses.
const (
	flowExclusive = "1695493301223590801" // Enterprise Nurture (exclusive)
	flowBensOwn   = "1702318845120411245" // Webinar Follow-up: Ben's personal flow
	flowShared    = "1711046208531772904" // Renewal Check-in: Chloé's, shared with Ava

	chloe = "chloe.martin@example.com"
)

// Outcomes only the soak expects.
const (
	wantBadFlowID = "failed:input/InvalidFlowId"
	// Gong's own answer for a prospect already open in the flow, or open in an
	// exclusive flow, before the run.
	wantInvalidState = "failed:api/InvalidState"
	// A request refused with 400 for a poison ID: the poison row fails, named
	// by Gong or refused alone, and the rest of its chunk goes through.
	wantPoisoned = "failed:request/BadRequest"
	// A row whose request met 429s (and nothing that may have applied it)
	// until --max-retry-time: an honest outcome under a 429 storm.
	wantExhausted = "failed:request/RetriesExhausted"
	// A flow the owner cannot see: the preflight rejects it, or Gong answers
	// 404 (when the listing failed and the row went without preflight).
	wantInvisible = wantUnknownFlow
)

// soakGroup is a flow and an owner who can see it: the rows of one group
// share their requests.
type soakGroup struct{ flow, owner string }

// soakGroups are every (flow, owner) pair of the default fixture that Gong
// accepts: company flows for all four users, Ben's personal flow for Ben,
// Chloé's shared flow for Chloé and Ava.
func soakGroups() []soakGroup {
	var gs []soakGroup
	for _, f := range []string{flowSDR, flowWebinar, flowDemo, flowExclusive} {
		for _, o := range []string{ava, ben, chloe, dan} {
			gs = append(gs, soakGroup{f, o})
		}
	}
	return append(gs, soakGroup{flowBensOwn, ben}, soakGroup{flowShared, chloe}, soakGroup{flowShared, ava})
}

// soakPlan is one seeded scenario: its input, the company as Gong holds it
// before the run, the faults, and the client's flags.
type soakPlan struct {
	input   prospectsFile
	fixture emulator.Fixture
	poison  map[string]bool
	faults  emulator.Faults
	flags   []string
	// assigns is about the number of assign requests of one run without
	// faults: where a kill may land.
	assigns int
	notes   []string // what the plan holds, for the log
}

// newSoakPlan draws a scenario from rng. The input mixes, in random order:
//   - 3 to 5 groups of 3 to 12 fresh prospects (each ID in one group only, so
//     an (ID, flow) pair names one row);
//   - up to 3 of them already open in the same flow, or in the exclusive flow,
//     before the run (Gong answers InvalidState, or a read-back finds the
//     older instance, AlreadyInFlow: the row must say so);
//   - up to 2 already in another flow, or finished in the same one (no
//     obstacle: the row must be assigned, and a read-back must not claim the
//     old instance);
//   - 1 or 2 poison IDs (Config.PoisonIDs: Gong refuses their whole request
//     with 400);
//   - a duplicate, a flow Gong does not know, and some of: a missing ID, a bad
//     owner email, a flow ID that is not digits, a flow the owner cannot see,
//     an owner who is no Gong user.
func newSoakPlan(rng *rand.Rand) soakPlan {
	p := soakPlan{fixture: emulator.DefaultFixture(), poison: map[string]bool{}}
	p.faults = soakFaults(rng)
	stormy := p.faults.StormRate > 0
	chunkSize := 3 + rng.IntN(6)
	p.flags = []string{
		"--chunk-size", strconv.Itoa(chunkSize),
		"--concurrency", strconv.Itoa(1 + rng.IntN(4)),
		// A slow answer (SlowAnswerDelay 1h) is given up after --timeout.
		"--timeout", "2s",
		"--max-retry-time", "8s",
		// Above the storms' Retry-After (1s), so a storm is waited out.
		"--max-wait", "30s",
		"--drain-timeout", "5s",
	}

	// sent marks a row that goes to Gong: under a storm it may honestly end
	// as RetriesExhausted.
	sent := func(want string) string {
		if stormy {
			return want + "|" + wantExhausted
		}
		return want
	}

	groups := soakGroups()
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	groups = groups[:3+rng.IntN(3)]
	var rows []inputRow
	for gi, g := range groups {
		n := 3 + rng.IntN(10)
		p.assigns += (n + chunkSize - 1) / chunkSize
		for i := range n {
			rows = append(rows, inputRow{id: fmt.Sprintf("G%dP%02d", gi, i), flow: g.flow, owner: g.owner, want: sent(wantAssigned)})
		}
	}
	// Special rows are taken from the fresh ones, each at most once.
	pick := func(ok func(inputRow) bool) int {
		for range 20 {
			i := rng.IntN(len(rows))
			if rows[i].want == sent(wantAssigned) && !strings.HasSuffix(rows[i].id, "X") && ok(rows[i]) {
				return i
			}
		}
		return -1
	}
	anyRow := func(inputRow) bool { return true }
	existing := func(r inputRow, flow, status string) {
		p.fixture.Existing = append(p.fixture.Existing, emulator.AssignedFlow{
			FlowID: flow, CRMProspectID: r.id, FlowInstanceOwnerEmail: r.owner,
			FlowInstanceCreateDate: "2024-05-02T09:00:00.000Z", FlowInstanceStatus: status,
		})
	}
	mark := func(i int, want string) {
		rows[i].want = sent(want)
		rows[i].id += "X" // a special row, not picked twice
	}
	for range rng.IntN(4) {
		i := pick(anyRow)
		if i < 0 {
			continue
		}
		mark(i, wantInvalidState)
		if rows[i].flow != flowExclusive && rng.IntN(3) == 0 {
			existing(rows[i], flowExclusive, emulator.StatusRunning)
			p.notes = append(p.notes, rows[i].id+" open in the exclusive flow")
		} else {
			existing(rows[i], rows[i].flow, emulator.StatusPaused)
			p.notes = append(p.notes, rows[i].id+" open in its flow")
			// Gong's refusal, or, when its answer was lost and the row
			// read back, the instance's date: older than the request.
			rows[i].want = sent(wantInvalidState + "|" + wantAlreadyInFlow)
		}
	}
	for range rng.IntN(3) {
		i := pick(func(r inputRow) bool { return r.flow != flowExclusive })
		if i < 0 {
			continue
		}
		mark(i, wantAssigned)
		if other := flowDemo; rows[i].flow != other && rng.IntN(2) == 0 {
			existing(rows[i], other, emulator.StatusRunning)
			p.notes = append(p.notes, rows[i].id+" open in another flow")
		} else {
			existing(rows[i], rows[i].flow, emulator.StatusFinishedNoReply)
			p.notes = append(p.notes, rows[i].id+" finished in its flow")
		}
	}
	for range 1 + rng.IntN(2) {
		if i := pick(anyRow); i >= 0 {
			mark(i, wantPoisoned)
			p.poison[rows[i].id] = true
			p.notes = append(p.notes, rows[i].id+" poison")
		}
	}
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })

	insert := func(r inputRow, from int) {
		at := from + rng.IntN(len(rows)-from+1)
		rows = slices.Insert(rows, at, r)
	}
	dup := pick(anyRow)
	if dup >= 0 {
		r := rows[dup]
		r.want = "failed:input/Duplicate"
		insert(r, dup+1)
	}
	for i := range 1 + rng.IntN(2) {
		insert(inputRow{id: fmt.Sprintf("UNK%d", i), flow: flowUnknown, owner: groups[0].owner, want: sent(wantUnknownFlow)}, 0)
	}
	p.assigns++
	if rng.IntN(2) == 0 {
		insert(inputRow{id: "", flow: groups[0].flow, owner: groups[0].owner, want: wantMissingValue}, 0)
	}
	if rng.IntN(2) == 0 {
		insert(inputRow{id: "BADMAIL", flow: groups[0].flow, owner: "ava.reyes@", want: wantBadEmail}, 0)
	}
	if rng.IntN(2) == 0 {
		insert(inputRow{id: "BADFLOW", flow: "SDR-Q3", owner: ava, want: wantBadFlowID}, 0)
	}
	if rng.IntN(3) == 0 {
		insert(inputRow{id: "NOTBENS", flow: flowBensOwn, owner: dan, want: sent(wantInvisible)}, 0)
	}
	if rng.IntN(4) == 0 {
		// Gong refuses to list the flows of an owner who is no Gong user
		// (400): the preflight fails the rows without a request. Should the
		// listing fail otherwise (a fault), the rows go without preflight,
		// Gong refuses the whole request (emulator.UnknownOwnerRequest) with
		// a 400 naming the owner, and the rows fail together.
		for i := range 1 + rng.IntN(2) {
			insert(inputRow{id: fmt.Sprintf("NOUSER%d", i), flow: flowSDR, owner: "eve.nobody@example.com", want: "failed:input/OwnerRefused|" + sent(wantPoisoned)}, 0)
		}
		p.notes = append(p.notes, "rows of an owner who is no Gong user")
		p.assigns++
	}
	p.input = prospectsFile{rows: rows, minRequests: p.assigns}
	return p
}

// soakFaults draws the faults of a scenario: each kind is off with chance
// 0.3 and otherwise hits 0 to 10% of the requests (slow answers 0 to 5%, as
// each costs the client's whole --timeout). Storms are 1 to 4 requests of
// 429 with Retry-After 1s. Assign requests always draw; read-backs half the
// time, flow listings a quarter.
func soakFaults(rng *rand.Rand) emulator.Faults {
	rate := func(most float64) float64 {
		if rng.IntN(10) < 3 {
			return 0
		}
		return rng.Float64() * most
	}
	f := emulator.Faults{
		Ops:             []string{emulator.OpAssign},
		ServerErrorRate: rate(0.10), ServerErrorStatuses: []int{500, 502, 503, 504},
		StormRate: rate(0.10), StormLength: 1 + rng.IntN(4), StormRetryAfter: time.Second,
		ResetBeforeRate:    rate(0.10),
		DropAfterApplyRate: rate(0.10),
		SlowAnswerRate:     rate(0.05), SlowAnswerDelay: time.Hour,
		TruncatedBodyRate: rate(0.10),
		InvalidJSONRate:   rate(0.10),
	}
	if rng.IntN(2) == 0 {
		f.Ops = append(f.Ops, emulator.OpReadBack)
	}
	if rng.IntN(4) == 0 {
		f.Ops = append(f.Ops, emulator.OpListFlows)
	}
	return f
}

// describeFaults is f in one line, for the log.
func describeFaults(f emulator.Faults) string {
	var parts []string
	add := func(name string, rate float64) {
		if rate > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", name, 100*rate))
		}
	}
	add("5xx", f.ServerErrorRate)
	if f.StormRate > 0 {
		parts = append(parts, fmt.Sprintf("storm %.1f%% x%d", 100*f.StormRate, f.StormLength))
	}
	add("reset", f.ResetBeforeRate)
	add("drop-after-apply", f.DropAfterApplyRate)
	add("slow", f.SlowAnswerRate)
	add("truncated", f.TruncatedBodyRate)
	add("html", f.InvalidJSONRate)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ") + " on " + strings.Join(f.Ops, ", ")
}
