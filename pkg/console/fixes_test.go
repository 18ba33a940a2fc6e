package console

import (
	"regexp"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// The page has no command line: the fix it shows for a failure code never
// names a flag.
func TestPageFixesNameNoFlag(t *testing.T) {
	flag := regexp.MustCompile(`(^|[\s(])--[a-z]`)
	for _, e := range outcome.Explanations() {
		if e.Kind != outcome.Failed {
			continue
		}
		if fix := fixFor(e.Code); flag.MatchString(fix) {
			t.Errorf("%s: the page says %q", e.Code, fix)
		}
	}
}
