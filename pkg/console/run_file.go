package console

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// file answers GET /api/v1/runs/{id}/files/{name}.
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
