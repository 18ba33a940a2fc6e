package console

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"go.uber.org/zap"
)

// check converts a workbook and plans the run; a non-zero status is the
// answer to give instead.
func (s *Server) check(r *http.Request, run *store.Run) (int, string) {
	dir := s.st.RunDir(run.ID)
	upload := filepath.Join(dir, store.UploadName(run.File))
	head := make([]byte, 512)
	if f, err := os.Open(upload); err == nil {
		n, _ := io.ReadFull(f, head)
		head = head[:n]
		f.Close()
	}
	// sheetNote: a workbook's other sheets with data, for the plan.
	converted, sheetNote, err := convertUpload(r.Context(), upload, run.Options.Sheet, filepath.Join(dir, store.InputCSV))
	if err != nil {
		return s.checkError(*run, err)
	}
	run.Converted = converted
	if ct := http.DetectContentType(head); !run.Converted && !strings.HasPrefix(ct, "text/") && ct != "application/octet-stream" {
		return http.StatusBadRequest, "This file is not a CSV file or an Excel workbook (.xlsx): it looks like " + ct + ". Export the spreadsheet as CSV UTF-8 or save it as .xlsx."
	}
	if err := s.applyFixes(run); err != nil {
		return s.checkError(*run, err)
	}
	plan, err := s.cfg.Pipeline.Plan(r.Context(), worker.PlanSpec{
		InputPath: filepath.Join(dir, run.InputFile()), CheckDir: filepath.Join(dir, store.CheckDir), Options: run.PipelineOptions(), Assigned: s.st.AssignedBy(run.ID),
		Log: s.log.With(zap.String("run", run.ID)),
	})
	if err != nil {
		return s.checkError(*run, err)
	}
	if plan.Rows > s.cfg.MaxRows {
		return http.StatusBadRequest, fmt.Sprintf("The file has %d rows; this console takes at most %d in one upload. Split it into smaller files.", plan.Rows, s.cfg.MaxRows)
	}
	name := s.displayName(*run)
	var groups map[string][]store.FixGroup
	if all, err := readRows(filepath.Join(dir, store.CheckDir, worker.FailedFile), "", 0, 0); err == nil {
		groups = fixGroups(all.Rows)
	}
	for code, v := range plan.RejectedByCode {
		v.Fix = fixFor(code)
		v.Fixes = groups[code]
		v.Example = name(v.Example)
		for i := range v.First {
			v.First[i].Message = name(v.First[i].Message)
			v.First[i].FixColumn, _ = fixColumnOf(v.First[i])
		}
		plan.RejectedByCode[code] = v
	}
	if sheetNote != "" {
		plan.Note = strings.TrimPrefix(plan.Note+"; "+sheetNote, "; ")
	}
	plan.Estimate = estimate(plan.Requests, s.cfg.Rate, s.cfg.DailyQuota)
	if plan.Columns == nil {
		plan.Warnings = mappingWarnings(filepath.Join(dir, run.InputFile()), run.PipelineOptions())
	}
	if run.InDoubtLeft > 0 {
		plan.Warnings = append(plan.Warnings, "This retry leaves out "+leftInDoubtWords(run.InDoubtLeft, run.RetryOf))
	}
	if run.PeopleInDoubt > 0 {
		plan.Warnings = append(plan.Warnings, peopleInDoubtWords(run.PeopleInDoubt, run.RetryOf))
	}
	run.Plan = &plan
	return 0, ""
}

// applyFixes writes fixed.csv from the run's fixes, if it has any.
func (s *Server) applyFixes(run *store.Run) error {
	fs, err := s.st.Fixes(run.ID)
	if err != nil || len(fs) == 0 {
		run.Fixes = 0
		return err
	}
	dir := s.st.RunDir(run.ID)
	if _, err := applyFixes(filepath.Join(dir, run.BaseFile()), filepath.Join(dir, store.FixedCSV), run.Options, fs); err != nil {
		return err
	}
	run.Fixes = len(fs)
	return nil
}

func (s *Server) checkError(run store.Run, err error) (int, string) {
	var bad *worker.BadInputError
	var fe *fixError
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest, s.displayName(run)(bad.Msg)
	case errors.As(err, &fe):
		return http.StatusBadRequest, s.displayName(run)(fe.msg)
	}
	s.log.Error("check failed", zap.String("run", run.ID), zap.Error(err))
	return http.StatusBadRequest, "The file could not be read: " + s.displayName(run)(err.Error())
}

// estimate returns the time requests take at rate, and the days they need
// at quota a day.
func estimate(requests int, rate float64, quota int) *store.Estimate {
	e := &store.Estimate{Rate: rate, DailyQuota: quota, Today: requests, Days: 1}
	if rate > 0 {
		e.Seconds = math.Ceil(float64(requests) / rate)
	}
	if quota > 0 && requests > quota {
		e.Today = quota
		e.Days = (requests + quota - 1) / quota
		// Each day's share goes at the rate; the rest waits for the next day.
		if rate > 0 {
			e.Seconds = math.Ceil(float64(quota) / rate)
		}
	}
	return e
}

// checkAndKeep checks a new run and saves it; when either fails, the new
// run's folder goes and the answer says why (false).
func (s *Server) checkAndKeep(w http.ResponseWriter, r *http.Request, run *store.Run) bool {
	if status, msg := s.check(r, run); status != 0 {
		s.st.Discard(run.ID)
		writeError(w, status, msg)
		return false
	}
	if err := s.st.Put(*run); err != nil {
		s.st.Discard(run.ID)
		s.internal(w, "cannot save the run", err)
		return false
	}
	return true
}
