package console

import (
	"path/filepath"
)

// assignedBy returns what the console's earlier runs assigned, for a check
// or a run of run id: for a crmProspectId and a flow, the run that
// assigned it. A run undone, or whose files are gone, counts no more; the
// run itself does not count (its own ledger resumes it).
func (s *store) assignedBy(id string) func(crm, flow string) (string, bool) {
	seen := map[[2]string]string{}
	for _, r := range s.list() { // newest first: the latest run is named
		if r.ID == id || r.Kind != KindEnroll || r.UndoneBy != nil || !r.FilesDeletedAt.IsZero() {
			continue
		}
		if r.Status != StatusFinished && r.Status != StatusStopped {
			continue
		}
		rows, err := readCSVColumns(filepath.Join(s.outDir(r.ID), AssignedFile), []string{colCRM, colFlow})
		if err != nil {
			continue
		}
		for _, row := range rows {
			k := [2]string{row[0], row[1]}
			if _, ok := seen[k]; !ok && row[0] != "" {
				seen[k] = r.ID
			}
		}
	}
	if len(seen) == 0 {
		return nil
	}
	return func(crm, flow string) (string, bool) {
		run, ok := seen[[2]string{crm, flow}]
		return run, ok
	}
}
