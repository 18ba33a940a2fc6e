package enroll

import (
	"context"

	"errors"
	"fmt"
	"go.uber.org/zap"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/report"
	"github.com/flowenroll/flowenroll/pkg/submit"
)

// PlanConfig is a dry run.
type PlanConfig struct {
	InputPath string
	Stdin     io.Reader
	OutDir    string        // optional: failed.csv with the rejected rows goes here
	Input     input.Options // --map, --encoding, --delimiter, --crm
	ChunkSize int
	// Client, if set (credentials present), resolves flow names and, with
	// Preflight, checks each flow is visible to its owner. Listing requests
	// are paced by Limiter.
	Client    submit.Client
	Limiter   submit.Limiter
	Preflight bool
	Log       *zap.Logger
}

// Group is the plan of one (flow, owner).
type Group struct {
	FlowID     string
	OwnerEmail string
	Rows       int
	Requests   int
}

// Rejected counts the rows rejected for one code.
type Rejected struct {
	Rows    int
	Example string // the first such row's message
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
}

// MakePlan reads and validates the input exactly as Run does and counts the
// requests it would send. It sends nothing.
func MakePlan(ctx context.Context, cfg PlanConfig) (Plan, error) {
	src, err := openSource(cfg.InputPath, cfg.Stdin, "", cfg.Input)
	if err != nil {
		return Plan{}, &FatalError{err}
	}
	defer src.Close()
	name := src.name
	rd, err := src.reader()
	if err != nil {
		return Plan{}, &FatalError{err}
	}
	var failed *report.FailedOnly
	if cfg.OutDir != "" {
		if _, err := os.Stat(filepath.Join(cfg.OutDir, ledger.FileName)); err == nil {
			return Plan{}, &FatalError{fmt.Errorf("%s holds a run's results; plan writes its failed.csv elsewhere: choose another --out", cfg.OutDir)}
		}
		if failed, err = report.CreateFailed(cfg.OutDir); err != nil {
			return Plan{}, &FatalError{err}
		}
		defer failed.Close()
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	p := Plan{Input: name, RejectedByCode: map[string]Rejected{}}
	groups := map[string]int{}
	distinct := map[string]int{} // group -> distinct IDs
	sc := newScreen(name, cfg.Log, src.dedup(), nil, cfg.Preflight)
	sc.keepNames = cfg.Client == nil
	var sub *submit.Submitter
	if cfg.Client != nil {
		// A dry run should not sit for long on an unreachable Gong.
		sub = submit.New(submit.Config{Client: cfg.Client, Limiter: cfg.Limiter, Log: cfg.Log, MaxRetryTime: time.Minute})
		sc.catalog = newCatalog(sub, cfg.Client)
		p.Checked = true
		if !cfg.Preflight {
			p.Note = "flow names resolved; preflight off (--preflight=false)"
		}
	} else {
		p.Note = "no Gong credentials: flow names were not resolved and flows were not checked against Gong (preflight off)"
	}
	reject := func(rec report.FailedRecord) error {
		p.Rejected++
		r := p.RejectedByCode[string(rec.ErrorCode)]
		if r.Rows == 0 {
			r.Example = string(rec.ErrorMessage)
		}
		r.Rows++
		p.RejectedByCode[string(rec.ErrorCode)] = r
		if failed != nil {
			return failed.Write(rec)
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		pr, rej, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p, &FatalError{err}
		}
		p.RowsRead++
		v := sc.check(ctx, pr, rej)
		if v.leave != "" {
			return p, &FatalError{fmt.Errorf("plan stopped listing flows: %s", v.leave)}
		}
		if v.fail != nil {
			if err := reject(*v.fail); err != nil {
				return p, &FatalError{err}
			}
			continue
		}
		row := v.row
		p.Valid++
		k := chunk.GroupKey(row.FlowID, row.OwnerEmail)
		i, ok := groups[k]
		if !ok {
			i = len(p.Groups)
			groups[k] = i
			p.Groups = append(p.Groups, Group{FlowID: row.FlowID, OwnerEmail: row.OwnerEmail})
		}
		p.Groups[i].Rows++
		distinct[k]++
	}
	for k, i := range groups {
		p.Groups[i].Requests = (distinct[k] + cfg.ChunkSize - 1) / cfg.ChunkSize
		p.Requests += p.Groups[i].Requests
	}
	if sc.catalog != nil && !sc.preflight && cfg.Preflight {
		p.Note = "Gong refused the flow listing: preflight was turned off, flow names not resolved"
	}
	if sub != nil {
		p.FlowListings = sub.Stats().FlowListings
	}
	if failed != nil {
		if err := failed.Close(); err != nil {
			return p, &FatalError{err}
		}
		p.FailedCSV = filepath.Join(cfg.OutDir, report.FailedFile)
	}
	return p, nil
}
