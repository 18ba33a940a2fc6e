package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"go.uber.org/zap"
)

// fixRequest is the body of POST /api/v1/runs/{id}/fix: Set's one column
// for the rows at Lines, or for the rows rejected with Code whose value in
// that column is From (every such row when From is absent).
type fixRequest struct {
	Set   map[string]string `json:"set"`
	Lines []int             `json:"lines"`
	Code  string            `json:"code"`
	From  *string           `json:"from"`
}

// maxFixValue bounds a fixed value: an ID, an email, a flow's name.
const maxFixValue = 256

// fix corrects rows of a checked run in place: the fix is kept beside the
// upload with who made it, the upload is read with it applied, and the
// run is checked again.
// Route: POST /api/v1/runs/{id}/fix.
func (s *Server) fix(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	if run.Kind != store.KindEnroll || run.Status != store.StatusChecked {
		writeError(w, http.StatusConflict, "This run has started; rows can be fixed only before the start. Retry its failed rows to fix them in a new run.")
		return
	}
	var req fixRequest
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, `Send the fix as JSON: {"set": {"flowId": "…"}, "lines": [2, 3]} or {"set": {…}, "code": "FlowNameNotFound", "from": "old value"}.`)
		return
	}
	col, val, msg := fixColumn(req.Set)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.fixMu.Lock()
	defer s.fixMu.Unlock()
	lines, owners, msg := s.fixLines(run, req, col)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	user := userOf(r.Context())
	set, msg := s.resolveFix(r.Context(), user, col, val, append(owners, run.Options.Owner))
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	f := store.Fix{Set: set, Lines: lines, Code: req.Code, From: req.From, By: user, At: s.cfg.Now()}
	updated, status, msg := s.addFix(r, run, f)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	s.log.Info("rows fixed", zap.String("run", run.ID), zap.String("user", user), zap.String("column", col),
		zap.Int("rows", len(lines)), zap.String("code", req.Code))
	v, _ := s.view(updated.ID)
	writeJSON(w, http.StatusOK, v)
}

// fixColumn checks Set: one column a fix may set, with a value.
func fixColumn(set map[string]string) (col, val, msg string) {
	if len(set) != 1 {
		return "", "", "Set one column: flowId, flowInstanceOwnerEmail or crmProspectId."
	}
	for k, v := range set {
		col, val = k, strings.TrimSpace(v)
	}
	switch {
	case col != colFlow && col != colOwner && col != colCRM:
		return "", "", "A fix sets flowId, flowInstanceOwnerEmail or crmProspectId, not " + strconv.Quote(col) + "."
	case val == "":
		return "", "", "Give the new value of " + col + "."
	case len(val) > maxFixValue || strings.ContainsAny(val, "\r\n"):
		return "", "", "The new value of " + col + " is not one line of at most 256 characters."
	}
	return col, val, ""
}

// fixLines says which rows a fix is for, and the owners of those the check
// rejected (to find a flow by name among the flows they see).
func (s *Server) fixLines(run store.Run, req fixRequest, col string) ([]int, []string, string) {
	page, err := readRows(s.failedPath(run.ID), "", 0, 0)
	if err != nil {
		s.log.Error("cannot read the check's rejected rows", zap.String("run", run.ID), zap.Error(err))
		return nil, nil, "The check's rejected rows cannot be read; check the file again."
	}
	var lines []int
	var owners []string
	switch {
	case len(req.Lines) > 0:
		if len(req.Lines) > s.cfg.MaxRows {
			return nil, nil, "Too many lines."
		}
		lines = slices.Clone(req.Lines)
	case req.Code != "":
		// The rows of the code, and any other rejected row with the same
		// wrong value: a misspelled flow is as wrong on a row the check
		// stopped at its CRM ID, and would fail it next.
		for _, row := range page.Rows {
			same := req.From != nil && valueMatches(row, col, *req.From)
			if row.Code == req.Code && (req.From == nil || same) || same && *req.From != "" {
				lines = append(lines, row.Line)
			}
		}
		if len(lines) == 0 {
			return nil, nil, "No row was rejected with " + req.Code + " with that value: check the file again."
		}
	default:
		return nil, nil, `Say which rows to fix: "lines", or "code" (and "from").`
	}
	slices.Sort(lines)
	lines = slices.Compact(lines)
	for _, row := range page.Rows {
		if _, ok := slices.BinarySearch(lines, row.Line); ok && strings.Contains(row.Owner, "@") && !slices.Contains(owners, row.Owner) {
			owners = append(owners, row.Owner)
		}
	}
	return lines, owners, ""
}

// valueMatches says whether row's value in col is from: a flow by its ID
// or its name.
func valueMatches(row store.RowRef, col, from string) bool {
	eq := func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(from)) }
	switch col {
	case colFlow:
		return eq(row.FlowID) || eq(row.FlowName) || (from == "" && row.FlowID == "" && row.FlowName == "")
	case colOwner:
		return eq(row.Owner)
	}
	return eq(row.CRMProspectID)
}

// addFix keeps f with the run's fixes and checks the run again; a fix that
// cannot be applied, or that names lines that are no rows, is refused and
// the fixes stay as they were.
func (s *Server) addFix(r *http.Request, run store.Run, f store.Fix) (store.Run, int, string) {
	old, err := s.st.Fixes(run.ID)
	if err != nil {
		s.log.Error("cannot read the run's fixes", zap.String("run", run.ID), zap.Error(err))
		return run, http.StatusInternalServerError, "The run's fixes cannot be read."
	}
	all := append(slices.Clone(old), f)
	dir := s.st.RunDir(run.ID)
	try := filepath.Join(dir, store.FixedCSV+".try")
	rows, err := applyFixes(filepath.Join(dir, run.BaseFile()), try, run.Options, all)
	_ = os.Remove(try)
	if err != nil {
		status, msg := s.checkError(run, err)
		return run, status, msg
	}
	for _, l := range f.Lines {
		if !rows[l] {
			return run, http.StatusBadRequest, "Line " + strconv.Itoa(l) + " is not a row of " + run.File + "."
		}
	}
	if err := s.st.SaveFixes(run.ID, all); err != nil {
		s.log.Error("cannot save the run's fixes", zap.String("run", run.ID), zap.Error(err))
		return run, http.StatusInternalServerError, "The fix cannot be saved."
	}
	if status, msg := s.check(r, &run); status != 0 {
		_ = s.st.SaveFixes(run.ID, old)
		_ = s.applyFixes(&run)
		return run, status, msg
	}
	updated, err := s.st.Update(run.ID, func(stored *store.Run) error {
		if stored.Status != store.StatusChecked {
			return constError("started meanwhile")
		}
		stored.Plan, stored.Fixes = run.Plan, run.Fixes
		return nil
	})
	if err != nil {
		return run, http.StatusConflict, "This run has started meanwhile."
	}
	return updated, 0, ""
}

// resolveFix turns the value a person gave into the cells to write: an
// owner's name into their email, a flow's name into its ID (and the name
// kept for a file that has only a flow name column), as the pickers find
// them in Gong's lists.
func (s *Server) resolveFix(ctx context.Context, user, col, val string, owners []string) (map[string]string, string) {
	switch col {
	case colCRM:
		return map[string]string{colCRM: val}, ""
	case colOwner:
		if strings.Contains(val, "@") {
			return map[string]string{colOwner: val}, ""
		}
		email, msg := s.ownerByName(ctx, user, val)
		return map[string]string{colOwner: email}, msg
	}
	set := map[string]string{}
	if isDigits(val) {
		set[colFlow] = val
	} else {
		set[colName] = val
	}
	for _, o := range owners {
		if !strings.Contains(o, "@") {
			continue
		}
		fl, err := s.listFlows(ctx, user, o)
		if err != nil {
			continue
		}
		for _, f := range fl {
			if f.ID == val || strings.EqualFold(strings.TrimSpace(f.Name), val) {
				set[colFlow], set[colName] = f.ID, f.Name
				return set, ""
			}
		}
	}
	return set, ""
}

// ownerByName finds the one active Gong user called name.
func (s *Server) ownerByName(ctx context.Context, user, name string) (string, string) {
	people, err := s.listUsers(ctx, user)
	if err != nil {
		var un *worker.UnavailableError
		if errors.As(err, &un) {
			return "", un.Msg + " Give the owner's email instead."
		}
		return "", "Gong's users cannot be listed right now; give the owner's email instead."
	}
	var found []string
	for _, p := range people {
		if strings.EqualFold(strings.TrimSpace(p.Name), name) {
			found = append(found, p.Email)
		}
	}
	switch len(found) {
	case 1:
		return found[0], ""
	case 0:
		return "", "No active Gong user is called " + strconv.Quote(name) + "; pick one from the list or give an email."
	}
	return "", "Several Gong users are called " + strconv.Quote(name) + " (" + strings.Join(found, ", ") + "); give the email of the one you mean."
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
