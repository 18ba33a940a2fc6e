package enroll

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/flowenroll/flowenroll/pkg/ledger"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/outdir"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// damagedJournal is the end of every refusal of a journal that knows less
// than the files beside it: a run on a guess could enroll settled rows
// twice, or claim instances it did not create.
func damagedJournal(out string) string {
	return fmt.Sprintf("nothing was sent. Restore %s from a backup if there is one; otherwise give --restart to start over with --read-back-first, "+
		"so that rows already in Gong end AlreadyInFlow instead of being assigned again (or choose another --out)", filepath.Join(out, ledger.FileName))
}

// refuseBlankJournal refuses an --out whose result files are there but
// whose journal is missing, empty or headerless: the journal is the record
// of what was sent, and a fresh start would send everything again.
func refuseBlankJournal(cfg Config, dir *outdir.Dir) error {
	if cfg.Restart {
		return nil
	}
	blank, err := ledger.Blank(cfg.OutDir)
	if err != nil || !blank {
		return err
	}
	found := dir.Foreign(report.Files())
	if len(found) == 0 {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(cfg.OutDir, ledger.FileName)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s holds %v but no flowenroll ledger: these files are not a run's of this tool to continue; choose an empty --out, or give --restart to replace them (with --read-back-first if they are a run of these rows)", cfg.OutDir, found)
	}
	return fmt.Errorf("%s holds %v but its ledger (%s) is empty: the record of what was sent is gone; %s", cfg.OutDir, found, ledger.FileName, damagedJournal(cfg.OutDir))
}

// refuseShortJournal refuses a resumed journal that knows less than the
// result files of the last run: a row that assigned.csv or failed.csv
// (stage api or request) holds, or that unprocessed.csv holds as InDoubt or
// BulkPending (sent, the latter with a job id to read), must be settled or
// in doubt in the journal, which is written first. The journal was cut
// short, or is another run's.
func refuseShortJournal(out string, st ledger.State) error {
	missing, first := 0, 0
	note := func(line int) {
		if missing++; first == 0 || line < first {
			first = line
		}
	}
	known := func(line int) bool {
		_, doubt := st.InDoubt[line]
		return st.Settled.Has(line) || doubt || st.Named != nil && st.Named.Has(line)
	}
	eachResult(out, func(file string, line int, rec []string) {
		switch {
		case file == report.FailedFile && len(rec) > 4 && rec[4] == outcome.StageInput:
			// The screen's verdicts are not journaled: the next run gives them again.
		case file == report.UnprocessedFile && (len(rec) < 5 || rec[4] != outcome.ReasonInDoubt && rec[4] != outcome.ReasonBulkPending):
			// Left unsent: nothing for the journal to know.
		case !known(line):
			note(line)
		}
	})
	if missing == 0 {
		return nil
	}
	return fmt.Errorf("%s is cut short: the result files in %s hold %d rows sent to Gong (the first on line %d) that it does not record; %s",
		filepath.Join(out, ledger.FileName), out, missing, first, damagedJournal(out))
}

// eachResult calls fn with every data row of the result files in out (its
// line and cells); a file that is absent or unreadable is skipped: it says
// nothing the journal must know.
func eachResult(out string, fn func(file string, line int, rec []string)) {
	for _, name := range []string{report.AssignedFile, report.FailedFile, report.UnprocessedFile} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			continue
		}
		r := csv.NewReader(f)
		r.FieldsPerRecord, r.ReuseRecord = -1, true
		for n := 0; ; n++ {
			rec, err := r.Read()
			if err != nil {
				break // the end, or a file edited by hand: what was read is checked
			}
			if line, err := strconv.Atoi(rec[0]); n > 0 && err == nil {
				fn(name, line, rec)
			}
		}
		f.Close()
	}
}
