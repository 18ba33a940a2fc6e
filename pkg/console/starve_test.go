package console

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/pace"
)

// 30 people's pages asking for flow lists in a loop while a run goes: each
// owner is listed once (a Gong refusal is kept too), the run's requests are
// at least 90% of what the pacer let through, and the run ends complete.
func TestPickerLoopsDoNotStarveARun(t *testing.T) {
	// A company limit of 30 a second, so that the run takes 2 s, not 20.
	emu, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(), AccessKey: "key", AccessKeySecret: "secret", Logger: zap.NewNop(), RatePerSecond: 30})
	if err != nil {
		t.Fatal(err)
	}
	g := &gongStub{emu: emu, url: serve(t, emu)}
	pipe := g.pipeline(t, 1)
	pipe.Preflight = false // the run's own flow listings would blur the count
	pacer := pace.New(30, pace.DefaultMargin)
	pipe.Limiter, pipe.ListLimiter = pacer, pace.Background(pacer)
	counted := &listingCounter{EnrollPipeline: pipe, owners: map[string]int{}}
	c := startConsole(t, Config{Pipeline: counted, Auth: &Auth{Header: "X-Forwarded-Email"}})
	c.header = http.Header{"X-Forwarded-Email": {"ops@example.com"}}
	owners := []string{"nobody@example.com", "gone@example.com", ava}

	body, ctype := form(t, "leads.csv", []byte(prospectsCSV("003L", 60)), nil)
	req, _ := http.NewRequest("POST", c.http.URL+"/api/v1/runs", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Forwarded-Email", "ops@example.com")
	var run store.Run
	if res := do(t, req, &run); res.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	req, _ = http.NewRequest("POST", c.http.URL+"/api/v1/runs/"+run.ID+"/start", nil)
	req.Header.Set("X-Forwarded-Email", "ops@example.com")
	if res := do(t, req, nil); res.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %d", res.StatusCode)
	}
	var wg sync.WaitGroup
	statuses := make([]map[int]int, 30)
	for p := range 30 {
		statuses[p] = map[int]int{}
		wg.Go(func() {
			for i := range 20 {
				req, _ := http.NewRequest("GET", c.http.URL+"/api/v1/flows?owner="+owners[i%len(owners)], nil)
				req.Header.Set("X-Forwarded-Email", fmt.Sprintf("person%d@example.com", p))
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				statuses[p][res.StatusCode]++
			}
		})
	}
	wg.Wait()
	done := c.await(t, run.ID, ended)
	sum := summaryOf(t, done)
	if sum.Assigned != 60 {
		t.Errorf("the run assigned %d of 60", sum.Assigned)
	}
	st := g.emu.Stats()
	for _, o := range owners {
		if n := counted.owners[o]; n != 1 {
			t.Errorf("%s's flows listed %d times, want once", o, n)
		}
	}
	// The run's requests, retries of a 429 included, against the listings'.
	runRequests := int(sum.RequestsThisRun)
	share := float64(runRequests) / float64(runRequests+st.ListFlows)
	if share < 0.9 {
		t.Errorf("the run had %.0f%% of the pacer's turns, want at least 90%%", 100*share)
	}
	// The page shows the day's use of the quota: the run's and the listings'.
	var me struct {
		SentToday, DailyQuota int
	}
	req, _ = http.NewRequest("GET", c.http.URL+"/api/v1/me", nil)
	req.Header.Set("X-Forwarded-Email", "ops@example.com")
	if do(t, req, &me); me.SentToday != runRequests+st.ListFlows || me.DailyQuota != DefaultDailyQuota {
		t.Errorf("sent today %d of %d, want %d of %d", me.SentToday, me.DailyQuota, runRequests+st.ListFlows, DefaultDailyQuota)
	}
	t.Logf("30 loops of 20 flow lists: listings per owner %v, %d requests to Gong; the run had %.0f%% of the turns; answers %v", counted.owners, st.ListFlows, 100*share, statuses[0])
}

// listingCounter counts the flow listings the console asks the pipeline for.
type listingCounter struct {
	*worker.EnrollPipeline
	mu     sync.Mutex
	owners map[string]int
}

func (l *listingCounter) Flows(ctx context.Context, owner string) (worker.Listing[store.FlowChoice], error) {
	l.mu.Lock()
	l.owners[owner]++
	l.mu.Unlock()
	return l.EnrollPipeline.Flows(ctx, owner)
}
