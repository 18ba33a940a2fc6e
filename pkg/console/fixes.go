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
			fix := e.PageFix()
			return strings.ToUpper(fix[:1]) + fix[1:] + "."
		}
	}
	return ""
}
