package input

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encodings, the values of Options.Encoding (the --encoding flag) and of
// Format.Encoding.
const (
	EncodingAuto        = "auto"
	EncodingUTF8        = "utf-8"
	EncodingUTF16LE     = "utf-16le"
	EncodingUTF16BE     = "utf-16be"
	EncodingWindows1252 = "windows-1252"
)

// ParseEncoding checks the value of the --encoding flag and returns its
// canonical spelling: EncodingAuto (also for ""), EncodingUTF8,
// EncodingUTF16LE, EncodingUTF16BE or EncodingWindows1252. Case, '-', '_'
// and spaces are ignored, and the usual other names are accepted: "utf8",
// "cp1252", and "latin1" (read as Windows-1252, as browsers do).
func ParseEncoding(s string) (string, error) {
	switch strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s)) {
	case "", "auto":
		return EncodingAuto, nil
	case "utf8":
		return EncodingUTF8, nil
	case "utf16le":
		return EncodingUTF16LE, nil
	case "utf16be":
		return EncodingUTF16BE, nil
	case "windows1252", "cp1252", "latin1", "iso88591":
		return EncodingWindows1252, nil
	}
	return "", fmt.Errorf("--encoding %q: want auto, %s, %s, %s or %s", s, EncodingUTF8, EncodingUTF16LE, EncodingUTF16BE, EncodingWindows1252)
}

// sniffBytes is how much of the file the encoding is guessed from when no
// byte order mark says it.
const sniffBytes = 64 << 10

// Format is how the Reader reads the bytes of the input, found in the file
// or as Options forced it.
type Format struct {
	Encoding  string // EncodingUTF8, EncodingUTF16LE, EncodingUTF16BE or EncodingWindows1252
	BOM       bool   // the file starts with a byte order mark
	Delimiter string // ",", ";", "tab" or "|"
}

// String describes the format for a log line: "utf-16le with BOM,
// tab-separated".
func (f Format) String() string {
	s := f.Encoding
	if f.BOM {
		s += " with BOM"
	}
	return s + ", " + delimiterName(f.Delimiter) + "-separated"
}

// decode returns the text of raw as UTF-8, with any byte order mark
// removed. enc is a value of ParseEncoding.
//
// In auto mode a byte order mark decides (UTF-8, UTF-16LE or UTF-16BE).
// Without one the file is UTF-8, unless its first 64 KiB are not valid
// UTF-8: then it is Windows-1252, what Excel for Windows writes as "CSV
// (Comma delimited)". Either way, a byte that is not part of valid UTF-8 is
// read as Windows-1252, so a stray byte further down does not need a
// second pass to be read the way a person means it.
func decode(name string, raw io.Reader, enc string) (io.Reader, Format, error) {
	br := bufio.NewReaderSize(raw, sniffBytes)
	// A read error is not reported here: bufio returns what it has, then
	// the error, at the read where it belongs.
	head, _ := br.Peek(sniffBytes)
	if what := notText(head); what != "" {
		return nil, Format{}, &NotCSVError{Name: name, Line: 1, Found: what}
	}
	bom := bomOf(head)
	f := Format{Encoding: enc, BOM: bom != ""}
	switch {
	case enc == EncodingAuto && bom != "":
		f.Encoding = bom
	case enc == EncodingAuto && looksUTF16(head) != "":
		e := looksUTF16(head)
		return nil, Format{}, &NotCSVError{Name: name, Line: 1, Found: fmt.Sprintf("text with a zero byte after every character, UTF-16 without a byte order mark; read it with --encoding %s", e)}
	case enc == EncodingAuto && !validUTF8Prefix(head, len(head) < sniffBytes):
		f.Encoding = EncodingWindows1252
	case enc == EncodingAuto:
		f.Encoding = EncodingUTF8
	case bom != "" && bom != enc:
		return nil, Format{}, fmt.Errorf("%s: the file starts with a %s byte order mark, but the encoding was given as %s", name, bom, enc)
	}
	if f.BOM {
		if _, err := br.Discard(bomLen(bom)); err != nil {
			return nil, Format{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	switch f.Encoding {
	case EncodingUTF8:
		return transform.NewReader(br, utf8OrWindows1252{}), f, nil
	case EncodingUTF16LE:
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()), f, nil
	case EncodingUTF16BE:
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()), f, nil
	case EncodingWindows1252:
		return transform.NewReader(br, charmap.Windows1252.NewDecoder()), f, nil
	}
	return nil, Format{}, fmt.Errorf("%s: unknown encoding %q", name, enc)
}

func bomOf(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		return EncodingUTF8
	case bytes.HasPrefix(head, []byte("\xff\xfe")):
		return EncodingUTF16LE
	case bytes.HasPrefix(head, []byte("\xfe\xff")):
		return EncodingUTF16BE
	}
	return ""
}

func bomLen(enc string) int {
	if enc == EncodingUTF8 {
		return 3
	}
	return 2
}

// validUTF8Prefix reports whether head is valid UTF-8, allowing a rune cut
// in two at its end when more of the file follows.
func validUTF8Prefix(head []byte, whole bool) bool {
	if !whole {
		for i := 1; i < utf8.UTFMax && i <= len(head); i++ {
			if utf8.RuneStart(head[len(head)-i]) {
				if !utf8.FullRune(head[len(head)-i:]) {
					head = head[:len(head)-i]
				}
				break
			}
		}
	}
	return utf8.Valid(head)
}

// looksUTF16 recognises UTF-16 text without a byte order mark by its zero
// bytes: ASCII in UTF-16LE has one after every character, in UTF-16BE one
// before. It returns the encoding, or "".
func looksUTF16(head []byte) string {
	n := min(len(head), 256) &^ 1
	if n < 8 {
		return ""
	}
	var even, odd int
	for i := 0; i < n; i += 2 {
		if head[i] == 0 {
			even++
		}
		if head[i+1] == 0 {
			odd++
		}
	}
	switch pairs := n / 2; {
	case odd*4 >= pairs*3 && even == 0:
		return EncodingUTF16LE
	case even*4 >= pairs*3 && odd == 0:
		return EncodingUTF16BE
	}
	return ""
}

// notText names what the file is when its first bytes say it is not text
// at all: the workbook people upload instead of its CSV export, most often.
func notText(head []byte) string {
	magic := []struct{ prefix, what string }{
		{"PK\x03\x04", "a ZIP archive, which is what Excel (.xlsx), Numbers (.numbers) and OpenDocument (.ods) workbooks are; open it and export or save it as CSV UTF-8"},
		{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls); open it in Excel and save it as CSV UTF-8"},
		{"%PDF-", "a PDF document; export the report from the CRM as CSV instead"},
		{"\x1f\x8b", "a gzip-compressed file; decompress it first"},
	}
	for _, m := range magic {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.what
		}
	}
	// Text never starts with zero bytes: UTF-16 has one in every other
	// byte at most. Caught here, /dev/zero fails at once, not after a line
	// of MaxRowBytes.
	if len(head) >= 8 && bytes.Equal(head[:8], make([]byte, 8)) {
		return "binary data: it starts with zero bytes (a damaged or preallocated file, or a device such as /dev/zero)"
	}
	return ""
}

// NotCSVError is the fatal error for a file that is not CSV text at all: a
// workbook, binary data, UTF-16 without a byte order mark.
type NotCSVError struct {
	Name  string // the input's name: a file path or "stdin"
	Line  int    // where reading broke
	Found string // what was found there, and what to do
}

// Error says what was found and on which line.
func (e *NotCSVError) Error() string {
	return fmt.Sprintf("%s:%d: this is not CSV text: it is %s", e.Name, e.Line, e.Found)
}

// ErrNoRows was wrapped by the fatal error of a file with a header row and
// no data row. Such a file now reads as zero rows without an error (the
// contract makes it a run with nothing to do, and a warning); ErrNoRows
// is kept so that callers testing for it still compile.
var ErrNoRows = errors.New("no data rows")

// utf8OrWindows1252 decodes UTF-8, reading each byte that is not part of a
// valid UTF-8 sequence as Windows-1252: a file that is mostly UTF-8 with a
// few bytes pasted from an Excel "CSV (Comma delimited)" file, or a
// Windows-1252 file whose first 64 KiB happened to be ASCII, reads the way a
// person sees it.
type utf8OrWindows1252 struct{ transform.NopResetter }

func (utf8OrWindows1252) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if n := asciiPrefix(src[nSrc:min(len(src), nSrc+len(dst)-nDst)]); n > 0 {
			copy(dst[nDst:], src[nSrc:nSrc+n])
			nDst += n
			nSrc += n
			continue
		}
		if nDst >= len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		r, size := utf8.DecodeRune(src[nSrc:])
		if r == utf8.RuneError && size == 1 {
			if !atEOF && !utf8.FullRune(src[nSrc:]) {
				// The rest of the rune is in the next chunk.
				return nDst, nSrc, transform.ErrShortSrc
			}
			r = charmap.Windows1252.DecodeByte(src[nSrc])
		}
		if nDst+utf8.RuneLen(r) > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		if size > 1 {
			nDst += copy(dst[nDst:], src[nSrc:nSrc+size])
		} else {
			nDst += utf8.EncodeRune(dst[nDst:], r)
		}
		nSrc += size
	}
	return nDst, nSrc, nil
}

// asciiPrefix returns how many bytes at the start of b are ASCII, eight at
// a time.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(b) && b[i] < utf8.RuneSelf; i++ {
	}
	return i
}
