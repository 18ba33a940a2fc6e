package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func fixedNow() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }

// A run kept survives a restart: Open reads back what Put wrote, and a
// folder whose run.json is not a run's is refused rather than skipped.
func TestOpenReadsBack(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	run := Run{ID: id, Kind: KindEnroll, Status: StatusChecked, File: "leads.csv", CreatedBy: "ann@example.com", CreatedAt: fixedNow()}
	if err := st.Put(run); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := again.Get(id)
	if diff := cmp.Diff(run, got); !ok || diff != "" {
		t.Errorf("read back (found %v; -put +got):\n%s", ok, diff)
	}
	if err := os.WriteFile(filepath.Join(again.RunDir(id), metaFile), []byte(`{"id":"another"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, fixedNow); err == nil || !strings.Contains(err.Error(), "not a run's metadata") {
		t.Errorf("a run.json of another run: %v", err)
	}
}

// DeleteFiles keeps run.json and says who deleted the files; a run queued
// or running is refused, and a run the store does not hold is an error.
func TestDeleteFiles(t *testing.T) {
	for _, tc := range []struct {
		status  string
		wantErr bool
	}{
		{StatusFinished, false},
		{StatusChecked, false},
		{StatusQueued, true},
		{StatusRunning, true},
	} {
		t.Run(tc.status, func(t *testing.T) {
			st, err := Open(t.TempDir(), fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := st.Reserve()
			if err := st.Put(Run{ID: id, Kind: KindEnroll, Status: tc.status}); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(st.RunDir(id), UploadName("a.csv")), []byte("x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := st.DeleteFiles(id, "ann@example.com")
			var busy BusyError
			if tc.wantErr != errors.As(err, &busy) || (err != nil && !tc.wantErr) {
				t.Fatalf("DeleteFiles: %v", err)
			}
			if st.HasFiles(id) != tc.wantErr {
				t.Errorf("files left: %v, want %v", st.HasFiles(id), tc.wantErr)
			}
			if !tc.wantErr && (got.FilesDeletedBy != "ann@example.com" || !got.FilesDeletedAt.Equal(fixedNow())) {
				t.Errorf("the record: deleted by %q at %v", got.FilesDeletedBy, got.FilesDeletedAt)
			}
		})
	}
	st, _ := Open(t.TempDir(), fixedNow)
	if _, err := st.DeleteFiles("20261201-120000-abcdef", "ann@example.com"); !errors.Is(err, errNoRun) {
		t.Errorf("a run not held: %v", err)
	}
}
