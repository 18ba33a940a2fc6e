package console

import (
	"regexp"
	"sort"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/console/store"
	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// maxFixGroups bounds the groups a reason shows; the rest are fixed row by
// row or in the file.
const maxFixGroups = 8

// maxRecount bounds the rejected rows recounted for each group.
const maxRecount = 100_000

// fixColumnOf says which column mends a row rejected with code, and its
// value there; "" when the page has no fix for the reason.
func fixColumnOf(row store.RowRef) (string, string) {
	switch row.Code {
	case outcome.CodeScientificNotation, outcome.CodeTrailingDecimal:
		// A spreadsheet's damage to a number: the CRM ID's or the flow's.
		if numberLike.MatchString(row.CRMProspectID) {
			return colCRM, row.CRMProspectID
		}
		return colFlow, row.FlowID
	case outcome.CodeFlowNameNotFound, outcome.CodeFlowNameAmbiguous, outcome.CodeFlowNotVisible, outcome.CodeFlowNotFound, outcome.CodeInvalidFlowID, outcome.CodeRoundedFlowID:
		if row.FlowID == "" {
			return colFlow, row.FlowName
		}
		return colFlow, row.FlowID
	case outcome.CodeOwnerNotFound, outcome.CodeOwnerAmbiguous, outcome.CodeInvalidEmail, outcome.CodeOwnerRefused:
		return colOwner, row.Owner
	case outcome.CodeSalesforceChecksum, outcome.CodeInvalidProspectID, outcome.CodeLeadingZerosLost:
		return colCRM, row.CRMProspectID
	case outcome.CodeMissingValue:
		switch {
		case row.CRMProspectID == "":
			return colCRM, ""
		case row.FlowID == "" && row.FlowName == "":
			return colFlow, ""
		case row.Owner == "":
			return colOwner, ""
		}
	}
	return "", ""
}

// numberLike is a number as a spreadsheet writes it: 3.00007E+14, 12.0.
var numberLike = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// similarFlow is the first flow a FlowNameNotFound message offers:
// `similar: "SDR Outbound Q3" (1695493301223590792)`.
var similarFlow = regexp.MustCompile(`similar: "([^"]+)" \(([0-9]+)\)`)

// fixGroups groups the rejected rows of each code by the value a fix
// replaces, most rows first.
func fixGroups(rows []store.RowRef) map[string][]store.FixGroup {
	type key struct{ code, col, val string }
	at := map[key]*store.FixGroup{}
	var order []key
	for _, r := range rows {
		col, val := fixColumnOf(r)
		if col == "" {
			continue
		}
		k := key{r.Code, col, strings.ToLower(strings.TrimSpace(val))}
		g, ok := at[k]
		if !ok {
			g = &store.FixGroup{Column: col, Value: val}
			if m := similarFlow.FindStringSubmatch(r.Message); m != nil && r.Code == outcome.CodeFlowNameNotFound {
				g.Suggest = &store.FlowChoice{Name: m[1], ID: m[2]}
			}
			at[k] = g
			order = append(order, k)
		}
		g.Rows++
		if g.Owner == "" && strings.Contains(r.Owner, "@") {
			g.Owner = r.Owner
		}
	}
	out := map[string][]store.FixGroup{}
	for _, k := range order {
		g := at[k]
		if k.val != "" && len(rows) <= maxRecount {
			// The fix mends every rejected row with the value (see fixLines).
			g.Rows = 0
			for _, r := range rows {
				if valueMatches(r, g.Column, g.Value) {
					g.Rows++
				}
			}
		}
		out[k.code] = append(out[k.code], *g)
	}
	for code, gs := range out {
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].Rows > gs[j].Rows })
		out[code] = gs[:min(len(gs), maxFixGroups)]
	}
	return out
}
