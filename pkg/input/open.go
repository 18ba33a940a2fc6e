package input

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// FileType is one kind of file flowenroll reads, as a file picker or a
// folder watcher knows it: by the end of its name and its MIME type. What
// a file is, is decided by its content (Open); these only say which files
// to offer or take.
type FileType struct {
	Ext  string // lower case, with its dot: ".csv"
	MIME string
}

// FileTypes are the files flowenroll reads: CSV text under the names
// spreadsheet tools give it (Excel's "Unicode Text" export is a UTF-16
// .txt, a tab-separated export a .tsv) and Excel workbooks. The inbox
// takes these and the console's file picker offers them; a new format is
// added here and in Open.
func FileTypes() []FileType {
	return []FileType{
		{Ext: ".csv", MIME: "text/csv"},
		{Ext: ".txt", MIME: "text/plain"},
		{Ext: ".tsv", MIME: "text/tab-separated-values"},
		{Ext: ".xlsx", MIME: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	}
}

// Accepted reports whether a file name's extension (".CSV", case
// ignored) is one of FileTypes.
func Accepted(ext string) bool {
	for _, t := range FileTypes() {
		if strings.EqualFold(ext, t.Ext) {
			return true
		}
	}
	return false
}

// AcceptAttr is FileTypes as the value of an HTML file input's accept
// attribute: the extensions, then the MIME types.
func AcceptAttr() string {
	var exts, mimes []string
	for _, t := range FileTypes() {
		exts, mimes = append(exts, t.Ext), append(mimes, t.MIME)
	}
	return strings.Join(append(exts, mimes...), ",")
}

// AcceptedNames lists FileTypes' extensions for a message: ".csv, .txt,
// .tsv and .xlsx".
func AcceptedNames() string {
	types := FileTypes()
	exts := make([]string, len(types))
	for i, t := range types {
		exts[i] = t.Ext
	}
	return strings.Join(exts[:len(exts)-1], ", ") + " and " + exts[len(exts)-1]
}

// What is what Open found an input file to be.
type What struct {
	// Workbook: an Excel workbook (.xlsx), read as CSV text; Book says
	// the sheet read and the other sheets with data.
	Workbook bool
	Book     WorkbookInfo
	// ResultBook: flowenroll's own results.xlsx, read from its failed and
	// unprocessed sheets (never assigned, whose rows are in Gong).
	ResultBook bool
	// Result is "failed.csv" or "unprocessed.csv" when the header is that
	// of flowenroll's own result file fed back (or of such a sheet): each
	// row keeps the line of the first input. "" otherwise; assigned.csv is
	// refused by Open (AssignedFileError).
	Result string
	// Format is how the text is read: the encoding, byte order mark and
	// delimiter of a CSV file (a workbook's text is UTF-8, comma). Empty
	// when OpenConfig.HeaderUnread.
	Format Format
	// HeaderLine is the line of the header row, TitleRows the rows above
	// it (a report's title, filters, date). 0 when OpenConfig.HeaderUnread.
	HeaderLine, TitleRows int
}

// String describes the file for a log line: `CSV (utf-8, comma-separated)`,
// `workbook, sheet "Leads"`, `flowenroll's results.xlsx`, and "failed.csv
// fed back" when it is one.
func (w What) String() string {
	var s string
	switch {
	case w.ResultBook:
		s = "flowenroll's results.xlsx"
	case w.Workbook:
		s = fmt.Sprintf("workbook, sheet %q", w.Book.Sheet)
	case w.Format.Encoding != "":
		s = "CSV (" + w.Format.String() + ")"
	default:
		s = "CSV"
	}
	if w.Result != "" {
		s += ", flowenroll's " + w.Result + " fed back"
	}
	return s
}

// OpenConfig is how Open reads a file.
type OpenConfig struct {
	// Read are the reading options: the header row, encoding and
	// delimiter overrides, column map and the rest. Read.Name names the
	// file in messages. For a workbook the encoding and delimiter are its
	// text's (UTF-8, comma), whatever Read says.
	Read Options
	// Sheet is a workbook's sheet to read; "" for the first (or, for
	// flowenroll's results.xlsx, its failed and unprocessed sheets).
	Sheet string
	// TempDir is where a workbook's CSV text is written; "" for the
	// system's temporary directory.
	TempDir string
	// HeaderUnread: only decide the format and convert a workbook; the
	// header is not looked for, so that a header the caller will read
	// with other options later is no error here (What.Format, Result and
	// HeaderLine stay empty).
	HeaderUnread bool
}

// File is an input opened by Open: its CSV text, read from the top as
// many times as a caller needs, and what it was.
type File struct {
	What What
	text io.ReadSeeker
	own  *os.File // the file Open opened by path, closed by Close
	temp *os.File // a workbook's CSV text, removed by Close
	book bool
}

// Open opens the file at path as an input: see OpenReader. A path that is
// not a regular file is an error (a pipe or standard input is copied to
// a file first by the caller, so that it can be read more than once).
func Open(ctx context.Context, path string, cfg OpenConfig) (*File, error) {
	if cfg.Read.Name == "" {
		cfg.Read.Name = path
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("input: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("input %s: not a file (%s): give a CSV file or an Excel workbook", path, st.Mode().Type())
	}
	in, err := OpenReader(ctx, f, st.Size(), cfg)
	if err != nil {
		f.Close()
		return nil, err
	}
	in.own = f
	return in, nil
}

// OpenReader decides what the size bytes of r are, by their content and
// in this one place, and makes them CSV text for the Reader:
//
//   - a ZIP archive (IsWorkbook) is an Excel workbook: the sheet named, or
//     the first, is converted to CSV text in a temporary file; when it is
//     flowenroll's results.xlsx and no sheet is named, its failed and
//     unprocessed sheets are (BookToCSV);
//   - anything else is CSV text, read in place: its encoding and delimiter
//     are found, or forced by the reading options.
//
// Then the header is found (unless cfg.HeaderUnread): a result file of
// flowenroll fed back is recognised by its columns, and assigned.csv is
// refused with an AssignedFileError; a file that is not text is a
// NotCSVError, one without the needed columns a HeaderError. ctx stops
// the conversion and the read. Close the File when done; r is not closed.
func OpenReader(ctx context.Context, r io.ReaderAt, size int64, cfg OpenConfig) (*File, error) {
	in := &File{text: io.NewSectionReader(r, 0, size)}
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	if IsWorkbook(head[:n]) {
		if err := in.convert(ctx, r, size, cfg); err != nil {
			in.Close()
			return nil, err
		}
	}
	if cfg.HeaderUnread {
		return in, nil
	}
	opts := cfg.Read
	opts.Context = ctx
	rd, err := in.Reader(opts)
	if err != nil {
		in.Close()
		return nil, err
	}
	in.What.Format, in.What.HeaderLine, in.What.TitleRows = rd.Format(), rd.HeaderLine(), rd.TitleRows()
	if k := resultKind(rd.header); k == resultFailed || k == resultUnprocessed {
		in.What.Result = k
	}
	return in, nil
}

// convert writes the workbook in r as CSV text to a temporary file.
func (in *File) convert(ctx context.Context, r io.ReaderAt, size int64, cfg OpenConfig) error {
	name := cfg.Read.Name
	if name == "" {
		name = "input"
	}
	tmp, err := os.CreateTemp(cfg.TempDir, "flowenroll-sheet-*.csv")
	if err != nil {
		return fmt.Errorf("input %s: %w", name, err)
	}
	in.temp, in.text, in.book = tmp, tmp, true
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	info, results, err := BookToCSV(ctx, r, size, cfg.Sheet, tmp)
	if err != nil {
		return fmt.Errorf("input %s: %w", name, err)
	}
	in.What.Workbook, in.What.Book, in.What.ResultBook = true, info, results
	return nil
}

// Text returns the CSV text from the top: the file itself, or a
// workbook's converted sheet.
func (in *File) Text() (io.ReadSeeker, error) {
	if _, err := in.text.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return in.text, nil
}

// Reader starts a read of the rows from the top with ReadOptions(opts).
func (in *File) Reader(opts Options) (*Reader, error) {
	text, err := in.Text()
	if err != nil {
		return nil, err
	}
	return NewReader(text, in.ReadOptions(opts))
}

// ReadOptions are opts as the text is read: a workbook's text is what it
// is (UTF-8, comma) whatever opts say; a CSV file's as opts say.
func (in *File) ReadOptions(opts Options) Options {
	if in.book {
		opts.Encoding, opts.Delimiter = EncodingUTF8, DelimiterComma
	}
	return opts
}

// KeepText moves a workbook's CSV text to path (in the same file system
// as OpenConfig.TempDir), where it stays after Close: the console keeps
// the upload as received and the text the run reads. A CSV file has no
// separate text: KeepText is then an error.
func (in *File) KeepText(path string) error {
	if in.temp == nil {
		return errors.New("input: no converted text to keep: the file is CSV text itself")
	}
	if err := os.Rename(in.temp.Name(), filepath.Clean(path)); err != nil {
		return fmt.Errorf("input: keeping the workbook's text: %w", err)
	}
	in.temp.Close()
	in.temp, in.text = nil, nil
	return nil
}

// Close closes what Open opened and removes a workbook's temporary text.
func (in *File) Close() error {
	var err error
	if in.temp != nil {
		err = in.temp.Close()
		os.Remove(in.temp.Name())
		in.temp = nil
	}
	if in.own != nil {
		if cerr := in.own.Close(); err == nil {
			err = cerr
		}
		in.own = nil
	}
	return err
}
