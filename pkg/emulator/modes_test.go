package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/internal/apispec"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

func TestNonUserListsFlows(t *testing.T) {
	const nobody = "nobody@example.com"
	t.Run("off", func(t *testing.T) {
		e := newEnv(t, Config{})
		a := e.do(t, http.MethodGet, PathFlows+"?flowOwnerEmail="+url.QueryEscape(nobody), "", nil)
		if a.Status != http.StatusBadRequest {
			t.Errorf("status %d, want 400: %s", a.Status, a.Body)
		}
	})
	t.Run("on", func(t *testing.T) {
		e := newEnv(t, Config{Modes: Modes{NonUserListsFlows: true}})
		c := e.client(t, basic())
		res, err := c.ListFlows(context.Background(), nobody, "")
		if err != nil {
			t.Fatal(err)
		}
		want := &gong.FlowsResponse{Records: gong.Records{TotalRecords: 4, CurrentPageSize: 4},
			Flows: flowsOf(flowSDR, flowExclusive, flowWebinar, flowDemo)}
		if diff := cmp.Diff(want, res, ignoreGenerated()); diff != "" {
			t.Errorf("flows of a non-user: the company's (-want +got):\n%s", diff)
		}
		_, err = c.Assign(context.Background(), gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: nobody, CRMProspectsIDs: []string{"003A"}})
		wantErr := &apiErr{Status: http.StatusBadRequest, Errors: []string{nobody + " is not a Gong user"}}
		if diff := cmp.Diff(wantErr, asAPIErr(t, err)); diff != "" {
			t.Errorf("assign for a non-user (-want +got):\n%s", diff)
		}
	})
}

func TestQuotaRetryAfter(t *testing.T) {
	tests := []struct {
		mode string
		want []string // Retry-After values of the 429
	}{
		{"", []string{"43200"}}, // 12:00:00.250 to midnight, rounded up
		{QuotaRetryAfterMidnight, []string{"43200"}},
		{QuotaRetryAfterOne, []string{"1"}},
		{QuotaRetryAfterNone, nil},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			e := newEnv(t, Config{DailyLimit: 1, Modes: Modes{QuotaRetryAfter: tt.mode}})
			path := PathFlows + "?flowOwnerEmail=" + url.QueryEscape(ava)
			if a := e.do(t, http.MethodGet, path, "", nil); a.Status != http.StatusOK {
				t.Fatalf("first call: %d", a.Status)
			}
			a := e.do(t, http.MethodGet, path, "", nil)
			if a.Status != http.StatusTooManyRequests {
				t.Fatalf("second call: %d, want 429", a.Status)
			}
			if diff := cmp.Diff(tt.want, a.Header.Values("Retry-After")); diff != "" {
				t.Errorf("Retry-After (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"API daily limit of 1 calls exceeded"}, errorBody(t, a).Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRepeatCursor(t *testing.T) {
	e := newEnv(t, Config{PageSize: 2, Modes: Modes{RepeatCursor: true}})
	c := e.client(t, basic())
	ctx := context.Background()
	first, err := c.ListFlows(ctx, ava, "")
	if err != nil {
		t.Fatal(err)
	}
	if first.Records.Cursor == "" {
		t.Fatal("no cursor on the first page")
	}
	for i := range 3 {
		res, err := c.ListFlows(ctx, ava, first.Records.Cursor)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, res, ignoreGenerated()); diff != "" {
			t.Errorf("page after cursor %d: not the first page again (-first +got):\n%s", i, diff)
		}
	}
	// Even a listing that fits one page gets a cursor.
	one := newEnv(t, Config{Modes: Modes{RepeatCursor: true}})
	res, err := one.client(t, basic()).ListFlows(ctx, dan, "nonsense")
	if err != nil || res.Records.Cursor == "" || len(res.Flows) != 4 {
		t.Errorf("one page: %+v, %v; want 4 flows and a cursor", res, err)
	}
}

// TestMaxIDs100 is the limit of the newer spec: a request over it is a 400,
// as the spec's maxItems would make it (checked by apispec.MaxItems100).
func TestMaxIDs100(t *testing.T) {
	e := newEnv(t, Config{MaxIDs: 100}, apispec.MaxItems100())
	c := e.client(t, basic())
	ctx := context.Background()
	_, err := c.Assign(ctx, gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: ids(101)})
	want := &apiErr{Status: http.StatusBadRequest, Errors: []string{"crmProspectsIds has 101 IDs; at most 100 are allowed in one request"}}
	if diff := cmp.Diff(want, asAPIErr(t, err)); diff != "" {
		t.Errorf("101 IDs (-want +got):\n%s", diff)
	}
	res, err := c.Assign(ctx, gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: ids(100)})
	if err != nil || len(res.ProspectsAssigned) != 100 {
		t.Errorf("100 IDs: %v, want all assigned", err)
	}
}

func TestAssignLie(t *testing.T) {
	sent := []string{"003A", "003B", "bad id"}
	body := fmt.Sprintf(`{"flowId": %q, "flowInstanceOwnerEmail": %q, "crmProspectsIds": ["003A", "003B", "bad id"]}`, flowSDR, ava)
	tests := []struct {
		lie   string
		check func(t *testing.T, res *gong.AssignResponse)
	}{
		{LieWrongFlowID, func(t *testing.T, res *gong.AssignResponse) {
			for _, in := range res.ProspectsAssigned {
				if in.FlowID == flowSDR {
					t.Errorf("assigned %s with the flowId asked", in.CRMProspectID)
				}
			}
			for _, f := range res.ProspectsNotAssigned {
				if f.FlowID == flowSDR {
					t.Errorf("refused %s with the flowId asked", f.CRMProspectID)
				}
			}
		}},
		{LieBothLists, func(t *testing.T, res *gong.AssignResponse) {
			if !slices.ContainsFunc(res.ProspectsNotAssigned, func(f gong.AssignFailure) bool { return f.CRMProspectID == "003A" }) {
				t.Errorf("003A is not in both lists: %+v", res)
			}
		}},
		{LieUnsentID, func(t *testing.T, res *gong.AssignResponse) {
			n := 0
			for _, in := range res.ProspectsAssigned {
				if !slices.Contains(sent, in.CRMProspectID) {
					n++
				}
			}
			if n != 1 || len(res.ProspectsAssigned) != 3 {
				t.Errorf("%d IDs never sent in %+v, want 1 and 3 assigned", n, res.ProspectsAssigned)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.lie, func(t *testing.T) {
			e := newEnv(t, Config{Modes: Modes{AssignLie: tt.lie}})
			a := e.do(t, http.MethodPost, PathAssign, body, nil)
			if a.Status != http.StatusOK || a.Header.Get(FaultHeader) != "lie: "+tt.lie {
				t.Fatalf("status %d, %s %q: %s", a.Status, FaultHeader, a.Header.Get(FaultHeader), a.Body)
			}
			var res gong.AssignResponse
			if err := json.Unmarshal(a.Body, &res); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &res)
			// The truth was applied: 003A and 003B, and nothing more.
			if diff := cmp.Diff([]string{"003A@" + flowSDR, "003B@" + flowSDR}, keys(e.srv.Instances())); diff != "" {
				t.Errorf("instances held (-want +got):\n%s", diff)
			}
		})
	}
	t.Run(LieNullBody, func(t *testing.T) {
		e := newEnv(t, Config{Modes: Modes{AssignLie: LieNullBody}})
		a := e.do(t, http.MethodPost, PathAssign, body, nil)
		if a.Status != http.StatusOK || string(a.Body) != "null" {
			t.Errorf("status %d, body %q; want 200 and null", a.Status, a.Body)
		}
		if n := len(e.srv.Created()); n != 2 {
			t.Errorf("%d created, want 2", n)
		}
		// An error answer does not lie.
		a = e.do(t, http.MethodPost, PathAssign, `{}`, nil)
		if a.Status != http.StatusBadRequest || a.Header.Get(FaultHeader) != "" {
			t.Errorf("status %d, %s %q: want an honest 400", a.Status, FaultHeader, a.Header.Get(FaultHeader))
		}
	})
}

func TestRedirect(t *testing.T) {
	e := newEnv(t, Config{Modes: Modes{RedirectTo: "https://us-49467.api.gong.io/"}})
	noFollow := &http.Client{
		Transport:     e.hs.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tests := []struct{ method, path, body, location string }{
		{http.MethodPost, PathAssign, `{}`, "https://us-49467.api.gong.io" + PathAssign},
		{http.MethodGet, PathFlows + "?flowOwnerEmail=a%40b", "", "https://us-49467.api.gong.io" + PathFlows + "?flowOwnerEmail=a%40b"},
		{http.MethodGet, "/nowhere", "", "https://us-49467.api.gong.io/nowhere"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, e.hs.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := noFollow.Do(req) // no credentials: the redirect comes first
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != tt.location {
				t.Errorf("%d, Location %q; want 307 to %q", resp.StatusCode, resp.Header.Get("Location"), tt.location)
			}
		})
	}
	if st := e.srv.Stats(); st.Redirected != 3 || st.Requests != 3 || st.Created != 0 {
		t.Errorf("Stats %+v, want 3 requests, all redirected", st)
	}
}

func TestModesConfig(t *testing.T) {
	_, err := New(Config{Fixture: DefaultFixture(), Modes: Modes{QuotaRetryAfter: "never", AssignLie: "always",
		UnassignByCRMIDAnswer: "both", RedirectTo: "us-49467.api.gong.io"}})
	want := `emulator config: QuotaRetryAfter "never": want one of ["midnight" "one" "none"]` + "\n" +
		`AssignLie "always": want one of ["wrong-flow-id" "both-lists" "unsent-id" "null-body"]` + "\n" +
		`UnassignByCRMIDAnswer "both": want one of ["instance-ids" "flow-ids"]` + "\n" +
		"RedirectTo must be an absolute http or https URL"
	if err == nil || err.Error() != want {
		t.Errorf("New: %v\nwant:\n%s", err, want)
	}
}
