package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/outdir"
	"github.com/flowenroll/flowenroll/pkg/reconcile"
)

// Instances that exist before every run of these tests: one open in the
// flow a row of the run names (the row fails: already in flow), one in
// another flow for a prospect the run assigns.
var (
	before = []emulator.AssignedFlow{
		{FlowID: flowSDR, CRMProspectID: "OLD1", FlowInstanceOwnerEmail: ava, FlowInstanceID: "9000000000000000001"},
		{FlowID: flowWebinar, CRMProspectID: "P01", FlowInstanceOwnerEmail: ben, FlowInstanceID: "9000000000000000002"},
	}
	beforeIDs = []string{"9000000000000000001", "9000000000000000002"}
)

// prospects are n rows in flowSDR for ava, lines 2.., then OLD1's row.
func prospects(n int) []prospect {
	var ps []prospect
	for i := range n {
		ps = append(ps, prospect{line: i + 2, id: fmt.Sprintf("P%02d", i), flow: flowSDR, owner: ava, wantFresh: true})
	}
	return append(ps, prospect{line: n + 2, id: "OLD1", flow: flowSDR, owner: ava})
}

func createdIDs(outs []outcome.Outcome) []string {
	var ids []string
	for _, o := range outs {
		if o.Kind == outcome.Assigned {
			ids = append(ids, o.Instance.ID)
		}
	}
	return ids
}

func (w *world) undo(t *testing.T, cfg reconcile.UndoConfig) (reconcile.UndoSummary, error) {
	t.Helper()
	cfg.Dir, cfg.Client = w.dir, w.client
	if cfg.Gateway == nil {
		cfg.Gateway = gw(t, time.Second)
	}
	return reconcile.Undo(context.Background(), cfg)
}

func TestUndoRemovesOnlyWhatTheRunCreated(t *testing.T) {
	w := newWorld(t, before...)
	created := createdIDs(w.run(t, prospects(25)))
	if err := os.WriteFile(filepath.Join(w.dir, "summary.json"), []byte(`{"assigned": 25, "exitCode": 3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := w.undo(t, reconcile.UndoConfig{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(beforeIDs, w.open()); diff != "" {
		t.Errorf("instances left in Gong (-want +got):\n%s", diff)
	}
	if sum.ExitCode != 0 || sum.Removed != 25 || sum.RemovedThisRun != 25 || sum.Kept != 0 || sum.Pending != 0 || sum.Unassigns != 3 {
		t.Errorf("summary: %+v; want 25 removed in 3 unassign requests, exit 0", sum)
	}
	undone := readCSV(t, filepath.Join(w.dir, reconcile.UndoneFile))
	if diff := cmp.Diff(sorted(created), column(undone, "flowInstanceId")); diff != "" {
		t.Errorf("undone.csv's instances (-created +listed):\n%s", diff)
	}
	if r := undone[0]; r["line"] != "2" || r["crmProspectId"] != "P00" || r["removedBy"] != reconcile.ByAnswer || r["note"] != "'=note 2" {
		t.Errorf("undone.csv's first row: %v; want line 2, P00, removed by answer, the carried cell neutralised", r)
	}
	if rows := readCSV(t, filepath.Join(w.dir, reconcile.UndoFailedFile)); len(rows) != 0 {
		t.Errorf("undo-failed.csv: %v; want no rows", rows)
	}
	doc := readSummary(t, w.dir)
	if string(doc["assigned"]) != "25" || doc["undo"] == nil {
		t.Errorf("summary.json lost the run's keys or has no undo section: %v", doc)
	}

	// Again: nothing is sent, the files are the same.
	requests := w.emu.Stats().Requests
	again, err := w.undo(t, reconcile.UndoConfig{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if n := w.emu.Stats().Requests - requests; n != 0 || again.RequestsThisRun != 0 {
		t.Errorf("the second undo sent %d requests (summary says %d); want none", n, again.RequestsThisRun)
	}
	if again.ExitCode != 0 || again.Removed != 25 || again.RemovedThisRun != 0 || !again.Resumed || again.Unassigns != 3 {
		t.Errorf("second summary: %+v", again)
	}
	if n := len(readCSV(t, filepath.Join(w.dir, reconcile.UndoneFile))); n != 25 {
		t.Errorf("undone.csv has %d rows after the second undo, want 25", n)
	}
}

func sorted(ids []string) []string {
	out := append([]string{}, ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A lost answer: Gong removed the batch, the connection closed before the
// answer. The retry reads the batch back and finds it gone: it sends no
// second unassign (whose answer would not list them: they would look kept).
func TestUndoLostAnswerIsReadBackNotResent(t *testing.T) {
	w := newWorld(t, before...)
	created := createdIDs(w.run(t, prospects(5)))
	dropped := false
	w.wrap = func(rw http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.Contains(r.URL.Path, "unassign") && !dropped {
			dropped = true
			next.ServeHTTP(httptest.NewRecorder(), r) // applied; the answer goes nowhere
			conn, _, _ := rw.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		next.ServeHTTP(rw, r)
	}
	sum, err := w.undo(t, reconcile.UndoConfig{})
	if err != nil {
		t.Fatal(err)
	}
	st := w.emu.Stats()
	if st.Unassign != 1 || st.ReadBack != 1 || st.Unassigned != 5 {
		t.Errorf("emulator saw %d unassign and %d read-back requests, %d instances unassigned; want 1, 1, 5", st.Unassign, st.ReadBack, st.Unassigned)
	}
	if sum.ExitCode != 0 || sum.Removed != 5 || sum.RemovedByReadBack != 5 {
		t.Errorf("summary: %+v; want 5 removed, found by read-back", sum)
	}
	undone := readCSV(t, filepath.Join(w.dir, reconcile.UndoneFile))
	if diff := cmp.Diff(sorted(created), column(undone, "flowInstanceId")); diff != "" {
		t.Errorf("undone.csv (-created +listed):\n%s", diff)
	}
	if got := column(undone, "removedBy"); got[0] != reconcile.ByReadBack || got[4] != reconcile.ByReadBack {
		t.Errorf("removedBy: %v; want readBack", got)
	}
}

// An undo stopped with a batch in doubt (applied, then Gong failed for
// longer than --max-retry-time) ends with exit 4; the next reads the batch
// back first and removes each instance once.
func TestStoppedUndoResumes(t *testing.T) {
	w := newWorld(t, before...)
	created := createdIDs(w.run(t, prospects(25)))
	failing := false
	w.wrap = func(rw http.ResponseWriter, r *http.Request, next http.Handler) {
		if failing {
			http.Error(rw, `{"errors":["down"]}`, http.StatusServiceUnavailable)
			return
		}
		if strings.Contains(r.URL.Path, "unassign") {
			failing = true
			next.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(rw, `{"errors":["down"]}`, http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(rw, r)
	}
	first, err := w.undo(t, reconcile.UndoConfig{BatchSize: 10, Gateway: gw(t, 20*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if first.ExitCode != 4 || first.Pending != 25 || first.StopReason != outcome.ReasonRetriesExhausted {
		t.Fatalf("first undo: %+v; want exit 4, 25 pending, RetriesExhausted", first)
	}
	if st := w.emu.Stats(); st.Unassigned != 10 || st.Unassign != 1 {
		t.Fatalf("after the first undo the emulator unassigned %d in %d requests; want 10 in 1", st.Unassigned, st.Unassign)
	}
	w.wrap = nil
	second, err := w.undo(t, reconcile.UndoConfig{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	st := w.emu.Stats()
	if st.Unassigned != 25 || st.Unassign != 3 {
		t.Errorf("emulator unassigned %d instances in %d unassign requests; want 25 in 3 (the first batch not sent again)", st.Unassigned, st.Unassign)
	}
	if second.ExitCode != 0 || second.Removed != 25 || second.RemovedByReadBack != 10 || second.ReadBacks < 1 || !second.Resumed {
		t.Errorf("second undo: %+v; want 25 removed, 10 found by read-back", second)
	}
	if diff := cmp.Diff(beforeIDs, w.open()); diff != "" {
		t.Errorf("instances left (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sorted(created), column(readCSV(t, filepath.Join(w.dir, reconcile.UndoneFile)), "flowInstanceId")); diff != "" {
		t.Errorf("undone.csv (-created +listed):\n%s", diff)
	}
}

// --max-requests stops an undo between batches; the same command goes on.
func TestBudgetStopsUndoAndItContinues(t *testing.T) {
	w := newWorld(t, before...)
	w.run(t, prospects(25))
	cfg := reconcile.UndoConfig{BatchSize: 10, Gateway: gatewayWithBudget(t, 1)}
	first, err := w.undo(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if first.ExitCode != 4 || first.Removed != 10 || first.Pending != 15 || first.StopReason != outcome.ReasonRequestBudget {
		t.Fatalf("first undo: %+v; want exit 4, 10 removed, 15 pending, RequestBudget", first)
	}
	second, err := w.undo(t, reconcile.UndoConfig{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if second.ExitCode != 0 || second.Removed != 25 || second.RemovedThisRun != 15 || second.RequestsThisRun != 2 || second.Requests != 3 {
		t.Errorf("second undo: %+v; want 15 more removed in 2 requests, 3 over both", second)
	}
}

// Gong keeps an instance (finished: it does not list it), or refuses the
// request for good: undo-failed.csv, exit 3, and a second undo sends nothing.
func TestUndoFailed(t *testing.T) {
	finished := emulator.AssignedFlow{FlowID: flowDemo, CRMProspectID: "FIN1", FlowInstanceOwnerEmail: ava,
		FlowInstanceID: "9000000000000000003", FlowInstanceStatus: emulator.StatusFinished}
	tests := []struct {
		name         string
		unassignedBy string
		wantCode     string
		wantStatus   string
		wantKept     int
	}{
		{name: "finished instance", wantCode: outcome.CodeNotUnassigned, wantKept: 1},
		{name: "refused request", unassignedBy: "nobody@example.com", wantCode: outcome.CodeRequestRefused, wantStatus: "400", wantKept: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, append(before, finished)...)
			w.run(t, prospects(3))
			w.claim(t, 50, finished)
			sum, err := w.undo(t, reconcile.UndoConfig{UnassignedBy: tt.unassignedBy})
			if err != nil {
				t.Fatal(err)
			}
			if sum.ExitCode != 3 || sum.Kept != tt.wantKept || sum.KeptByCode[tt.wantCode] != tt.wantKept {
				t.Errorf("summary: %+v; want exit 3, %d kept as %s", sum, tt.wantKept, tt.wantCode)
			}
			failed := readCSV(t, filepath.Join(w.dir, reconcile.UndoFailedFile))
			if len(failed) != tt.wantKept || failed[len(failed)-1]["errorCode"] != tt.wantCode || failed[len(failed)-1]["httpStatus"] != tt.wantStatus {
				t.Errorf("undo-failed.csv: %v", failed)
			}
			n := w.emu.Stats().Requests
			if again, _ := w.undo(t, reconcile.UndoConfig{}); again.ExitCode != 3 || w.emu.Stats().Requests != n {
				t.Errorf("second undo: exit %d, %d requests; want 3, none", again.ExitCode, w.emu.Stats().Requests-n)
			}
		})
	}
}

// claim journals inst as created by the run on line.
func (w *world) claim(t *testing.T, line int, inst emulator.AssignedFlow) {
	t.Helper()
	led, _, err := ledger.Open(w.dir, "sha-of-input", "prospects.csv", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	row := outcome.Row{Line: line, CRMProspectID: inst.CRMProspectID, FlowID: inst.FlowID, OwnerEmail: inst.FlowInstanceOwnerEmail}
	if err := led.Settle(outcome.Assign(row, outcome.Instance{ID: inst.FlowInstanceID}, "r")); err != nil {
		t.Fatal(err)
	}
}

func TestUndoRefuses(t *testing.T) {
	t.Run("held", func(t *testing.T) {
		w := newWorld(t, before...)
		w.run(t, prospects(2))
		d, err := outdir.Acquire(w.dir, "run", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer d.Release()
		_, err = w.undo(t, reconcile.UndoConfig{})
		var held *outdir.HeldError
		if !errors.As(err, &held) || held.Holder.Command != "flowenroll run" {
			t.Errorf("error %v; want a *HeldError naming flowenroll run", err)
		}
		if n := w.emu.Stats().Requests; n != 3 {
			t.Errorf("%d requests; want only the run's 3", n)
		}
	})
	t.Run("rows in doubt", func(t *testing.T) {
		w := newWorld(t, before...)
		w.run(t, prospects(2))
		led, _, err := ledger.Open(w.dir, "sha-of-input", "prospects.csv", false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		led.Sent(ledger.Sent{FlowID: flowSDR, Owner: ava, Lines: []int{9}, IDs: []string{"P99"}})
		led.Close()
		_, err = w.undo(t, reconcile.UndoConfig{})
		var doubt *reconcile.RunInDoubtError
		if !errors.As(err, &doubt) || doubt.Rows != 1 {
			t.Errorf("error %v; want a *RunInDoubtError of 1 row", err)
		}
	})
	t.Run("no ledger", func(t *testing.T) {
		w := newWorld(t)
		if _, err := w.undo(t, reconcile.UndoConfig{}); !errors.Is(err, ledger.ErrNoJournal) {
			t.Errorf("error %v; want ErrNoJournal", err)
		}
	})
}

func TestUndoDryRunSendsNothing(t *testing.T) {
	w := newWorld(t, before...)
	created := createdIDs(w.run(t, prospects(4)))
	var out strings.Builder
	sum, err := w.undo(t, reconcile.UndoConfig{DryRun: true, DryRunOut: &out})
	if err != nil {
		t.Fatal(err)
	}
	want := "line,crmProspectId,flowId,flowInstanceOwnerEmail,flowName,flowInstanceId,state,note\n"
	for i, id := range created {
		want += fmt.Sprintf("%d,P%02d,%s,%s,SDR Outbound Q3,%s,pending,'=note %d\n", i+2, i, flowSDR, ava, id, i+2)
	}
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("dry run's list (-want +got):\n%s", diff)
	}
	if n := w.emu.Stats().Requests; n != 5 || !sum.DryRun || sum.Pending != 4 {
		t.Errorf("%d requests (want the run's 5), summary %+v", n, sum)
	}
	for _, f := range []string{reconcile.UndoneFile, reconcile.JournalFile, "summary.json"} {
		if _, err := os.Stat(filepath.Join(w.dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the dry run wrote %s", f)
		}
	}
}

func TestUndoSummaryJSON(t *testing.T) {
	w := newWorld(t, before...)
	w.run(t, prospects(2))
	if _, err := w.undo(t, reconcile.UndoConfig{}); err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(readSummary(t, w.dir)["undo"], &s); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"instances": 2.0, "removed": 2.0, "kept": 0.0, "pending": 0.0, "unassignRequests": 1.0, "exitCode": 0.0} {
		if s[k] != want {
			t.Errorf("summary.json undo.%s = %v, want %v", k, s[k], want)
		}
	}
}

// TestUndoWithPeopleInDoubt: people whose bulk request got no answer
// (InDoubt, no job id) are settled by no run, only by --resend-in-doubt:
// undo removes the instances it knows and reports those people apart,
// instead of refusing with an instruction that would never settle them.
// People of a bulk job with a journaled id are read by the same run
// command, so undo still waits for it.
func TestUndoWithPeopleInDoubt(t *testing.T) {
	tests := []struct {
		name        string
		jobID       string // "" : the bulk request got no answer
		wantRefused bool
	}{
		{name: "unanswered bulk request"},
		{name: "bulk job not read yet", jobID: "job-1", wantRefused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, before...)
			w.run(t, prospects(2))
			led, _, err := ledger.Open(w.dir, "sha-of-input", "prospects.csv", false, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := led.Sent(ledger.Sent{FlowID: flowSDR, Owner: ava, Lines: []int{9, 10}, IDs: []string{"", ""}, Bulk: true}); err != nil {
				t.Fatal(err)
			}
			if tt.jobID != "" {
				if err := led.BulkSubmitted(ledger.BulkJob{ID: tt.jobID, FlowID: flowSDR, Owner: ava, Lines: []int{9, 10}}); err != nil {
					t.Fatal(err)
				}
			}
			led.Close()
			sum, err := w.undo(t, reconcile.UndoConfig{})
			var doubt *reconcile.RunInDoubtError
			if refused := errors.As(err, &doubt); refused != tt.wantRefused {
				t.Fatalf("error %v; want refused %v", err, tt.wantRefused)
			}
			if tt.wantRefused {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(beforeIDs, w.open()); diff != "" {
				t.Errorf("instances left in Gong (-want +got):\n%s", diff)
			}
			if sum.Removed != 2 || sum.BulkInDoubt != 2 {
				t.Errorf("summary: %+v; want 2 removed and 2 people in doubt reported", sum)
			}
		})
	}
}
