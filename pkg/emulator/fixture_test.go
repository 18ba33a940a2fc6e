package emulator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultFixture(t *testing.T) {
	f := DefaultFixture()
	if err := f.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	folders := map[string]bool{}
	vis := map[string]int{}
	exclusiveCompany := 0
	for _, fl := range f.Flows {
		if len(fl.ID) != 19 {
			t.Errorf("flow %s: want a 19-digit ID", fl.ID)
		}
		folders[fl.FolderID] = true
		vis[fl.Visibility]++
		if fl.Exclusive && fl.Visibility == VisibilityCompany {
			exclusiveCompany++
		}
	}
	got := []int{len(f.Users), len(f.Flows), len(folders), exclusiveCompany, vis[VisibilityPersonal], vis[VisibilityShared], len(f.Existing)}
	if diff := cmp.Diff([]int{7, 6, 2, 1, 1, 1, 0}, got); diff != "" {
		t.Errorf("users, flows, folders, exclusive company, personal, shared, existing (-want +got):\n%s", diff)
	}
	// Each call returns a fresh value.
	f.Flows[4].SharedWith[0] = "changed"
	if DefaultFixture().Flows[4].SharedWith[0] != ava {
		t.Error("DefaultFixture shares slices between calls")
	}
}

func TestLoadFixture(t *testing.T) {
	got, err := LoadFixture(filepath.Join("testdata", "fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := Fixture{
		Users: []User{{Email: "maria.lopez@example.com", FullName: "María López"}, {Email: "sam.chen@example.com", FullName: "Sam Chen"}},
		Flows: []FlowDef{
			{ID: "1738001122334455667", Name: "Trade Show Leads", FolderID: "1738001122334400001", FolderName: "Events",
				Visibility: VisibilityCompany, WorkspaceID: "623457276584334", CreationDate: "2025-04-02T08:00:00Z"},
			{ID: "1738001122334455668", Name: "Sam's Warm Intros", FolderID: "1738001122334400001", FolderName: "Events",
				Visibility: VisibilityPersonal, OwnerEmail: "sam.chen@example.com", Exclusive: true,
				WorkspaceID: "623457276584334", CreationDate: "2025-04-03T08:00:00-07:00"},
		},
		Existing: []AssignedFlow{{FlowID: "1738001122334455667", CRMProspectID: "0035e00000Qx1AbAAJ",
			FlowInstanceID: "1738009999000000001", FlowInstanceOwnerEmail: "maria.lopez@example.com",
			FlowInstanceCreateDate: "2026-01-15T10:00:00.000Z", FlowInstanceStatus: StatusRunning}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadFixture (-want +got):\n%s", diff)
	}

	s, err := New(Config{Fixture: got})
	if err != nil {
		t.Fatal(err)
	}
	wantInst := []Instance{{Preexisting: true, AssignedFlow: AssignedFlow{
		FlowID: "1738001122334455667", FlowName: "Trade Show Leads", CRMProspectID: "0035e00000Qx1AbAAJ",
		FlowInstanceID: "1738009999000000001", FlowInstanceOwnerEmail: "maria.lopez@example.com",
		FlowInstanceOwnerFullName: "María López", FlowInstanceCreateDate: "2026-01-15T10:00:00.000Z",
		FlowInstanceStatus: StatusRunning, WorkspaceID: "623457276584334"}}}
	if diff := cmp.Diff(wantInst, s.Instances()); diff != "" {
		t.Errorf("Instances (-want +got):\n%s", diff)
	}
	if n := len(s.Created()); n != 0 {
		t.Errorf("Created has %d pre-existing instances", n)
	}
}

func TestLoadFixtureRoundTrip(t *testing.T) {
	f := withExisting()
	f.Existing = f.Existing[:1]
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadFixture(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestLoadFixtureErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"unknown field", `{"users": [], "flows": [], "teams": []}`, `json: unknown field "teams"`},
		{"unknown nested field", `{"users": [{"email": "a@b", "name": "A"}]}`, `json: unknown field "name"`},
		{"trailing data", `{"users": []} {}`, "data after the fixture object"},
		{"not JSON", `users: []`, "invalid character"},
		{"invalid", `{"flows": [{"id": "1", "name": "x", "visibility": "Public"}]}`, `visibility "Public" is not Company, Personal or Shared`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadFixture(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := LoadFixture(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestNewRejects(t *testing.T) {
	with := func(mod func(*Config)) Config {
		c := Config{Fixture: DefaultFixture()}
		mod(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"duplicate flow ID", with(func(c *Config) { c.Fixture.Flows[1].ID = flowSDR }), "flows[1] (" + flowSDR + "): duplicate flow id"},
		{"flow ID not digits", with(func(c *Config) { c.Fixture.Flows[0].ID = "abc" }), "id must be a non-empty string of digits"},
		{"flow without name", with(func(c *Config) { c.Fixture.Flows[0].Name = "" }), "name is empty"},
		{"duplicate user", with(func(c *Config) { c.Fixture.Users[1].Email = "AVA.reyes@example.com" }), `duplicate email "AVA.reyes@example.com"`},
		{"user without @", with(func(c *Config) { c.Fixture.Users[0].Email = "ava" }), `email "ava" is not an email address`},
		{"personal flow of a stranger", with(func(c *Config) { c.Fixture.Flows[3].OwnerEmail = "x@example.com" }), `ownerEmail "x@example.com" is not a fixture user`},
		{"shared with a stranger", with(func(c *Config) { c.Fixture.Flows[4].SharedWith = []string{"x@example.com"} }), `sharedWith "x@example.com" is not a fixture user`},
		{"company flow with owner", with(func(c *Config) { c.Fixture.Flows[0].OwnerEmail = ava }), "a Company flow has no ownerEmail or sharedWith"},
		{"bad creation date", with(func(c *Config) { c.Fixture.Flows[0].CreationDate = "2024-03-05" }), "creationDate"},
		{"existing in unknown flow", with(func(c *Config) {
			c.Fixture.Existing = []AssignedFlow{{FlowID: "9", CRMProspectID: "003A", FlowInstanceOwnerEmail: ava}}
		}), `flowId "9" is not a fixture flow`},
		{"existing twice open in one flow", with(func(c *Config) {
			c.Fixture.Existing = []AssignedFlow{
				{FlowID: flowSDR, CRMProspectID: "003A", FlowInstanceOwnerEmail: ava},
				{FlowID: flowSDR, CRMProspectID: "003A", FlowInstanceOwnerEmail: ava, FlowInstanceStatus: StatusPaused}}
		}), "prospect 003A is already open in flow " + flowSDR},
		{"existing bad status", with(func(c *Config) {
			c.Fixture.Existing = []AssignedFlow{{FlowID: flowSDR, CRMProspectID: "003A", FlowInstanceOwnerEmail: ava, FlowInstanceStatus: "Done"}}
		}), `flowInstanceStatus "Done" is not a Gong status`},
		{"existing duplicate instance ID", with(func(c *Config) {
			c.Fixture.Existing = []AssignedFlow{
				{FlowID: flowSDR, CRMProspectID: "003A", FlowInstanceOwnerEmail: ava, FlowInstanceID: "7"},
				{FlowID: flowDemo, CRMProspectID: "003B", FlowInstanceOwnerEmail: ava, FlowInstanceID: "7"}}
		}), "duplicate flowInstanceId 7"},
		{"existing with another flow's name", with(func(c *Config) {
			c.Fixture.Existing = []AssignedFlow{{FlowID: flowSDR, FlowName: "Other", CRMProspectID: "003A", FlowInstanceOwnerEmail: ava}}
		}), `flowName "Other" differs`},
		{"key without secret", with(func(c *Config) { c.AccessKey = "k" }), "AccessKey and AccessKeySecret must be set together"},
		{"empty bearer token", with(func(c *Config) { c.BearerTokens = map[string][]string{"": nil} }), "a token is empty"},
		{"negative MaxIDs", with(func(c *Config) { c.MaxIDs = -1 }), "MaxIDs -1 is negative"},
		{"negative PageSize", with(func(c *Config) { c.PageSize = -1 }), "PageSize -1 is negative"},
		{"negative Latency", with(func(c *Config) { c.Latency = -1 }), "Latency -1ns is negative"},
		{"bad UnknownOwner", with(func(c *Config) { c.UnknownOwner = "ignore" }), `UnknownOwner "ignore"`},
		{"bad NumericFlowID", with(func(c *Config) { c.NumericFlowID = "round" }), `NumericFlowID "round"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestNewCopiesFixture(t *testing.T) {
	f := DefaultFixture()
	e := newEnv(t, Config{Fixture: f})
	f.Flows[3].OwnerEmail = ava // after New: must not make Ben's flow Ava's
	f.Flows[0].Name = "renamed"
	res, err := e.client(t, basic()).ListFlows(t.Context(), ava, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Flows) != 5 || res.Flows[0].Name != "SDR Outbound Q3" {
		t.Errorf("the server saw a change to the caller's fixture: %+v", res.Flows)
	}
}
