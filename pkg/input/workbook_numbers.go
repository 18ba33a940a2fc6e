package input

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
)

// excelGeneral is what Excel shows for a number stored as v in a General
// cell, where it matters here: 12 digits or more before the point, in
// scientific notation with up to 6 significant digits. Other numbers keep
// excelize's text, shown.
func excelGeneral(v, shown string) string {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.Abs(x) < 1e11 || math.IsInf(x, 0) {
		return shown
	}
	s := strconv.FormatFloat(x, 'E', 5, 64) // 1.69549E+18
	mant, exp, _ := strings.Cut(s, "E")
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	if len(exp) == 2 { // E+9 -> E+09, as Excel writes it
		exp = exp[:1] + "0" + exp[1:]
	}
	return mant + "E" + exp
}

// builtInDate reports whether Excel's built-in number format id is a date
// or time (ECMA-376 18.8.30, and the East Asian ones Excel adds).
func builtInDate(id int) bool {
	return id >= 14 && id <= 22 || id >= 27 && id <= 36 || id >= 45 && id <= 47 || id >= 50 && id <= 58
}

// customDate reports whether a format code shows a date or time: it has
// y, m, d, h or s outside quoted text, escapes and [brackets] ([h], [mm]
// and [ss], elapsed time, count).
func customDate(code string) bool {
	if strings.EqualFold(code, "General") {
		return false
	}
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			}
		case '\\', '_', '*':
			i++ // the next character is literal, or padding
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return false
			}
			if b := strings.ToLower(code[i+1 : i+j]); b != "" && strings.Trim(b, "hms") == "" {
				return true
			}
			i += j
		case 'y', 'Y', 'm', 'M', 'd', 'D', 'h', 'H', 's', 'S':
			return true
		}
	}
	return false
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
