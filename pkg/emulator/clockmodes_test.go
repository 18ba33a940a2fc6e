package emulator

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// TestInstanceModes: each of InstanceModes, through the real client, with
// every answer checked against the spec (newEnv). The fake clock stands at
// start(): 2026-03-10T12:00:00.250Z.
func TestInstanceModes(t *testing.T) {
	undated := func() Fixture {
		f := DefaultFixture()
		f.Existing = []AssignedFlow{{FlowID: flowSDR, CRMProspectID: "003NEW", FlowInstanceOwnerEmail: ava}}
		return f
	}
	tests := []struct {
		name    string
		modes   InstanceModes
		fixture Fixture
		// What an assign of 003OLD (open in flowSDR since 2026-01-05,
		// in withExisting) and 003A answers, and the Date of its answer.
		wantAssigned    map[string]string // CRM ID -> flowInstanceCreateDate
		wantNotAssigned []string
		wantCreated     int
		wantDate        string
		// What a read-back of 003NEW shows.
		wantNewDate string
	}{
		{
			name: "off", fixture: withExisting(),
			wantAssigned:    map[string]string{"003A": "2026-03-10T12:00:00.250Z"},
			wantNotAssigned: []string{"003OLD"}, wantCreated: 1, wantDate: "Tue, 10 Mar 2026 12:00:00 GMT",
		},
		{
			name: "an existing instance answered as assigned", fixture: withExisting(),
			modes:        InstanceModes{AnswerExistingAsAssigned: true},
			wantAssigned: map[string]string{"003OLD": "2026-01-05T09:00:00.000Z", "003A": "2026-03-10T12:00:00.250Z"},
			wantCreated:  1, wantDate: "Tue, 10 Mar 2026 12:00:00 GMT",
		},
		{
			name: "Gong's clock 3 min behind: its Date and creation dates", fixture: withExisting(),
			modes:           InstanceModes{ClockOffset: -3 * time.Minute},
			wantAssigned:    map[string]string{"003A": "2026-03-10T11:57:00.250Z"},
			wantNotAssigned: []string{"003OLD"}, wantCreated: 1, wantDate: "Tue, 10 Mar 2026 11:57:00 GMT",
		},
		{
			name: "instances made 20 s before the run", fixture: undated(),
			modes:        InstanceModes{ExistingAge: 20 * time.Second, ClockOffset: -3 * time.Minute},
			wantAssigned: map[string]string{"003A": "2026-03-10T11:57:00.250Z", "003OLD": "2026-03-10T11:57:00.250Z"},
			wantCreated:  2, wantDate: "Tue, 10 Mar 2026 11:57:00 GMT",
			wantNewDate:     "2026-03-10T11:56:40.250Z",
			wantNotAssigned: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{Fixture: tt.fixture, Modes: Modes{InstanceModes: tt.modes}})
			c := e.client(t, basic())
			ctx := context.Background()
			resp, err := c.Assign(ctx, gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003OLD", "003A"}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, in := range resp.ProspectsAssigned {
				got[in.CRMProspectID] = in.FlowInstanceCreateDate
			}
			if len(got) != len(tt.wantAssigned) {
				t.Errorf("prospectsAssigned %v, want %v", got, tt.wantAssigned)
			}
			for id, date := range tt.wantAssigned {
				if got[id] != date {
					t.Errorf("prospectsAssigned %s dated %q, want %q", id, got[id], date)
				}
			}
			var notAssigned []string
			for _, f := range resp.ProspectsNotAssigned {
				notAssigned = append(notAssigned, f.CRMProspectID)
			}
			if len(notAssigned) != len(tt.wantNotAssigned) || (len(notAssigned) > 0 && notAssigned[0] != tt.wantNotAssigned[0]) {
				t.Errorf("prospectsNotAssigned %v, want %v", notAssigned, tt.wantNotAssigned)
			}
			if n := len(e.srv.Created()); n != tt.wantCreated {
				t.Errorf("%d instances created, want %d", n, tt.wantCreated)
			}
			if d := resp.Timing.Date.UTC().Format(http.TimeFormat); d != tt.wantDate {
				t.Errorf("Date %q, want %q", d, tt.wantDate)
			}
			if tt.wantNewDate == "" {
				return
			}
			rb, err := c.ProspectsFlows(ctx, []string{"003NEW"})
			if err != nil {
				t.Fatal(err)
			}
			if len(rb.ProspectsAssigned) != 1 || rb.ProspectsAssigned[0].FlowInstanceCreateDate != tt.wantNewDate {
				t.Errorf("read-back of 003NEW: %+v, want one instance dated %s", rb.ProspectsAssigned, tt.wantNewDate)
			}
		})
	}
}

// TestDateHeaderOnEveryAnswer: errors and redirects carry the server's
// Date too.
func TestDateHeaderOnEveryAnswer(t *testing.T) {
	e := newEnv(t, Config{Modes: Modes{InstanceModes: InstanceModes{ClockOffset: time.Hour}}})
	a := e.do(t, http.MethodPost, gong.PathAssign, `{}`, nil)
	if a.Status != http.StatusBadRequest || a.Header.Get("Date") != "Tue, 10 Mar 2026 13:00:00 GMT" {
		t.Errorf("a 400: status %d, Date %q; want 400 dated an hour ahead", a.Status, a.Header.Get("Date"))
	}
	r := newEnv(t, Config{Modes: Modes{RedirectTo: "https://us-1.api.gong.io", InstanceModes: InstanceModes{ClockOffset: -time.Hour}}})
	hc := *r.hs.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(r.hs.URL + gong.PathFlows)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Date") != "Tue, 10 Mar 2026 11:00:00 GMT" {
		t.Errorf("a redirect: status %d, Date %q; want 307 dated an hour behind", resp.StatusCode, resp.Header.Get("Date"))
	}
}

func TestInstanceModesConfig(t *testing.T) {
	_, err := New(Config{Fixture: DefaultFixture(), Modes: Modes{InstanceModes: InstanceModes{ExistingAge: -time.Second}}})
	if err == nil || err.Error() != "emulator config: ExistingAge must not be negative" {
		t.Errorf("New: %v, want ExistingAge refused", err)
	}
}
