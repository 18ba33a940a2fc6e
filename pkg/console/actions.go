package console

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// recheck checks a run again with other options: the page's column
// mapping, the --map of the command line.
func (s *Server) recheck(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	if run.Status != store.StatusChecked {
		writeError(w, http.StatusConflict, "This run has started; upload the file again to check it with other settings.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16*maxField)
	if err := r.ParseMultipartForm(16 * maxField); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		writeError(w, http.StatusBadRequest, "Send the settings as a form.")
		return
	}
	opts, err := parseOptions(r.Form)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	run.Options = opts
	if status, msg := s.check(r, &run); status != 0 {
		writeError(w, status, msg)
		return
	}
	updated, err := s.st.Update(run.ID, func(stored *store.Run) error {
		if stored.Status != store.StatusChecked {
			return constError("started meanwhile")
		}
		stored.Options, stored.Plan, stored.Converted, stored.Fixes = run.Options, run.Plan, run.Converted, run.Fixes
		return nil
	})
	if err != nil {
		writeError(w, http.StatusConflict, "This run has started meanwhile.")
		return
	}
	s.log.Info("checked again", zap.String("run", run.ID), zap.String("user", userOf(r.Context())), zap.Any("map", opts.Map))
	writeJSON(w, http.StatusOK, updated)
}

// startable says whether a run in this state may be started (or resumed).
func startable(r store.Run) bool {
	if !r.FilesDeletedAt.IsZero() {
		return false
	}
	switch r.Status {
	case store.StatusChecked, store.StatusStopped:
		return true
	case store.StatusFinished:
		// Rows left unprocessed (quota, a 401) or a fatal stop: the same
		// run continues from its ledger.
		return r.ExitCode != nil && (*r.ExitCode == outcome.ExitStoppedEarly || *r.ExitCode == outcome.ExitFatal)
	}
	return false
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	user := userOf(r.Context())
	updated, err := s.st.Update(run.ID, func(r *store.Run) error {
		switch {
		case !r.Plan.Ready() && r.Status == store.StatusChecked:
			return constError("The check found nothing to send: fix the columns or the rows first.")
		case !startable(*r):
			return constError("This run is " + r.Status + "; it cannot be started now.")
		}
		r.Status, r.QueuedAt, r.StartedBy = store.StatusQueued, s.cfg.Now(), user
		r.StoppedBy, r.EndedAt = "", time.Time{}
		return nil
	})
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	s.q.Enqueue(run.ID)
	s.log.Info("run queued", zap.String("run", run.ID), zap.String("user", user))
	updated, _ = s.view(updated.ID)
	writeJSON(w, http.StatusAccepted, updated)
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runOr404(w, r)
	if !ok {
		return
	}
	user := userOf(r.Context())
	waiting, running := s.q.Stop(run.ID)
	if !waiting && !running {
		writeError(w, http.StatusConflict, "This run is "+run.Status+"; only a queued or running run can be stopped.")
		return
	}
	updated, err := s.st.Update(run.ID, func(r *store.Run) error {
		r.StoppedBy = user
		if waiting {
			r.Status, r.EndedAt = store.StatusStopped, s.cfg.Now()
		}
		return nil
	})
	if err != nil {
		s.internal(w, "cannot record the stop", err)
		return
	}
	s.log.Info("run stopping", zap.String("run", run.ID), zap.String("user", user), zap.Bool("wasRunning", running))
	writeJSON(w, http.StatusAccepted, updated)
}

// retry makes a new run of this run's failed.csv and unprocessed.csv rows,
// as if they were uploaded again.
func (s *Server) retry(w http.ResponseWriter, r *http.Request) {
	old, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	if old.Kind != store.KindEnroll {
		writeError(w, http.StatusConflict, "Retry takes the rows of a run that sent an upload; this one is "+article(old.Kind)+".")
		return
	}
	if old.Status != store.StatusFinished && old.Status != store.StatusStopped {
		writeError(w, http.StatusConflict, "Retry takes the rows of a finished or stopped run; this one is "+old.Status+".")
		return
	}
	id, err := s.st.Reserve()
	if err != nil {
		s.internal(w, "cannot create the run's folder", err)
		return
	}
	run := store.Run{ID: id, Kind: store.KindEnroll, Status: store.StatusChecked, CreatedBy: userOf(r.Context()), CreatedAt: s.cfg.Now(), RetryOf: old.ID,
		File: stem(old.File) + "-retry.csv", Options: store.Options{Encoding: "utf-8", Delimiter: ","}}
	n, err := writeRetryInput(s.st.OutDir(old.ID), filepath.Join(s.st.RunDir(id), store.UploadName(run.File)))
	if err != nil {
		s.st.Discard(id)
		s.internal(w, "cannot gather the rows to retry", err)
		return
	}
	if n == 0 {
		s.st.Discard(id)
		writeError(w, http.StatusConflict, "Nothing to retry: no row failed or was left.")
		return
	}
	if status, msg := s.check(r, &run); status != 0 {
		s.st.Discard(id)
		writeError(w, status, msg)
		return
	}
	if err := s.st.Put(run); err != nil {
		s.st.Discard(id)
		s.internal(w, "cannot save the run", err)
		return
	}
	if _, err := s.st.Update(old.ID, func(o *store.Run) error { o.RetriedAs = append(o.RetriedAs, id); return nil }); err != nil {
		s.log.Error("cannot record the retry on its run", zap.String("run", old.ID), zap.Error(err))
	}
	s.log.Info("retry checked", zap.String("run", id), zap.String("retryOf", old.ID), zap.String("user", run.CreatedBy), zap.Int("rows", n))
	v, _ := s.view(id)
	writeJSON(w, http.StatusCreated, v)
}

// failedPath is the run's failed.csv: the run's, or before it started the
// check's.
func (s *Server) failedPath(id string) string {
	p := filepath.Join(s.st.OutDir(id), worker.FailedFile)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join(s.st.RunDir(id), store.CheckDir, worker.FailedFile)
}

// rows pages through failed.csv: ?code=X&offset=N&limit=M.
func (s *Server) rows(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 100
	}
	page, err := ReadRows(s.failedPath(run.ID), q.Get("code"), max(offset, 0), limit)
	if err != nil {
		s.internal(w, "cannot read failed.csv", err)
		return
	}
	name := s.displayName(run)
	for i := range page.Rows {
		page.Rows[i].Message = name(page.Rows[i].Message)
	}
	page.Fixes = map[string]string{}
	for code := range page.ByCode {
		if fix := fixFor(code); fix != "" {
			page.Fixes[code] = fix
		}
	}
	writeJSON(w, http.StatusOK, page)
}

// downloadable are the files of GET .../files/{name} for a run of kind.
func downloadable(kind string) []string {
	switch kind {
	case store.KindUndo:
		return []string{worker.UndoneFile, worker.UndoFailedFile, worker.SummaryFile}
	case store.KindVerify:
		return []string{worker.VerifyFile, worker.SummaryFile}
	}
	return []string{worker.AssignedFile, worker.FailedFile, worker.UnprocessedFile, worker.SummaryFile, report.WorkbookFile}
}

func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runWithFiles(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if !slices.Contains(downloadable(run.Kind), name) {
		writeError(w, http.StatusNotFound, "No such file; the files of this run are "+fmt.Sprint(downloadable(run.Kind))+".")
		return
	}
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": stem(run.File) + "-" + name}))
	clean := s.displayName(run)
	if name == report.WorkbookFile {
		var buf bytes.Buffer
		if err := s.writeWorkbook(run, &buf); err != nil {
			s.internal(w, "cannot write results.xlsx", err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		_, _ = w.Write(buf.Bytes())
		return
	}
	path := filepath.Join(s.st.OutDir(run.ID), name)
	if name == worker.FailedFile && run.Kind == store.KindEnroll {
		path = s.failedPath(run.ID)
	}
	f, err := os.Open(path)
	if err != nil {
		w.Header().Del("Content-Disposition")
		writeError(w, http.StatusNotFound, "This run has no "+name+" yet.")
		return
	}
	defer f.Close()
	ctype := "text/csv; charset=utf-8"
	if name == worker.SummaryFile {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	_ = copyLines(w, f, clean)
}

// stem is a file's name without its extension: the downloads of a run are
// named after its upload (leads.csv: leads-failed.csv).
func stem(file string) string {
	if s := strings.TrimSuffix(file, filepath.Ext(file)); s != "" {
		return s
	}
	return "upload"
}

// copyLines copies r to w line by line through clean: the pipeline's
// messages name the file it read, a path on the server.
func copyLines(w io.Writer, r io.Reader, clean func(string) string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if _, werr := io.WriteString(w, clean(line)); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeWorkbook writes results.xlsx from the run's result files, with the
// server's paths replaced by the upload's name.
func (s *Server) writeWorkbook(run store.Run, w io.Writer) error {
	tmp, err := os.MkdirTemp(s.st.RunDir(run.ID), "workbook-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	clean := s.displayName(run)
	for _, name := range []string{worker.AssignedFile, worker.FailedFile, worker.UnprocessedFile, worker.SummaryFile} {
		in, err := os.Open(filepath.Join(s.st.OutDir(run.ID), name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		out, err := os.Create(filepath.Join(tmp, name))
		if err == nil {
			err = copyLines(out, in, clean)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		in.Close()
		if err != nil {
			return err
		}
	}
	return report.WriteWorkbook(tmp, w)
}

// events streams the run as server-sent events: an event "run" with the
// run's JSON at every change, until the client goes or the server stops.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.runOr404(w, r); !ok {
		return
	}
	id := r.PathValue("id")
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// A stream reads nothing after its request and lasts as long as the
	// reader wants: no read deadline (the server's ReadTimeout would end
	// it), and a write deadline per event instead of one for the answer.
	_ = rc.SetReadDeadline(time.Time{})
	send := func(format string, a ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := fmt.Fprintf(w, format, a...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// A comment line now and then keeps proxies from closing a quiet stream.
	keepalive := time.NewTicker(25 * time.Second)
	defer keepalive.Stop()
	var last []byte
	for {
		changed := s.st.Watch()
		run, _ := s.view(id)
		b, err := json.Marshal(run)
		if err != nil {
			return
		}
		if !bytes.Equal(b, last) {
			if !send("event: run\ndata: %s\n\n", b) {
				return
			}
			last = b
		}
		select {
		case <-changed:
		case <-keepalive.C:
			if !send(": keepalive\n\n") {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
}
