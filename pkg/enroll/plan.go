package enroll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flowenroll/flowenroll/pkg/chunk"
	"github.com/flowenroll/flowenroll/pkg/input"
	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// PlanConfig is a dry run.
type PlanConfig struct {
	InputPath string
	Stdin     io.Reader
	OutDir    string // optional: failed.csv with the rejected rows goes here
	Map       map[string]string
	ChunkSize int
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
}

// MakePlan reads and validates the input exactly as Run does and counts the
// requests it would send. It sends nothing.
func MakePlan(ctx context.Context, cfg PlanConfig) (Plan, error) {
	var in io.Reader = cfg.Stdin
	name := "stdin"
	if cfg.InputPath != "-" {
		f, err := os.Open(cfg.InputPath)
		if err != nil {
			return Plan{}, &FatalError{fmt.Errorf("input: %w", err)}
		}
		defer f.Close()
		in, name = f, cfg.InputPath
	}
	rd, err := input.NewReader(in, input.Options{Name: name, Map: cfg.Map})
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
	p := Plan{Input: name, RejectedByCode: map[string]Rejected{}}
	groups := map[string]int{}
	distinct := map[string]int{} // group -> distinct IDs
	dedup := chunk.NewDedup()
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
		if rej != nil {
			if err := reject(rejectionRecord(rej)); err != nil {
				return p, &FatalError{err}
			}
			continue
		}
		if pr.FlowID == "" {
			if err := reject(flowNameRecord(name, pr)); err != nil {
				return p, &FatalError{err}
			}
			continue
		}
		row := chunk.Row{Line: pr.Line, CRMProspectID: pr.CRMProspectID, FlowID: pr.FlowID, OwnerEmail: pr.OwnerEmail}
		if first := dedup.Seen(row); first != 0 {
			if err := reject(duplicateRecord(name, row, first)); err != nil {
				return p, &FatalError{err}
			}
			continue
		}
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
	if failed != nil {
		if err := failed.Close(); err != nil {
			return p, &FatalError{err}
		}
		p.FailedCSV = filepath.Join(cfg.OutDir, report.FailedFile)
	}
	return p, nil
}
