package input

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestXMLGuard: a run of text, a tag, a comment, a CDATA section or a
// processing instruction longer than the bound is refused, also when it
// holds the < and > that end a run elsewhere; markup that breaks text into
// short runs passes, however long in all.
func TestXMLGuard(t *testing.T) {
	const max = 64
	long := strings.Repeat("a", max+1)
	for _, tt := range []struct {
		name, xml string
		refused   bool
	}{
		{"short runs", strings.Repeat("<c><v>12345</v></c>", 1000), false},
		{"long text", "<t>" + long + "</t>", true},
		{"long tag", "<c " + long + "/>", true},
		{"CDATA hiding < and >", "<t><![CDATA[" + strings.Repeat("<>", max) + "]]></t>", true},
		{"short CDATA", "<t><![CDATA[<a>]]></t>" + strings.Repeat("<x/>", 100), false},
		{"comment hiding < and >", "<!--" + strings.Repeat("<>", max) + "-->", true},
		{"processing instruction", "<?pi " + strings.Repeat("<>", max) + "?>", true},
		{"declaration", `<?xml version="1.0"?><a/>`, false},
	} {
		g := &xmlGuard{ctx: context.Background(), r: strings.NewReader(tt.xml), max: max}
		_, err := io.Copy(io.Discard, g)
		if got := errors.Is(err, ErrWorkbookTooLarge); got != tt.refused {
			t.Errorf("%s: error %v, want refused %v", tt.name, err, tt.refused)
		}
	}
}

func TestCustomDate(t *testing.T) {
	for code, want := range map[string]bool{
		"yyyy-mm-dd": true, "m/d/yy h:mm": true, "[h]:mm:ss": true, "mmm": true,
		"General": false, "0.00": false, "#,##0": false, `0 "days"`: false, `0\d`: false,
		"[Red]0.00": false, "0.00E+00": false, "@": false, "[$-409]d-mmm": true,
	} {
		if got := customDate(code); got != want {
			t.Errorf("customDate(%q) = %v, want %v", code, got, want)
		}
	}
}
