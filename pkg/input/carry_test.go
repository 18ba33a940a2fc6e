package input

import (
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreExtra leaves the carried cells out of a comparison, for the tests
// about something else; TestCarried checks them.
func ignoreExtra() cmp.Option {
	return cmp.Options{cmpopts.IgnoreFields(Prospect{}, "Extra"), cmpopts.IgnoreFields(Rejection{}, "Extra")}
}
