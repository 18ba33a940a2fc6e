package emulator

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

func people(n int) []gong.BulkProspect {
	out := make([]gong.BulkProspect, n)
	for i := range out {
		out[i] = gong.BulkProspect{FirstName: "Pat", LastName: fmt.Sprintf("Guest%d", i), Email: fmt.Sprintf("guest%d@example.org", i), CompanyName: "Acme"}
	}
	return out
}

// TestBulkJob submits people and reads the job until it is done: PENDING at
// submit (202), IN_PROGRESS for BulkPolls reads, then COMPLETED or FAILED,
// each answer checked against the spec.
func TestBulkJob(t *testing.T) {
	tests := []struct {
		name       string
		modes      BulkModes
		wantStatus []string       // status of each read
		want       map[int]string // person -> result status
	}{
		{name: "done at first read", wantStatus: []string{BulkCompleted},
			want: map[int]string{0: BulkAssigned, 1: BulkAssigned, 2: BulkAssigned}},
		{name: "done after two reads in progress", modes: BulkModes{BulkPolls: 2},
			wantStatus: []string{BulkInProgress, BulkInProgress, BulkCompleted}, want: map[int]string{0: BulkAssigned, 1: BulkAssigned, 2: BulkAssigned}},
		{name: "some prospects fail", modes: BulkModes{BulkFailProspect: map[string]string{"guest1@example.org": BulkCRMOperationFailed, "guest2@example.org": BulkFlowAssignFailed}},
			wantStatus: []string{BulkCompleted}, want: map[int]string{0: BulkAssigned, 1: BulkCRMOperationFailed, 2: BulkFlowAssignFailed}},
		{name: "the job fails", modes: BulkModes{BulkFailJob: map[string]bool{"guest2@example.org": true}},
			wantStatus: []string{BulkFailed}, want: map[int]string{}},
		{name: "run at submit", modes: BulkModes{BulkRunAtSubmit: true, BulkPolls: 2},
			wantStatus: []string{BulkCompleted}, want: map[int]string{0: BulkAssigned, 1: BulkAssigned, 2: BulkAssigned}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{}
			cfg.BulkModes = tt.modes
			e := newEnv(t, cfg)
			c := e.client(t, basic())
			ps := people(3)
			sub, err := c.SubmitBulk(context.Background(), gong.BulkRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, Prospects: ps})
			if err != nil {
				t.Fatal(err)
			}
			if sub.Status != BulkPending || sub.ID == "" || sub.TotalCount != 3 {
				t.Fatalf("submit answered %+v, want PENDING with an id and totalCount 3", sub)
			}
			if n, want := len(e.srv.Created()), len(tt.want); tt.modes.BulkRunAtSubmit && n != want {
				t.Errorf("%d instances created at submit, before any read; want %d", n, want)
			}
			var last *gong.BulkResponse
			for i, want := range tt.wantStatus {
				if last, err = c.BulkStatus(context.Background(), sub.ID); err != nil {
					t.Fatal(err)
				}
				if last.Status != want {
					t.Errorf("read %d: %s, want %s", i+1, last.Status, want)
				}
			}
			got := map[int]string{}
			for _, r := range last.Results {
				for i, p := range ps {
					if p.Email == r.Prospect.Email {
						got[i] = r.Status
						if r.Status == BulkAssigned && (r.CRMID == "" || r.FlowInstanceID == "") {
							t.Errorf("%s assigned without crmId or flowInstanceId: %+v", p.Email, r)
						}
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("results %v, want %v", got, tt.want)
			}
			if n := len(e.srv.Created()); n != last.SuccessCount {
				t.Errorf("%d instances created, successCount %d", n, last.SuccessCount)
			}
		})
	}
}

func TestBulkRefusals(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(t, basic())
	bad := people(1)
	bad[0].LastName = ""
	tests := []struct {
		name string
		req  gong.BulkRequest
		want int
	}{
		{name: "no last name", req: gong.BulkRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, Prospects: bad}, want: http.StatusBadRequest},
		{name: "unknown flow", req: gong.BulkRequest{FlowID: "1699999999999999999", FlowInstanceOwnerEmail: ava, Prospects: people(1)}, want: http.StatusNotFound},
		{name: "unknown owner", req: gong.BulkRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: "nobody@example.com", Prospects: people(1)}, want: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.SubmitBulk(context.Background(), tt.req)
			if got := asAPIErr(t, err); got == nil || got.Status != tt.want {
				t.Errorf("%v, want %d", got, tt.want)
			}
		})
	}
	raw := e.do(t, http.MethodPost, PathBulkAssignments, fmt.Sprintf(`{"flowId":%q,"flowInstanceOwnerEmail":%q,"prospects":[%s{"crmId":"003A"}]}`, flowSDR, ava, fiftyCRM()), nil)
	if raw.Status != http.StatusBadRequest {
		t.Errorf("51 prospects: %d, want 400", raw.Status)
	}
	if _, err := c.BulkStatus(context.Background(), "00000000-0000-4000-8000-000000000000"); asAPIErr(t, err) == nil || asAPIErr(t, err).Status != http.StatusNotFound {
		t.Errorf("unknown id: %v, want 404", err)
	}
}

func fiftyCRM() string {
	s := ""
	for i := range 50 {
		s += fmt.Sprintf(`{"crmId":"003B%d"},`, i)
	}
	return s
}

// TestBulkJobsRecord: BulkJobs lists each accepted bulk request with its
// people's emails in lower case, in the order accepted, and BulkPeople the
// CRM ID each person was given, the one their result carries.
func TestBulkJobsRecord(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(t, basic())
	ps := people(3)
	ps[1].Email = "Guest1@EXAMPLE.org"
	ctx := context.Background()
	var ids []string
	for _, req := range []gong.BulkRequest{
		{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, Prospects: ps[:2]},
		{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, Prospects: ps[1:]},
	} {
		sub, err := c.SubmitBulk(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	jobs := e.srv.BulkJobs()
	want := [][]string{{"guest0@example.org", "guest1@example.org"}, {"guest1@example.org", "guest2@example.org"}}
	if len(jobs) != 2 || jobs[0].ID != ids[0] || jobs[1].ID != ids[1] ||
		fmt.Sprint(jobs[0].Emails, jobs[1].Emails) != fmt.Sprint(want[0], want[1]) || jobs[0].FlowID != flowSDR || jobs[0].Owner != ava {
		t.Fatalf("BulkJobs: %+v, want jobs %v carrying %v", jobs, ids, want)
	}
	done, err := c.BulkStatus(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	got := e.srv.BulkPeople()
	for _, r := range done.Results {
		if r.CRMID == "" || got[strings.ToLower(r.Prospect.Email)] != r.CRMID {
			t.Errorf("%s: result crmId %q, BulkPeople %q", r.Prospect.Email, r.CRMID, got[strings.ToLower(r.Prospect.Email)])
		}
	}
	if len(got) != 2 || e.srv.BulkJobs()[0].Status != BulkCompleted {
		t.Errorf("BulkPeople %v after one job of two people; jobs %+v", got, e.srv.BulkJobs())
	}
}
