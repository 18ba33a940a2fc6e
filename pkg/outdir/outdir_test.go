package outdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

func TestSecondHolderRefusedNamingTheFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	d, err := Acquire(dir, "run", t0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "plan", t0.Add(time.Minute))
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want a *HeldError", err)
	}
	host, _ := os.Hostname()
	want := Holder{PID: os.Getpid(), Host: host, Command: "flowenroll run", Since: "2026-12-01T09:30:00Z"}
	if held.Holder != want {
		t.Errorf("holder %+v, want %+v", held.Holder, want)
	}
	for _, part := range []string{"flowenroll run", host, "since 2026-12-01T09:30:00Z"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("message %q does not name %q", err, part)
		}
	}
	d.Release()
	d2, err := Acquire(dir, "run", t0)
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	d2.Release()
}

func TestWritesFindsResultFilesAndTheirLinks(t *testing.T) {
	dir := t.TempDir()
	d, err := Acquire(dir, "run", t0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	names := []string{"failed.csv", "unprocessed.csv"}
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	failed := write("failed.csv")
	tmp := write(".unprocessed.csv.123.0.tmp")
	other := write("mine.csv")
	link := filepath.Join(t.TempDir(), "link.csv")
	if err := os.Symlink(failed, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want string
	}{
		{failed, "failed.csv"},
		{link, "failed.csv"},
		{tmp, ".unprocessed.csv.123.0.tmp"},
		{other, ""},
		{filepath.Join(dir, "absent.csv"), ""},
	} {
		got, ok := d.Writes(tc.path, names)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Writes(%s) = %q, %v; want %q", tc.path, got, ok, tc.want)
		}
	}
	if got := d.Foreign([]string{"failed.csv", "assigned.csv"}); len(got) != 1 || got[0] != "failed.csv" {
		t.Errorf("Foreign = %v, want [failed.csv]", got)
	}
	d.RemoveTemporary(names)
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
}

// A folder Acquire made and nothing was written to is gone after Release
// (a run whose input could not be opened leaves no folder behind); a folder
// that was there, or that holds anything else, stays.
func TestReleaseRemovesOnlyAnEmptyFolderItMade(t *testing.T) {
	tests := []struct {
		name     string
		existing bool   // the folder was there before Acquire
		write    string // a file written in it while held
		wantKept bool
	}{
		{name: "made, nothing written", wantKept: false},
		{name: "made, a result written", write: "summary.json", wantKept: true},
		{name: "there before, nothing written", existing: true, wantKept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if tt.existing {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			d, err := Acquire(dir, "run", t0)
			if err != nil {
				t.Fatal(err)
			}
			if tt.write != "" {
				if err := os.WriteFile(filepath.Join(dir, tt.write), []byte("{}"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			d.Release()
			_, err = os.Stat(dir)
			if kept := err == nil; kept != tt.wantKept {
				t.Errorf("folder kept: %v, want %v (%v)", kept, tt.wantKept, err)
			}
			if again, err := Acquire(dir, "run", t0); err != nil {
				t.Errorf("Acquire after Release: %v", err)
			} else {
				again.Release()
			}
		})
	}
}
