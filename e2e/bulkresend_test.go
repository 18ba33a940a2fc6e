package e2e

import (
	"testing"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// TestBulkResendLostJobRan: every bulk submit's 202 is lost, but Gong ran
// the jobs (BulkRunAtSubmit): the people are in the flow, and the run
// leaves them InDoubt. --resend-in-doubt sends them again and Gong refuses
// each FLOW_ASSIGNMENT_FAILED, naming the crmId it found. The run reads
// those back (one read-back per bulk request) and claims the instances
// created since it first sent them: every person is assigned with the
// lost job's crmProspectId and flowInstanceId, and undo removes them.
func TestBulkResendLostJobRan(t *testing.T) {
	t.Parallel()
	in, input, emails := mixedFile(t)
	cfg := gongConfig(nil)
	cfg.BulkRunAtSubmit = true
	cfg.Faults = emulator.Faults{Seed: 1, Ops: []string{emulator.OpBulkSubmit}, DropAfterApplyRate: 1}
	log := &bulkLog{sent: map[string]int{}}
	sc := newScenarioOf(t, input, cfg, log.wrap)
	sc.in = in

	r := sc.run(t, trigger{}, "--chunk-size", "200")
	if r.exit != 4 {
		t.Fatalf("run 1: %v, want exit 4 (people InDoubt): %s", r, r.lastLine())
	}
	people := sc.gong.emu.BulkPeople()
	if len(people) != len(emails) {
		t.Fatalf("the lost jobs created %d people, want %d", len(people), len(emails))
	}
	if err := sc.gong.emu.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	readBefore := sc.gong.emu.Stats().ReadBack
	r = sc.run(t, trigger{}, "--resend-in-doubt")
	if r.exit != 3 {
		t.Errorf("run 2: %v, want exit 3 (the duplicate failed)", r)
	}
	sc.summary(t, r)
	if n := sc.gong.emu.Stats().ReadBack - readBefore; n != 6 {
		t.Errorf("%d read-backs, want 6 (one per bulk request of 50 sent again)", n)
	}
	if n := len(log.twice()); n != len(emails) {
		t.Errorf("%d people sent twice, want %d (each lost request's people, once again)", n, len(emails))
	}

	// The instance the lost job created for each person, by CRM ID.
	instance := map[string]string{}
	for _, a := range sc.gong.emu.Created() {
		if a.FlowID == flowWebinar {
			instance[a.CRMProspectID] = a.FlowInstanceID
		}
	}
	res := readResults(t, sc.out)
	byKey := map[string]int{}
	for i, row := range sc.input.rows {
		if row.id != "" || row.want == wantDuplicate {
			continue
		}
		o := res.byLine[i+2]
		byKey[o.key()]++
		if o.file == "assigned" && (o.id != people[emails[i/2]] || o.instanceID != instance[o.id]) {
			t.Errorf("line %d assigned as %s / %s, want the lost job's %s / %s", i+2, o.id, o.instanceID, people[emails[i/2]], instance[people[emails[i/2]]])
		}
	}
	if n := byKey["assigned"]; n != len(emails) {
		t.Errorf("people rows %v, want %d assigned (the lost jobs enrolled them)", byKey, len(emails))
	}

	before := len(sc.gong.emu.Instances())
	u := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, "undo", "--out", sc.out, "--rate", "1000")
	if u.exit != 0 {
		t.Fatalf("undo: exit %d: %s", u.exit, u.lastLine())
	}
	if removed := before - len(sc.gong.emu.Instances()); removed != 300+len(emails) {
		t.Errorf("undo removed %d instances, want %d (300 by CRM ID, %d people)", removed, 300+len(emails), len(emails))
	}
}
