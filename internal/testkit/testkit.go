// Package testkit holds what the tests of several packages need alike: an
// HTTP transport that serves requests in memory (so that a test under
// testing/synctest runs the client, the pacer and the emulator on the
// bubble's fake clock), and readers of the result files. Only tests import
// it.
package testkit

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// Transport serves every request with Handler, in memory.
type Transport struct{ Handler http.Handler }

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.Handler.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// ReadCSV reads a whole CSV file, header included; rows may differ in
// length. It fails the test if the file cannot be read.
func ReadCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

// ReadRows reads a CSV file's data rows, each keyed by the header.
func ReadRows(t testing.TB, path string) []map[string]string {
	t.Helper()
	recs := ReadCSV(t, path)
	if len(recs) == 0 {
		return nil
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			if i < len(r) {
				m[h] = r[i]
			}
		}
		out = append(out, m)
	}
	return out
}
