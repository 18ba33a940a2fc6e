//go:build linux

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	oc "github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// diskFiller fills the file system of dir, but for leave bytes, just
// before the assign request numbered at reaches the emulator.
type diskFiller struct {
	next    http.Handler
	dir     string
	at      int64
	leave   int64
	assigns atomic.Int64
	filled  atomic.Bool
}

func (d *diskFiller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/flows/prospects/assign" && d.assigns.Add(1) == d.at {
		var st syscall.Statfs_t
		if syscall.Statfs(d.dir, &st) == nil {
			free := int64(st.Bavail) * int64(st.Bsize)
			if free > d.leave {
				_ = os.WriteFile(filepath.Join(d.dir, "filler"), make([]byte, free-d.leave), 0o600)
				d.filled.Store(true)
			}
		}
	}
	d.next.ServeHTTP(w, r)
}

// TestTruthFullDisk (#20.11): the disk of --out fills up at the run's last
// request, leaving room for the journal but not for the result files.
// summary.json must not claim rows assigned that no file holds: it counts
// them unprocessed (ResultsNotWritten), exit 1. With room again, the same
// command writes the files from the journal and assigns nothing again. It needs a
// tmpfs of its own (root, and a kernel that lets it mount one); without,
// it is skipped.
func TestTruthFullDisk(t *testing.T) {
	t.Parallel()
	disk := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(disk, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("no tmpfs to fill: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(disk, syscall.MNT_DETACH) })
	input := newProspects()
	var fill *diskFiller
	sc := newScenarioOf(t, input, gongConfig(nil), func(h http.Handler) http.Handler {
		fill = &diskFiller{next: h, dir: disk, at: int64(input.minRequests), leave: 12 << 10}
		return fill
	})
	sc.out = filepath.Join(disk, "out")

	r := sc.run(t, trigger{})
	if !fill.filled.Load() {
		t.Fatal("the disk was not filled")
	}
	if r.exit != 1 {
		t.Errorf("run 1: %v; want exit 1", r)
	}
	b, err := os.ReadFile(filepath.Join(sc.out, report.SummaryFile))
	if err != nil {
		t.Fatalf("run 1 left no summary.json: %v", err)
	}
	var sum report.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	onDisk := 0
	if _, err := os.Stat(filepath.Join(sc.out, report.AssignedFile)); err == nil {
		for _, o := range readResults(t, sc.out).byLine {
			if o.file == "assigned" {
				onDisk++
			}
		}
	}
	created := len(sc.gong.emu.Created())
	t.Logf("run 1: %v; Gong created %d instances, summary.json says %d assigned and %d unprocessed %v, assigned.csv holds %d",
		r, created, sum.Assigned, sum.Unprocessed, sum.UnprocessedByReason, onDisk)
	if sum.Assigned != onDisk || sum.ExitCode != 1 {
		t.Errorf("summary.json says %d assigned (exit %d); assigned.csv holds %d: it claims what no file holds", sum.Assigned, sum.ExitCode, onDisk)
	}
	if sum.UnprocessedByReason[oc.ReasonResultsNotWritten] == 0 {
		t.Errorf("summary.json counts no row %s: %v", oc.ReasonResultsNotWritten, sum.UnprocessedByReason)
	}

	if err := os.Remove(filepath.Join(disk, "filler")); err != nil {
		t.Fatal(err)
	}
	before := fill.assigns.Load()
	r = sc.run(t, trigger{})
	// The journal has every outcome it could write; if the disk filled
	// before its last lines (the answers of requests in flight), those rows
	// are read back, never assigned again.
	if r.exit != 3 || fill.assigns.Load() != before {
		t.Errorf("run 2: %v, %d assigns; want exit 3 and no assign", r, fill.assigns.Load()-before)
	}
	sc.summary(t, r)
	sc.check(t, true)
}
