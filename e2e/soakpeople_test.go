package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gong"
	oc "github.com/flowenroll/flowenroll/pkg/outcome"
)

// Outcomes of people without a CRM ID (bulk assignment).
const (
	// A person whose bulk request went unanswered (a lost 202, a 5xx, a
	// timeout, a signal after it was written): nothing reads a person
	// back, and the soak never passes --resend-in-doubt, so the row stays
	// unprocessed InDoubt, on every path.
	wantPersonInDoubt = "unprocessed:" + oc.ReasonInDoubt
	wantBulkFailed    = "failed:api/" + oc.CodeBulkFailed
)

// soakPeople is the part of a scenario about people without a CRM ID.
type soakPeople struct {
	modes   emulator.BulkModes
	submits int // about the bulk requests of one run: where a signal may land
	rows    int
	notes   []string
}

// peopleRNG is the generator of a scenario's people, apart from the plan's
// own, so that the scenarios without people stay those they were.
func peopleRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x70656f706c65)) }

// addSoakPeople gives a third of the scenarios (drawn from rng) people
// without a CRM ID: 1 or 2 (flow, owner) groups of 5 to 120 people each
// (1 to 3 bulk requests of 50), put among the CRM-ID rows at random, one
// of them repeated with the email in upper case (Duplicate), and the
// emulator's bulk modes drawn: jobs IN_PROGRESS for 0 to 3 reads (3 reads
// outlast --max-retry-time: BulkPending, then the next run reads the job
// again), a quarter of the time a job ending FAILED (for whoever shares
// its request), half the time a person refused CRM_OPERATION_FAILED or
// FLOW_ASSIGNMENT_FAILED. The bulk submits and reads draw the scenario's
// faults two times in three and half the time (a lost 202 is a drop after
// apply on the submit). It returns false for a scenario without people.
func addSoakPeople(rng *rand.Rand, p *soakPlan) (soakPeople, bool) {
	var sp soakPeople
	if rng.IntN(3) != 0 {
		return sp, false
	}
	stormy := p.faults.StormRate > 0
	if rng.IntN(3) != 0 {
		p.faults.Ops = append(p.faults.Ops, emulator.OpBulkSubmit)
	}
	if rng.IntN(2) == 0 {
		p.faults.Ops = append(p.faults.Ops, emulator.OpBulkStatus)
	}
	sp.modes.BulkPolls = rng.IntN(4)
	sp.notes = append(sp.notes, fmt.Sprintf("bulk jobs done after %d reads in progress", sp.modes.BulkPolls))

	groups := soakGroups()
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	groups = groups[:1+rng.IntN(2)]
	var people []inputRow
	for gi, g := range groups {
		n := 5 + rng.IntN(116)
		sp.submits += (n + gong.MaxBulkProspects - 1) / gong.MaxBulkProspects
		first := len(people)
		for i := range n {
			people = append(people, inputRow{flow: g.flow, owner: g.owner, email: fmt.Sprintf("pat.g%dp%03d@people.example.org", gi, i)})
		}
		own := map[int]string{} // index in people -> the person's own outcome
		if rng.IntN(4) == 0 {
			// Every person of this group may share the failed job's request.
			i := first + rng.IntN(n)
			if sp.modes.BulkFailJob == nil {
				sp.modes.BulkFailJob = map[string]bool{}
			}
			sp.modes.BulkFailJob[people[i].email] = true
			own[i] = wantBulkFailed
			sp.notes = append(sp.notes, people[i].email+" fails its bulk job")
		}
		if rng.IntN(2) == 0 {
			i := first + rng.IntN(n)
			if _, taken := own[i]; !taken {
				st, code := emulator.BulkCRMOperationFailed, oc.CodeCRMOperationFailed
				if rng.IntN(2) == 0 {
					st, code = emulator.BulkFlowAssignFailed, oc.CodeFlowAssignmentFailed
				}
				if sp.modes.BulkFailProspect == nil {
					sp.modes.BulkFailProspect = map[string]string{}
				}
				sp.modes.BulkFailProspect[people[i].email] = st
				own[i] = "failed:api/" + code
				sp.notes = append(sp.notes, people[i].email+" refused "+st)
			}
		}
		for i := first; i < len(people); i++ {
			want := wantAssigned
			if w, ok := own[i]; ok {
				want = w
			}
			if want != wantBulkFailed && groupHasFailJob(people[first:], sp.modes.BulkFailJob) {
				want += "|" + wantBulkFailed
			}
			if stormy {
				want += "|" + wantExhausted
			}
			people[i].want = want + "|" + wantPersonInDoubt
		}
	}
	rows := p.input.rows
	for _, r := range people {
		at := rng.IntN(len(rows) + 1)
		rows = slices.Insert(rows, at, r)
	}
	// A person again, the email in upper case: the same person.
	var firstAt []int
	for i, r := range rows {
		if r.email != "" {
			firstAt = append(firstAt, i)
		}
	}
	orig := firstAt[rng.IntN(len(firstAt))]
	dup := rows[orig]
	dup.email, dup.want = strings.ToUpper(dup.email), wantDuplicate
	rows = slices.Insert(rows, orig+1+rng.IntN(len(rows)-orig), dup)
	p.input.rows = rows
	sp.rows = len(people) + 1
	sp.notes = append(sp.notes, fmt.Sprintf("%d people without a CRM ID in %d groups", sp.rows, len(groups)))
	return sp, true
}

// groupHasFailJob reports whether any person of a group fails their job.
func groupHasFailJob(group []inputRow, fail map[string]bool) bool {
	return slices.ContainsFunc(group, func(r inputRow) bool { return fail[r.email] })
}

// retargetToBulk moves a third of the signals of a scenario with people
// (drawn from rng) to a bulk submit, among the first of one run.
func retargetToBulk(rng *rand.Rand, runs []soakRun, submits int) {
	for i := range runs {
		if runs[i].trig.sig == 0 || rng.IntN(3) != 0 {
			continue
		}
		runs[i].trig.path = gong.PathBulkAssignments
		runs[i].trig.at = 1 + rng.Int64N(int64(submits))
	}
}

// peopleAudit is what the check of a scenario's people found.
type peopleAudit struct {
	rows, assigned, inDoubt, failed int
	sentTwice                       int // people carried by more than one accepted bulk request
	// inDoubtRead counts people InDoubt whose accepted job was read: the
	// client had its id, so it knew where to find their result.
	inDoubtRead int
}

// checkPeople checks the people rows after the scenario's last run: no
// person was carried by two bulk requests Gong accepted (the soak never
// passes --resend-in-doubt, so none may be sent again), no person is left
// unprocessed for any reason but InDoubt (a plain rerun settles every
// other), and an assigned person has the instance Gong created for the CRM
// ID it gave that email, in the row's flow (the CRM ID itself is checked
// by inspect). A person InDoubt must be in no accepted job, or in one never
// read (PENDING): the client journals a job's id before its first read,
// and the emulator gives a result for every person of a finished job, so
// a job read even once is read to its end by the same command.
func (sc *scenario) checkPeople(t *testing.T) peopleAudit {
	t.Helper()
	var pa peopleAudit
	per, status := map[string]int{}, map[string]string{}
	for _, j := range sc.gong.emu.BulkJobs() {
		for _, e := range j.Emails {
			per[e]++
			status[e] = j.Status
		}
	}
	for e, n := range per {
		if n > 1 {
			pa.sentTwice++
			t.Errorf("person %s was in %d bulk requests Gong accepted; without --resend-in-doubt, at most 1", e, n)
		}
	}
	instance := map[string]string{} // crmId@flow -> instance
	for _, c := range sc.gong.emu.Created() {
		instance[c.CRMProspectID+"@"+c.FlowID] = c.FlowInstanceID
	}
	ids := sc.gong.emu.BulkPeople()
	res := readResults(t, sc.out)
	for i, in := range sc.input.rows {
		if in.email == "" {
			continue
		}
		pa.rows++
		o := res.byLine[i+2]
		switch {
		case o.file == "assigned":
			pa.assigned++
			id := ids[strings.ToLower(in.email)]
			if got := instance[id+"@"+in.flow]; o.instanceID == "" || o.instanceID != got {
				t.Errorf("line %d (person %s) assigned with instance %q; Gong created %q for CRM ID %q in flow %s", i+2, in.email, o.instanceID, got, id, in.flow)
			}
		case o.file == "unprocessed" && o.code == oc.ReasonInDoubt:
			pa.inDoubt++
			if st := status[strings.ToLower(in.email)]; st != "" && st != emulator.BulkPending {
				pa.inDoubtRead++
				t.Errorf("line %d (person %s) InDoubt, but their bulk job was read (%s): the client had its id", i+2, in.email, st)
			}
		case o.file == "unprocessed":
			t.Errorf("line %d (person %s) unprocessed %s after the last run: a plain rerun settles it", i+2, in.email, o.code)
		case o.file == "failed":
			pa.failed++
		}
	}
	return pa
}

// onlyPeopleInDoubt reports whether every row left unprocessed is a person
// InDoubt (and at least one is): no plain rerun can settle those, so the
// scenario is done though the run exits 4.
func (sc *scenario) onlyPeopleInDoubt(t *testing.T) bool {
	t.Helper()
	res := readResults(t, sc.out)
	some := false
	for line, o := range res.byLine {
		if o.file != "unprocessed" {
			continue
		}
		i := line - 2
		if i < 0 || i >= len(sc.input.rows) || sc.input.rows[i].email == "" || o.code != oc.ReasonInDoubt {
			return false
		}
		some = true
	}
	return some
}

// resendInDoubt is one more run, clean, with --resend-in-doubt, after a
// scenario ended with people InDoubt: a person's deliberate choice to send
// them again (then the plain command, while jobs are pending). Then no row may be left unprocessed, every row has its one
// right outcome and assigned.csv is exactly what Gong created (inspect),
// and the invariant on sends becomes: a person is in at most two bulk
// requests Gong accepted, and in two only if their row was InDoubt before
// this run. (The emulator applies a job when it is read, and a job of
// people InDoubt was never read, so a person sent again is enrolled once;
// Gong, applying it anyway, would refuse the second: FLOW_ASSIGNMENT_FAILED.)
// It returns the number of people sent again and of those sent again
// without being InDoubt, or more than twice.
func (sc *scenario) resendInDoubt(t *testing.T, flags []string) (resent, wrong int) {
	t.Helper()
	inDoubt := map[string]bool{}
	res := readResults(t, sc.out)
	for i, in := range sc.input.rows {
		if o := res.byLine[i+2]; in.email != "" && o.file == "unprocessed" && o.code == oc.ReasonInDoubt {
			inDoubt[strings.ToLower(in.email)] = true
		}
	}
	if err := sc.gong.emu.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	r := sc.run(t, trigger{}, append(slices.Clone(flags), "--resend-in-doubt")...)
	sc.summary(t, r)
	// A job still IN_PROGRESS at --max-retry-time leaves its people
	// BulkPending: the plain command reads it again.
	for n := 0; r.exit == 4 && n < 3; n++ {
		r = sc.run(t, trigger{}, flags...)
		sc.summary(t, r)
	}
	if r.exit != 3 {
		t.Errorf("after --resend-in-doubt: %v; want exit 3", r)
	}
	if left := reasons(t, sc.out); len(left) > 0 {
		t.Errorf("rows unprocessed after --resend-in-doubt: %v", left)
	}
	per := map[string]int{}
	for _, j := range sc.gong.emu.BulkJobs() {
		for _, e := range j.Emails {
			per[e]++
		}
	}
	for e, n := range per {
		if n > 1 {
			resent++
		}
		if n > 2 || (n == 2 && !inDoubt[e]) {
			wrong++
			t.Errorf("person %s in %d bulk requests Gong accepted; InDoubt before --resend-in-doubt: %v", e, n, inDoubt[e])
		}
	}
	return resent, wrong
}
