package submit

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/internal/testkit"
	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// refusingGong is a Gong that answers 400, with the messages refuse gives,
// an assign for which refuse gives any, and assigns everything else.
type refusingGong struct {
	refuse func(ids []string) []string

	mu    sync.Mutex
	calls [][]string // the IDs of each assign
}

func (g *refusingGong) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req gong.AssignRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	g.mu.Lock()
	g.calls = append(g.calls, req.CRMProspectsIDs)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if msgs := g.refuse(req.CRMProspectsIDs); len(msgs) > 0 {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(gong.ErrorResponse{RequestID: fmt.Sprint("r", len(g.calls)), Errors: msgs})
		return
	}
	resp := gong.AssignResponse{RequestID: "ok", ProspectsNotAssigned: []gong.AssignFailure{}}
	for _, id := range req.CRMProspectsIDs {
		// Created now, on the server's clock as its Date header says.
		resp.ProspectsAssigned = append(resp.ProspectsAssigned, instance(id, time.Now().UTC().Format(time.RFC3339Nano)))
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (g *refusingGong) requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// poisonAnswer refuses a request carrying a bad ID, naming each (named)
// or with one message that names none; and a request of more than maxIDs.
func poisonAnswer(bad map[string]bool, named bool, maxIDs int) func([]string) []string {
	return func(ids []string) []string {
		var msgs []string
		for _, id := range ids {
			if bad[id] {
				if !named {
					return []string{"Invalid crmProspectsIds"}
				}
				msgs = append(msgs, "Invalid crmProspectsIds: "+id)
			}
		}
		if msgs == nil && len(ids) > maxIDs {
			msgs = []string{"too many crmProspectsIds"}
		}
		return msgs
	}
}

func newRefusingSubmitter(t *testing.T, g *refusingGong, gw gateway.Config) *Submitter {
	t.Helper()
	log := zaptest.NewLogger(t)
	base, _ := gong.ParseBaseURL("http://127.0.0.1:1")
	gw.Log, gw.Timer = log, newFakeTimer()
	client := gong.NewClient(base, gong.Credentials{BearerToken: "t"}, &http.Client{Transport: testkit.Transport{Handler: g}}, log)
	return New(Config{Gateway: gateway.New(gw), Client: client, Log: log, ChunkSize: 200})
}

// chunkOf is a chunk of n rows, IDs P000 on.
func chunkOf(n int) chunk.Chunk {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("P%03d", i)
	}
	return chunk.Chunk{Seq: 1, FlowID: flow, OwnerEmail: "ava@example.com", Rows: rows(ids...)}
}

// isolationBound is the most requests isolating k bad rows among n may
// take, the first refused request included: about 2k·log2(n/k) as binary
// splitting gives (the estimate of issue 20), and at most about n plus a
// little when every row is bad.
func isolationBound(k, n int) int {
	if k == 0 {
		return 1
	}
	b := 2*float64(k)*math.Log2(float64(n)/float64(k)) + 2*float64(k) + 3
	return int(math.Min(b, float64(n)+float64(n)/8+8))
}

func TestIsolationFindsEveryBadRow(t *testing.T) {
	const n = 200
	spread := func(k int, seed uint64) []int {
		return rand.New(rand.NewPCG(seed, 7)).Perm(n)[:k]
	}
	tests := []struct {
		name string
		bad  []int // positions of the bad rows
	}{
		{name: "none", bad: nil},
		{name: "first", bad: []int{0}},
		{name: "last", bad: []int{n - 1}},
		{name: "first and last", bad: []int{0, n - 1}},
		{name: "first and its neighbour", bad: []int{0, 1}},
		{name: "first and middle", bad: []int{0, n / 2}},
		{name: "2 spread", bad: spread(2, 1)},
		{name: "5 spread", bad: spread(5, 2)},
		{name: "5 with the first", bad: append([]int{0}, spread(4, 3)...)},
		{name: "10 spread", bad: spread(10, 4)},
		{name: "10 in a block", bad: []int{50, 51, 52, 53, 54, 55, 56, 57, 58, 59}},
		{name: "25 spread", bad: spread(25, 5)},
		{name: "50 spread", bad: spread(50, 6)},
		{name: "every other row", bad: func() (p []int) {
			for i := 0; i < n; i += 2 {
				p = append(p, i)
			}
			return p
		}()},
		{name: "all but one", bad: spread(n-1, 7)},
		{name: "every row", bad: spread(n, 8)},
	}
	for _, tt := range tests {
		for _, named := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/named=%v", tt.name, named), func(t *testing.T) {
				c := chunkOf(n)
				bad := map[string]bool{}
				for _, i := range tt.bad {
					bad[c.Rows[i].CRMProspectID] = true
				}
				g := &refusingGong{refuse: poisonAnswer(bad, named, n)}
				outs, err := newRefusingSubmitter(t, g, gateway.Config{}).Submit(context.Background(), c)
				if err != nil {
					t.Fatal(err)
				}
				checkIsolated(t, c, outs, bad)
				limit := isolationBound(len(bad), n)
				if named && len(bad) > 0 {
					limit = 2 // the request, then the rest without the rows named
				}
				if got := g.requests(); got > limit {
					t.Errorf("%d requests for %d bad rows among %d, want at most %d", got, len(bad), n, limit)
				}
				t.Logf("%d bad of %d: %d requests (bound %d)", len(bad), n, g.requests(), limit)
			})
		}
	}
}

// checkIsolated checks that each bad row failed request/BadRequest, each
// other row is assigned, and each row has one outcome.
func checkIsolated(t *testing.T, c chunk.Chunk, outs []outcome.Outcome, bad map[string]bool) {
	t.Helper()
	if len(outs) != len(c.Rows) {
		t.Errorf("%d outcomes for %d rows", len(outs), len(c.Rows))
	}
	seen := map[int]bool{}
	wrong := 0
	for _, o := range outs {
		if seen[o.Row.Line] {
			t.Errorf("line %d has two outcomes", o.Row.Line)
		}
		seen[o.Row.Line] = true
		okay := o.Kind == outcome.Assigned
		if bad[o.Row.CRMProspectID] {
			okay = o.Kind == outcome.Failed && o.Stage == outcome.StageRequest && o.Code == outcome.CodeBadRequest && o.HTTPStatus == http.StatusBadRequest
		}
		if !okay {
			if wrong++; wrong <= 5 {
				t.Errorf("%s (bad: %v): %+v", o.Row.CRMProspectID, bad[o.Row.CRMProspectID], o)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d rows with the wrong outcome", wrong)
	}
}

func TestIsolationFailsARowOnlyRefusedAlone(t *testing.T) {
	// Every bad row's failure carries the request ID of a 400 for a request
	// that held that row alone (or named it).
	c := chunkOf(64)
	bad := map[string]bool{"P000": true, "P017": true, "P018": true, "P040": true}
	g := &refusingGong{refuse: poisonAnswer(bad, false, 64)}
	outs, err := newRefusingSubmitter(t, g, gateway.Config{}).Submit(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	checkIsolated(t, c, outs, bad)
	for _, o := range outs {
		if o.Kind != outcome.Failed {
			continue
		}
		var i int
		fmt.Sscanf(o.RequestID, "r%d", &i)
		if i < 1 || i > len(g.calls) || !slices.Equal(g.calls[i-1], []string{o.Row.CRMProspectID}) {
			t.Errorf("%s failed with request %s, which was not for it alone", o.Row.CRMProspectID, o.RequestID)
		}
	}
}

func TestIsolationWithARefusalForSize(t *testing.T) {
	// Gong takes at most 100 IDs and 3 rows are bad, the 400 naming none:
	// every good row is still assigned, and later requests are cut to 100.
	c := chunkOf(200)
	bad := map[string]bool{"P000": true, "P120": true, "P199": true}
	g := &refusingGong{refuse: poisonAnswer(bad, false, 100)}
	sub := newRefusingSubmitter(t, g, gateway.Config{})
	outs, err := sub.Submit(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	checkIsolated(t, c, outs, bad)
	if got := g.requests(); got > isolationBound(3, 200) {
		t.Errorf("%d requests, want at most %d", got, isolationBound(3, 200))
	}
}

func TestRefusalNamingTheOwnerFailsTheGroup(t *testing.T) {
	// A 400 that names the request's owner is about the request: its rows
	// fail after one request, and a later chunk of the flow and owner with
	// none.
	g := &refusingGong{refuse: func([]string) []string { return []string{"AVA@example.com is not a Gong user"} }}
	sub := newRefusingSubmitter(t, g, gateway.Config{})
	for i, c := range []chunk.Chunk{chunkOf(200), chunkOf(50)} {
		outs, err := sub.Submit(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		set := settled(outs)
		if len(set.Failed) != len(c.Rows) || set.Failed[0].Code != outcome.CodeBadRequest || !strings.Contains(set.Failed[0].Message, "is not a Gong user") {
			t.Errorf("chunk %d: %d of %d rows failed (%+v), want every row BadRequest", i+1, len(set.Failed), len(c.Rows), set.Failed[:min(1, len(set.Failed))])
		}
	}
	if got := g.requests(); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestIsolationStopsAtTheBudget(t *testing.T) {
	// The request cap ends the run in the middle of the search: the rows
	// refused alone so far fail, every other row not yet assigned is
	// unprocessed (RequestBudget), none failed for a neighbour.
	c := chunkOf(200)
	bad := map[string]bool{"P000": true, "P001": true, "P050": true, "P150": true}
	for _, budget := range []int64{1, 2, 3, 8, 12, 20} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			g := &refusingGong{refuse: poisonAnswer(bad, false, 200)}
			outs, err := newRefusingSubmitter(t, g, gateway.Config{MaxRequests: budget}).Submit(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != len(c.Rows) {
				t.Fatalf("%d outcomes for %d rows", len(outs), len(c.Rows))
			}
			if got := int64(g.requests()); got > budget {
				t.Errorf("%d requests past a budget of %d", got, budget)
			}
			for _, o := range outs {
				switch {
				case o.Kind == outcome.Failed && !bad[o.Row.CRMProspectID]:
					t.Errorf("good row %s failed: %+v", o.Row.CRMProspectID, o)
				case o.Kind == outcome.Assigned && bad[o.Row.CRMProspectID]:
					t.Errorf("bad row %s assigned", o.Row.CRMProspectID)
				case o.Kind == outcome.Unprocessed && o.Reason != outcome.ReasonRequestBudget:
					t.Errorf("%s unprocessed %s, want %s", o.Row.CRMProspectID, o.Reason, outcome.ReasonRequestBudget)
				}
			}
		})
	}
}

func TestIsolationJournalsEachRequest(t *testing.T) {
	// Every request's rows are journaled before it is sent, the rows of
	// a refused request again for each smaller request they go in.
	c := chunkOf(16)
	bad := map[string]bool{"P003": true}
	g := &refusingGong{refuse: poisonAnswer(bad, false, 16)}
	log := zaptest.NewLogger(t)
	base, _ := gong.ParseBaseURL("http://127.0.0.1:1")
	var journaled [][]string
	sub := New(Config{
		Gateway: gateway.New(gateway.Config{Log: log, Timer: newFakeTimer()}),
		Client:  gong.NewClient(base, gong.Credentials{BearerToken: "t"}, &http.Client{Transport: testkit.Transport{Handler: g}}, log),
		Log:     log, ChunkSize: 200,
		BeforeSend: func(part chunk.Chunk, _ time.Time) error {
			journaled = append(journaled, part.IDs())
			return nil
		},
	})
	outs, err := sub.Submit(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	checkIsolated(t, c, outs, bad)
	if !slices.EqualFunc(journaled, g.calls, slices.Equal) {
		t.Errorf("journaled %v, sent %v: want each request's rows journaled before it", journaled, g.calls)
	}
}

func TestContainsWord(t *testing.T) {
	tests := []struct {
		s, word string
		want    bool
	}{
		{"Invalid crmProspectsIds: 003BAD", "003BAD", true},
		{"Invalid crmProspectsIds: 003BAD.", "003BAD", true},
		{`"003BAD" appears more than once`, "003BAD", true},
		{"Invalid crmProspectsIds: 003BADX", "003BAD", false},
		{"Invalid crmProspectsIds: X003BAD", "003BAD", false},
		{"Invalid crmProspectsIds: X003BAD, 003BAD", "003BAD", true},
		{"Invalid crmProspectsIds", "Invalid", true},
		{"flow 1695493301223590792 not found", "169549330122359079", false},
		{"ava@example.com is not a Gong user", "ava@example.com", true},
		{"eva@example.com is not a Gong user", "va@example.com", false},
		{"anything", "", false},
	}
	for _, tt := range tests {
		if got := containsWord(tt.s, tt.word); got != tt.want {
			t.Errorf("containsWord(%q, %q) = %v, want %v", tt.s, tt.word, got, tt.want)
		}
	}
}
