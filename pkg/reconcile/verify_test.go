package reconcile_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/reconcile"
)

func TestVerify(t *testing.T) {
	w := newWorld(t, before...)
	outs := w.run(t, prospects(4)) // P00..P03; P01 also open in flowWebinar from before
	ctx := context.Background()
	// P01 and P02: removed; P03: removed and assigned again in its flow.
	if _, err := w.client.UnassignByInstanceIDs(ctx, gong.UnassignByInstanceIDsRequest{
		FlowInstanceIDs: []string{outs[1].Instance.ID, outs[2].Instance.ID, outs[3].Instance.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.Assign(ctx, gong.AssignRequest{CRMProspectsIDs: []string{"P03"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava}); err != nil {
		t.Fatal(err)
	}
	writes := w.emu.Stats().Assign + w.emu.Stats().Unassign
	sum, err := reconcile.Verify(ctx, reconcile.VerifyConfig{Dir: w.dir, Client: w.client, Gateway: gw(t, time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, filepath.Join(w.dir, reconcile.VerifyFile))
	type row struct{ Line, ID, State, Status, Other, Note string }
	var rows []row
	for _, r := range got {
		rows = append(rows, row{r["line"], r["crmProspectId"], r["state"], r["flowInstanceStatus"], r["otherOpenFlowIds"], r["note"]})
	}
	want := []row{
		{"2", "P00", reconcile.StateOpen, "Running", "", "'=note 2"},
		{"3", "P01", reconcile.StateOpenInAnotherFlow, "", flowWebinar, "'=note 3"},
		{"4", "P02", reconcile.StateNoLongerOpen, "", "", "'=note 4"},
		{"5", "P03", reconcile.StateOpenAsAnotherInstance, "", "", "'=note 5"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("verify.csv (-want +got):\n%s", diff)
	}
	st := w.emu.Stats()
	if st.Assign+st.Unassign != writes || st.ReadBack != 1 || sum.ReadBacks != 1 || sum.Requests != 1 {
		t.Errorf("verify made %d writes and %d read-backs (summary: %d requests); want 0 and 1", st.Assign+st.Unassign-writes, st.ReadBack, sum.Requests)
	}
	wantStates := map[string]int{reconcile.StateOpen: 1, reconcile.StateOpenInAnotherFlow: 1, reconcile.StateNoLongerOpen: 1, reconcile.StateOpenAsAnotherInstance: 1}
	if diff := cmp.Diff(wantStates, sum.ByState); diff != "" || sum.ExitCode != 0 || sum.OpenByStatus["Running"] != 1 {
		t.Errorf("summary %+v (-want +got byState):\n%s", sum, diff)
	}
	if readSummary(t, w.dir)["verify"] == nil {
		t.Error("summary.json has no verify section")
	}
}

// More than MaxReadBackIDs CRM IDs: one read-back per 200, each ID once.
func TestVerifyGroupsReadBacks(t *testing.T) {
	w := newWorld(t)
	w.run(t, prospects(450)[:450])
	sum, err := reconcile.Verify(context.Background(), reconcile.VerifyConfig{Dir: w.dir, Client: w.client, Gateway: gw(t, time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ReadBacks != 3 || sum.ByState[reconcile.StateOpen] != 450 {
		t.Errorf("summary %+v; want 3 read-backs, 450 open", sum)
	}
}
