package emulator

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPoisonAnswer(t *testing.T) {
	poison := map[string]bool{"003BAD": true, "003WORSE": true}
	named := func(ids ...string) *apiErr {
		e := &apiErr{Status: http.StatusBadRequest}
		for _, id := range ids {
			e.Errors = append(e.Errors, "Invalid crmProspectsIds: "+id)
		}
		return e
	}
	vague := &apiErr{Status: http.StatusBadRequest, Errors: []string{"Invalid crmProspectsIds"}}
	tests := []struct {
		mode string
		ids  []string
		want *apiErr
	}{
		{mode: "", ids: []string{"003A", "003BAD"}, want: named("003BAD")},
		{mode: PoisonNamesIDs, ids: []string{"003WORSE", "003A", "003BAD"}, want: named("003WORSE", "003BAD")},
		{mode: PoisonNamesNothing, ids: []string{"003A", "003BAD"}, want: vague},
		// However many poison IDs, one message: it tells nothing of them.
		{mode: PoisonNamesNothing, ids: []string{"003WORSE", "003A", "003BAD"}, want: vague},
		{mode: PoisonNamesNothing, ids: []string{"003A", "003B"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+strings.Join(tt.ids, ","), func(t *testing.T) {
			// newEnv checks every answer against Gong's spec.
			e := newEnv(t, Config{PoisonIDs: poison, PoisonAnswer: tt.mode})
			_, err := e.client(t, basic()).Assign(context.Background(), assignReq(tt.ids...))
			if diff := cmp.Diff(tt.want, asAPIErr(t, err)); diff != "" {
				t.Errorf("assign (-want +got):\n%s", diff)
			}
			created := 0
			if tt.want == nil {
				created = len(tt.ids)
			}
			if n := len(e.srv.Created()); n != created {
				t.Errorf("%d created, want %d: a refused request applies nothing", n, created)
			}
		})
	}
}

func TestPoisonAnswerUnknown(t *testing.T) {
	_, err := New(Config{Fixture: DefaultFixture(), PoisonAnswer: "names-some"})
	if err == nil || !strings.Contains(err.Error(), `PoisonAnswer "names-some"`) {
		t.Errorf("New: %v, want PoisonAnswer refused", err)
	}
}
