package console

import (
	"context"
	"os"

	"github.com/flowenroll/flowenroll/pkg/input"
)

// isWorkbook says whether a file starts as an .xlsx does.
func isWorkbook(head []byte) bool { return input.IsWorkbook(head) }

// workbookToCSV writes the first sheet of the workbook at src (or the sheet
// named) to dst as CSV, through the reader `run` uses: each cell as the
// text Excel shows, line N of the CSV row N of the sheet. The upload is
// kept as received; the CSV is what the page's checks and the run read.
func workbookToCSV(src, sheet, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := input.BookToCSV(context.Background(), in, st.Size(), sheet, out); err != nil {
		out.Close()
		return &BadInputError{Msg: err.Error()}
	}
	return out.Close()
}
