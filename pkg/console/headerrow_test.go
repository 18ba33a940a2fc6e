package console

import "testing"

// TestHeaderRowField: the upload form's headerRow reaches the reader's
// options; a value that is no row number is refused.
func TestHeaderRowField(t *testing.T) {
	tests := []struct {
		name    string
		value   []string
		want    int
		wantErr bool
	}{
		{name: "absent: found by itself", want: 0},
		{name: "empty: found by itself", value: []string{""}, want: 0},
		{name: "a row", value: []string{" 6 "}, want: 6},
		{name: "not a number", value: []string{"six"}, wantErr: true},
		{name: "negative", value: []string{"-1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string][]string{}
			if tt.value != nil {
				fields["headerRow"] = tt.value
			}
			o, err := parseOptions(fields)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			in, err := inputOptions(o)
			if err != nil {
				t.Fatal(err)
			}
			if in.HeaderRow != tt.want {
				t.Errorf("HeaderRow %d, want %d", in.HeaderRow, tt.want)
			}
		})
	}
}
