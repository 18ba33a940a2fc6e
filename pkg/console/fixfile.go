package console

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/fsguard"
	"github.com/flowenroll/flowenroll/pkg/input"
)

// Columns a fix may set. A flow is written as flowId, flowName or both,
// as the file has them.
const (
	colCRM   = input.ColCRMProspectID
	colFlow  = input.ColFlowID
	colName  = input.ColFlowName
	colOwner = input.ColOwnerEmail
)

// fixedValues merges the fixes by line: a later fix of a cell wins.
func fixedValues(fs []store.Fix) map[int]map[string]string {
	by := map[int]map[string]string{}
	for _, f := range fs {
		for _, l := range f.Lines {
			if by[l] == nil {
				by[l] = map[string]string{}
			}
			for k, v := range f.Set {
				by[l][k] = v
			}
		}
	}
	return by
}

// fixError is a fix that cannot be applied to this file; its message is
// meant for a person.
type fixError struct{ msg string }

func (e *fixError) Error() string { return e.msg }

// applyFixes writes to out the CSV at base (read with opts) with the fixes'
// values in their rows, every row on the line it had, as UTF-8. It returns
// the lines of base that are rows (after the header).
func applyFixes(base, out string, opts store.Options, fs []store.Fix) (map[int]bool, error) {
	text, delim, headers, err := readText(base, opts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	rows, err := rewrite(text, delim, headers, fixedValues(fs), &buf, nil)
	if err != nil {
		return nil, err
	}
	return rows, fsguard.WriteBytes(out, buf.Bytes())
}

// readText reads the CSV at path as the reader does: its text as UTF-8,
// its delimiter and the headers of its canonical columns.
func readText(path string, opts store.Options) ([]byte, string, map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", nil, err
	}
	ro, err := worker.InputOptions(opts)
	if err != nil {
		return nil, "", nil, err
	}
	rd, err := input.NewReader(bytes.NewReader(raw), ro)
	if err != nil {
		return nil, "", nil, &fixError{"The file's columns must be found before rows can be fixed: " + err.Error()}
	}
	headers, format := rd.Columns(), rd.Format()
	text, err := decodeText(raw, format.Encoding)
	return text, format.Delimiter, headers, err
}

// decodeText returns raw as UTF-8 text, without a byte order mark.
func decodeText(raw []byte, enc string) ([]byte, error) {
	switch enc {
	case input.EncodingUTF16LE:
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder().Bytes(raw)
	case input.EncodingUTF16BE:
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder().Bytes(raw)
	case input.EncodingWindows1252:
		return charmap.Windows1252.NewDecoder().Bytes(raw)
	}
	return bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")), nil
}

// rewrite copies text to w, replacing the records at the lines of fixes;
// every other byte stays as it was, so every row keeps its line.
//
// each, when not nil, is told every data row with the cells of the
// canonical columns, and stops the reading by returning false.
func rewrite(text []byte, delim string, headers map[string]string, fixes map[int]map[string]string, w io.Writer, each func(idx map[string]int, rec []string) bool) (map[int]bool, error) {
	comma := ','
	if delim == "tab" {
		comma = '\t'
	} else if delim != "" {
		comma, _ = utf8.DecodeRuneInString(delim)
	}
	starts := []int{0, 0} // starts[l]: offset of line l (1-based)
	for i, b := range text {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	r := csv.NewReader(bytes.NewReader(text))
	r.Comma, r.FieldsPerRecord, r.LazyQuotes = comma, -1, true
	var idx map[string]int // canonical column -> cell, once the header is found
	rows := map[int]bool{}
	prev := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &fixError{"The file cannot be fixed in the page: " + err.Error()}
		}
		line, _ := r.FieldPos(0)
		end := int(r.InputOffset())
		if idx == nil {
			idx = headerIndex(rec, headers)
			continue
		}
		rows[line] = true
		if each != nil && !each(idx, rec) {
			break
		}
		set, ok := fixes[line]
		if !ok {
			continue
		}
		start := starts[line]
		if _, err := w.Write(text[prev:start]); err != nil {
			return nil, err
		}
		if rec, err = setCells(rec, idx, set); err != nil {
			return nil, err
		}
		cw := csv.NewWriter(w)
		cw.Comma = comma
		if err := cw.Write(rec); err != nil {
			return nil, err
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return nil, err
		}
		prev = end
	}
	_, err := w.Write(text[prev:])
	return rows, err
}

// headerIndex finds the reader's headers in rec; nil when rec is not the
// header row (a title row above it).
func headerIndex(rec []string, headers map[string]string) map[string]int {
	idx := map[string]int{}
	for canon, h := range headers {
		i := slices.IndexFunc(rec, func(c string) bool { return strings.TrimSpace(c) == strings.TrimSpace(h) })
		if i < 0 && canon != colName {
			return nil
		}
		idx[canon] = i
	}
	return idx
}

// setCells writes set into rec. A flow goes into the flow ID column and
// the flow name column, as the file has them: the ID where known, the name
// where known, the other cell blank, so that the reader takes the fixed one.
func setCells(rec []string, idx map[string]int, set map[string]string) ([]string, error) {
	put := func(canon, v string) bool {
		i, ok := idx[canon]
		if !ok || i < 0 {
			return false
		}
		for len(rec) <= i {
			rec = append(rec, "")
		}
		rec[i] = v
		return true
	}
	for canon, v := range set {
		switch canon {
		case colFlow, colName:
			continue
		}
		if !put(canon, v) {
			return rec, &fixError{"The file has no " + canon + " column to fix; choose the column first."}
		}
	}
	id, name := set[colFlow], set[colName]
	if id == "" && name == "" {
		return rec, nil
	}
	wroteID := id != "" && put(colFlow, id)
	wroteName := false
	if name != "" {
		wroteName = put(colName, name)
	}
	switch {
	case wroteID:
		if !wroteName {
			put(colName, "") // a misspelled name beside the ID would be checked
		}
	case wroteName:
		put(colFlow, "")
	default:
		return rec, &fixError{"The file's flow column cannot hold this flow; give the flow by its ID."}
	}
	return rec, nil
}
