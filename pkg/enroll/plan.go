package enroll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/flows"
	"github.com/flowenroll/flowenroll/pkg/gateway"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/outdir"
	"github.com/flowenroll/flowenroll/pkg/report"
	"github.com/flowenroll/flowenroll/pkg/screen"
)

// PlanConfig is a dry run.
type PlanConfig struct {
	InputPath     string
	Stdin         io.Reader
	OutDir        string        // optional: failed.csv with the rejected rows goes here
	Input         input.Options // --map, --encoding, --delimiter, --crm, --flow, --owner
	Sheet         string
	MaxInputBytes int64
	OwnerBy       string
	ChunkSize     int
	// Client, if set (credentials present), resolves flow names and, with
	// Preflight, checks each flow is visible to its owner. Listing requests
	// are paced by Limiter.
	Client    gateway.Client
	Limiter   gateway.Limiter
	Preflight bool
	// Assigned: see screen.Config.Assigned.
	Assigned func(crmProspectID, flowID string) (run string, ok bool)
	// Samples is how many rejected rows of each code the plan keeps in
	// Rejected.First, as they come from the screen: a page shows them
	// without reading failed.csv back.
	Samples int
	Log     *zap.Logger
}

// Group is the plan of one (flow, owner).
type Group struct {
	FlowID     string
	OwnerEmail string
	Rows       int
	Requests   int
	// Bulk: the group's rows are people without a CRM ID, sent in bulk
	// assignments; Requests counts each submit and the reads it is
	// expected to take (BulkReadsEach).
	Bulk bool
}

// BulkReadsEach is the reads a plan counts for each bulk submit: two, for
// a job Gong finishes within 3 s (see submit.BulkConfig).
const BulkReadsEach = 2

// Rejected counts the rows rejected for one code.
type Rejected struct {
	Rows    int
	Example string // the first such row's message
	// First are the first rows rejected for the code, PlanConfig.Samples
	// of them at most, in input order.
	First []outcome.Outcome
}

// Plan is what run would send.
type Plan struct {
	Input          string
	RowsRead       int
	Valid          int
	Rejected       int
	Requests       int
	Groups         []Group // in order of first appearance
	RejectedByCode map[string]Rejected
	FailedCSV      string // where the rejected rows were written, if anywhere
	// Checked says whether flow names were resolved and flows checked
	// against Gong's listing; Note says why not.
	Checked      bool
	Note         string
	FlowListings int64
	// Notes are the input's notes, as summary.json's: title rows, a
	// report footer, a result file fed back.
	Notes []string
	// People are the valid rows without a CRM ID (bulk assignments);
	// BulkSubmits the bulk requests they take, at most 50 people each.
	People, BulkSubmits int
}

// planner counts what a run would send.
type planner struct {
	p        Plan
	groups   map[string]int // group key -> index in p.Groups
	distinct map[string]int // group key -> rows
	failed   *report.Writer // nil without --out
	samples  int            // PlanConfig.Samples
}

// MakePlan reads and validates the input exactly as Run does and counts the
// requests it would send. It sends nothing but flow listings.
func MakePlan(ctx context.Context, cfg PlanConfig) (Plan, error) {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	src, err := openSource(ctx, cfg.InputPath, SourceConfig{Stdin: cfg.Stdin, MaxSpool: cfg.MaxInputBytes, Sheet: cfg.Sheet, AutoOwnerNames: cfg.OwnerBy == "" || cfg.OwnerBy == "auto", Log: cfg.Log}, cfg.Input)
	if err != nil {
		return Plan{}, &FatalError{err}
	}
	defer src.Close()
	pl := &planner{p: Plan{Input: src.name, RejectedByCode: map[string]Rejected{}, Notes: src.notes}, groups: map[string]int{}, distinct: map[string]int{}, samples: cfg.Samples}
	if cfg.OutDir != "" {
		release, err := pl.openFailed(cfg, src)
		if err != nil {
			return Plan{}, &FatalError{err}
		}
		defer release()
	}
	sc, gw := pl.screen(cfg, src)
	if err := pl.read(ctx, src, sc); err != nil {
		return pl.p, err
	}
	pl.finish(cfg, sc, gw)
	if pl.failed != nil {
		if err := pl.failed.Close(); err != nil {
			return pl.p, &FatalError{err}
		}
		pl.p.FailedCSV = filepath.Join(cfg.OutDir, report.FailedFile)
	}
	return pl.p, nil
}

// openFailed takes --out and starts its failed.csv.
func (pl *planner) openFailed(cfg PlanConfig, src *source) (func(), error) {
	dir, err := outdir.Acquire(cfg.OutDir, "plan", time.Now())
	if err != nil {
		return nil, err
	}
	if found := dir.Foreign([]string{ledger.FileName}); len(found) > 0 {
		dir.Release()
		return nil, fmt.Errorf("%s holds a run's results; plan writes its failed.csv elsewhere: choose another --out", cfg.OutDir)
	}
	if name, ok := dir.Writes(cfg.InputPath, []string{report.FailedFile}); ok {
		dir.Release()
		return nil, fmt.Errorf("--input %s is %s, which plan writes in --out %s; choose another --out", cfg.InputPath, name, cfg.OutDir)
	}
	if pl.failed, err = report.Create(cfg.OutDir, src.columns(), outcome.Failed); err != nil {
		dir.Release()
		return nil, err
	}
	return func() { pl.failed.Close(); dir.Release() }, nil
}

// screen builds the screen; with a client, flow listings go through a
// gateway that does not sit for long on an unreachable Gong.
func (pl *planner) screen(cfg PlanConfig, src *source) (*screen.Screen, *gateway.Gateway) {
	sc := screen.Config{Name: src.name, Log: cfg.Log, Dedup: src.dedup(), Preflight: cfg.Preflight, KeepNames: cfg.Client == nil, Assigned: cfg.Assigned}
	var gw *gateway.Gateway
	if cfg.Client != nil {
		gw = gateway.New(gateway.Config{Limiter: cfg.Limiter, Log: cfg.Log, MaxRetryTime: time.Minute})
		client := gw.Wrap(cfg.Client)
		sc.Catalog = flows.NewCatalog(client.ListFlows)
		sc.Directory = flows.NewDirectory(flows.GongUsers(client.ListUsers))
		pl.p.Checked = true
		if !cfg.Preflight {
			pl.p.Note = "flow names resolved; preflight off (--preflight=false)"
		}
	} else {
		pl.p.Note = "no Gong credentials: flow names were not resolved and flows were not checked against Gong (preflight off)"
	}
	return screen.New(sc), gw
}

func (pl *planner) read(ctx context.Context, src *source, sc *screen.Screen) error {
	rd, err := src.reader()
	if err != nil {
		return &FatalError{err}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		pr, rej, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &FatalError{err}
		}
		pl.p.RowsRead++
		row, o := sc.Check(ctx, pr, rej)
		if err := pl.count(row, o); err != nil {
			return err
		}
	}
}

// count adds one screened row to the plan.
func (pl *planner) count(row outcome.Row, o *outcome.Outcome) error {
	switch {
	case o != nil && o.Kind == outcome.Unprocessed:
		return &FatalError{fmt.Errorf("plan stopped listing flows: %s", o.Reason)}
	case o != nil:
		pl.p.Rejected++
		r := pl.p.RejectedByCode[o.Code]
		if r.Rows == 0 {
			r.Example = o.Message
		}
		r.Rows++
		if len(r.First) < pl.samples {
			r.First = append(r.First, *o)
		}
		pl.p.RejectedByCode[o.Code] = r
		if pl.failed != nil {
			if err := pl.failed.Write(*o); err != nil {
				return &FatalError{err}
			}
		}
		return nil
	}
	pl.p.Valid++
	k := chunk.GroupKey(row.FlowID, row.OwnerEmail)
	if row.Person != nil {
		k += "\x00bulk"
		pl.p.People++
	}
	i, ok := pl.groups[k]
	if !ok {
		i = len(pl.p.Groups)
		pl.groups[k] = i
		pl.p.Groups = append(pl.p.Groups, Group{FlowID: row.FlowID, OwnerEmail: row.OwnerEmail, Bulk: row.Person != nil})
	}
	pl.p.Groups[i].Rows++
	pl.distinct[k]++
	return nil
}

func (pl *planner) finish(cfg PlanConfig, sc *screen.Screen, gw *gateway.Gateway) {
	size := max(cfg.ChunkSize, 1)
	for k, i := range pl.groups {
		g := &pl.p.Groups[i]
		if g.Bulk {
			submits := (pl.distinct[k] + gong.MaxBulkProspects - 1) / gong.MaxBulkProspects
			pl.p.BulkSubmits += submits
			g.Requests = submits * (1 + BulkReadsEach)
		} else {
			g.Requests = (pl.distinct[k] + size - 1) / size
		}
		pl.p.Requests += g.Requests
	}
	if gw != nil && !sc.PreflightOn() && cfg.Preflight {
		pl.p.Note = "Gong refused the flow listing: preflight was turned off, flow names not resolved"
	}
	if gw != nil {
		pl.p.FlowListings = gw.Counts().FlowListings
	}
}
