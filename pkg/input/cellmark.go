package input

import (
	"fmt"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// A workbook cell whose type tells what its text cannot (a number Excel has
// rounded, an error, a date) reaches the Reader marked in the CSV text that
// WorkbookToCSV writes: markPrefix, a kind byte, then the text Excel shows.
// The mark travels in-band because that CSV is the one thing that goes
// everywhere the input goes (the enroll passes, the console's run folder,
// a restart); a side file would have to follow it. The scanner strips the
// mark from every cell, so carried columns and messages show the text
// alone, and the Reader refuses a marked cell only in an ID column: a date
// in a "Created" column is fine.
//
// U+FDD0 is a Unicode noncharacter, never assigned, so no real cell holds
// it; WorkbookToCSV removes it from cell text all the same.
const markPrefix = "\uFDD0"

// Kinds of marked cells.
const (
	markRounded byte = 'N' // a number of more than 15 digits
	markError   byte = 'E' // an error value (#REF!, #N/A)
	markDate    byte = 'D' // a date: a number with a date format, or t="d"
)

// cellMark is one marked cell of a record.
type cellMark struct {
	cell int  // index in the record's fields
	kind byte // markRounded, markError, markDate
}

// marked returns the cell text prefixed with the mark of kind.
func marked(kind byte, text string) string {
	return markPrefix + string(kind) + text
}

// unmark strips the mark from a cell, returning its kind (0 when none).
func unmark(s string) (string, byte) {
	if len(s) < len(markPrefix)+1 || !strings.HasPrefix(s, markPrefix) {
		return s, 0
	}
	return s[len(markPrefix)+1:], s[len(markPrefix)]
}

// isErrorValue reports whether s is an error value a spreadsheet shows in
// a cell (and Excel writes into a CSV export): none is an ID.
func isErrorValue(s string) bool {
	if !strings.HasPrefix(s, "#") {
		return false
	}
	switch strings.ToUpper(s) {
	case "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
		"#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!":
		return true
	}
	return false
}

// refusedCell returns the code and detail of an ID cell (crmProspectId,
// flowId) that cannot hold an ID exactly, or "": a marked workbook cell, or
// an error value (in a CSV too, where Excel wrote "#N/A" for it).
func refusedCell(kind byte, s string) (code, detail string) {
	switch {
	case kind == markRounded:
		return outcome.CodeRoundedNumber, fmt.Sprintf("the cell is a number of more than 15 digits, shown as %q: Excel keeps 15 significant digits, so the ID was rounded and cannot be read back from this workbook; format the column as Text and enter the exact IDs again (from the CRM), or export the file again as CSV", s)
	case kind == markError || isErrorValue(s):
		return outcome.CodeErrorCell, fmt.Sprintf("the cell holds the spreadsheet error %s, not an ID: fix the formula or the data it refers to, or paste the IDs as values", s)
	case kind == markDate:
		return outcome.CodeDateCell, fmt.Sprintf("the cell is a date (%s), not an ID: format the column as Text and enter the IDs again", s)
	}
	return "", ""
}
