package console

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"go.uber.org/zap"
)

// maxField bounds one form field other than the file.
const maxField = 64 << 10

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"user": userOf(r.Context()), "banner": s.cfg.Banner,
		"maxUploadBytes": s.cfg.MaxUpload, "maxRows": s.cfg.MaxRows,
		"sentToday": s.metrics.sentOn(s.cfg.Now()), "dailyQuota": s.cfg.DailyQuota,
	})
}

// view is a run as the API shows it: with its place in the queue.
func (s *Server) view(id string) (store.Run, bool) {
	r, ok := s.st.Get(id)
	if ok && r.Status == store.StatusQueued {
		r.QueuePosition = s.q.Position(id)
	}
	return r, ok
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	runs := s.st.List()
	for i := range runs {
		if runs[i].Status == store.StatusQueued {
			runs[i].QueuePosition = s.q.Position(runs[i].ID)
		}
		// The list stays light: the check's details are in GET /runs/{id}.
		if p := runs[i].Plan; p != nil {
			light := *p
			light.Groups, light.RejectedByCode = nil, nil
			runs[i].Plan = &light
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// runOr404 finds the run of the request's {id}, or answers 404.
func (s *Server) runOr404(w http.ResponseWriter, r *http.Request) (store.Run, bool) {
	id := r.PathValue("id")
	if store.ValidID(id) {
		if run, ok := s.view(id); ok {
			return run, true
		}
	}
	writeError(w, http.StatusNotFound, "There is no run "+strconv.Quote(id)+".")
	return store.Run{}, false
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	if run, ok := s.runOr404(w, r); ok {
		writeJSON(w, http.StatusOK, run)
	}
}

// upload takes a file, keeps it in a new run's folder and checks it.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	user := userOf(r.Context())
	// An upload may take longer than the server's ReadTimeout, which
	// bounds every other request: it gets its own deadline.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.UploadTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.UploadTimeout + writeTimeout))
	// The form's other fields are small; the bound is the file's plus theirs.
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUpload+16*maxField)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "Send the file as a multipart form with the field \"file\".")
		return
	}
	id, err := s.st.Reserve()
	if err != nil {
		s.internal(w, "cannot create the run's folder", err)
		return
	}
	run := store.Run{ID: id, Kind: store.KindEnroll, Status: store.StatusChecked, CreatedBy: user, CreatedAt: s.cfg.Now()}
	status, msg := s.receive(mr, &run)
	if status == 0 {
		status, msg = s.check(r, &run)
	}
	if status != 0 {
		s.st.Discard(id)
		writeError(w, status, msg)
		return
	}
	if err := s.st.Put(run); err != nil {
		s.st.Discard(id)
		s.internal(w, "cannot save the run", err)
		return
	}
	s.log.Info("file uploaded and checked", zap.String("run", id), zap.String("user", user),
		zap.String("file", run.File), zap.Int("rows", run.Plan.Rows), zap.Int("valid", run.Plan.Valid))
	v, _ := s.view(id)
	writeJSON(w, http.StatusCreated, v)
}

// receive reads the form into the run's folder; a non-zero status is the
// answer to give instead.
func (s *Server) receive(mr *multipart.Reader, run *store.Run) (int, string) {
	fields := map[string][]string{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s.readError(err)
		}
		name := part.FormName()
		switch {
		case name == "file" && run.File == "":
			if len(part.FileName()) > maxFileName {
				return http.StatusBadRequest, fmt.Sprintf("The file's name is longer than %d characters: rename the file and upload it again.", maxFileName)
			}
			run.File = filepath.Base(part.FileName())
			if run.File == "." || run.File == "/" || run.File == "" {
				run.File = "upload"
			}
			status, msg := s.keepUpload(part, filepath.Join(s.st.RunDir(run.ID), store.UploadName(run.File)))
			if status != 0 {
				return status, msg
			}
		default:
			b, err := io.ReadAll(io.LimitReader(part, maxField+1))
			if err != nil {
				return s.readError(err)
			}
			if len(b) > maxField {
				return http.StatusBadRequest, "The field " + strconv.Quote(name) + " is too long."
			}
			fields[name] = append(fields[name], string(b))
		}
	}
	if run.File == "" {
		return http.StatusBadRequest, "No file: choose a CSV file or an Excel workbook (.xlsx) to upload."
	}
	opts, err := parseOptions(fields)
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	run.Options = opts
	return 0, ""
}

func (s *Server) keepUpload(part io.Reader, path string) (int, string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.log.Error("cannot keep the upload", zap.Error(err))
		return http.StatusInternalServerError, "The server could not store the file."
	}
	n, err := io.Copy(f, io.LimitReader(part, s.cfg.MaxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > s.cfg.MaxUpload {
		err = &http.MaxBytesError{Limit: s.cfg.MaxUpload}
	}
	if err != nil {
		return s.readError(err)
	}
	return 0, ""
}

// readError answers a failed read of the request: 413 past the limit.
func (s *Server) readError(err error) (int, string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"The file is larger than this console takes (%s). Split it into smaller files and upload them one by one.", megabytes(s.cfg.MaxUpload))
	}
	return http.StatusBadRequest, "The upload broke off: try again."
}

func megabytes(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// parseOptions reads the form's options. map takes canonical=Header, once
// per field or one per line.
func parseOptions(fields map[string][]string) (store.Options, error) {
	one := func(k string) string {
		if v := fields[k]; len(v) > 0 {
			return strings.TrimSpace(v[len(v)-1])
		}
		return ""
	}
	o := store.Options{Encoding: one("encoding"), Delimiter: one("delimiter"), CRM: one("crm"), Sheet: one("sheet"), Flow: one("flow"), Owner: one("owner")}
	if v := one("headerRow"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return o, fmt.Errorf("headerRow: %q is not a row number (1, 2, ...; 0 or empty finds the header)", v)
		}
		o.HeaderRow = n
	}
	for _, v := range fields["map"] {
		for _, line := range strings.Split(v, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			k, h, ok := strings.Cut(line, "=")
			if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(h) == "" {
				return o, fmt.Errorf("map: %q is not canonical=Header (for example flowInstanceOwnerEmail=Account Owner)", line)
			}
			if o.Map == nil {
				o.Map = map[string]string{}
			}
			o.Map[strings.TrimSpace(k)] = strings.TrimSpace(h)
		}
	}
	return o, nil
}

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
	if all, err := ReadRows(filepath.Join(dir, store.CheckDir, worker.FailedFile), "", 0, 0); err == nil {
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

func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.log.Error(what, zap.Error(err))
	writeError(w, http.StatusInternalServerError, "Something went wrong on the server; it has been logged.")
}

// displayName returns a function that puts the uploaded file's name where
// a message names the file on the server: people know their file, and the
// server's folders are none of their business.
func (s *Server) displayName(run store.Run) func(string) string { return s.st.DisplayName(run) }
