package enroll

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

const (
	personalBen = "1702318845120411245" // Ben's personal "Webinar Follow-up"
	chloe       = "chloe.martin@example.com"
)

func writeNamed(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "named.csv")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlowNames(t *testing.T) {
	e := newEnv(t, emulator.Config{PageSize: 2}, nil) // 6 flows: 3 pages for Ben
	e.cfg.Preflight = true
	e.cfg.InputPath = writeNamed(t, "Contact ID,Flow,Owner Email\n"+
		"N1,  sdr outbound q3 ,"+ava+"\n"+ // resolved, case and spaces ignored, across pages
		"N2,Inbound Demo Request,"+ben+"\n"+ // on Ben's last page
		"N3,Webinar Follow-up,"+ben+"\n"+ // company flow and Ben's personal one: ambiguous
		"N4,Webinar Follow-up,"+ava+"\n"+ // Ava sees only the company one
		"N5,No Such Flow,"+ava+"\n")
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := accountedFor(t, e.cfg.OutDir, 5)
	got := map[int]lineOutcome{}
	for line, o := range res {
		got[line] = lineOutcome{File: o.File, Code: o.Code, FlowID: o.FlowID}
	}
	want := map[int]lineOutcome{
		2: {File: "assigned", FlowID: sdr},
		3: {File: "assigned", FlowID: "1711046208531772911"},
		4: {File: "failed", Code: "input/FlowNameAmbiguous"},
		5: {File: "assigned", FlowID: webinar},
		6: {File: "failed", Code: "input/FlowNameNotFound"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	// Two owners, listed once each: Ava's 5 flows in 3 pages, Ben's 6 in 3.
	if sum.FlowListings != 6 {
		t.Errorf("flow listing requests = %d, want 6 (each owner once, every page)", sum.FlowListings)
	}
	failed, _ := os.ReadFile(filepath.Join(e.cfg.OutDir, "failed.csv"))
	for _, s := range []string{personalBen, webinar, "Inbound"} {
		if !strings.Contains(string(failed), s) {
			t.Errorf("failed.csv does not name candidate %q:\n%s", s, failed)
		}
	}
}

func TestPreflightSparesRequests(t *testing.T) {
	rows := append(prospects(30, sdr, ava, "A"), prospects(25, unknown, ava, "U")...)
	rows = append(rows, prospects(5, personalBen, ava, "P")...) // Ben's personal flow, Ava's rows
	run := func(preflight bool) (map[string]int, int) {
		e := newEnv(t, emulator.Config{}, nil)
		e.cfg.InputPath = writeInput(t, rows)
		e.cfg.ChunkSize, e.cfg.Preflight, e.cfg.Concurrency = 10, preflight, 1
		_, err := Run(context.Background(), e.cfg)
		if err != nil {
			t.Fatal(err)
		}
		return count(accountedFor(t, e.cfg.OutDir, len(rows))), e.emu.Stats().Assign
	}
	with, assignsWith := run(true)
	without, assignsWithout := run(false)
	if diff := cmp.Diff(map[string]int{"assigned:": 30, "failed:input/FlowNotVisible": 30}, with); diff != "" {
		t.Errorf("with preflight (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"assigned:": 30, "failed:request/FlowNotFound": 30}, without); diff != "" {
		t.Errorf("without preflight (-want +got):\n%s", diff)
	}
	// Without preflight one request per unknown (flow, owner) is spent
	// before the rest of that flow stops; with it, none.
	if assignsWith != 3 || assignsWithout != 5 {
		t.Errorf("assign requests: %d with preflight, %d without; want 3 and 5", assignsWith, assignsWithout)
	}
	t.Logf("assign requests: %d with preflight (+1 listing), %d without", assignsWith, assignsWithout)
}

func TestTokenWithoutReadScopeTurnsPreflightOff(t *testing.T) {
	e := newEnv(t, emulator.Config{BearerTokens: map[string][]string{"writer": {"api:flows:write"}}}, nil)
	base, _ := gong.ParseBaseURL(e.srv.URL)
	e.cfg.Client = gong.NewClient(base, gong.Credentials{BearerToken: "writer"}, e.srv.Client(), e.cfg.Log)
	e.cfg.Preflight = true
	e.cfg.InputPath = writeNamed(t, "crmProspectId,flowId,flowName,flowInstanceOwnerEmail\n"+
		"A1,"+sdr+",,"+ava+"\n"+
		"A2,,SDR Outbound Q3,"+ava+"\n"+
		"A3,"+webinar+",,"+chloe+"\n")
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"assigned:": 2, "failed:input/FlowNameNotResolved": 1}, count(accountedFor(t, e.cfg.OutDir, 3))); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if sum.FlowListings != 1 {
		t.Errorf("%d listing requests, want 1: after the 403, no more", sum.FlowListings)
	}
}

func TestOwnerTypoSpendsOneRequest(t *testing.T) {
	e := newEnv(t, emulator.Config{}, nil)
	e.cfg.Preflight = true
	e.cfg.InputPath = writeInput(t, append(prospects(50, sdr, "ava.reyes@exmaple.com", "T"), prospects(5, sdr, ava, "A")...))
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"assigned:": 5, "failed:input/OwnerRefused": 50}, count(accountedFor(t, e.cfg.OutDir, 55))); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	// One listing each for the two owners, one assign for Ava.
	if sum.Requests != 3 {
		t.Errorf("%d requests, want 3", sum.Requests)
	}
}

func TestListingOutageLeavesNamedRowsForTheNextRun(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	e := newEnv(t, emulator.Config{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() && r.URL.Path == gong.PathFlows {
				w.Header().Set(emulator.FaultHeader, "outage") // an injected fault, not a spec answer
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	e.cfg.Preflight, e.cfg.MaxRetryTime = true, time.Millisecond
	e.cfg.InputPath = writeNamed(t, "crmProspectId,flowId,flowName,flowInstanceOwnerEmail\n"+
		"A1,,SDR Outbound Q3,"+ava+"\n"+
		"A2,,SDR Outbound Q3,"+ava+"\n"+
		"A3,"+sdr+",,"+ava+"\n")
	sum, err := Run(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"assigned:": 1, "unprocessed:FlowListingFailed": 2}, count(accountedFor(t, e.cfg.OutDir, 3))); diff != "" {
		t.Errorf("outcomes while the listing is down (-want +got):\n%s", diff)
	}
	if sum.ExitCode != outcome.ExitStoppedEarly {
		t.Errorf("exit %d, want 4", sum.ExitCode)
	}
	down.Store(false)
	if sum, err = Run(context.Background(), e.cfg); err != nil || sum.ExitCode != outcome.ExitOK || sum.Assigned != 3 {
		t.Errorf("after the outage: %+v, %v; want all 3 assigned", sum, err)
	}
}
