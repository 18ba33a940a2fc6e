package ledger_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// TestConcurrentAppends starts goroutines.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	hashA = strings.Repeat("a1", 32)
	hashB = strings.Repeat("b2", 32)
	t0    = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
)

const flowSDR = "1695493301223590792"

// view is State with the Lines set spelled out, so whole values compare.
type view struct {
	Resumed   bool
	Settled   []int
	InDoubt   map[int]ledger.Doubt
	Runs      outcome.RequestCounts
	ChunkSize int
}

// maxLine bounds the lines members probes in these tests.
const maxLine = 300

func members(s *ledger.Lines) []int {
	var out []int
	for i := -1; i <= maxLine; i++ {
		if s.Has(i) {
			out = append(out, i)
		}
	}
	return out
}

func viewOf(st ledger.State) view {
	return view{Resumed: st.Resumed, Settled: members(st.Settled), InDoubt: st.InDoubt, Runs: st.Runs, ChunkSize: st.ChunkSize}
}

func open(t *testing.T, dir, hash string, restart bool) (*ledger.Ledger, ledger.State) {
	t.Helper()
	l, st, err := ledger.Open(dir, hash, "prospects.csv", restart, t0)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l, st
}

func readLines(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ledger.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("journal does not end with a newline: %q", b)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func row(line int, id string) outcome.Row {
	return outcome.Row{Line: line, CRMProspectID: id, FlowID: flowSDR, OwnerEmail: "ava@example.com"}
}

func assigned(line int, id string) outcome.Outcome {
	return outcome.Assign(row(line, id), outcome.Instance{ID: "fi-" + id}, "r-1")
}

func failed(line int, id string) outcome.Outcome {
	return outcome.Fail(row(line, id), outcome.StageAPI, outcome.CodeInvalidState, "=already in flow").WithAnswer(0, "r-1")
}

// replayAll collects what Replay passes.
func replayAll(t *testing.T, l *ledger.Ledger) []outcome.Outcome {
	t.Helper()
	var got []outcome.Outcome
	must(t, l.Replay(func(o outcome.Outcome) error { got = append(got, o); return nil }))
	return got
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestOpenNew(t *testing.T) {
	dir := t.TempDir()
	_, st := open(t, dir, hashA, false)
	if diff := cmp.Diff(view{InDoubt: map[int]ledger.Doubt{}}, viewOf(st)); diff != "" {
		t.Errorf("State (-want +got):\n%s", diff)
	}
	lines := readLines(t, dir)
	var hdr ledger.Header
	must(t, json.Unmarshal([]byte(lines[0]), &hdr))
	want := ledger.Header{Version: ledger.Version, InputSHA256: hashA, InputName: "prospects.csv", CreatedAt: "2026-03-10T12:00:00Z"}
	if diff := cmp.Diff(want, hdr); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if len(lines) != 1 {
		t.Errorf("journal has %d lines, want 1: %q", len(lines), lines)
	}
}

func TestOpenCreatedAtIsUTC(t *testing.T) {
	dir := t.TempDir()
	l, _, err := ledger.Open(dir, hashA, "in.csv", false, time.Date(2026, 3, 10, 14, 0, 0, 0, time.FixedZone("CET", 2*3600)))
	must(t, err)
	must(t, l.Close())
	var hdr ledger.Header
	must(t, json.Unmarshal([]byte(readLines(t, dir)[0]), &hdr))
	if hdr.CreatedAt != "2026-03-10T12:00:00Z" {
		t.Errorf("CreatedAt %q, want %q", hdr.CreatedAt, "2026-03-10T12:00:00Z")
	}
}

// writeRun journals what a typical interrupted run leaves.
func writeRun(t *testing.T, l *ledger.Ledger) {
	t.Helper()
	must(t, l.Sent(ledger.Sent{FlowID: flowSDR, Owner: "ava@example.com", Lines: []int{2, 3, 4}, IDs: []string{"0032", "0033", "0034"}, At: t0}))
	must(t, l.Sent(ledger.Sent{FlowID: "1702318845120411230", Owner: "ben@example.com", Lines: []int{5, 6}, IDs: []string{"0035", "0036"}, At: t0.Add(time.Second)}))
	must(t, l.Settle(assigned(2, "0032"), failed(3, "0033")))
	must(t, l.Settle(assigned(6, "0036")))
	must(t, l.Settle()) // nothing: no line
	// Unprocessed rows are not journaled: the next run meets them again.
	must(t, l.Settle(outcome.Leave(row(5, "0035"), outcome.ReasonInterrupted)))
	must(t, l.Release(nil)) // nothing: no line
	must(t, l.Run(outcome.RequestCounts{Requests: 3, Retries: 1, RateLimited: 1, ReadBacks: 0}))
}

func TestOpenResumes(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, hashA, false)
	writeRun(t, l)
	must(t, l.Close())
	if n := len(readLines(t, dir)); n != 6 {
		t.Errorf("journal has %d lines, want 6 (header, 2 sent, 2 settled, 1 run)", n)
	}

	_, st := open(t, dir, hashA, false)
	want := view{
		Resumed: true,
		Settled: []int{2, 3, 6},
		InDoubt: map[int]ledger.Doubt{
			4: {FlowID: flowSDR, SentAt: t0},
			5: {FlowID: "1702318845120411230", SentAt: t0.Add(time.Second)},
		},
		Runs: outcome.RequestCounts{Requests: 3, Retries: 1, RateLimited: 1},
	}
	if diff := cmp.Diff(want, viewOf(st)); diff != "" {
		t.Errorf("State (-want +got):\n%s", diff)
	}
}

func TestRunStatsSummed(t *testing.T) {
	dir := t.TempDir()
	runs := []outcome.RequestCounts{
		{Requests: 3, Retries: 1, RateLimited: 1, ReadBacks: 0, Splits: 1},
		{Requests: 10, Retries: 0, RateLimited: 4, ReadBacks: 2, FlowListings: 2, UserListings: 1},
		{Requests: 1, Retries: 7, RateLimited: 0, ReadBacks: 1, Splits: 2, Unassigns: 3},
	}
	var sum outcome.RequestCounts
	for i, r := range runs {
		l, st := open(t, dir, hashA, false)
		if diff := cmp.Diff(sum, st.Runs); diff != "" {
			t.Errorf("before run %d: Runs (-want +got):\n%s", i+1, diff)
		}
		must(t, l.Run(r))
		must(t, l.Close())
		sum.Requests += r.Requests
		sum.Retries += r.Retries
		sum.RateLimited += r.RateLimited
		sum.ReadBacks += r.ReadBacks
		sum.Splits += r.Splits
		sum.FlowListings += r.FlowListings
		sum.UserListings += r.UserListings
		sum.Unassigns += r.Unassigns
	}
	_, st := open(t, dir, hashA, false)
	want := outcome.RequestCounts{Requests: 14, Retries: 8, RateLimited: 5, ReadBacks: 3, Splits: 3, FlowListings: 2, UserListings: 1, Unassigns: 3}
	if diff := cmp.Diff(want, st.Runs); diff != "" {
		t.Errorf("Runs (-want +got):\n%s", diff)
	}
}

func TestSettledInALaterRunLeavesDoubt(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, hashA, false)
	must(t, l.Sent(ledger.Sent{FlowID: flowSDR, Lines: []int{2, 3}, At: t0}))
	must(t, l.Close())

	l, st := open(t, dir, hashA, false)
	if diff := cmp.Diff(view{Resumed: true, InDoubt: map[int]ledger.Doubt{2: {flowSDR, t0}, 3: {flowSDR, t0}}}, viewOf(st)); diff != "" {
		t.Errorf("first resume (-want +got):\n%s", diff)
	}
	// The second run reads back line 2 and settles it; line 3 is sent again.
	must(t, l.Settle(assigned(2, "0032")))
	must(t, l.Sent(ledger.Sent{FlowID: flowSDR, Lines: []int{3}, At: t0.Add(time.Hour)}))
	must(t, l.Close())

	_, st = open(t, dir, hashA, false)
	// Line 3 keeps its first send time: the first run may have applied it,
	// and a read-back must still own an instance created since then.
	want := view{Resumed: true, Settled: []int{2}, InDoubt: map[int]ledger.Doubt{3: {flowSDR, t0}}}
	if diff := cmp.Diff(want, viewOf(st)); diff != "" {
		t.Errorf("second resume (-want +got):\n%s", diff)
	}
}

func TestOpenOtherInputRefused(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, hashA, false)
	writeRun(t, l)
	must(t, l.Close())
	path := filepath.Join(dir, ledger.FileName)
	before, err := os.ReadFile(path)
	must(t, err)

	l2, st, err := ledger.Open(dir, hashB, "other.csv", false, t0.Add(time.Hour))
	if !errors.Is(err, ledger.ErrInputChanged) {
		t.Errorf("error %v does not wrap ErrInputChanged", err)
	}
	want := "input changed: " + dir + " holds the results of prospects.csv (sha256 a1a1a1a1a1a1…), not of this input (sha256 b2b2b2b2b2b2…); use another --out, or --restart to discard those results and start over"
	if got := errString(err); got != want {
		t.Errorf("error\n%q, want\n%q", got, want)
	}
	if l2 != nil {
		t.Errorf("Open returned a ledger with its error")
		l2.Close()
	}
	if diff := cmp.Diff(view{}, view{Resumed: st.Resumed, InDoubt: st.InDoubt, Runs: st.Runs}); diff != "" || st.Settled != nil {
		t.Errorf("Open returned a State with its error: %+v", st)
	}
	after, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(before, after) {
		t.Errorf("journal changed by a refused Open:\nbefore %q\nafter  %q", before, after)
	}
}

func TestOpenRestartDiscards(t *testing.T) {
	for _, hash := range []string{hashA, hashB} {
		t.Run("same input "+fmt.Sprint(hash == hashA), func(t *testing.T) {
			dir := t.TempDir()
			l, _ := open(t, dir, hashA, false)
			writeRun(t, l)
			must(t, l.Close())

			l, st := open(t, dir, hash, true)
			if diff := cmp.Diff(view{InDoubt: map[int]ledger.Doubt{}}, viewOf(st)); diff != "" {
				t.Errorf("State after restart (-want +got):\n%s", diff)
			}
			n := 0
			must(t, l.Replay(func(outcome.Outcome) error { n++; return nil }))
			if n != 0 {
				t.Errorf("Replay after restart passed %d outcomes, want 0", n)
			}
			must(t, l.Close())
			lines := readLines(t, dir)
			var hdr ledger.Header
			must(t, json.Unmarshal([]byte(lines[0]), &hdr))
			if len(lines) != 1 || hdr.InputSHA256 != hash {
				t.Errorf("journal after restart: %q, want only the header for %s", lines, hash)
			}
			_, st = open(t, dir, hash, false)
			if diff := cmp.Diff(view{Resumed: true, InDoubt: map[int]ledger.Doubt{}}, viewOf(st)); diff != "" {
				t.Errorf("State after resuming the restarted journal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTornLastLine(t *testing.T) {
	tests := []struct {
		name string
		torn string
	}{
		{"half an entry", `{"rows":[{"line":9,"kind":"assigned","crmProsp`},
		{"a whole entry but its newline", `{"rows":[{"line":9,"kind":"assigned"}]}`},
		{"half a version 1 entry", `{"settled":{"assigned":[{"Line":9,"CRMProsp`},
		{"a whole version 1 entry but its newline", `{"settled":{"assigned":[{"Line":9}]}}`},
		{"one byte", `{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ledger.FileName)
			l, _ := open(t, dir, hashA, false)
			must(t, l.Settle(assigned(2, "0032")))
			must(t, l.Close())
			good, err := os.ReadFile(path)
			must(t, err)
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteString(tt.torn)
			must(t, err)
			must(t, f.Close())

			l, st := open(t, dir, hashA, false)
			if diff := cmp.Diff(view{Resumed: true, Settled: []int{2}, InDoubt: map[int]ledger.Doubt{}}, viewOf(st)); diff != "" {
				t.Errorf("State (-want +got):\n%s", diff)
			}
			got, err := os.ReadFile(path)
			must(t, err)
			if !bytes.Equal(good, got) {
				t.Errorf("torn line not truncated on Open:\nwant %q\ngot  %q", good, got)
			}
			must(t, l.Settle(failed(3, "0033")))
			must(t, l.Run(outcome.RequestCounts{Requests: 1}))
			must(t, l.Close())
			for i, line := range readLines(t, dir) {
				if !json.Valid([]byte(line)) {
					t.Errorf("line %d is not JSON after appending: %q", i+1, line)
				}
			}
			_, st = open(t, dir, hashA, false)
			want := view{Resumed: true, Settled: []int{2, 3}, InDoubt: map[int]ledger.Doubt{}, Runs: outcome.RequestCounts{Requests: 1}}
			if diff := cmp.Diff(want, viewOf(st)); diff != "" {
				t.Errorf("State after appending (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenStartsAnew(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"empty file", ""},
		{"torn header", `{"version":1,"inputSha256":"a1a1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, ledger.FileName), []byte(tt.content), 0o600))
			_, st := open(t, dir, hashA, false)
			if diff := cmp.Diff(view{InDoubt: map[int]ledger.Doubt{}}, viewOf(st)); diff != "" {
				t.Errorf("State (-want +got):\n%s", diff)
			}
			lines := readLines(t, dir)
			var hdr ledger.Header
			must(t, json.Unmarshal([]byte(lines[0]), &hdr))
			if len(lines) != 1 || hdr.InputSHA256 != hashA {
				t.Errorf("journal %q, want one header for %s", lines, hashA)
			}
		})
	}
}

func TestOpenNotALedger(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantErr string // after FILE: the journal's path
	}{
		{"not JSON", "crmProspectId,flowId\n", "FILE: line 1: not a flowenroll ledger"},
		{"JSON without version", `{"inputSha256":"a1"}` + "\n", "FILE: line 1: not a flowenroll ledger"},
		{"newer version", `{"version":3,"inputSha256":"a1"}` + "\n", "FILE: ledger version 3; this flowenroll reads versions 1 to 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ledger.FileName)
			must(t, os.WriteFile(path, []byte(tt.content), 0o600))
			l, _, err := ledger.Open(dir, hashA, "in.csv", false, t0)
			if l != nil {
				l.Close()
			}
			if got, want := errString(err), strings.Replace(tt.wantErr, "FILE", path, 1); got != want {
				t.Errorf("error %q, want %q", got, want)
			}
			b, err := os.ReadFile(path)
			must(t, err)
			if string(b) != tt.content {
				t.Errorf("file changed to %q", b)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, hashA, false)
	writeRun(t, l)
	must(t, l.Close())

	l, _ = open(t, dir, hashA, false)
	// Written after Open: not part of what earlier runs left.
	must(t, l.Settle(assigned(4, "0034")))

	got := replayAll(t, l)
	want := []outcome.Outcome{assigned(2, "0032"), failed(3, "0033"), assigned(6, "0036")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Replay (-want +got):\n%s", diff)
	}

	// Replaying twice gives the same outcomes.
	if diff := cmp.Diff(want, replayAll(t, l)); diff != "" {
		t.Errorf("second Replay (-want +got):\n%s", diff)
	}

	// The callback's error stops the replay and is returned.
	stop := errors.New("output full")
	n := 0
	err := l.Replay(func(outcome.Outcome) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Replay with a failing callback: %v after %d calls, want %v after 1", err, n, stop)
	}
}

func TestReplayNewLedger(t *testing.T) {
	l, _ := open(t, t.TempDir(), hashA, false)
	must(t, l.Settle(assigned(2, "0032")))
	n := 0
	must(t, l.Replay(func(outcome.Outcome) error { n++; return nil }))
	if n != 0 {
		t.Errorf("Replay of a new journal passed %d outcomes, want 0", n)
	}
}

func TestClosed(t *testing.T) {
	l, _ := open(t, t.TempDir(), hashA, false)
	must(t, l.Close())
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"Sent", func() error { return l.Sent(ledger.Sent{Lines: []int{2}}) }},
		{"Settle", func() error { return l.Settle(failed(2, "x")) }},
		{"Release", func() error { return l.Release([]int{2}) }},
		{"ChunkSize", func() error { return l.ChunkSize(10) }},
		{"Run", func() error { return l.Run(outcome.RequestCounts{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errString(tt.call()); got != "ledger is closed" {
				t.Errorf("error %q, want %q", got, "ledger is closed")
			}
		})
	}
}

func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, hashA, false)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				line := 2 + w*each + i
				if line%2 == 0 {
					errs <- l.Sent(ledger.Sent{FlowID: flowSDR, Lines: []int{line}, At: t0})
				} else {
					errs <- l.Settle(assigned(line, fmt.Sprint(line)))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	must(t, l.Close())
	_, st := open(t, dir, hashA, false)
	var wantSettled []int
	wantDoubt := map[int]ledger.Doubt{}
	for line := 2; line < 2+workers*each; line++ {
		if line%2 == 0 {
			wantDoubt[line] = ledger.Doubt{FlowID: flowSDR, SentAt: t0}
		} else {
			wantSettled = append(wantSettled, line)
		}
	}
	if diff := cmp.Diff(view{Resumed: true, Settled: wantSettled, InDoubt: wantDoubt}, viewOf(st)); diff != "" {
		t.Errorf("State (-want +got):\n%s", diff)
	}
}

func TestFileMode(t *testing.T) {
	tests := []struct {
		name    string
		existed bool // a journal for hashA existed with mode 0644
		hash    string
		restart bool
		bug     string
	}{
		{name: "new journal", hash: hashA},
		{name: "restart over a 0644 journal", existed: true, hash: hashB, restart: true},
		{name: "resume a 0644 journal", existed: true, hash: hashA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				t.Skip(tt.bug)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, ledger.FileName)
			if tt.existed {
				l, _ := open(t, dir, hashA, false)
				must(t, l.Close())
				must(t, os.Chmod(path, 0o644))
			}
			l, _ := open(t, dir, tt.hash, tt.restart)
			must(t, l.Run(outcome.RequestCounts{}))
			fi, err := os.Stat(path)
			must(t, err)
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("mode %v, want %v", got, fs.FileMode(0o600))
			}
		})
	}
}

func TestLines(t *testing.T) {
	tests := []struct {
		name    string
		add     []int
		probe   []int
		wantHas []bool
	}{
		{name: "empty", probe: []int{-1, 0, 1, 2, 63, 64, 1000}, wantHas: []bool{false, false, false, false, false, false, false}},
		{name: "zero", add: []int{0}, probe: []int{0, 1, 64}, wantHas: []bool{true, false, false}},
		{name: "negative lines are not added", add: []int{-1, -64, -65}, probe: []int{-1, -64, -65, 0, 63}, wantHas: []bool{false, false, false, false, false}},
		{name: "word edges", add: []int{63, 64, 127, 128}, probe: []int{62, 63, 64, 65, 126, 127, 128, 129}, wantHas: []bool{false, true, true, false, false, true, true, false}},
		{name: "repeated add", add: []int{5, 5, 5}, probe: []int{4, 5, 6}, wantHas: []bool{false, true, false}},
		{name: "large", add: []int{10_000_000, 2}, probe: []int{2, 3, 9_999_999, 10_000_000, 10_000_001, 1 << 40}, wantHas: []bool{true, false, false, true, false, false}},
		{name: "beyond the set", add: []int{3}, probe: []int{64, 1 << 20}, wantHas: []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s ledger.Lines
			for _, l := range tt.add {
				s.Add(l)
			}
			var got []bool
			for _, p := range tt.probe {
				got = append(got, s.Has(p))
			}
			if diff := cmp.Diff(tt.wantHas, got); diff != "" {
				t.Errorf("Has(%v) (-want +got):\n%s", tt.probe, diff)
			}
		})
	}
}

// Every field of an outcome the result files need comes back from the
// journal as it went in.
func TestSettleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, hashA, false)
	byName := outcome.Row{Line: 7, CRMProspectID: "=0037", FlowName: "SDR, \"outbound\"", OwnerEmail: "ben@example.com", Extra: []string{"Lena", "", "+Soylent"}}
	outs := []outcome.Outcome{
		outcome.Assign(outcome.Row{Line: 2, CRMProspectID: "0032", FlowID: flowSDR, FlowName: "SDR", OwnerEmail: "ava@example.com", Extra: []string{"Lena", "Soylent"}},
			outcome.Instance{FlowName: "SDR Outbound", ID: "8f1", OwnerFullName: "Ava Reyes", CreateDate: "2026-03-10T12:00:00Z", Status: "Running", WorkspaceID: "623457276584334", Exclusive: true},
			"r-1"),
		outcome.Fail(outcome.Row{Line: 3, CRMProspectID: "0033", FlowID: flowSDR, OwnerEmail: "ava@example.com"}, outcome.StageRequest, outcome.CodeBadRequest, "owner unknown").WithAnswer(400, "r-2"),
		outcome.Fail(byName, outcome.StageInput, outcome.CodeFlowNameNotFound, "line 7: no flow named SDR, \"outbound\""),
		outcome.Assign(outcome.Row{Line: 9, CRMProspectID: "0039", FlowID: flowSDR, OwnerEmail: "ava@example.com"}, outcome.Instance{}, ""),
	}
	must(t, l.Settle(outs...))
	must(t, l.Close())

	l, st := open(t, dir, hashA, false)
	if diff := cmp.Diff(view{Resumed: true, Settled: []int{2, 3, 7, 9}, InDoubt: map[int]ledger.Doubt{}}, viewOf(st)); diff != "" {
		t.Errorf("State (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(outs, replayAll(t, l)); diff != "" {
		t.Errorf("Replay (-want +got):\n%s", diff)
	}
}

// Release takes rows out of doubt; a later Sent puts them back, with the
// time of that send.
func TestRelease(t *testing.T) {
	dir := t.TempDir()
	t1 := t0.Add(time.Hour)
	l, _ := open(t, dir, hashA, false)
	must(t, l.Sent(ledger.Sent{FlowID: flowSDR, Owner: "ava@example.com", Lines: []int{2, 3, 4, 5}, At: t0}))
	// The request was answered 429: lines 3 and 4 never reached Gong.
	must(t, l.Release([]int{3, 4}))
	must(t, l.Close())

	l, st := open(t, dir, hashA, false)
	want := view{Resumed: true, InDoubt: map[int]ledger.Doubt{2: {flowSDR, t0}, 5: {flowSDR, t0}}}
	if diff := cmp.Diff(want, viewOf(st)); diff != "" {
		t.Errorf("after Release (-want +got):\n%s", diff)
	}
	// The next run sends line 3 again; line 4 is released once more (and
	// releasing a line that is not in doubt is harmless), line 5 settles.
	must(t, l.Sent(ledger.Sent{FlowID: flowSDR, Owner: "ava@example.com", Lines: []int{3}, At: t1}))
	must(t, l.Release([]int{4, 9}))
	must(t, l.Settle(failed(5, "0035")))
	must(t, l.Close())

	l, st = open(t, dir, hashA, false)
	want = view{Resumed: true, Settled: []int{5}, InDoubt: map[int]ledger.Doubt{2: {flowSDR, t0}, 3: {flowSDR, t1}}}
	if diff := cmp.Diff(want, viewOf(st)); diff != "" {
		t.Errorf("after a later Sent (-want +got):\n%s", diff)
	}
	// A settled line released afterwards stays settled.
	must(t, l.Release([]int{5}))
	must(t, l.Close())
	_, st = open(t, dir, hashA, false)
	if diff := cmp.Diff(want, viewOf(st)); diff != "" {
		t.Errorf("after releasing a settled line (-want +got):\n%s", diff)
	}
}

// The last learned request size counts; 0 goes back to the configured one.
func TestChunkSize(t *testing.T) {
	dir := t.TempDir()
	for i, tt := range []struct {
		write []int
		want  int
	}{
		{nil, 0},
		{[]int{50, 25}, 25},
		{nil, 25},
		{[]int{0}, 0},
		{[]int{12}, 12},
	} {
		l, st := open(t, dir, hashA, false)
		if i > 0 && !st.Resumed {
			t.Errorf("open %d: not resumed", i+1)
		}
		for _, n := range tt.write {
			must(t, l.ChunkSize(n))
		}
		must(t, l.Close())
		_, st = open(t, dir, hashA, false)
		if st.ChunkSize != tt.want {
			t.Errorf("after writing %v: ChunkSize %d, want %d", tt.write, st.ChunkSize, tt.want)
		}
	}
}

// TestWriteAfterOutGone: once the journal is not the file at its path
// (--out deleted, the journal deleted, --out replaced), every write fails
// with ErrGone and writes nothing.
func TestWriteAfterOutGone(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(dir string) error
	}{
		{"--out deleted", os.RemoveAll},
		{"ledger deleted", func(dir string) error { return os.Remove(filepath.Join(dir, ledger.FileName)) }},
		{"--out replaced", func(dir string) error {
			if err := os.Rename(dir, dir+".old"); err != nil {
				return err
			}
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, ledger.FileName), nil, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			l, _, err := ledger.Open(dir, hashA, "in.csv", false, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := l.Sent(ledger.Sent{FlowID: "1", Lines: []int{2}}); err != nil {
				t.Fatalf("before: %v", err)
			}
			if err := tc.do(dir); err != nil {
				t.Fatal(err)
			}
			if err := l.Sent(ledger.Sent{FlowID: "1", Lines: []int{3}}); !errors.Is(err, ledger.ErrGone) {
				t.Errorf("after: %v, want ErrGone", err)
			}
		})
	}
}

// A line sent and then released (read back: not in Gong) is in doubt no
// more, yet the journal named it: result files a killed run left stale may
// still hold it, and that is no sign of a journal cut short.
func TestNamedKeepsReleasedLines(t *testing.T) {
	dir := t.TempDir()
	l, _, err := ledger.Open(dir, "h", "in.csv", false, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Sent(ledger.Sent{Lines: []int{13, 14}, IDs: []string{"a", "b"}, FlowID: "1", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := l.Release([]int{13}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, st, err := ledger.Open(dir, "h", "in.csv", false, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, doubt := st.InDoubt[13]; doubt || !st.Named.Has(13) || !st.Named.Has(14) || st.Named.Has(15) {
		t.Errorf("line 13 in doubt %v, named 13 %v, 14 %v, 15 %v; want false, true, true, false",
			doubt, st.Named.Has(13), st.Named.Has(14), st.Named.Has(15))
	}
}
