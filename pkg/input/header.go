package input

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/similar"
)

// Canonical column names, as the contract and the output files spell them.
const (
	ColCRMProspectID = outcome.ColCRMProspectID
	ColFlowID        = outcome.ColFlowID
	ColOwnerEmail    = outcome.ColOwnerEmail
	ColFlowName      = outcome.ColFlowName
)

// column indexes the canonical columns; the order is the order of
// validation and of every listing in messages.
type column int

const (
	colID column = iota
	colFlowID
	colFlowName
	colOwner
	numColumns
)

func (c column) String() string {
	switch c {
	case colID:
		return ColCRMProspectID
	case colFlowID:
		return ColFlowID
	case colFlowName:
		return ColFlowName
	case colOwner:
		return ColOwnerEmail
	}
	return fmt.Sprintf("column(%d)", int(c))
}

// columnNamed returns the canonical column spelled name, ignoring case,
// spaces, '_' and '-'.
func columnNamed(name string) (column, bool) {
	n := normalize(name)
	for c := range numColumns {
		if n == normalize(c.String()) {
			return c, true
		}
	}
	return 0, false
}

// normalize folds a header for matching: lower case, without spaces, '_'
// and '-', so "Flow ID", "flow_id" and "FLOW-ID" are the same header.
func normalize(h string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' || r == '-' {
			return -1
		}
		return unicode.ToLower(r)
	}, h)
}

// Aliases returns the headers accepted for each canonical column without a
// --map, in the spelling shown in help texts. Matching ignores case, spaces,
// '_' and '-', so "Flow ID" also stands for "flow_id" and "FLOW-ID".
//
// A plain "Email" is deliberately not an alias of the owner: in a CRM export
// it is the prospect's own address, and using it as the owner would fail or,
// worse, misassign every row.
//
// The aliases of FallbackAliases are among them, and count only when no
// other alias of their column is in the header.
func Aliases() map[string][]string {
	return map[string][]string{
		ColCRMProspectID: {"crmProspectId", "CRM ID", "CRM Record ID", "Prospect ID", "Contact ID", "Lead ID", "Record ID", "Contact Record ID", "Lead Record ID",
			"Salesforce ID", "Salesforce Contact ID", "Salesforce Lead ID", "SFDC ID", "Case Safe ID", "Contact ID (18)", "Lead ID (18)", "HubSpot ID", "Id"},
		ColFlowID:   {"flowId", "Flow ID", "Sequence ID", "Engage Flow ID", "Gong Flow ID", "Gong Engage Flow ID"},
		ColFlowName: {"flowName", "Flow Name", "Flow", "Sequence", "Sequence Name", "Engage Flow Name", "Gong Flow Name"},
		ColOwnerEmail: {"flowInstanceOwnerEmail", "Flow Instance Owner Email", "Flow Instance Owner", "Owner Email", "Owner", "Flow Owner", "Flow Owner Email", "Sequence Owner", "Sequence Owner Email",
			"Contact Owner Email", "Lead Owner Email", "Record Owner Email", "Gong User Email", "HubSpot Owner Email", "Contact owner", "Lead Owner"},
	}
}

// FallbackAliases returns the aliases that are weaker than the others:
// each names its column only when no other alias of that column is in the
// header. Salesforce's "Id" stands next to "Contact ID" or "OwnerId" in
// some exports; "Contact owner" (HubSpot, Salesforce) holds the owner's
// name, next to an "Owner Email" column in others.
func FallbackAliases() []string { return []string{"Id", "Contact owner", "Lead Owner"} }

// alias is what a normalized header stands for.
type alias struct {
	col      column
	fallback bool
}

// aliasIndex maps each normalized alias to its column; built per header row,
// which is cheap and keeps Aliases the one list.
func aliasIndex() map[string]alias {
	weak := map[string]bool{}
	for _, a := range FallbackAliases() {
		weak[normalize(a)] = true
	}
	ix := map[string]alias{}
	for name, aliases := range Aliases() {
		c, _ := columnNamed(name)
		for _, a := range aliases {
			ix[normalize(a)] = alias{col: c, fallback: weak[normalize(a)]}
		}
	}
	return ix
}

// HeaderError reports a header row that does not name the columns flowenroll
// needs. It lists what was found so that the user can write the --map.
type HeaderError struct {
	Name string // the input's name: a file path or "stdin"
	Line int    // the line of the header row, 1 unless blank lines precede it
	// Missing lists the required canonical columns that no header matches.
	// ColFlowID here stands for "flowId or flowName": either satisfies it.
	Missing []string
	// NotFound holds the --map entries (canonical -> header) whose header is
	// not in the file.
	NotFound map[string]string
	// Ambiguous holds the canonical columns that several headers match, with
	// those headers in file order.
	Ambiguous map[string][]string
	Found     []string // the header row, cells trimmed
	// Suggest holds, for a missing column, the header that looks like a
	// misspelling of one of its aliases (canonical -> header), for the
	// message to offer as a --map.
	Suggest map[string]string
	// Looked is how many rows were looked at for the header when none
	// named a needed column (title rows above it, or no header at all),
	// for the message to offer --header-row; 0 otherwise.
	Looked int
}

// Error lists what is wrong with the header, then the headers found, so
// that the user can write the --map.
func (e *HeaderError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		names := make([]string, len(e.Missing))
		for i, m := range e.Missing {
			names[i] = m
			if m == ColFlowID {
				names[i] = ColFlowID + " (or " + ColFlowName + ")"
			}
		}
		parts = append(parts, "missing column(s) "+strings.Join(names, ", "))
	}
	for c := range numColumns {
		if h, ok := e.NotFound[c.String()]; ok {
			parts = append(parts, fmt.Sprintf("--map %s=%q: no such header", c, h))
		}
	}
	for c := range numColumns {
		if h, ok := e.Suggest[c.String()]; ok {
			parts = append(parts, fmt.Sprintf("if %q is %s, add --map %s=%q", h, c, c, h))
		}
	}
	for c := range numColumns {
		if hs, ok := e.Ambiguous[c.String()]; ok {
			parts = append(parts, fmt.Sprintf("column %s matches several headers: %s (pick one with --map %s=HEADER)", c, quoteAll(hs), c))
		}
	}
	parts = append(parts, "found headers: "+quoteAll(e.Found))
	if e.Looked > 1 {
		parts = append(parts, fmt.Sprintf("no row of the first %d names a needed column; if the header is below title rows, give its line with --header-row N", e.Looked))
	}
	return fmt.Sprintf("%s: line %d: %s", e.Name, e.Line, strings.Join(parts, "; "))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// Lacks reports whether the flow or the owner column is missing: the
// caller may offer --flow and --owner.
func (e *HeaderError) Lacks() (flow, owner bool) {
	for _, m := range e.Missing {
		flow = flow || m == ColFlowID
		owner = owner || m == ColOwnerEmail
	}
	return flow, owner
}

// matchHeader finds the canonical columns in a header row. idx[c] is the
// index of column c's cell, or -1. A *HeaderError is returned when a
// required column is missing, a --map header is not there, or a column is
// ambiguous.
func matchHeader(name string, line int, header []string, m map[string]string, flowGiven, ownerGiven bool) ([numColumns]int, error) {
	var idx [numColumns]int
	for c := range idx {
		idx[c] = -1
	}
	herr := &HeaderError{Name: name, Line: line, Found: header}
	ambiguous := func(c column, at []int) {
		if herr.Ambiguous == nil {
			herr.Ambiguous = map[string][]string{}
		}
		for _, i := range at {
			herr.Ambiguous[c.String()] = append(herr.Ambiguous[c.String()], header[i])
		}
	}
	claimed := make([]bool, len(header))
	mapped := [numColumns]bool{}

	// --map first: a header it names is taken, whatever alias it also is.
	for c := range numColumns {
		want, ok := m[c.String()]
		if !ok {
			continue
		}
		mapped[c] = true
		at := indexesWhere(header, func(h string) bool { return h == strings.TrimSpace(want) })
		if len(at) == 0 {
			n := normalize(want)
			at = indexesWhere(header, func(h string) bool { return normalize(h) == n })
		}
		switch len(at) {
		case 0:
			if herr.NotFound == nil {
				herr.NotFound = map[string]string{}
			}
			herr.NotFound[c.String()] = want
		case 1:
			idx[c] = at[0]
			claimed[at[0]] = true
		default:
			ambiguous(c, at)
		}
	}
	aliases := aliasIndex()
	for c := range numColumns {
		if mapped[c] {
			continue
		}
		switch at := aliasMatches(header, claimed, aliases, c); len(at) {
		case 0:
		case 1:
			idx[c] = at[0]
		default:
			ambiguous(c, at)
		}
	}

	reported := func(c column) bool {
		_, nf := herr.NotFound[c.String()]
		_, am := herr.Ambiguous[c.String()]
		return nf || am
	}
	if idx[colID] < 0 && !reported(colID) && !findPerson(header, idx).usable() {
		herr.Missing = append(herr.Missing, ColCRMProspectID)
	}
	if idx[colFlowID] < 0 && idx[colFlowName] < 0 && !reported(colFlowID) && !reported(colFlowName) && !flowGiven {
		herr.Missing = append(herr.Missing, ColFlowID)
	}
	if idx[colOwner] < 0 && !reported(colOwner) && !ownerGiven {
		herr.Missing = append(herr.Missing, ColOwnerEmail)
	}
	if len(herr.Missing) > 0 || len(herr.NotFound) > 0 || len(herr.Ambiguous) > 0 {
		herr.Suggest = suggestMap(herr.Missing, herr.NotFound, header, idx)
		return idx, herr
	}
	return idx, nil
}

// suggestMap finds, for each missing column, the header closest to one of
// its aliases by edit distance, when it is close enough to be a spelling
// of it ("Kontakt-ID", "Flow Idd"), among the headers no column took; and
// for each --map header not found, the header closest to it.
func suggestMap(missing []string, notFound map[string]string, header []string, idx [numColumns]int) map[string]string {
	used := map[int]bool{}
	for _, i := range idx {
		used[i] = true
	}
	out := map[string]string{}
	closest := func(col string, names []string) {
		bestHeader, best := "", -1
		for _, a := range names {
			na := []rune(normalize(a))
			if len(na) < 4 {
				continue // too short to tell a spelling from another word
			}
			for i, h := range header {
				d := similar.Distance([]rune(normalize(h)), na)
				if !used[i] && d <= max(1, len(na)/4) && (best < 0 || d < best) {
					bestHeader, best = h, d
				}
			}
		}
		if best >= 0 && (out[col] == "" || best == 0) {
			out[col] = bestHeader
		}
	}
	for _, m := range missing {
		closest(m, Aliases()[m])
		if m == ColFlowID && out[m] == "" {
			closest(ColFlowName, Aliases()[ColFlowName])
		}
	}
	for col, want := range notFound {
		closest(col, []string{want})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// aliasMatches returns the cells of the header that are aliases of
// column c and not claimed by --map: those of its strong aliases, or when
// there is none, those of its fallback aliases.
func aliasMatches(header []string, claimed []bool, aliases map[string]alias, c column) []int {
	var at []int
	for _, fallback := range []bool{false, true} {
		for i, h := range header {
			if a, ok := aliases[normalize(h)]; ok && a.col == c && a.fallback == fallback && !claimed[i] {
				at = append(at, i)
			}
		}
		if len(at) > 0 {
			break
		}
	}
	return at
}

func indexesWhere(header []string, match func(string) bool) []int {
	var at []int
	for i, h := range header {
		if match(h) {
			at = append(at, i)
		}
	}
	return at
}

// ParseMap parses the values of the repeatable --map flag, each
// "canonical=Header" or several of them separated by commas
// ("crmProspectId=Contact,flowId=Flow Ref"). The canonical name is matched
// ignoring case, spaces, '_' and '-'; the header is trimmed. A piece without
// '=' continues the previous header, so a header that contains a comma can
// still be named. An unknown canonical name, an empty header, or one column
// given two different headers is an error.
func ParseMap(spec []string) (map[string]string, error) {
	m := map[string]string{}
	for _, s := range spec {
		var key column
		var val string
		started := false
		flush := func() error {
			if !started {
				return nil
			}
			h := strings.TrimSpace(val)
			if h == "" {
				return fmt.Errorf("--map %q: no header given for %s", s, key)
			}
			if prev, ok := m[key.String()]; ok && prev != h {
				return fmt.Errorf("--map: %s is mapped twice, to %q and to %q", key, prev, h)
			}
			m[key.String()] = h
			return nil
		}
		for piece := range strings.SplitSeq(s, ",") {
			k, v, ok := strings.Cut(piece, "=")
			if !ok {
				if strings.TrimSpace(piece) == "" {
					continue
				}
				if !started {
					return nil, fmt.Errorf("--map %q: want canonical=Header, for example %s=\"Contact ID\"", s, ColCRMProspectID)
				}
				val += "," + piece
				continue
			}
			if err := flush(); err != nil {
				return nil, err
			}
			c, known := columnNamed(strings.TrimSpace(k))
			if !known {
				return nil, fmt.Errorf("--map %q: unknown column %q (want %s, %s, %s or %s)", s, strings.TrimSpace(k), ColCRMProspectID, ColFlowID, ColOwnerEmail, ColFlowName)
			}
			key, val, started = c, v, true
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// checkMap refuses a map whose keys are not canonical names.
func checkMap(m map[string]string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c, ok := columnNamed(k)
		if !ok || c.String() != k {
			return fmt.Errorf("column map: unknown column %q (want %s, %s, %s or %s)", k, ColCRMProspectID, ColFlowID, ColOwnerEmail, ColFlowName)
		}
		if strings.TrimSpace(m[k]) == "" {
			return fmt.Errorf("column map: no header given for %s", k)
		}
	}
	return nil
}
