package ledger_test

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"github.com/flowenroll/flowenroll/internal/testkit"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// testdata/v1 holds what the previous release (journal version 1) left
// after a run over testdata/v1/prospects.csv that was stopped with five
// chunks sent and two of them answered: its ledger.jsonl and assigned.csv.
const v1Dir = "testdata/v1"

// v1Input is the hash of testdata/v1/prospects.csv, which the version 1
// journal's header holds.
func v1Input(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(v1Dir, "prospects.csv"))
	must(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// copyV1 copies the version 1 journal into a new output directory.
func copyV1(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(v1Dir, ledger.FileName))
	must(t, err)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, ledger.FileName), b, 0o600))
	return dir
}

func readCSV(t *testing.T, path string) [][]string { return testkit.ReadCSV(t, path) }

// inputIDs maps the input's line numbers to their first cell (the CRM ID).
func inputIDs(t *testing.T) map[int]string {
	t.Helper()
	f, err := os.Open(filepath.Join(v1Dir, "prospects.csv"))
	must(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	ids := map[int]string{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return ids
		}
		must(t, err)
		line, _ := r.FieldPos(0)
		ids[line] = rec[0]
	}
}

// assignedCells lays out an assigned outcome as a row of assigned.csv.
func assignedCells(o outcome.Outcome) []string {
	i := o.Instance
	return []string{strconv.Itoa(o.Row.Line), o.Row.CRMProspectID, o.Row.FlowID, o.Row.OwnerEmail,
		i.FlowName, i.ID, i.OwnerFullName, i.CreateDate, i.Status, i.WorkspaceID, strconv.FormatBool(i.Exclusive), o.RequestID}
}

// The lines of the version 1 journal's chunks: two answered (settled), three
// sent without an answer (in doubt).
var (
	v1Settled = []int{
		9, 11, 12, 13, 17, 20, 21, 23, 25, 26, 28, 30, 35, 41, 42, 55, 58, 61, 66, 68,
		70, 72, 73, 78, 81, 84, 85, 93, 94, 95, 96, 100, 111, 112, 114, 115, 116, 126, 137, 138,
	}
	v1Doubt = map[string][]int{
		"1695493301223590792/2026-12-01T11:49:06.961091989Z": {2, 4, 5, 8, 10, 16, 19, 22, 24, 32, 33, 36, 38, 39, 40, 43, 44, 46, 49, 50},
		"1695493301223590792/2026-12-01T11:49:06.961594913Z": {51, 56, 57, 60, 62, 63, 64, 65, 71, 79, 82, 86, 87, 88, 90, 91, 102, 103, 105, 107},
		"1711046208531772911/2026-12-01T11:49:06.963529133Z": {3, 14, 18, 37, 48, 54, 59, 67, 76, 77, 83, 89, 104, 106, 108, 122, 132, 133, 147, 150},
	}
)

func v1InDoubt(t *testing.T, except ...int) map[int]ledger.Doubt {
	t.Helper()
	skip := map[int]bool{}
	for _, ln := range except {
		skip[ln] = true
	}
	out := map[int]ledger.Doubt{}
	for key, lines := range v1Doubt {
		flow, at := key[:19], key[20:]
		sentAt, err := time.Parse(time.RFC3339Nano, at)
		must(t, err)
		for _, ln := range lines {
			if !skip[ln] {
				out[ln] = ledger.Doubt{FlowID: flow, SentAt: sentAt}
			}
		}
	}
	return out
}

func TestV1Journal(t *testing.T) {
	dir := copyV1(t)
	path := filepath.Join(dir, ledger.FileName)
	hash := v1Input(t)
	before, err := os.ReadFile(path)
	must(t, err)

	l, st := open(t, dir, hash, false)
	want := view{Resumed: true, Settled: v1Settled, InDoubt: v1InDoubt(t), Runs: outcome.RequestCounts{Requests: 2}}
	if diff := cmp.Diff(want, viewOf(st)); diff != "" {
		t.Errorf("State of the version 1 journal (-want +got):\n%s", diff)
	}
	if n := len(members(st.Settled)); n != 40 {
		t.Errorf("%d settled lines, want 40", n)
	}
	if n := len(st.InDoubt); n != 60 {
		t.Errorf("%d lines in doubt, want 60 (3 chunks of 20)", n)
	}
	after, err := os.ReadFile(path)
	must(t, err)
	// Resuming upgrades the header's version in place (so that the previous
	// release refuses the journal rather than skip version 2 entries), and
	// changes nothing else.
	if upgraded := strings.Replace(string(before), `"version":1,`, `"version":2,`, 1); upgraded != string(after) {
		t.Errorf("Open changed the version 1 journal beyond its header's version")
	}

	// The replayed outcomes are the rows of the previous release's
	// assigned.csv, in order, and name the input's rows.
	v1 := replayAll(t, l)
	got := [][]string{readCSV(t, filepath.Join(v1Dir, "assigned.csv"))[0]}
	ids := inputIDs(t)
	for _, o := range v1 {
		if o.Kind != outcome.Assigned {
			t.Errorf("line %d replayed as %s, want assigned", o.Row.Line, o.Kind)
		}
		if !st.Settled.Has(o.Row.Line) {
			t.Errorf("line %d replayed but not in State.Settled", o.Row.Line)
		}
		if ids[o.Row.Line] != o.Row.CRMProspectID {
			t.Errorf("line %d replayed with crmProspectId %q; the input's line %d holds %q", o.Row.Line, o.Row.CRMProspectID, o.Row.Line, ids[o.Row.Line])
		}
		got = append(got, assignedCells(o))
	}
	if diff := cmp.Diff(readCSV(t, filepath.Join(v1Dir, "assigned.csv")), got); diff != "" {
		t.Errorf("replayed outcomes against testdata/v1/assigned.csv (-want +got):\n%s", diff)
	}

	// This release continues the journal with version 2 entries.
	t1 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	extra := []outcome.Outcome{
		outcome.Assign(outcome.Row{Line: 2, CRMProspectID: "003zwoZ648jjNuFD7u", FlowID: "1695493301223590792", OwnerEmail: "ava.reyes@example.com", Extra: []string{"Lena", "Soylent"}},
			outcome.Instance{FlowName: "SDR Outbound Q3", ID: "42", OwnerFullName: "Ava Reyes", CreateDate: "2026-12-02T09:00:01Z", Status: "Running", WorkspaceID: "623457276584334"}, "rb-1"),
		outcome.Fail(outcome.Row{Line: 3, CRMProspectID: "003HsSAXfNCD5RTMHs", FlowID: "1711046208531772911", OwnerEmail: "dan.kowalski@example.com", Extra: []string{"Zoe", "Soylent"}},
			outcome.StageAPI, outcome.CodeInvalidState, "already in flow").WithAnswer(200, "r-9"),
	}
	must(t, l.Settle(extra...))
	must(t, l.Release([]int{51, 56}))
	must(t, l.Sent(ledger.Sent{FlowID: "1695493301223590792", Owner: "ava.reyes@example.com", Lines: []int{56}, IDs: []string{"003gcLBAnfdPcwnx0d"}, At: t1}))
	must(t, l.Run(outcome.RequestCounts{Requests: 5, Retries: 1, ReadBacks: 2, Splits: 1, FlowListings: 1}))
	must(t, l.ChunkSize(10))
	must(t, l.Close())

	lines := readLines(t, dir)
	var hdr ledger.Header
	must(t, json.Unmarshal([]byte(lines[0]), &hdr))
	if hdr.Version != ledger.Version || hdr.InputSHA256 != hash {
		t.Errorf("header after appending: %+v, want version 1's header, upgraded to version %d", hdr, ledger.Version)
	}
	if len(lines) != 9+5 {
		t.Errorf("journal has %d lines, want 14 (9 of version 1, 5 appended)", len(lines))
	}

	l, st = open(t, dir, hash, false)
	inDoubt := v1InDoubt(t, 2, 3, 51)
	inDoubt[56] = ledger.Doubt{FlowID: "1695493301223590792", SentAt: t1}
	want = view{
		Resumed:   true,
		Settled:   append([]int{2, 3}, v1Settled...),
		InDoubt:   inDoubt,
		Runs:      outcome.RequestCounts{Requests: 7, Retries: 1, ReadBacks: 2, Splits: 1, FlowListings: 1},
		ChunkSize: 10,
	}
	if diff := cmp.Diff(want, viewOf(st)); diff != "" {
		t.Errorf("State after appending version 2 entries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(append(v1, extra...), replayAll(t, l)); diff != "" {
		t.Errorf("Replay after appending version 2 entries (-want +got):\n%s", diff)
	}
}

// The version 1 journal belongs to its input only.
func TestV1JournalOtherInput(t *testing.T) {
	dir := copyV1(t)
	l, _, err := ledger.Open(dir, hashA, "prospects.csv", false, t0)
	if l != nil {
		l.Close()
	}
	want := "input changed: " + dir + " holds the results of samples/prospects.csv (sha256 3d1c3ce53cf9…), not of this input (sha256 a1a1a1a1a1a1…); use another --out, or --restart to discard those results and start over"
	if got := errString(err); got != want {
		t.Errorf("error\n%q, want\n%q", got, want)
	}
}

// Version 1 wrote a run's figures under its own names ("splits",
// "flowListings"); they count as much as version 2's.
func TestV1RunFigures(t *testing.T) {
	dir := t.TempDir()
	journal := `{"version":1,"inputSha256":"` + hashA + `","inputName":"prospects.csv","createdAt":"2026-12-01T11:49:06Z"}
{"run":{"requests":9,"retries":1,"rateLimited":2,"readBacks":3,"splits":4,"flowListings":5}}
`
	must(t, os.WriteFile(filepath.Join(dir, ledger.FileName), []byte(journal), 0o600))
	l, st := open(t, dir, hashA, false)
	must(t, l.Run(outcome.RequestCounts{Requests: 1, Splits: 1, FlowListings: 1}))
	must(t, l.Close())
	want := outcome.RequestCounts{Requests: 9, Retries: 1, RateLimited: 2, ReadBacks: 3, Splits: 4, FlowListings: 5}
	if diff := cmp.Diff(want, st.Runs); diff != "" {
		t.Errorf("Runs of a version 1 journal (-want +got):\n%s", diff)
	}
	_, st = open(t, dir, hashA, false)
	want = outcome.RequestCounts{Requests: 10, Retries: 1, RateLimited: 2, ReadBacks: 3, Splits: 5, FlowListings: 6}
	if diff := cmp.Diff(want, st.Runs); diff != "" {
		t.Errorf("Runs after a version 2 run entry (-want +got):\n%s", diff)
	}
}
