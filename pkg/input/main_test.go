package input

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (the heap sampler
// of the workbook bombs' tests starts one).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
