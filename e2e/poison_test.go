package e2e

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"syscall"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// TestPoisonRows runs 1,000 rows of one flow and owner, some of whose IDs
// make Gong refuse their whole request with 400 (emulator.Config.PoisonIDs),
// the first row among them, with the message naming the ID or naming
// nothing. Every good row must be assigned and every poison row failed
// request/BadRequest, in a number of requests that grows with the poison
// rows, not with the rows (issue 20, item 4).
func TestPoisonRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		poison      int
		maxRequests int
	}{
		{poison: 2, maxRequests: 60},
		{poison: 25, maxRequests: 300},
	}
	for _, tt := range tests {
		for _, answer := range []string{emulator.PoisonNamesIDs, emulator.PoisonNamesNothing} {
			for _, conc := range []int{1, 4} {
				name := fmt.Sprintf("%d-poison/%s/concurrency-%d", tt.poison, answer, conc)
				t.Run(name, func(t *testing.T) {
					poisonRun(t, tt.poison, answer, conc, tt.maxRequests)
				})
			}
		}
	}
}

// poisonInput is 1,000 rows of flowSDR for Ava; n of them poison, the first
// row always, the others drawn with a fixed seed.
func poisonInput(n int) (prospectsFile, map[string]bool) {
	rng := rand.New(rand.NewPCG(20, 4))
	rows := make([]inputRow, 1000)
	for i := range rows {
		rows[i] = inputRow{id: fmt.Sprintf("PSN%04d", i), flow: flowSDR, owner: ava, want: wantAssigned}
	}
	poison := map[string]bool{}
	for i := 0; len(poison) < n; i = 1 + rng.IntN(len(rows)-1) {
		rows[i].want = wantPoisoned
		poison[rows[i].id] = true
	}
	return prospectsFile{rows: rows, minRequests: len(rows) / 200}, poison
}

func poisonRun(t *testing.T, n int, answer string, conc, maxRequests int) {
	input, poison := poisonInput(n)
	cfg := gongConfig(nil)
	cfg.PoisonIDs, cfg.PoisonAnswer = poison, answer
	sc := newScenarioOf(t, input, cfg, nil)
	r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, "run", "--input", sc.in, "--out", sc.out,
		"--rate", "1000", "--concurrency", strconv.Itoa(conc), "--log-format", "json")
	res := readResults(t, sc.out)
	var assigned, failedPoison, wrong int
	for i, in := range input.rows {
		o := res.byLine[i+2]
		switch {
		case !in.accepts(o.key()):
			wrong++
			if wrong <= 5 {
				t.Errorf("line %d (%s): %s, want %s", i+2, in.id, o.key(), in.want)
			}
		case o.file == "assigned":
			assigned++
		default:
			failedPoison++
		}
	}
	if created := len(sc.gong.emu.Created()); created != assigned {
		t.Errorf("the emulator created %d instances, assigned.csv names %d", created, assigned)
	}
	t.Logf("%d poison (%s), --concurrency %d: %d assigned, %d poison rows failed, %d rows wrong, %d requests (%d assign), exit %d",
		n, answer, conc, assigned, failedPoison, wrong, r.requests, sc.gong.emu.Stats().Assign, r.exit)
	if wrong > 0 || r.exit != 3 {
		t.Errorf("%d rows with another outcome than theirs, exit %d; want 0 and exit 3", wrong, r.exit)
	}
	if r.requests > int64(maxRequests) {
		t.Errorf("%d requests, want at most %d", r.requests, maxRequests)
	}
	sum := sc.summary(t, r)
	if sum.Counts.Assigned != len(input.rows)-n {
		t.Errorf("summary.json: %d assigned, want %d", sum.Counts.Assigned, len(input.rows)-n)
	}
}

// TestPoisonRowsResume kills the run (SIGKILL, SIGTERM) in the middle of
// finding the poison rows, at points where an assign of good rows was
// applied and its answer lost, and resumes it: the final files are those
// of one uninterrupted run, and every instance Gong created is claimed.
func TestPoisonRowsResume(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		at    int64
		point point
		sig   syscall.Signal
	}{
		{at: 6, point: inFlightApplied, sig: syscall.SIGKILL},
		{at: 17, point: afterAnswer, sig: syscall.SIGKILL},
		{at: 30, point: inFlightApplied, sig: syscall.SIGTERM},
		{at: 45, point: inFlightLost, sig: syscall.SIGKILL},
	} {
		t.Run(fmt.Sprintf("%v-at-%d-%v", tc.sig, tc.at, tc.point), func(t *testing.T) {
			input, poison := poisonInput(25)
			cfg := gongConfig(nil)
			cfg.PoisonIDs, cfg.PoisonAnswer = poison, emulator.PoisonNamesNothing
			sc := newScenarioOf(t, input, cfg, nil)
			// The harness's small chunks, made whole requests of 200 again.
			flags := []string{"--chunk-size", "200"}
			r := sc.run(t, trigger{at: tc.at, path: "/v2/flows/prospects/assign", point: tc.point, sig: tc.sig}, flags...)
			if !r.fired || r.exit == 0 || r.exit == 3 {
				t.Fatalf("first run: %v; want it stopped by the signal", r)
			}
			sc.resume(t, 3, flags...)
			sc.check(t, true)
		})
	}
}

// TestUnknownOwnerFailsOnce sends 400 rows for an owner who is no Gong user,
// without the preflight that would refuse them before sending: Gong's 400
// names the owner, not a row, so the rows fail together after one request,
// and the owner's second chunk is not sent.
func TestUnknownOwnerFailsOnce(t *testing.T) {
	t.Parallel()
	rows := make([]inputRow, 400)
	for i := range rows {
		rows[i] = inputRow{id: fmt.Sprintf("EVE%04d", i), flow: flowSDR, owner: "eve.nobody@example.com", want: wantPoisoned}
	}
	sc := newScenarioOf(t, prospectsFile{rows: rows}, gongConfig(nil), nil)
	r := runOnce(t, sc, gongEnv(sc.gong.srv.URL), nil, "run", "--input", sc.in, "--out", sc.out,
		"--rate", "1000", "--concurrency", "1", "--preflight=false", "--log-format", "json")
	if r.exit != 3 {
		t.Errorf("%v, want exit 3", r)
	}
	sc.check(t, true)
	if r.requests != 1 {
		t.Errorf("%d requests, want 1", r.requests)
	}
}
