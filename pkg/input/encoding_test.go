package input

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

func utf16le(s string) string {
	b, _ := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().String(s)
	return b
}

func utf16be(s string) string {
	b, _ := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewEncoder().String(s)
	return b
}

func win1252(s string) string {
	b, _ := charmap.Windows1252.NewEncoder().String(s)
	return b
}

// TestEncodings reads one file in each encoding, found or forced, and
// checks the header, the rows and what Format reports.
func TestEncodings(t *testing.T) {
	const text = "Contact ID,Flow,Owner Email\r\n003A,Relance Été,ava.reyes@example.com\r\n"
	want := []Prospect{{Line: 2, CRMProspectID: "003A", FlowName: "Relance Été", OwnerEmail: "ava.reyes@example.com"}}
	comma := DelimiterComma
	tests := []struct {
		name       string
		input      string
		encoding   string
		wantFormat Format
		want       []Prospect
		wantErr    string
	}{
		{name: "UTF-8", input: text, wantFormat: Format{Encoding: EncodingUTF8, Delimiter: comma}, want: want},
		{name: "UTF-8 with BOM", input: "\ufeff" + text, wantFormat: Format{Encoding: EncodingUTF8, BOM: true, Delimiter: comma}, want: want},
		{name: "UTF-16LE with BOM", input: "\xff\xfe" + utf16le(text), wantFormat: Format{Encoding: EncodingUTF16LE, BOM: true, Delimiter: comma}, want: want},
		{name: "UTF-16BE with BOM", input: "\xfe\xff" + utf16be(text), wantFormat: Format{Encoding: EncodingUTF16BE, BOM: true, Delimiter: comma}, want: want},
		{name: "Windows-1252, found", input: win1252(text), wantFormat: Format{Encoding: EncodingWindows1252, Delimiter: comma}, want: want},
		{
			// "Ã©" in Windows-1252 is also valid UTF-8 ("é"): only the
			// forced encoding reads it as written.
			name: "Windows-1252, forced", input: win1252(strings.ReplaceAll(text, "Été", "Ã©")), encoding: "cp1252",
			wantFormat: Format{Encoding: EncodingWindows1252, Delimiter: comma},
			want:       []Prospect{{Line: 2, CRMProspectID: "003A", FlowName: "Relance Ã©", OwnerEmail: "ava.reyes@example.com"}},
		},
		{name: "UTF-8 forced on a UTF-8 BOM", input: "\ufeff" + text, encoding: "UTF8", wantFormat: Format{Encoding: EncodingUTF8, BOM: true, Delimiter: comma}, want: want},
		{name: "UTF-16LE forced, without BOM", input: utf16le(text), encoding: "utf-16le", wantFormat: Format{Encoding: EncodingUTF16LE, Delimiter: comma}, want: want},
		{name: "UTF-16BE forced, without BOM", input: utf16be(text), encoding: "UTF-16BE", wantFormat: Format{Encoding: EncodingUTF16BE, Delimiter: comma}, want: want},
		{
			// ASCII for 64 KiB, then a Windows-1252 byte: read as what it
			// most likely means rather than as invalid UTF-8.
			name:       "UTF-8 with a stray Windows-1252 byte past the first 64 KiB",
			input:      "Contact ID,Flow,Owner Email,Notes\n" + strings.Repeat(" ", sniffBytes) + "\n003A,Relance " + win1252("É") + "t" + win1252("é") + ",ava.reyes@example.com,\n",
			wantFormat: Format{Encoding: EncodingUTF8, Delimiter: comma},
			want:       []Prospect{{Line: 3, CRMProspectID: "003A", FlowName: "Relance Été", OwnerEmail: "ava.reyes@example.com"}},
		},
		{
			name:     "a UTF-8 BOM, but Windows-1252 forced",
			input:    "\ufeff" + text,
			encoding: EncodingWindows1252,
			wantErr:  "p.csv: the file starts with a utf-8 byte order mark, but the encoding was given as windows-1252",
		},
		{
			name:     "a UTF-16LE BOM, but UTF-16BE forced",
			input:    "\xff\xfe" + utf16le(text),
			encoding: EncodingUTF16BE,
			wantErr:  "p.csv: the file starts with a utf-16le byte order mark, but the encoding was given as utf-16be",
		},
		{
			name:    "UTF-16BE without BOM",
			input:   utf16be(text),
			wantErr: "p.csv:1: this is not CSV text: it is text with a zero byte after every character, UTF-16 without a byte order mark; read it with --encoding utf-16be",
		},
		{
			name:     "bad encoding name",
			input:    text,
			encoding: "ebcdic",
			wantErr:  `--encoding "ebcdic": want auto, utf-8, utf-16le, utf-16be or windows-1252`,
		},
		{
			name:    "an old Excel workbook",
			input:   "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",
			wantErr: "p.csv:1: this is not CSV text: it is an old Excel workbook (.xls); open it in Excel and save it as CSV UTF-8",
		},
		{
			name:    "a PDF",
			input:   "%PDF-1.7\n",
			wantErr: "p.csv:1: this is not CSV text: it is a PDF document; export the report from the CRM as CSV instead",
		},
		{
			name:    "binary header",
			input:   "Contact ID,\x01\x02\x03,Owner\n",
			wantErr: "p.csv:1: this is not CSV text: it is binary data: 3 control characters in the header row",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, trickle := range []bool{false, true} {
				var r io.Reader = strings.NewReader(tt.input)
				if trickle {
					r = iotest.OneByteReader(r)
				}
				opts := Options{Name: "p.csv", Encoding: tt.encoding}
				rd, err := NewReader(r, opts)
				var ps []Prospect
				if err == nil {
					if diff := cmp.Diff(tt.wantFormat, rd.Format()); diff != "" {
						t.Errorf("Format (-want +got):\n%s", diff)
					}
					_, ps, _, err = readAll(t, strings.NewReader(tt.input), opts)
				}
				if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.want, ps, ignoreExtra()); diff != "" {
					t.Errorf("prospects (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestUTF8Fallback checks the decoder on runes cut across reads and on
// bytes that are not UTF-8.
func TestUTF8Fallback(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain ASCII", "plain ASCII"},
		{"Été ✓ 🙂", "Été ✓ 🙂"},
		{"caf\xe9 \x80 \x9c", "café € œ"},
		{"cut \xe2\x9c", "cut â\u0153"},
		{"\xed\xa0\x80", "í\u00a0€"}, // a surrogate is not UTF-8
		{"\xef\xbf\xbd", "\ufffd"},   // U+FFFD itself is kept
	} {
		for _, trickle := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if trickle {
				r = iotest.OneByteReader(r)
			}
			text, _, err := decode("p.csv", r, EncodingUTF8)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(text)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("decode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		}
	}
}

func TestDelimiters(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		delimiter string
		want      []Prospect
		wantDelim string
		wantErr   string
	}{
		{name: "comma", input: "Contact ID,Flow ID,Owner Email\n1,2,a@b.co\n", wantDelim: ",", want: []Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@b.co"}}},
		{name: "semicolon", input: "Contact ID;Flow ID;Owner Email\n1;2;a@b.co\n", wantDelim: ";", want: []Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@b.co"}}},
		{name: "tab", input: "Contact ID\tFlow ID\tOwner Email\n1\t2\ta@b.co\n", wantDelim: "tab", want: []Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@b.co"}}},
		{name: "pipe", input: "Contact ID|Flow ID|Owner Email\n1|2|a@b.co\n", wantDelim: "|", want: []Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@b.co"}}},
		{
			name:      "commas inside quoted headers do not count",
			input:     "\"Contact ID, 18\";\"Flow, ID\";Owner Email\n1;2;a@b.co\n",
			wantDelim: ";",
			wantErr:   `p.csv: line 1: missing column(s) crmProspectId, flowId (or flowName); if "Contact ID, 18" is crmProspectId, add --map crmProspectId="Contact ID, 18"; if "Flow, ID" is flowId, add --map flowId="Flow, ID"; found headers: "Contact ID, 18", "Flow, ID", "Owner Email"`,
		},
		{name: "more semicolons than commas", input: "Contact ID;Flow ID;Owner Email, Europe\n1;2;a@b.co\n", wantDelim: ";", wantErr: `p.csv: line 1: missing column(s) flowInstanceOwnerEmail; found headers: "Contact ID", "Flow ID", "Owner Email, Europe"`},
		{
			name:      "forced comma on a semicolon file",
			input:     "Contact ID;Flow ID;Owner Email\n1;2;a@b.co\n",
			delimiter: "comma",
			wantDelim: ",",
			wantErr:   `p.csv: line 1: missing column(s) crmProspectId, flowId (or flowName), flowInstanceOwnerEmail; found headers: "Contact ID;Flow ID;Owner Email"`,
		},
		{name: "forced tab", input: "Contact ID\tFlow ID\tOwner Email\tNotes, more, more, more\n1\t2\ta@b.co\tx\n", delimiter: `\t`, wantDelim: "tab", want: []Prospect{{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@b.co"}}},
		{name: "the same, sniffed", input: "Contact ID\tFlow ID\tOwner Email\tNotes, more, more, more\n1\t2\ta@b.co\tx\n", wantDelim: ",", wantErr: `p.csv: line 1: missing column(s) crmProspectId, flowId (or flowName), flowInstanceOwnerEmail; found headers: "Contact ID\tFlow ID\tOwner Email\tNotes", "more", "more", "more"`},
		{name: "bad delimiter", input: "x", delimiter: ":", wantErr: `--delimiter ":": want auto, ",", ";", tab or "|"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Name: "p.csv", Delimiter: tt.delimiter}
			_, ps, _, err := readAll(t, strings.NewReader(tt.input), opts)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, ps, ignoreExtra()); diff != "" {
				t.Errorf("prospects (-want +got):\n%s", diff)
			}
			if err == nil {
				rd, _ := NewReader(strings.NewReader(tt.input), opts)
				if got := rd.Format().Delimiter; got != tt.wantDelim {
					t.Errorf("Format().Delimiter = %q, want %q", got, tt.wantDelim)
				}
			}
		})
	}
}

func TestLineEnds(t *testing.T) {
	// LF, CRLF and a lone CR each end a line; inside a quoted cell each is
	// one "\n".
	input := "Contact ID,Flow ID,Owner Email,Notes\r" +
		"1,2,a@b.co,\"x\r\ny\"\r" +
		"3,4,a@b.co,\"x\ry\"\n" +
		"\r\r\n" +
		"5,6,a@b.co,\"x\ny\"\r\n" +
		"7,8,a@b.co,"
	want := []Prospect{
		{Line: 2, CRMProspectID: "1", FlowID: "2", OwnerEmail: "a@b.co"},
		{Line: 4, CRMProspectID: "3", FlowID: "4", OwnerEmail: "a@b.co"},
		{Line: 8, CRMProspectID: "5", FlowID: "6", OwnerEmail: "a@b.co"},
		{Line: 10, CRMProspectID: "7", FlowID: "8", OwnerEmail: "a@b.co"},
	}
	for _, trickle := range []bool{false, true} {
		var r io.Reader = strings.NewReader(input)
		if trickle {
			r = iotest.OneByteReader(r)
		}
		_, ps, rejs, err := readAll(t, r, Options{})
		if err != nil || rejs != nil {
			t.Fatalf("err %v, rejections %v", err, rejs)
		}
		if diff := cmp.Diff(want, ps, ignoreExtra()); diff != "" {
			t.Errorf("prospects (-want +got):\n%s", diff)
		}
	}
	// The cell keeps its line breaks as "\n".
	s := newScanner(strings.NewReader("a,\"x\r\ny\rz\"\r\n"), ',', 100)
	rec, err := s.next()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "x\ny\nz"}, rec.fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestParseFlags(t *testing.T) {
	for _, tt := range []struct {
		parse   func(string) (string, error)
		in      string
		want    string
		wantErr string
	}{
		{parse: ParseEncoding, in: "", want: EncodingAuto},
		{parse: ParseEncoding, in: "AUTO", want: EncodingAuto},
		{parse: ParseEncoding, in: "utf8", want: EncodingUTF8},
		{parse: ParseEncoding, in: "UTF-16LE", want: EncodingUTF16LE},
		{parse: ParseEncoding, in: "utf_16_be", want: EncodingUTF16BE},
		{parse: ParseEncoding, in: "Windows-1252", want: EncodingWindows1252},
		{parse: ParseEncoding, in: "latin1", want: EncodingWindows1252},
		{parse: ParseEncoding, in: "utf-16", wantErr: `--encoding "utf-16": want auto, utf-8, utf-16le, utf-16be or windows-1252`},
		{parse: ParseDelimiter, in: "", want: DelimiterAuto},
		{parse: ParseDelimiter, in: ",", want: DelimiterComma},
		{parse: ParseDelimiter, in: "Semicolon", want: DelimiterSemicolon},
		{parse: ParseDelimiter, in: "\t", want: DelimiterTab},
		{parse: ParseDelimiter, in: "TAB", want: DelimiterTab},
		{parse: ParseDelimiter, in: "pipe", want: DelimiterPipe},
		{parse: ParseDelimiter, in: ";;", wantErr: `--delimiter ";;": want auto, ",", ";", tab or "|"`},
		{parse: ParseCRM, in: "", want: ""},
		{parse: ParseCRM, in: "none", want: ""},
		{parse: ParseCRM, in: "Salesforce", want: CRMSalesforce},
		{parse: ParseCRM, in: "hubspot", wantErr: `--crm "hubspot": want salesforce, or none`},
	} {
		got, err := tt.parse(tt.in)
		if errString(err) != tt.wantErr || got != tt.want {
			t.Errorf("parse(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := NewReader(strings.NewReader("x"), Options{CRM: "sap"}); errString(err) != `--crm "sap": want salesforce, or none` {
		t.Errorf("NewReader with a bad CRM: %v", err)
	}
}

func TestFormatString(t *testing.T) {
	f := Format{Encoding: EncodingUTF16LE, BOM: true, Delimiter: DelimiterTab}
	if got, want := f.String(), "utf-16le with BOM, tab-separated"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestLooksUTF16(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{utf16le("Contact ID,Flow ID"), EncodingUTF16LE},
		{utf16be("Contact ID,Flow ID"), EncodingUTF16BE},
		{"Contact ID,Flow ID", ""},
		{"a\x00b", ""},
		{string(bytes.Repeat([]byte{0}, 64)), ""},
	} {
		if got := looksUTF16([]byte(tt.in)); got != tt.want {
			t.Errorf("looksUTF16(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLongLine(t *testing.T) {
	const hdr = "Contact ID,Flow ID,Owner Email,Notes\n"
	long := strings.Repeat("x", 6000)
	for _, tt := range []struct{ name, input, wantErr string }{
		{"ended", hdr + "1,2,a@b.co," + long + "\n3,4,a@b.co,\n", "p.csv:2: a line longer than 5000 bytes: this is not CSV text, or its lines do not end with line breaks"},
		{"last", hdr + "1,2,a@b.co,\n3,4,a@b.co," + long, "p.csv:3: a line longer than 5000 bytes: this is not CSV text, or its lines do not end with line breaks"},
		{"header", long + "\n", "p.csv: reading the header row: a line longer than 5000 bytes: this is not CSV text, or its lines do not end with line breaks"},
		{"header with a quote that does not close", "\"Contact ID,Flow ID\nOwner\n", `p.csv:1: malformed header row: malformed CSV: the quote that opens cell 1 on line 1 is never closed`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := readAll(t, strings.NewReader(tt.input), Options{Name: "p.csv", MaxRowBytes: 5000})
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
