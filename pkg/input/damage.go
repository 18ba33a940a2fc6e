package input

import (
	"fmt"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// How to get IDs through a spreadsheet intact, for the messages of the
// codes below.
const reexport = "export the file again and upload it without opening it in a spreadsheet, " +
	"or open it with the ID columns as text (Excel: Data > From Text/CSV > Do not detect data types; " +
	"Google Sheets: File > Import, \"Convert text to numbers, dates, and formulas\" off)"

// scientific reports whether s is a number in scientific notation, as Excel,
// Google Sheets and Numbers write an ID of more than 11 digits kept as a
// number in a General column: "1.69549E+18", or "1,69549E+18" where the
// decimal separator is a comma. It returns the significant digits kept.
func scientific(s string) (digits int, ok bool) {
	e := strings.IndexAny(s, "eE")
	if e <= 0 {
		return 0, false
	}
	// The sign is what spreadsheets and pandas write ("E+18", "e+18"), and
	// it keeps an ID such as "12E45" from being taken for a number.
	mant, exp := s[:e], s[e+1:]
	if exp == "" || (exp[0] != '+' && exp[0] != '-') {
		return 0, false
	}
	exp = exp[1:]
	if exp == "" || !allDigits(exp) {
		return 0, false
	}
	mant = strings.TrimPrefix(mant, "-")
	ip, fp := mant, ""
	if i := strings.IndexAny(mant, ".,"); i >= 0 {
		ip, fp = mant[:i], mant[i+1:]
	}
	if ip == "" || !allDigits(ip) || !allDigits(fp) {
		return 0, false
	}
	return len(strings.TrimLeft(ip, "0")) + len(fp), true
}

// trailingDecimal reports whether s is digits followed by ".0" (or ",0",
// ".00"...), as tools write an ID they hold as a floating-point number,
// and returns the digits.
func trailingDecimal(s string) (string, bool) {
	i := strings.LastIndexAny(s, ".,")
	if i <= 0 || i == len(s)-1 || !allDigits(s[:i]) || strings.Trim(s[i+1:], "0") != "" {
		return "", false
	}
	return s[:i], true
}

// significantDigits is what a spreadsheet keeps of a number: IEEE doubles
// print to 15 significant digits in Excel, Google Sheets and Numbers.
const significantDigits = 15

// roundedForms returns the values a spreadsheet may show for flow ID id
// after storing it as a number: its first 15 digits, as they are or with
// the last rounded up, padded with zeros. IDs of 15 digits or fewer survive
// a double and have none.
func roundedForms(id string) []string {
	if len(id) <= significantDigits || !allDigits(id) {
		return nil
	}
	zeros := strings.Repeat("0", len(id)-significantDigits)
	prefix := id[:significantDigits]
	forms := []string{prefix + zeros}
	if up, ok := increment(prefix); ok {
		forms = append(forms, up+zeros)
	}
	var out []string
	for _, f := range forms {
		if f != id {
			out = append(out, f)
		}
	}
	return out
}

// increment adds one to a string of digits, failing when it would need one
// more digit.
func increment(digits string) (string, bool) {
	b := []byte(digits)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b), true
		}
		b[i] = '0'
	}
	return "", false
}

// looksRounded reports whether a flow ID ends in the zeros a spreadsheet
// leaves after its 15th digit.
func looksRounded(id string) bool {
	return len(id) > significantDigits && strings.Trim(id[significantDigits:], "0") == ""
}

// CRMSalesforce is the value of Options.CRM for Salesforce IDs.
const CRMSalesforce = "salesforce"

// ParseCRM checks the value of the --crm flag: "" (or "none") for no
// CRM-specific checks, or CRMSalesforce.
func ParseCRM(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none":
		return "", nil
	case "salesforce", "sfdc":
		return CRMSalesforce, nil
	}
	return "", fmt.Errorf("--crm %q: want salesforce, or none", s)
}

// salesforceAlphabet spells the case checksum: each of the three suffix
// characters encodes which of five ID characters are upper case.
const salesforceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// salesforceSuffix returns the three characters that make a 15-character
// Salesforce ID an 18-character, case-insensitive one.
func salesforceSuffix(id15 string) string {
	var b [3]byte
	for chunk := range 3 {
		bits := 0
		for i := range 5 {
			if c := id15[chunk*5+i]; c >= 'A' && c <= 'Z' {
				bits |= 1 << i
			}
		}
		b[chunk] = salesforceAlphabet[bits]
	}
	return string(b[:])
}

func alphanumeric(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// restoreSalesforceCase rebuilds an 18-character ID whose case a tool
// changed, from its suffix, which survives upper-casing and encodes the
// case of the first 15 characters. ok is false when the suffix does not
// fit the ID (a typo, not a case change).
func restoreSalesforceCase(id string) (string, bool) {
	suffix := strings.ToUpper(id[15:])
	b := []byte(id[:15])
	for chunk := range 3 {
		bits := strings.IndexByte(salesforceAlphabet, suffix[chunk])
		if bits < 0 {
			return "", false
		}
		for i := range 5 {
			c := &b[chunk*5+i]
			upper := bits&(1<<i) != 0
			switch {
			case *c >= '0' && *c <= '9':
				if upper {
					return "", false
				}
			case upper:
				*c = strings.ToUpper(string(*c))[0]
			default:
				*c = strings.ToLower(string(*c))[0]
			}
		}
	}
	return string(b) + suffix, true
}

// salesforceID checks a Salesforce ID and returns it in its 18-character
// form, or the code and detail of a rejection.
func salesforceID(id string) (full, code, detail string) {
	switch {
	case len(id) == 15 && alphanumeric(id):
		return id + salesforceSuffix(id), "", ""
	case len(id) == 18 && alphanumeric(id):
		if salesforceSuffix(id[:15]) == id[15:] {
			return id, "", ""
		}
		detail = fmt.Sprintf("%q is not a valid 18-character Salesforce ID: its last 3 characters do not match the upper and lower case of the first 15, the sign of a tool that changed the case", id)
		if fixed, ok := restoreSalesforceCase(id); ok && fixed != id {
			detail += fmt.Sprintf("; it was probably %q", fixed)
		}
		return "", outcome.CodeSalesforceChecksum, detail + "; export the ID column from Salesforce again and keep its case as it is"
	}
	return "", outcome.CodeInvalidProspectID, fmt.Sprintf("%q is not a Salesforce ID (15 or 18 letters and digits)", id)
}

// numberDamage returns the code and detail of an ID cell a spreadsheet or
// script turned into a number, or "" when it shows no such damage.
func numberDamage(s string) (code, detail string) {
	if allDigits(s) {
		return "", ""
	}
	if n, ok := scientific(s); ok {
		return outcome.CodeScientificNotation, fmt.Sprintf("%q is in scientific notation: a spreadsheet read the ID as a number and kept %d digits of it, which cannot be undone from this file; %s", s, n, reexport)
	}
	if digits, ok := trailingDecimal(s); ok {
		return outcome.CodeTrailingDecimal, fmt.Sprintf("%q ends in %q: a tool wrote the ID as a decimal number (it was probably %q, if no digits were lost on the way); %s", s, s[len(digits):], digits, reexport)
	}
	return "", ""
}
