package console

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/input"
)

// isWorkbook says whether a file starts as an .xlsx does.
func isWorkbook(head []byte) bool { return input.IsWorkbook(head) }

// workbookToCSV writes the first sheet of the workbook at src (or the sheet
// named) to dst as CSV, through the reader `run` uses: each cell as the
// text Excel shows, line N of the CSV row N of the sheet, within the same
// limits, and stopped by ctx (the upload's request). The upload is kept as
// received; the CSV is what the page's checks and the run read. It returns
// a note for the plan when other sheets hold data and none was named, or "".
func workbookToCSV(ctx context.Context, src, sheet, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	info, _, err := input.BookToCSV(ctx, in, st.Size(), sheet, out)
	if err != nil {
		out.Close()
		return "", &BadInputError{Msg: err.Error()}
	}
	note := ""
	if len(info.OtherSheets) > 0 {
		note = fmt.Sprintf("only the first sheet, %q, was read; the workbook has data on other sheets too: %s; to read another, upload it again naming it in Sheet", info.Sheet, strings.Join(info.OtherSheets, ", "))
	}
	return note, out.Close()
}
