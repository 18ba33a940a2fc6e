package console

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"

	"github.com/flowenroll/flowenroll/pkg/console/store"
)

// sampleSize is how many rows the mapping check looks at: enough to see
// what a column holds, few enough to cost nothing.
const sampleSize = 200

var (
	looksDate  = regexp.MustCompile(`^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?$`)
	looksEmail = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// looksName says whether v reads as a person's name: words of letters.
func looksName(v string) bool {
	words := strings.Fields(v)
	if len(words) < 2 {
		return false
	}
	for _, r := range v {
		if !unicode.IsLetter(r) && r != ' ' && r != '-' && r != '\'' && r != '.' {
			return false
		}
	}
	return true
}

// mappingWarnings looks at the first rows of the columns the reader took
// as the CRM ID and the owner, and says when they hold something else: an
// email column mapped as the CRM ID fails every row at Gong.
func mappingWarnings(path string, opts store.Options) []string {
	text, delim, headers, err := readText(path, opts)
	if err != nil {
		return nil
	}
	var crm, owner []string
	_, err = rewrite(text, delim, headers, nil, io.Discard, func(idx map[string]int, rec []string) bool {
		cell := func(c string) string {
			if i, ok := idx[c]; ok && i >= 0 && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if v := cell(colCRM); v != "" {
			crm = append(crm, v)
		}
		if v := cell(colOwner); v != "" {
			owner = append(owner, v)
		}
		return len(crm) < sampleSize || len(owner) < sampleSize
	})
	if err != nil {
		return nil
	}
	var out []string
	most := func(vs []string, f func(string) bool) (bool, string) {
		n, ex := 0, ""
		for _, v := range vs {
			if f(v) {
				n++
				if ex == "" {
					ex = v
				}
			}
		}
		return len(vs) > 0 && 2*n >= len(vs), ex
	}
	for _, k := range []struct {
		what string
		f    func(string) bool
	}{{"email addresses", looksEmail.MatchString}, {"dates", looksDate.MatchString}, {"people's names", looksName}} {
		if yes, ex := most(crm, k.f); yes {
			out = append(out, fmt.Sprintf("The column %q, taken as the CRM ID, holds %s (%q), not CRM record IDs: Gong would refuse every row. Choose the column with the contact's or lead's ID.", headers[colCRM], k.what, ex))
			break
		}
	}
	if yes, ex := most(owner, func(v string) bool { return !looksEmail.MatchString(v) && !looksName(v) }); yes {
		out = append(out, fmt.Sprintf("The column %q, taken as the owner, holds neither emails nor names (%q): choose the column with the owner's email or name, or pick one owner for every row.", headers[colOwner], ex))
	}
	return out
}
