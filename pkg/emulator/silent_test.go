package emulator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// TestSilent: with Silent and SilentAfter 1, the first request is answered
// and the second is read but never answered, nor applied, until the client
// gives up.
func TestSilent(t *testing.T) {
	emu, err := New(Config{Fixture: DefaultFixture(), AccessKey: testKey, AccessKeySecret: testSecret,
		RatePerSecond: -1, DailyLimit: -1, Logger: zaptest.NewLogger(t),
		Modes: Modes{Silent: true, SilentAfter: 1}})
	if err != nil {
		t.Fatal(err)
	}
	entered, left := make(chan struct{}, 2), make(chan struct{}, 2)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { left <- struct{}{} }()
		entered <- struct{}{}
		emu.ServeHTTP(w, r)
	}))
	defer hs.Close()
	base, err := gong.ParseBaseURL(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := gong.NewClient(base, basic(), hs.Client(), zaptest.NewLogger(t))

	if _, err := c.ListFlows(context.Background(), "ava.reyes@example.com", ""); err != nil {
		t.Fatalf("the first request: %v, want an answer", err)
	}
	<-entered
	<-left

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }() // the client gives up once the server holds the request
	_, err = c.Assign(ctx, gong.AssignRequest{FlowID: "1695493301223590792", FlowInstanceOwnerEmail: "ava.reyes@example.com", CRMProspectsIDs: []string{"003A"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("the second request: %v, want no answer (the client's context.Canceled)", err)
	}
	<-left
	st := emu.Stats()
	if st.Requests != 2 || st.Abandoned != 1 || len(emu.Created()) != 0 {
		t.Errorf("stats %+v, %d created; want 2 requests, 1 abandoned, nothing applied", st, len(emu.Created()))
	}
}

func TestSilentModesChecked(t *testing.T) {
	for _, m := range []Modes{{SilentAfter: -1, Silent: true}, {SilentAfter: 3}} {
		if _, err := New(Config{Fixture: DefaultFixture(), Modes: m}); err == nil {
			t.Errorf("New with %+v: no error", m)
		}
	}
}
