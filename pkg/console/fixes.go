package console

import (
	"strings"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// fixFor says, for an errorCode of failed.csv, what a person does about
// it: the what-to-do list every command and the docs share.
func fixFor(code string) string {
	for _, e := range outcome.Explanations() {
		if e.Code == code && e.Kind == outcome.Failed {
			return strings.ToUpper(e.Fix[:1]) + e.Fix[1:] + "."
		}
	}
	return ""
}
