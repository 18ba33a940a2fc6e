// Package report writes the result files of a run: assigned.csv, failed.csv,
// unprocessed.csv and summary.json, with the contract's columns in order.
// Files hold email addresses, so they are created with mode 0600.
package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gocarina/gocsv"
)

// File names inside the output directory.
const (
	AssignedFile    = "assigned.csv"
	FailedFile      = "failed.csv"
	UnprocessedFile = "unprocessed.csv"
	SummaryFile     = "summary.json"
)

// Cell is a CSV cell that a spreadsheet will never run as a formula: a value
// starting with = + - @ tab or carriage return is written with a leading '.
// The input reader removes that ' again, so output files can be fed back.
type Cell string

// MarshalCSV implements gocsv.TypeMarshaller.
func (c Cell) MarshalCSV() (string, error) { return Neutralise(string(c)), nil }

// Neutralise prefixes a formula-like value with '.
func Neutralise(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Status is an HTTP status, written blank when there is none.
type Status int

// MarshalCSV implements gocsv.TypeMarshaller.
func (s Status) MarshalCSV() (string, error) {
	if s == 0 {
		return "", nil
	}
	return strconv.Itoa(int(s)), nil
}

// AssignedRecord is a row of assigned.csv.
type AssignedRecord struct {
	Line                      int  `csv:"line"`
	CRMProspectID             Cell `csv:"crmProspectId"`
	FlowID                    Cell `csv:"flowId"`
	FlowInstanceOwnerEmail    Cell `csv:"flowInstanceOwnerEmail"`
	FlowName                  Cell `csv:"flowName"`
	FlowInstanceID            Cell `csv:"flowInstanceId"`
	FlowInstanceOwnerFullName Cell `csv:"flowInstanceOwnerFullName"`
	FlowInstanceCreateDate    Cell `csv:"flowInstanceCreateDate"`
	FlowInstanceStatus        Cell `csv:"flowInstanceStatus"`
	WorkspaceID               Cell `csv:"workspaceId"`
	Exclusive                 bool `csv:"exclusive"`
	RequestID                 Cell `csv:"requestId"`
}

// FailedRecord is a row of failed.csv.
type FailedRecord struct {
	Line                   int    `csv:"line"`
	CRMProspectID          Cell   `csv:"crmProspectId"`
	FlowID                 Cell   `csv:"flowId"`
	FlowInstanceOwnerEmail Cell   `csv:"flowInstanceOwnerEmail"`
	Stage                  Cell   `csv:"stage"`
	ErrorCode              Cell   `csv:"errorCode"`
	ErrorMessage           Cell   `csv:"errorMessage"`
	HTTPStatus             Status `csv:"httpStatus"`
	RequestID              Cell   `csv:"requestId"`
}

// UnprocessedRecord is a row of unprocessed.csv.
type UnprocessedRecord struct {
	Line                   int  `csv:"line"`
	CRMProspectID          Cell `csv:"crmProspectId"`
	FlowID                 Cell `csv:"flowId"`
	FlowInstanceOwnerEmail Cell `csv:"flowInstanceOwnerEmail"`
	Reason                 Cell `csv:"reason"`
}

// Counts are what the writer has written so far.
type Counts struct {
	Assigned            int                       `json:"assigned"`
	Failed              int                       `json:"failed"`
	FailedByStage       map[string]map[string]int `json:"failedByStage"` // stage -> errorCode -> rows
	Unprocessed         int                       `json:"unprocessed"`
	UnprocessedByReason map[string]int            `json:"unprocessedByReason"`
}

type csvFile struct {
	f   *os.File
	buf *bufio.Writer
	w   *gocsv.SafeCSVWriter
}

// Writer owns the three CSV files of a run. It is not safe for concurrent
// use: one goroutine writes.
type Writer struct {
	dir                           string
	assigned, failed, unprocessed *csvFile
	counts                        Counts
}

// Create creates (or truncates) the three CSV files in dir, creating dir
// with mode 0700 if needed, and writes their headers.
func Create(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	w := &Writer{dir: dir, counts: Counts{FailedByStage: map[string]map[string]int{}, UnprocessedByReason: map[string]int{}}}
	var err error
	if w.assigned, err = create(filepath.Join(dir, AssignedFile), []AssignedRecord{}); err != nil {
		return nil, err
	}
	if w.failed, err = create(filepath.Join(dir, FailedFile), []FailedRecord{}); err != nil {
		w.assigned.f.Close()
		return nil, err
	}
	if w.unprocessed, err = create(filepath.Join(dir, UnprocessedFile), []UnprocessedRecord{}); err != nil {
		w.assigned.f.Close()
		w.failed.f.Close()
		return nil, err
	}
	return w, nil
}

func create(path string, header any) (*csvFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("output file: %w", err)
	}
	// O_CREATE's mode applies only to new files; an old file keeps its mode.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("output file: %w", err)
	}
	buf := bufio.NewWriterSize(f, 64<<10)
	cf := &csvFile{f: f, buf: buf, w: gocsv.NewSafeCSVWriter(csv.NewWriter(buf))}
	if err := gocsv.MarshalCSV(header, cf.w); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cf, nil
}

// Assigned appends rows to assigned.csv.
func (w *Writer) Assigned(recs ...AssignedRecord) error {
	if len(recs) == 0 {
		return nil
	}
	w.counts.Assigned += len(recs)
	return w.write(w.assigned, recs)
}

// Failed appends rows to failed.csv.
func (w *Writer) Failed(recs ...FailedRecord) error {
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		byCode := w.counts.FailedByStage[string(r.Stage)]
		if byCode == nil {
			byCode = map[string]int{}
			w.counts.FailedByStage[string(r.Stage)] = byCode
		}
		byCode[string(r.ErrorCode)]++
	}
	w.counts.Failed += len(recs)
	return w.write(w.failed, recs)
}

// Unprocessed appends rows to unprocessed.csv.
func (w *Writer) Unprocessed(recs ...UnprocessedRecord) error {
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		w.counts.UnprocessedByReason[string(r.Reason)]++
	}
	w.counts.Unprocessed += len(recs)
	return w.write(w.unprocessed, recs)
}

func (w *Writer) write(cf *csvFile, recs any) error {
	if err := gocsv.MarshalCSVWithoutHeaders(recs, cf.w); err != nil {
		return fmt.Errorf("%s: %w", cf.f.Name(), err)
	}
	return nil
}

// Counts returns the rows written so far.
func (w *Writer) Counts() Counts { return w.counts }

// Sync pushes everything written so far to disk.
func (w *Writer) Sync() error {
	var errs []error
	for _, cf := range []*csvFile{w.assigned, w.failed, w.unprocessed} {
		if err := cf.buf.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cf.f.Name(), err))
			continue
		}
		if err := cf.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cf.f.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Close syncs and closes the files.
func (w *Writer) Close() error {
	err := w.Sync()
	for _, cf := range []*csvFile{w.assigned, w.failed, w.unprocessed} {
		if cerr := cf.f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// Summary is summary.json.
type Summary struct {
	Input           string  `json:"input"`
	InputSHA256     string  `json:"inputSha256,omitempty"`
	StartedAt       string  `json:"startedAt"`
	FinishedAt      string  `json:"finishedAt"`
	WallTimeSeconds float64 `json:"wallTimeSeconds"`
	RowsRead        int     `json:"rowsRead"`
	Counts
	Requests int64 `json:"requests"`
	// RequestsThisRun leaves out the requests of earlier runs of a resumed
	// input.
	RequestsThisRun int64 `json:"requestsThisRun"`
	Retries         int64 `json:"retries"`
	RateLimited     int64 `json:"rateLimited"`
	ReadBacks       int64 `json:"readBacks"`
	Splits          int64 `json:"splitRequests"`
	// FlowListings counts GET /v2/flows requests (also in Requests).
	FlowListings int64  `json:"flowListRequests"`
	Resumed      bool   `json:"resumed"`
	StopReason   string `json:"stopReason,omitempty"`
	ExitCode     int    `json:"exitCode"`
}

// WriteSummary writes summary.json atomically (a temporary file, then rename).
func WriteSummary(dir string, s Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, SummaryFile), append(b, '\n'))
}

// WriteFileAtomic writes data to path through a synced temporary file and a
// rename, so a reader sees the old file or the new one, never a part.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// FailedOnly is a lone failed.csv, for plan's rejected rows.
type FailedOnly struct{ cf *csvFile }

// CreateFailed creates (or truncates) failed.csv alone in dir.
func CreateFailed(dir string) (*FailedOnly, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	cf, err := create(filepath.Join(dir, FailedFile), []FailedRecord{})
	if err != nil {
		return nil, err
	}
	return &FailedOnly{cf}, nil
}

// Write appends rows.
func (f *FailedOnly) Write(recs ...FailedRecord) error {
	if err := gocsv.MarshalCSVWithoutHeaders(recs, f.cf.w); err != nil {
		return fmt.Errorf("%s: %w", f.cf.f.Name(), err)
	}
	return nil
}

// Close flushes, syncs and closes the file; closing twice is harmless.
func (f *FailedOnly) Close() error {
	if f.cf == nil {
		return nil
	}
	err := f.cf.buf.Flush()
	if serr := f.cf.f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.cf.f.Close(); err == nil {
		err = cerr
	}
	f.cf = nil
	return err
}
