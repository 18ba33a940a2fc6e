package similar

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"inbound demo reqest", "inbound demo request", 1},
		{"run", "runn", 1},
		{"flwo", "flow", 1}, // a swap of two neighbours is one edit
		{"kitten", "sitting", 3},
		{"", "ab", 2}, {"ca", "abc", 3}, {"zoë", "zoe", 1},
	} {
		if got := Distance([]rune(tc.a), []rune(tc.b)); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
