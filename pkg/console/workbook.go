package console

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/input"
)

// convertUpload opens the upload at src through input.Open, which decides
// by its content what it is, and when it is a workbook writes its sheet
// (the first, or the one named; results.xlsx's failed and unprocessed
// sheets) to dst as CSV, through the reader `run` uses: each cell as the
// text Excel shows, line N of the CSV row N of the sheet, within the same
// limits, and stopped by ctx (the upload's request). The upload is kept as
// received; the CSV is what the page's checks and the run read. The header
// is not read here: the plan reads it with the run's options. It returns
// whether the upload was a workbook, and a note for the plan when other
// sheets hold data and none was named, or "".
func convertUpload(ctx context.Context, src, sheet, dst string) (bool, string, error) {
	in, err := input.Open(ctx, src, input.OpenConfig{Sheet: sheet, TempDir: filepath.Dir(dst), HeaderUnread: true})
	if err != nil {
		return false, "", &worker.BadInputError{Msg: err.Error()}
	}
	defer in.Close()
	if !in.What.Workbook {
		return false, "", nil
	}
	note := ""
	if book := in.What.Book; len(book.OtherSheets) > 0 {
		note = fmt.Sprintf("only the first sheet, %q, was read; the workbook has data on other sheets too: %s; to read another, upload it again naming it in Sheet", book.Sheet, strings.Join(book.OtherSheets, ", "))
	}
	return true, note, in.KeepText(dst)
}
