package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/ledger"
)

// TestRowsInDoubtResumedHoursLater: a run is killed while Gong applies its
// request; hours later the same command resumes. The rows must be claimed
// from their read-back, not sent again and reported "already in flow" —
// also when the first resumed run is itself killed before its read-back is
// answered.
//
// Two hours pass without waiting: the first run's emulator clock and the
// send times that run journaled are moved two hours back. The subtest
// without the second kill shows that this simulation is sound.
func TestRowsInDoubtResumedHoursLater(t *testing.T) {
	t.Parallel()
	for _, killReadBack := range []bool{false, true} {
		name := "resumed"
		if killReadBack {
			name = "resumed-then-killed-at-read-back"
		}
		t.Run(name, func(t *testing.T) {
			if killReadBack {
			}
			var offset atomic.Int64 // the emulator's clock, ahead of the test's
			sc := newScenario(t, nil, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
			const earlier = 2 * time.Hour
			one := []string{"--concurrency", "1"} // one chunk in flight: the one killed

			offset.Store(int64(-earlier))
			r := sc.run(t, trigger{at: 5, path: gong.PathAssign, point: inFlightApplied, sig: syscall.SIGKILL}, one...)
			if !r.fired || r.signal != syscall.SIGKILL {
				t.Fatalf("run 1: %v; want it killed at its 5th assign", r)
			}
			shiftSent(t, filepath.Join(sc.out, ledger.FileName), -earlier)
			offset.Store(0)

			if killReadBack {
				r = sc.run(t, trigger{at: 1, path: gong.PathProspectsFlows, point: inFlightLost, sig: syscall.SIGKILL}, one...)
				if !r.fired || r.signal != syscall.SIGKILL {
					t.Fatalf("run 2: %v; want it killed at its first read-back", r)
				}
			}
			sc.resume(t, 3, one...)
			a := sc.check(t, true)
			t.Logf("%d runs, %d rows misreported", len(sc.runs), a.misreported)
		})
	}
}

// TestSmallRequestCapMakesProgress runs the same command with a request cap
// of 4 and one worker until it finishes. Each run must settle rows: 3 flow
// listings (one per owner) and 1 assign fit in the cap.
func TestSmallRequestCapMakesProgress(t *testing.T) {
	t.Parallel()
	sc := newScenario(t, nil, nil)
	flags := []string{"--concurrency", "1", "--max-requests", "4"}
	assigned := -1
	for i := 1; ; i++ {
		r := sc.run(t, trigger{}, flags...)
		sum := sc.summary(t, r)
		if r.exit == 3 {
			break
		}
		if r.exit != 4 {
			t.Fatalf("run %d: %v; want exit 4 or 3", i, r)
		}
		if sum.Assigned <= assigned {
			t.Fatalf("run %d: %d rows assigned, as after the run before: %d requests, %d of them read-backs, and no progress",
				i, sum.Assigned, r.requests, sum.ReadBacks)
		}
		assigned = sum.Assigned
		if i == 60 {
			t.Fatalf("not finished after %d runs", i)
		}
	}
	sc.check(t, true)
}

// shiftSent moves the send time of every "sent" entry of the journal by d,
// leaving every other line as it is.
func shiftSent(t *testing.T, path string, d time.Duration) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		var e map[string]json.RawMessage
		if !bytes.HasSuffix(line, []byte("\n")) || json.Unmarshal(line, &e) != nil || e["sent"] == nil {
			out.Write(line)
			continue
		}
		var sent map[string]json.RawMessage
		var at time.Time
		if err := json.Unmarshal(e["sent"], &sent); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(sent["at"], &at); err != nil {
			t.Fatal(err)
		}
		sent["at"], _ = json.Marshal(at.Add(d))
		e["sent"], _ = json.Marshal(sent)
		nb, _ := json.Marshal(e)
		out.Write(append(nb, '\n'))
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
