package reconcile

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// VerifyFile is verify's result file inside the output directory.
const VerifyFile = "verify.csv"

// States of verify.csv: what Gong holds now for an assigned row.
const (
	// StateOpen: the row's flow instance is open (Pending, Running, Paused).
	StateOpen = "open"
	// StateNoLongerOpen: it is not, and the prospect is open in no flow.
	StateNoLongerOpen = "no-longer-open"
	// StateOpenInAnotherFlow: it is not, and the prospect is open in
	// another flow (otherOpenFlowIds names them).
	StateOpenInAnotherFlow = "open-in-another-flow"
	// StateOpenAsAnotherInstance: it is not, and the prospect is open in
	// the row's flow as another instance (assigned again since).
	StateOpenAsAnotherInstance = "open-as-another-instance"
	// StateUnknown: not read back (the command stopped first).
	StateUnknown = "unknown"
)

// VerifyConfig is what Verify needs.
type VerifyConfig struct {
	Dir     string
	Client  Client
	Gateway *gateway.Gateway
	Log     *zap.Logger
	Now     func() time.Time
}

// VerifySummary is summary.json's "verify" section.
type VerifySummary struct {
	Times
	Rows    int            `json:"rows"`    // assigned rows read from the ledger
	ByState map[string]int `json:"byState"` // rows by verify.csv's state
	// OpenByStatus counts the open rows by flowInstanceStatus.
	OpenByStatus map[string]int `json:"openByStatus"`
	outcome.RequestCounts
	StopReason string `json:"stopReason,omitempty"`
	ExitCode   int    `json:"exitCode"`
}

// verdict is one row of verify.csv.
type verdict struct {
	state, status, requestID string
	otherFlows               []string
}

// Verify reads back every assigned row of dir's run (its CRM IDs, at most
// MaxReadBackIDs a request, through the gateway) and writes verify.csv and
// the verify section of summary.json. It changes nothing in Gong.
func Verify(ctx context.Context, cfg VerifyConfig) (VerifySummary, error) {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	start := cfg.Now()
	dir, err := acquire(cfg.Dir, "verify", start)
	if err != nil {
		return VerifySummary{}, err
	}
	defer dir.Release()
	dir.RemoveTemporary([]string{VerifyFile})
	rows, err := readRun(cfg.Dir)
	if err != nil {
		return VerifySummary{}, err
	}
	found, err := readBackAll(ctx, cfg, rows.assigned)
	verdicts := make([]verdict, len(rows.assigned))
	sum := VerifySummary{Rows: len(rows.assigned), ByState: map[string]int{}, OpenByStatus: map[string]int{}}
	for i, o := range rows.assigned {
		v := judge(o, found)
		verdicts[i] = v
		sum.ByState[v.state]++
		if v.state == StateOpen {
			sum.OpenByStatus[v.status]++
		}
	}
	sum.RequestCounts = cfg.Gateway.Counts()
	sum.StopReason = stopOf(ctx, cfg.Gateway)
	if werr := writeVerify(cfg.Dir, rows, verdicts); werr != nil && err == nil {
		err = werr
	}
	sum.Times = timesOf(start, cfg.Now())
	sum.ExitCode = exitOf(sum.StopReason, err, sum.ByState[StateUnknown], 0)
	if serr := mergeSummary(cfg.Dir, "verify", sum); serr != nil && err == nil {
		err, sum.ExitCode = serr, outcome.ExitFatal
	}
	cfg.Log.Info("verify finished", zap.Any("byState", sum.ByState), zap.Int64("requests", sum.Requests))
	return sum, err
}

// readBack is one read-back's answer: the open instances of its CRM IDs.
type readBack struct {
	requestID string
	open      []gong.AssignedFlow
}

// readBackAll reads back the CRM IDs of rows, each once; a CRM ID missing
// from the map was not read back. It returns a fatal error only: a stop of
// the gateway or a signal leaves the rest unread.
func readBackAll(ctx context.Context, cfg VerifyConfig, rows []outcome.Outcome) (map[string]*readBack, error) {
	var ids []string
	found := map[string]*readBack{}
	seen := map[string]bool{}
	for _, o := range rows {
		if id := o.Row.CRMProspectID; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	client := cfg.Gateway.Wrap(cfg.Client)
	for _, b := range batches(ids, MaxReadBackIDs) {
		resp, err := client.ProspectsFlows(gateway.WithCall(ctx, gateway.Call{Log: cfg.Log}), b)
		if _, stop := gateway.StopReason(err); stop || errors.Is(err, context.Canceled) {
			return found, nil
		}
		if err != nil {
			if gong.Retryable(err) {
				cfg.Log.Warn("Gong kept failing past --max-retry-time; stopping", zap.Error(err))
				cfg.Gateway.Stop(outcome.ReasonRetriesExhausted)
				return found, nil
			}
			return found, err
		}
		for _, id := range b {
			found[id] = &readBack{requestID: resp.RequestID}
		}
		for _, in := range resp.ProspectsAssigned {
			if rb := found[in.CRMProspectID]; rb != nil {
				rb.open = append(rb.open, in)
			}
		}
	}
	return found, nil
}

// judge compares a row with what Gong holds for its prospect.
func judge(o outcome.Outcome, found map[string]*readBack) verdict {
	rb := found[o.Row.CRMProspectID]
	if rb == nil {
		return verdict{state: StateUnknown}
	}
	v := verdict{state: StateNoLongerOpen, requestID: rb.requestID}
	sameFlow := false
	for _, in := range rb.open {
		switch {
		case in.FlowInstanceID == o.Instance.ID:
			v.state, v.status = StateOpen, in.FlowInstanceStatus
		case in.FlowID == o.Row.FlowID:
			sameFlow = true
		case !slices.Contains(v.otherFlows, in.FlowID):
			v.otherFlows = append(v.otherFlows, in.FlowID)
		}
	}
	switch {
	case v.state == StateOpen:
	case sameFlow:
		v.state = StateOpenAsAnotherInstance
	case len(v.otherFlows) > 0:
		v.state = StateOpenInAnotherFlow
	}
	return v
}

func writeVerify(dir string, rows runRows, verdicts []verdict) error {
	out := make([][]string, len(verdicts))
	for i, o := range rows.assigned {
		v, r := verdicts[i], o.Row
		row := []string{strconv.Itoa(r.Line), r.CRMProspectID, r.FlowID, r.OwnerEmail, o.Instance.FlowName, o.Instance.ID,
			v.state, v.status, strings.Join(v.otherFlows, " "), v.requestID}
		out[i] = append(row, carried(r, rows.extra)...)
	}
	return writeCSV(filepath.Join(dir, VerifyFile), append(outcome.VerifyColumns(), rows.extra...), out)
}
