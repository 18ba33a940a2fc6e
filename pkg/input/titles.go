package input

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxTitleRows bounds the rows NewReader looks at for the header when
// Options.HeaderRow is 0: a report's title block is a handful of rows, and
// a file whose first hundred rows name no column is not a prospects file
// (or needs --header-row).
const maxTitleRows = 100

// findHeader reads up to the header row and takes it: the row on line
// opts.HeaderRow, or else the first that names the columns needed (title
// rows above it, a report's name, filters, a date, are read past, and are
// no rows). When no row does, the error is that of the first row naming
// some of them, else that of the first row. sniff re-sniffs the delimiter
// on each row looked at: a title line has none to sniff.
func (r *Reader) findHeader(opts Options, sniff bool) error {
	var first, best error
	wide := false // a row looked at has two cells or more: a table below a title
	for n := 0; ; n++ {
		if sniff {
			r.scan.comma = 0
		}
		rec, err := r.scan.next()
		switch {
		case err == io.EOF && n == 0:
			return fmt.Errorf("%s: the file is empty: it needs a header row", r.name)
		case err == io.EOF && opts.HeaderRow > 0:
			return fmt.Errorf("%s: header row %d: the file ends before line %d", r.name, opts.HeaderRow, opts.HeaderRow)
		case err == io.EOF:
			return noHeader(first, best, n, wide)
		case err != nil:
			if c := opts.Context; c != nil && c.Err() != nil {
				return fmt.Errorf("%s: reading stopped: %w", r.name, c.Err())
			}
			return fmt.Errorf("%s: reading the header row: %w", r.name, err)
		}
		r.titles = n
		if opts.HeaderRow > 0 {
			if rec.end < opts.HeaderRow {
				continue
			}
			if rec.start != opts.HeaderRow {
				return fmt.Errorf("%s: header row %d: no row starts on line %d (the next starts on line %d)", r.name, opts.HeaderRow, opts.HeaderRow, rec.start)
			}
			_, err := r.takeHeader(rec, opts)
			return err
		}
		wide = wide || n > 0 && !firstCellOnly(rec.fields) && !blank(rec.fields)
		named, err := r.takeHeader(rec, opts)
		var notCSV *NotCSVError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &notCSV):
			return err
		case first == nil:
			first = err
		}
		if named && best == nil {
			best = err
		}
		if n+1 >= maxTitleRows {
			return noHeader(first, best, n+1, wide)
		}
	}
}

// noHeader is the error of a file where no row names the columns needed.
// A first row that is no header at all (malformed) is reported as such;
// the hint of --header-row is for a first row that looks like a title.
func noHeader(first, best error, looked int, wide bool) error {
	var he *HeaderError
	if !errors.As(first, &he) {
		return first
	}
	if best != nil {
		return best
	}
	cells := 0
	for _, h := range he.Found {
		if h != "" {
			cells++
		}
	}
	if looked > 1 && cells <= 1 && wide {
		he.Looked = looked
	}
	return first
}

// takeHeader takes rec as the header row if it names the columns needed,
// and says whether it names any.
func (r *Reader) takeHeader(rec *record, opts Options) (bool, error) {
	if rec.nul > 0 || rec.ctl*8 >= rec.size && rec.ctl > 0 {
		return false, &NotCSVError{Name: r.name, Line: rec.start, Found: "binary data: " + controls(rec) + " in the header row"}
	}
	if rec.syntax != nil {
		return false, fmt.Errorf("%s:%d: malformed header row: %s", r.name, rec.start, r.syntaxDetail(rec))
	}
	header := make([]string, len(rec.fields))
	for i, h := range rec.fields {
		header[i] = strings.TrimSpace(h)
	}
	idx, err := matchHeader(r.name, rec.start, header, opts.Map, r.flow != "", r.owner != "")
	named := false
	for _, i := range idx {
		named = named || i >= 0
	}
	var he *HeaderError
	if errors.As(err, &he) && (len(he.NotFound) > 0 || len(he.Ambiguous) > 0) {
		named = true
	}
	if err != nil {
		return named, err
	}
	r.header, r.idx, r.headerLine, r.lastEnd = header, idx, rec.start, rec.end
	return true, nil
}

// HeaderLine returns the line the header row starts on: 1, or below the
// title rows of a report export (which are not rows).
func (r *Reader) HeaderLine() int { return r.headerLine }

// TitleRows returns how many rows above the header were read past (a
// report's title block); they are not rows.
func (r *Reader) TitleRows() int { return r.titles }

// FedBack reports whether the input is flowenroll's failed.csv or
// unprocessed.csv (or results.xlsx) fed back: its rows keep their lines.
func (r *Reader) FedBack() bool { return r.lines.on }
