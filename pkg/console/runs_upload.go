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
	"go.uber.org/zap"
)

// maxField bounds one form field other than the file.
const maxField = 64 << 10

// upload takes a file, keeps it in a new run's folder and checks it.
// Route: POST /api/v1/runs.
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
	if status, msg := s.receive(mr, &run); status != 0 {
		s.st.Discard(id)
		writeError(w, status, msg)
		return
	}
	if !s.checkAndKeep(w, r, &run) {
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
