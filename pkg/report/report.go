// Package report writes the result files of a run: assigned.csv, failed.csv,
// unprocessed.csv and summary.json, with the contract's columns in order and
// then every other column of the input. It takes outcomes and picks the file
// by their kind.
//
// Files hold email addresses, so they are created with mode 0600. They are
// written as new files under temporary names and renamed into place when
// the writer closes, so a symlink or a file someone else left under a
// result file's name is replaced, never followed or written through.
package report

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gocarina/gocsv"

	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// File names inside the output directory.
const (
	AssignedFile    = "assigned.csv"
	FailedFile      = "failed.csv"
	UnprocessedFile = "unprocessed.csv"
	SummaryFile     = "summary.json"
)

// Files are the result files a run writes in its output directory.
func Files() []string { return []string{AssignedFile, FailedFile, UnprocessedFile, SummaryFile} }

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

// Columns returns the contract's columns of a result file, in order.
func Columns(file string) []string {
	switch file {
	case AssignedFile:
		return outcome.AssignedColumns()
	case FailedFile:
		return outcome.FailedColumns()
	case UnprocessedFile:
		return outcome.UnprocessedColumns()
	}
	return nil
}

// Input describes the input's columns that the files carry.
type Input struct {
	// FlowName: the input has a flow-name column. failed.csv and
	// unprocessed.csv carry it as flowName (assigned.csv has it anyway),
	// so that a row named by its flow's name can be fed back.
	FlowName bool
	// Extra are the headers of the input's other columns, in order; each
	// row's Extra holds their cells.
	Extra []string
}

// Counts are what the writer has written so far.
type Counts struct {
	Assigned            int                       `json:"assigned"`
	Failed              int                       `json:"failed"`
	FailedByStage       map[string]map[string]int `json:"failedByStage"` // stage -> errorCode -> rows
	Unprocessed         int                       `json:"unprocessed"`
	UnprocessedByReason map[string]int            `json:"unprocessedByReason"`
}

func (c *Counts) add(o outcome.Outcome) {
	switch o.Kind {
	case outcome.Assigned:
		c.Assigned++
	case outcome.Failed:
		byCode := c.FailedByStage[o.Stage]
		if byCode == nil {
			byCode = map[string]int{}
			c.FailedByStage[o.Stage] = byCode
		}
		byCode[o.Code]++
		c.Failed++
	case outcome.Unprocessed:
		c.UnprocessedByReason[o.Reason]++
		c.Unprocessed++
	}
}

// Writer owns the CSV files of a run. It is not safe for concurrent use:
// one goroutine writes.
type Writer struct {
	dir    string
	in     Input
	files  map[outcome.Kind]*csvFile
	counts Counts
}

type csvFile struct {
	f     *os.File
	final string // the name it takes on Close
	buf   *bufio.Writer
	w     *gocsv.SafeCSVWriter
}

// Create starts the result files of the given kinds in dir (all three when
// none is given), creating dir with mode 0700 if needed, and writes their
// headers. The files take their names when the writer closes.
func Create(dir string, in Input, kinds ...outcome.Kind) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if len(kinds) == 0 {
		kinds = []outcome.Kind{outcome.Assigned, outcome.Failed, outcome.Unprocessed}
	}
	w := &Writer{dir: dir, in: in, files: map[outcome.Kind]*csvFile{},
		counts: Counts{FailedByStage: map[string]map[string]int{}, UnprocessedByReason: map[string]int{}}}
	for _, k := range kinds {
		name, header := w.layout(k)
		cf, err := create(dir, name, header)
		if err != nil {
			w.abort()
			return nil, err
		}
		w.files[k] = cf
	}
	return w, nil
}

// layout is the file name and header of a kind's file.
func (w *Writer) layout(k outcome.Kind) (string, []string) {
	var name string
	var cols []string
	switch k {
	case outcome.Assigned:
		name, cols = AssignedFile, Columns(AssignedFile)
	case outcome.Failed:
		name, cols = FailedFile, Columns(FailedFile)
	default:
		name, cols = UnprocessedFile, Columns(UnprocessedFile)
	}
	if w.in.FlowName && k != outcome.Assigned {
		cols = append(cols, "flowName")
	}
	for _, h := range w.in.Extra {
		if contains(cols, h) {
			h = "input." + h
		}
		cols = append(cols, h)
	}
	return name, cols
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// create starts a new file under a temporary name beside final: never a
// file that exists, never through a link.
func create(dir, final string, header []string) (*csvFile, error) {
	var f *os.File
	var err error
	for i := 0; i < 10; i++ {
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.%d.tmp", final, os.Getpid(), i))
		f, err = fsguard.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("output file: %w", err)
	}
	buf := bufio.NewWriterSize(f, 64<<10)
	cf := &csvFile{f: f, final: filepath.Join(dir, final), buf: buf, w: gocsv.NewSafeCSVWriter(csv.NewWriter(buf))}
	if err := cf.w.Write(header); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("%s: %w", final, err)
	}
	return cf, nil
}

// Write appends each outcome to its kind's file.
func (w *Writer) Write(outs ...outcome.Outcome) error {
	for _, o := range outs {
		cf := w.files[o.Kind]
		if cf == nil {
			return fmt.Errorf("report: no file for %s rows", o.Kind)
		}
		w.counts.add(o)
		if err := cf.w.Write(w.cells(o)); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(cf.final), err)
		}
	}
	return nil
}

// cells lays out one row of o's file; every text cell is neutralised.
func (w *Writer) cells(o outcome.Outcome) []string {
	r := o.Row
	owner := r.OwnerEmail
	if owner == "" {
		owner = r.OwnerName // not resolved: the name as the input gave it
	}
	row := []string{strconv.Itoa(r.Line), r.CRMProspectID, r.FlowID, owner}
	switch o.Kind {
	case outcome.Assigned:
		i := o.Instance
		row = append(row, i.FlowName, i.ID, i.OwnerFullName, i.CreateDate, i.Status, i.WorkspaceID, strconv.FormatBool(i.Exclusive), o.RequestID)
	case outcome.Failed:
		status, _ := Status(o.HTTPStatus).MarshalCSV()
		row = append(row, o.Stage, o.Code, o.Message, status, o.RequestID)
	default:
		row = append(row, o.Reason)
	}
	if w.in.FlowName && o.Kind != outcome.Assigned {
		row = append(row, r.FlowName)
	}
	for i := range w.in.Extra {
		cell := ""
		if i < len(r.Extra) {
			cell = r.Extra[i]
		}
		row = append(row, cell)
	}
	for i := 1; i < len(row); i++ {
		row[i] = Neutralise(row[i])
	}
	return row
}

// Counts returns the rows written so far.
func (w *Writer) Counts() Counts { return w.counts }

// Sync pushes everything written so far to disk.
func (w *Writer) Sync() error {
	var errs []error
	for _, cf := range w.files {
		cf.w.Flush()
		if err := cf.w.Error(); err != nil {
			errs = append(errs, err)
		}
		if err := cf.buf.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(cf.final), err))
			continue
		}
		if err := cf.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(cf.final), err))
		}
	}
	return errors.Join(errs...)
}

// Close syncs the files, closes them and gives each its name (replacing
// whatever had it). Closing twice is harmless.
func (w *Writer) Close() error {
	if w.files == nil {
		return nil
	}
	err := w.Sync()
	for _, cf := range w.files {
		if cerr := cf.f.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(cf.f.Name(), cf.final)
		} else {
			os.Remove(cf.f.Name())
		}
	}
	w.files = nil
	if err == nil {
		err = fsguard.SyncDir(w.dir)
	}
	return err
}

// abort removes the temporary files.
func (w *Writer) abort() {
	for _, cf := range w.files {
		cf.f.Close()
		os.Remove(cf.f.Name())
	}
	w.files = nil
}
