package emulator

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// TestCoolOff: with Modes.CoolOff, a prospect who finished the flow is
// refused InvalidState by assign and assigned by the cool-off-override
// endpoint; without the mode, assign takes it. A prospect in the flow is
// refused by both; the override takes at most 100 IDs.
func TestCoolOff(t *testing.T) {
	fixture := func() Fixture {
		f := DefaultFixture()
		f.Existing = append(f.Existing,
			AssignedFlow{FlowID: flowSDR, CRMProspectID: "003DONE", FlowInstanceOwnerEmail: ava, FlowInstanceStatus: StatusFinishedNoReply},
			AssignedFlow{FlowID: flowSDR, CRMProspectID: "003OPEN", FlowInstanceOwnerEmail: ava})
		return f
	}
	type verdict map[string]string // CRM ID -> "assigned" or the error code
	tests := []struct {
		name     string
		coolOff  bool
		override bool
		want     verdict
	}{
		{name: "assign, cool-off", coolOff: true, want: verdict{"003DONE": CodeInvalidState, "003OPEN": CodeInvalidState, "003NEW": "assigned"}},
		{name: "override, cool-off", coolOff: true, override: true, want: verdict{"003DONE": "assigned", "003OPEN": CodeInvalidState, "003NEW": "assigned"}},
		{name: "assign, no cool-off mode", want: verdict{"003DONE": "assigned", "003OPEN": CodeInvalidState, "003NEW": "assigned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Fixture: fixture()}
			cfg.CoolOff = tt.coolOff
			e := newEnv(t, cfg)
			c := e.client(t, basic())
			req := gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003DONE", "003OPEN", "003NEW"}}
			send := c.Assign
			if tt.override {
				send = c.AssignCoolOffOverride
			}
			resp, err := send(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			got := verdict{}
			for _, a := range resp.ProspectsAssigned {
				got[a.CRMProspectID] = "assigned"
			}
			for _, f := range resp.ProspectsNotAssigned {
				got[f.CRMProspectID] = f.ErrorCode
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			st := e.srv.Stats()
			if tt.override && (st.CoolOffOverride != 1 || st.Assign != 0) {
				t.Errorf("stats: %d cool-off-override, %d assign; want 1 and 0", st.CoolOffOverride, st.Assign)
			}
		})
	}
}

func TestCoolOffOverrideTakesAtMost100(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(t, basic())
	for _, n := range []int{100, 101} {
		_, err := c.AssignCoolOffOverride(context.Background(), gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: ids(n)})
		got := asAPIErr(t, err)
		switch {
		case n == 100 && got != nil:
			t.Errorf("100 IDs: %v, want 200", got)
		case n == 101 && (got == nil || got.Status != http.StatusBadRequest):
			t.Errorf("101 IDs: %v, want 400", got)
		}
	}
}
