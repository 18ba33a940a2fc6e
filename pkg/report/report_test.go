package report_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/internal/testkit"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/report"
)

// The columns of contract.md, "Outputs", in order.
var (
	assignedColumns    = strings.Split("line, crmProspectId, flowId, flowInstanceOwnerEmail, flowName, flowInstanceId, flowInstanceOwnerFullName, flowInstanceCreateDate, flowInstanceStatus, workspaceId, exclusive, requestId", ", ")
	failedColumns      = strings.Split("line, crmProspectId, flowId, flowInstanceOwnerEmail, stage, errorCode, errorMessage, httpStatus, requestId", ", ")
	unprocessedColumns = strings.Split("line, crmProspectId, flowId, flowInstanceOwnerEmail, reason", ", ")
)

func readCSV(t *testing.T, path string) [][]string { return testkit.ReadCSV(t, path) }

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestNeutralise(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"0031000001", "0031000001"},
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+1 555", "'+1 555"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"a=b", "a=b"},
		{" =1", " =1"},
		{"'=1", "'=1"},
		{"ava+tag@example.com", "ava+tag@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := report.Neutralise(tt.in); got != tt.want {
				t.Errorf("Neutralise(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got, err := report.Cell(tt.in).MarshalCSV(); got != tt.want || err != nil {
				t.Errorf("Cell(%q).MarshalCSV() = %q, %v, want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestStatusMarshalCSV(t *testing.T) {
	tests := []struct {
		in   report.Status
		want string
	}{{0, ""}, {400, "400"}, {429, "429"}, {503, "503"}}
	for _, tt := range tests {
		if got, err := tt.in.MarshalCSV(); got != tt.want || err != nil {
			t.Errorf("Status(%d).MarshalCSV() = %q, %v, want %q, nil", int(tt.in), got, err, tt.want)
		}
	}
}

// Every string column is written neutralised, in the contract's order.
func TestWriterFormulaNeutralisedColumns(t *testing.T) {
	dir := t.TempDir()
	w, err := report.Create(dir, report.Input{})
	if err != nil {
		t.Fatal(err)
	}
	row := func(line int, id, flow, owner string) outcome.Row {
		return outcome.Row{Line: line, CRMProspectID: id, FlowID: flow, OwnerEmail: owner}
	}
	err = w.Write(
		outcome.Assign(row(2, "=crm", "+flow", "-owner"), outcome.Instance{
			FlowName:      "@name",
			ID:            "\tinstance",
			OwnerFullName: "\rfull",
			CreateDate:    "=date",
			Status:        "+status",
			WorkspaceID:   "-workspace",
			Exclusive:     true,
		}, "@request"),
		outcome.Assign(row(3, "0031", "1695493301223590792", "ava@example.com"), outcome.Instance{
			FlowName:      "SDR, \"outbound\"",
			ID:            "8f1",
			OwnerFullName: "Ava Reyes",
			CreateDate:    "2026-03-10T12:00:00Z",
			Status:        "Running",
			WorkspaceID:   "623457276584334",
		}, "r-1"),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Write(
		outcome.Fail(row(4, "=crm", "+flow", "-owner"), "@stage", "\tcode", "\rmessage").WithAnswer(429, "=request"),
		outcome.Fail(row(5, "0032", "1695493301223590792", "ava@example.com"), "api", "InvalidState", "already in flow,\nline two").WithAnswer(0, "r-2"),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Write(outcome.Leave(row(6, "=crm", "+flow", "-owner"), "@reason"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		file string
		want [][]string
	}{
		{report.AssignedFile, [][]string{
			assignedColumns,
			{"2", "'=crm", "'+flow", "'-owner", "'@name", "'\tinstance", "'\rfull", "'=date", "'+status", "'-workspace", "true", "'@request"},
			{"3", "0031", "1695493301223590792", "ava@example.com", "SDR, \"outbound\"", "8f1", "Ava Reyes", "2026-03-10T12:00:00Z", "Running", "623457276584334", "false", "r-1"},
		}},
		{report.FailedFile, [][]string{
			failedColumns,
			{"4", "'=crm", "'+flow", "'-owner", "'@stage", "'\tcode", "'\rmessage", "429", "'=request"},
			{"5", "0032", "1695493301223590792", "ava@example.com", "api", "InvalidState", "already in flow,\nline two", "", "r-2"},
		}},
		{report.UnprocessedFile, [][]string{
			unprocessedColumns,
			{"6", "'=crm", "'+flow", "'-owner", "'@reason"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readCSV(t, filepath.Join(dir, tt.file))); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestCreateWritesHeadersOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "nested")
	w, err := report.Create(dir, report.Input{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string][][]string{
		report.AssignedFile:    {assignedColumns},
		report.FailedFile:      {failedColumns},
		report.UnprocessedFile: {unprocessedColumns},
	}
	got := map[string][][]string{}
	for name := range want {
		got[name] = readCSV(t, filepath.Join(dir, name))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{report.AssignedFile, report.FailedFile, report.UnprocessedFile}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
	if got := mode(t, dir); got != 0o700 {
		t.Errorf("output directory mode %v, want %v", got, fs.FileMode(0o700))
	}
}

func TestFileModes(t *testing.T) {
	for _, existed := range []bool{false, true} {
		name := "new files"
		if existed {
			name = "files that existed with mode 0644"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := []string{report.AssignedFile, report.FailedFile, report.UnprocessedFile, report.SummaryFile}
			if existed {
				for _, f := range files {
					p := filepath.Join(dir, f)
					if err := os.WriteFile(p, []byte("old content that must go\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
						t.Fatal(err)
					}
				}
			}
			w, err := report.Create(dir, report.Input{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := report.WriteSummary(dir, report.Summary{}); err != nil {
				t.Fatal(err)
			}
			want := map[string]fs.FileMode{}
			got := map[string]fs.FileMode{}
			for _, f := range files {
				want[f] = 0o600
				got[f] = mode(t, filepath.Join(dir, f))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("modes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([][]string{failedColumns}, readCSV(t, filepath.Join(dir, report.FailedFile))); diff != "" {
				t.Errorf("failed.csv not truncated (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateFailedModeOfExistingFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, report.FailedFile)
	if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := report.Create(dir, report.Input{}, outcome.Failed)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, p); got != 0o600 {
		t.Errorf("mode %v, want %v", got, fs.FileMode(0o600))
	}
}

func TestCounts(t *testing.T) {
	dir := t.TempDir()
	w, err := report.Create(dir, report.Input{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if diff := cmp.Diff(report.Counts{FailedByStage: map[string]map[string]int{}, UnprocessedByReason: map[string]int{}}, w.Counts()); diff != "" {
		t.Errorf("Counts of a new writer (-want +got):\n%s", diff)
	}
	r := func(line int) outcome.Row { return outcome.Row{Line: line} }
	steps := []error{
		w.Write(outcome.Assign(r(2), outcome.Instance{}, ""), outcome.Assign(r(3), outcome.Instance{}, "")),
		w.Write(),
		w.Write(
			outcome.Fail(r(4), "input", "MissingFlowId", ""),
			outcome.Fail(r(5), "api", "InvalidState", ""),
			outcome.Fail(r(6), "api", "InvalidState", ""),
		),
		w.Write(outcome.Fail(r(7), "api", "InvalidArgument", "")),
		w.Write(outcome.Fail(r(8), "request", "", "").WithAnswer(404, "")),
		w.Write(outcome.Leave(r(9), "interrupted"), outcome.Leave(r(10), "interrupted")),
		w.Write(outcome.Leave(r(11), "request-cap")),
		w.Write(),
	}
	for i, err := range steps {
		if err != nil {
			t.Errorf("step %d: %v", i, err)
		}
	}
	want := report.Counts{
		Assigned: 2,
		Failed:   5,
		FailedByStage: map[string]map[string]int{
			"input":   {"MissingFlowId": 1},
			"api":     {"InvalidState": 2, "InvalidArgument": 1},
			"request": {"": 1},
		},
		Unprocessed:         3,
		UnprocessedByReason: map[string]int{"interrupted": 2, "request-cap": 1},
	}
	if diff := cmp.Diff(want, w.Counts()); diff != "" {
		t.Errorf("Counts (-want +got):\n%s", diff)
	}
}

func TestWriteSummaryRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := report.Summary{
		Input:           "prospects.csv",
		InputSHA256:     strings.Repeat("ab", 32),
		StartedAt:       "2026-03-10T12:00:00Z",
		FinishedAt:      "2026-03-10T12:01:30Z",
		WallTimeSeconds: 90.5,
		RowsRead:        12,
		Counts: report.Counts{
			Assigned:            5,
			Failed:              4,
			FailedByStage:       map[string]map[string]int{"input": {"BadEmail": 1}, "api": {"InvalidState": 3}},
			Unprocessed:         3,
			UnprocessedByReason: map[string]int{"interrupted": 3},
		},
		RequestCounts: outcome.RequestCounts{
			Requests:     7,
			Retries:      2,
			RateLimited:  1,
			ReadBacks:    1,
			Splits:       1,
			FlowListings: 2,
			UserListings: 1,
		},
		RequestsThisRun: 5,
		Resumed:         true,
		StopReason:      "interrupted",
		ExitCode:        4,
	}
	if err := report.WriteSummary(dir, want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var got report.Summary
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// The counts sit at the top level beside the run's figures.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	var gotKeys []string
	for k := range keys {
		gotKeys = append(gotKeys, k)
	}
	slices.Sort(gotKeys)
	wantKeys := []string{
		"assigned", "exitCode", "failed", "failedByStage", "finishedAt", "flowListRequests", "input", "inputSha256",
		"rateLimited", "readBacks", "requests", "requestsThisRun", "resumed", "retries", "rowsRead", "splitRequests", "startedAt",
		"stopReason", "unprocessed", "unprocessedByReason", "userListRequests", "wallTimeSeconds",
	}
	if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
		t.Errorf("summary.json keys (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(string(b), "}\n") {
		t.Errorf("summary.json does not end in a newline: %q", b[max(0, len(b)-10):])
	}
	if diff := cmp.Diff([]string{report.SummaryFile}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

// A writer of one kind writes that file only.
func TestCreateFailed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plan")
	f, err := report.Create(dir, report.Input{}, outcome.Failed)
	if err != nil {
		t.Fatal(err)
	}
	outs := []outcome.Outcome{
		outcome.Fail(outcome.Row{Line: 2, CRMProspectID: "0031", FlowID: "abc", OwnerEmail: "ava@example.com"}, "input", "BadFlowId", "flowId is not digits: abc"),
		outcome.Fail(outcome.Row{Line: 3, CRMProspectID: "=1+1", FlowID: "1695493301223590792", OwnerEmail: "@ben"}, "input", "BadEmail", "-not an email"),
	}
	if err := f.Write(outs[0]); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(outs[1]); err != nil {
		t.Fatal(err)
	}
	// A row of a kind the writer has no file for is refused.
	if got, want := errString(f.Write(outcome.Leave(outcome.Row{Line: 4}, "Interrupted"))), "report: no file for unprocessed rows"; got != want {
		t.Errorf("Write of an unprocessed row: error %q, want %q", got, want)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	want := [][]string{
		failedColumns,
		{"2", "0031", "abc", "ava@example.com", "input", "BadFlowId", "flowId is not digits: abc", "", ""},
		{"3", "'=1+1", "1695493301223590792", "'@ben", "input", "BadEmail", "'-not an email", "", ""},
	}
	if diff := cmp.Diff(want, readCSV(t, filepath.Join(dir, report.FailedFile))); diff != "" {
		t.Errorf("failed.csv (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{report.FailedFile}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
	if got := mode(t, filepath.Join(dir, report.FailedFile)); got != 0o600 {
		t.Errorf("mode %v, want %v", got, fs.FileMode(0o600))
	}
}

func TestCreateUnwritableDirectory(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		create func(string) error
	}{
		{"Create", func(d string) error { _, err := report.Create(d, report.Input{}); return err }},
		{"Create failed only", func(d string) error { _, err := report.Create(d, report.Input{}, outcome.Failed); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := "output directory: mkdir " + blocker + ": not a directory"
			if got := errString(tt.create(blocker)); got != want {
				t.Errorf("error %q, want %q", got, want)
			}
		})
	}
}

// The input's other columns follow the contract's, in the input's order; a
// header that clashes with a column of the file gets the prefix "input.".
// failed.csv and unprocessed.csv carry the flow name when the input has one.
func TestWriterCarriedColumns(t *testing.T) {
	dir := t.TempDir()
	in := report.Input{FlowName: true, Extra: []string{"First Name", "reason", "flowName", "line", "Company"}}
	w, err := report.Create(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	byName := outcome.Row{Line: 2, CRMProspectID: "0031", FlowName: "SDR Outbound", OwnerEmail: "ava@example.com",
		Extra: []string{"Lena", "vip", "=SDR", "7", "+Soylent"}}
	byID := outcome.Row{Line: 3, CRMProspectID: "0032", FlowID: "1695493301223590792", OwnerEmail: "ben@example.com",
		Extra: []string{"Ethan"}} // fewer cells than headers: the rest blank
	err = w.Write(
		outcome.Assign(outcome.Row{Line: 4, CRMProspectID: "0034", FlowID: "1695493301223590792", FlowName: "SDR Outbound", OwnerEmail: "ava@example.com",
			Extra: []string{"Zoe", "", "SDR", "9", "Acme"}},
			outcome.Instance{FlowName: "SDR Outbound", ID: "8f1", OwnerFullName: "Ava Reyes", CreateDate: "2026-03-10T12:00:00Z", Status: "Running", WorkspaceID: "6234"}, "r-1"),
		outcome.Fail(byName, outcome.StageInput, outcome.CodeFlowNameNotFound, "no flow named SDR Outbound"),
		outcome.Fail(byID, outcome.StageAPI, outcome.CodeInvalidState, "already in flow").WithAnswer(200, "r-2"),
		outcome.Leave(byName, outcome.ReasonFlowListingFailed),
		outcome.Leave(byID, outcome.ReasonInterrupted),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cols := func(contract []string, more ...string) []string { return append(slices.Clone(contract), more...) }
	tests := []struct {
		file string
		want [][]string
	}{
		{report.AssignedFile, [][]string{
			// assigned.csv has flowName among its columns already.
			cols(assignedColumns, "First Name", "reason", "input.flowName", "input.line", "Company"),
			{"4", "0034", "1695493301223590792", "ava@example.com", "SDR Outbound", "8f1", "Ava Reyes", "2026-03-10T12:00:00Z", "Running", "6234", "false", "r-1",
				"Zoe", "", "SDR", "9", "Acme"},
		}},
		{report.FailedFile, [][]string{
			cols(failedColumns, "flowName", "First Name", "reason", "input.flowName", "input.line", "Company"),
			{"2", "0031", "", "ava@example.com", "input", "FlowNameNotFound", "no flow named SDR Outbound", "", "", "SDR Outbound", "Lena", "vip", "'=SDR", "7", "'+Soylent"},
			{"3", "0032", "1695493301223590792", "ben@example.com", "api", "InvalidState", "already in flow", "200", "r-2", "", "Ethan", "", "", "", ""},
		}},
		{report.UnprocessedFile, [][]string{
			cols(unprocessedColumns, "flowName", "First Name", "input.reason", "input.flowName", "input.line", "Company"),
			{"2", "0031", "", "ava@example.com", "FlowListingFailed", "SDR Outbound", "Lena", "vip", "'=SDR", "7", "'+Soylent"},
			{"3", "0032", "1695493301223590792", "ben@example.com", "Interrupted", "", "Ethan", "", "", "", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readCSV(t, filepath.Join(dir, tt.file))); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

// The files take their names only when the writer closes: until then the
// files of an earlier run stay as they were, and no result file is half
// written under its name.
func TestWriterNamesOnClose(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, report.AssignedFile)
	if err := os.WriteFile(old, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := report.Create(dir, report.Input{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(outcome.Assign(outcome.Row{Line: 2, CRMProspectID: "0031"}, outcome.Instance{ID: "8f1"}, "r-1")); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, dir)
	var final, temp []string
	for _, n := range names {
		if strings.HasPrefix(n, ".") {
			temp = append(temp, n)
		} else {
			final = append(final, n)
		}
	}
	if diff := cmp.Diff([]string{report.AssignedFile}, final); diff != "" {
		t.Errorf("before Close, result files under their names (-want +got):\n%s\n(all: %q)", diff, names)
	}
	if len(temp) != 3 {
		t.Errorf("before Close, %d temporary files, want 3: %q", len(temp), names)
	}
	if b, err := os.ReadFile(old); err != nil || string(b) != "old\n" {
		t.Errorf("before Close, assigned.csv holds %q, %v; want the earlier run's %q", b, err, "old\n")
	}

	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{report.AssignedFile, report.FailedFile, report.UnprocessedFile}, dirNames(t, dir)); diff != "" {
		t.Errorf("after Close (-want +got):\n%s", diff)
	}
	want := [][]string{assignedColumns, {"2", "0031", "", "", "", "8f1", "", "", "", "", "false", "r-1"}}
	if diff := cmp.Diff(want, readCSV(t, old)); diff != "" {
		t.Errorf("assigned.csv after Close (-want +got):\n%s", diff)
	}
}

// A symlink planted under a result file's name is replaced by the file, not
// followed: its target keeps its content.
func TestWriterReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(target, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	link := filepath.Join(dir, report.AssignedFile)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	w, err := report.Create(dir, report.Input{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(outcome.Assign(outcome.Row{Line: 2, CRMProspectID: "0031"}, outcome.Instance{ID: "8f1"}, "r-1")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("assigned.csv is %v, want a regular file with mode 0600", fi.Mode())
	}
	if diff := cmp.Diff([][]string{assignedColumns, {"2", "0031", "", "", "", "8f1", "", "", "", "", "false", "r-1"}}, readCSV(t, link)); diff != "" {
		t.Errorf("assigned.csv (-want +got):\n%s", diff)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "precious\n" {
		t.Errorf("the link's target holds %q, %v; want it unchanged", b, err)
	}
	if got := mode(t, target); got != 0o644 {
		t.Errorf("the link's target has mode %v, want it unchanged (0644)", got)
	}
}
