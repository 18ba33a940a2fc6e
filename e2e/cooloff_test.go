package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	oc "github.com/flowenroll/flowenroll/pkg/outcome"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// idSizes records how many crmProspectsIds each request to a path carried.
type idSizes struct {
	mu    sync.Mutex
	sizes map[string][]int
}

func (s *idSizes) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Body != nil {
			var body struct {
				IDs []string `json:"crmProspectsIds"`
			}
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			_ = json.Unmarshal(b, &body)
			s.mu.Lock()
			s.sizes[r.URL.Path] = append(s.sizes[r.URL.Path], len(body.IDs))
			s.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (s *idSizes) of(path string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.sizes[path]...)
}

// TestCoolOffList runs a re-enrollment list: 250 prospects who finished
// the flow (the emulator's Modes.CoolOff). Without --override-cool-off
// every row fails api/InvalidState; with it (the flag, or its environment
// variable), every row is assigned, through the cool-off-override endpoint
// only, in requests of at most 100 IDs although --chunk-size is 200, and
// summary.json says so.
func TestCoolOffList(t *testing.T) {
	t.Parallel()
	const n = 250
	var rows []inputRow
	cfg := gongConfig(nil)
	cfg.CoolOff = true
	for i := range n {
		id := fmt.Sprintf("COOL%04d", i)
		rows = append(rows, inputRow{id: id, flow: flowSDR, owner: ava})
		cfg.Fixture.Existing = append(cfg.Fixture.Existing, emulator.AssignedFlow{FlowID: flowSDR, CRMProspectID: id,
			FlowInstanceOwnerEmail: ava, FlowInstanceStatus: emulator.StatusFinished})
	}
	tests := []struct {
		name     string
		extra    []string
		env      []string
		want     string
		wantExit int
	}{
		{name: "without the flag", want: "failed:api/" + oc.CodeInvalidState, wantExit: 3},
		{name: "with the flag", extra: []string{"--override-cool-off"}, want: wantAssigned},
		{name: "with the variable", env: []string{"FLOWENROLL_OVERRIDE_COOL_OFF=true"}, want: wantAssigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sizes := &idSizes{sizes: map[string][]int{}}
			sc := newScenarioOf(t, prospectsFile{rows: rows}, cfg, sizes.wrap)
			args := append([]string{"run", "--input", sc.in, "--out", sc.out, "--rate", "1000", "--chunk-size", "200", "--log-format", "json"}, tt.extra...)
			r := runOnce(t, sc, append(gongEnv(sc.gong.srv.URL), tt.env...), nil, args...)
			if r.exit != tt.wantExit {
				t.Fatalf("exit %d, want %d: %s", r.exit, tt.wantExit, r.lastLine())
			}
			res := readResults(t, sc.out)
			wrong := 0
			for i := range rows {
				if got := res.byLine[i+2].key(); got != tt.want {
					wrong++
					if wrong <= 3 {
						t.Errorf("line %d: %s, want %s", i+2, got, tt.want)
					}
				}
			}
			override := tt.want == wantAssigned
			plain, cool := sizes.of(gong.PathAssign), sizes.of(gong.PathAssignCoolOffOverride)
			if override {
				if len(plain) != 0 || len(cool) != 3 {
					t.Errorf("%d assign and %d cool-off-override requests (%v), want 0 and 3", len(plain), len(cool), cool)
				}
				for _, k := range cool {
					if k > gong.MaxCoolOffOverrideIDs {
						t.Errorf("a cool-off-override request of %d IDs, want at most %d", k, gong.MaxCoolOffOverrideIDs)
					}
				}
			} else if len(cool) != 0 {
				t.Errorf("%d cool-off-override requests without the flag", len(cool))
			}
			var sum report.Summary
			b, err := os.ReadFile(filepath.Join(sc.out, report.SummaryFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &sum); err != nil {
				t.Fatal(err)
			}
			if sum.OverrideCoolOff != override {
				t.Errorf("summary.json overrideCoolOff %v, want %v", sum.OverrideCoolOff, override)
			}
		})
	}
}
