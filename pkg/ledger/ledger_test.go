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
	"github.com/flowenroll/flowenroll/pkg/report"
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
	Resumed bool
	Settled []int
	InDoubt map[int]ledger.Doubt
	Runs    ledger.RunStats
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
	return view{Resumed: st.Resumed, Settled: members(st.Settled), InDoubt: st.InDoubt, Runs: st.Runs}
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

func assigned(line int, id string) report.AssignedRecord {
	return report.AssignedRecord{Line: line, CRMProspectID: report.Cell(id), FlowID: flowSDR, FlowInstanceOwnerEmail: "ava@example.com", FlowInstanceID: report.Cell("fi-" + id), RequestID: "r-1"}
}

func failed(line int, id string) report.FailedRecord {
	return report.FailedRecord{Line: line, CRMProspectID: report.Cell(id), FlowID: flowSDR, FlowInstanceOwnerEmail: "ava@example.com", Stage: "api", ErrorCode: "InvalidState", ErrorMessage: "=already in flow", RequestID: "r-1"}
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
	must(t, l.Settle(ledger.Settled{Assigned: []report.AssignedRecord{assigned(2, "0032")}, Failed: []report.FailedRecord{failed(3, "0033")}}))
	must(t, l.Settle(ledger.Settled{Assigned: []report.AssignedRecord{assigned(6, "0036")}}))
	must(t, l.Settle(ledger.Settled{})) // nothing: no line
	must(t, l.Run(ledger.RunStats{Requests: 3, Retries: 1, RateLimited: 1, ReadBacks: 0}))
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
		Runs: ledger.RunStats{Requests: 3, Retries: 1, RateLimited: 1},
	}
	if diff := cmp.Diff(want, viewOf(st)); diff != "" {
		t.Errorf("State (-want +got):\n%s", diff)
	}
}

func TestRunStatsSummed(t *testing.T) {
	dir := t.TempDir()
	runs := []ledger.RunStats{
		{Requests: 3, Retries: 1, RateLimited: 1, ReadBacks: 0},
		{Requests: 10, Retries: 0, RateLimited: 4, ReadBacks: 2},
		{Requests: 1, Retries: 7, RateLimited: 0, ReadBacks: 1},
	}
	var sum ledger.RunStats
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
	}
	_, st := open(t, dir, hashA, false)
	if diff := cmp.Diff(ledger.RunStats{Requests: 14, Retries: 8, RateLimited: 5, ReadBacks: 3}, st.Runs); diff != "" {
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
	must(t, l.Settle(ledger.Settled{Assigned: []report.AssignedRecord{assigned(2, "0032")}}))
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
			must(t, l.Replay(func(ledger.Settled) error { n++; return nil }))
			if n != 0 {
				t.Errorf("Replay after restart passed %d entries, want 0", n)
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
		{"half an entry", `{"settled":{"assigned":[{"Line":9,"CRMProsp`},
		{"a whole entry but its newline", `{"settled":{"assigned":[{"Line":9}]}}`},
		{"one byte", `{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ledger.FileName)
			l, _ := open(t, dir, hashA, false)
			must(t, l.Settle(ledger.Settled{Assigned: []report.AssignedRecord{assigned(2, "0032")}}))
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
			must(t, l.Settle(ledger.Settled{Failed: []report.FailedRecord{failed(3, "0033")}}))
			must(t, l.Run(ledger.RunStats{Requests: 1}))
			must(t, l.Close())
			for i, line := range readLines(t, dir) {
				if !json.Valid([]byte(line)) {
					t.Errorf("line %d is not JSON after appending: %q", i+1, line)
				}
			}
			_, st = open(t, dir, hashA, false)
			want := view{Resumed: true, Settled: []int{2, 3}, InDoubt: map[int]ledger.Doubt{}, Runs: ledger.RunStats{Requests: 1}}
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
		{"newer version", `{"version":2,"inputSha256":"a1"}` + "\n", "FILE: ledger version 2; this flowenroll reads version 1"},
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
	must(t, l.Settle(ledger.Settled{Assigned: []report.AssignedRecord{assigned(4, "0034")}}))

	var got []ledger.Settled
	must(t, l.Replay(func(s ledger.Settled) error { got = append(got, s); return nil }))
	want := []ledger.Settled{
		{Assigned: []report.AssignedRecord{assigned(2, "0032")}, Failed: []report.FailedRecord{failed(3, "0033")}},
		{Assigned: []report.AssignedRecord{assigned(6, "0036")}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Replay (-want +got):\n%s", diff)
	}

	// Replaying twice gives the same entries.
	var again []ledger.Settled
	must(t, l.Replay(func(s ledger.Settled) error { again = append(again, s); return nil }))
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("second Replay (-want +got):\n%s", diff)
	}

	// The callback's error stops the replay and is returned.
	stop := errors.New("output full")
	n := 0
	err := l.Replay(func(ledger.Settled) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Replay with a failing callback: %v after %d calls, want %v after 1", err, n, stop)
	}
}

func TestReplayNewLedger(t *testing.T) {
	l, _ := open(t, t.TempDir(), hashA, false)
	must(t, l.Settle(ledger.Settled{Assigned: []report.AssignedRecord{assigned(2, "0032")}}))
	n := 0
	must(t, l.Replay(func(ledger.Settled) error { n++; return nil }))
	if n != 0 {
		t.Errorf("Replay of a new journal passed %d entries, want 0", n)
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
		{"Settle", func() error { return l.Settle(ledger.Settled{Failed: []report.FailedRecord{failed(2, "x")}}) }},
		{"Run", func() error { return l.Run(ledger.RunStats{}) }},
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
					errs <- l.Settle(ledger.Settled{Assigned: []report.AssignedRecord{assigned(line, fmt.Sprint(line))}})
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
			must(t, l.Run(ledger.RunStats{}))
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
