// Package docs checks that README.md and the pages under docs/ say what the
// program does: every sample output is what its command prints today,
// what-to-do.md is generated from the codes in pkg/outcome, and design.md's
// import graph is what `go list` says.
//
//	go test ./docs             checks
//	go test ./docs -update     rewrites the sample outputs and what-to-do.md
package docs

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

var update = flag.Bool("update", false, "rewrite the sample outputs in README.md and docs/*.md, and docs/what-to-do.md")

// root is the repository, from this package's folder.
const root = ".."

// binary is the flowenroll built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "flowenroll-docs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "flowenroll")
	build := exec.Command("go", "build", "-o", binary, "./cmd/flowenroll")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// docFiles are the pages whose sample outputs are checked.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(root, "README.md")}, pages...)
}

// A sample is a ```console block: its first line is `$ flowenroll ARGS`, the
// rest what that command prints (standard output, then standard error less
// its JSON log lines).
type sample struct {
	start, end int // the block's body, as byte offsets in the page
	command    string
	shown      string
}

var fence = regexp.MustCompile("(?m)^```console\n((?s:.*?))^```\n")

func samples(t *testing.T, page string, doc []byte) []sample {
	t.Helper()
	var out []sample
	for _, m := range fence.FindAllSubmatchIndex(doc, -1) {
		body := string(doc[m[2]:m[3]])
		first, rest, _ := strings.Cut(body, "\n")
		if !strings.HasPrefix(first, "$ flowenroll ") {
			t.Errorf("%s: a console block that is no `$ flowenroll` command: %q; show commands in ```sh blocks, outputs only with the command that prints them", page, first)
			continue
		}
		out = append(out, sample{start: m[2] + len(first) + 1, end: m[3], command: strings.TrimPrefix(first, "$ "), shown: rest})
	}
	return out
}

// varying matches what changes from one run to the next; both sides are
// normalised with it before they are compared.
var varying = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`time [0-9.]+(ms|s|m[0-9.]+s|h[0-9hm.]+s)\b`), "time T"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "DATE"},
	{regexp.MustCompile(`http://127\.0\.0\.1:\d+`), "http://127.0.0.1:PORT"},
	// On a loaded machine a send can reach the emulator late enough to
	// draw a 429 (docs/pacing.md): requests, retries and 429s then differ.
	{regexp.MustCompile(`requests \d+, retries \d+, 429s \d+`), "requests N, retries R, 429s R"},
}

func normalise(s string) string {
	for _, v := range varying {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// execute runs a sample's command from the repository's root. An --out
// (or --data) folder is replaced by a fresh temporary one, and its name put
// back in the output.
func execute(t *testing.T, command string) string {
	t.Helper()
	args := strings.Fields(command)[1:]
	var outDir string
	for i := 0; i < len(args)-1; i++ {
		if args[i] == "--out" || args[i] == "--data" {
			outDir = args[i+1]
			args[i+1] = filepath.Join(t.TempDir(), "out")
		}
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = root
	cmd.Env = append(cleanEnv(), "FLOWENROLL_LOG_FORMAT=json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("%s: %v", command, err)
		}
	}
	var b strings.Builder
	b.WriteString(stdout.String())
	for _, line := range strings.SplitAfter(stderr.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, `{"level"`) {
			b.WriteString(line)
		}
	}
	out := b.String()
	if outDir != "" {
		for i, a := range args {
			if i > 0 && (args[i-1] == "--out" || args[i-1] == "--data") {
				out = strings.ReplaceAll(out, a, outDir)
			}
		}
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out
}

// cleanEnv is the environment less anything that would change what the
// commands print: Gong credentials and flowenroll's own settings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GONG_") || strings.HasPrefix(kv, "FLOWENROLL_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// TestSamples runs the command of every sample output in README.md and
// docs/*.md and compares what it prints with what the page shows, up to
// times, dates and ports. -update writes what the commands print.
func TestSamples(t *testing.T) {
	total := 0
	for _, page := range docFiles(t) {
		doc, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		ss := samples(t, page, doc)
		total += len(ss)
		updated := doc
		for i := len(ss) - 1; i >= 0; i-- {
			s := ss[i]
			got := execute(t, s.command)
			if *update {
				updated = slices.Concat(updated[:s.start:s.start], []byte(got), updated[s.end:])
				continue
			}
			if diff := cmp.Diff(normalise(s.shown), normalise(got)); diff != "" {
				t.Errorf("%s: `%s` prints otherwise than the page shows (-shown +printed):\n%s", page, s.command, diff)
			}
		}
		if *update && !bytes.Equal(updated, doc) {
			if err := os.WriteFile(page, updated, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if total == 0 {
		t.Error("no sample output found: the fence pattern no longer matches the pages")
	}
}

// TestSpreadsheetRows checks docs/spreadsheets.md's rows of failed.csv
// against the failed.csv that the command above each block writes.
// (pkg/input's TestExportsDoc checks the same blocks against the reader.)
func TestSpreadsheetRows(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "spreadsheets.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?m)^```text\n# (samples/exports/\\S+): read as [^\n]*\n# failed.csv of `flowenroll plan ([^`]*)`: line, errorCode, errorMessage\n((?s:.*?))^```\n")
	ms := block.FindAllSubmatch(doc, -1)
	if len(ms) < 10 {
		t.Fatalf("docs/spreadsheets.md shows failed.csv for %d samples, want 10", len(ms))
	}
	for _, m := range ms {
		args := strings.Fields(string(m[2]))
		out := t.TempDir()
		for i := range args {
			if i > 0 && args[i-1] == "--out" {
				args[i] = out
			}
		}
		cmd := exec.Command(binary, append([]string{"plan"}, args...)...)
		cmd.Dir = root
		cmd.Env = cleanEnv()
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("flowenroll plan %s: %v\n%s", m[2], err, b)
		}
		rows := readFailed(t, filepath.Join(out, "failed.csv"))
		var shown []string
		for _, line := range strings.Split(strings.TrimSuffix(string(m[3]), "\n"), "\n") {
			if line != "" {
				shown = append(shown, line)
			}
		}
		if diff := cmp.Diff(shown, rows); diff != "" {
			t.Errorf("%s: failed.csv (-shown +written):\n%s", m[1], diff)
		}
	}
}

// readFailed renders failed.csv's rows as the page shows them.
func readFailed(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range recs[1:] {
		line, _ := strconv.Atoi(r[0])
		msg := strings.Replace(r[6], reexport, "[re-export]", 1)
		rows = append(rows, fmt.Sprintf("%-4d %-20s %s", line, r[5], msg))
	}
	return rows
}

// reexport is the reader's advice on exporting a damaged file again,
// shortened to "[re-export]" on the page.
const reexport = `export the file again and upload it without opening it in a spreadsheet, or open it with the ID columns as text (Excel: Data > From Text/CSV > Do not detect data types; Google Sheets: File > Import, "Convert text to numbers, dates, and formulas" off)`

// whatToDo renders docs/what-to-do.md from outcome.Explanations.
func whatToDo() string {
	var b strings.Builder
	b.WriteString(`# What to do about each row

<!-- Generated from outcome.Explanations() (pkg/outcome/codes.go) by
     go test ./docs -update; TestWhatToDo fails when it differs. -->

Every row of the input ends in exactly one of ` + "`assigned.csv`, `failed.csv` and `unprocessed.csv`" + `.
This page lists every ` + "`errorCode`" + ` of ` + "`failed.csv`" + ` and every ` + "`reason`" + ` of
` + "`unprocessed.csv`" + `, with what it means and what to do. The console shows the same
words next to each group of rows.

## failed.csv: a final answer

The same command does not send these rows again. Fix what the row says, then
feed ` + "`failed.csv`" + ` itself back as ` + "`--input`" + ` (with a new ` + "`--out`" + `): it carries the
input's columns.

` + "`stage`" + ` says who answered: ` + "`input`" + ` (rejected before anything was sent: the file, Gong's
flow and user listings, duplicates), ` + "`api`" + ` (Gong answered the row in
` + "`prospectsNotAssigned`" + `; the code is Gong's), ` + "`request`" + ` (Gong refused the whole
request).

| stage | errorCode | what it means | what to do |
| --- | --- | --- | --- |
`)
	for _, e := range outcome.Explanations() {
		if e.Kind == outcome.Failed {
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", e.Stage, e.Code, cell(e.Meaning), cell(e.Fix))
		}
	}
	b.WriteString(`
## unprocessed.csv: no final answer yet

The same command, with the same ` + "`--out`" + `, sends these rows again; nothing settled
is sent twice. A run that stops with rows here exits 4, or 1 for
` + "`Unauthorized`, `Forbidden` and `Unreachable`" + ` (the setup is wrong: fix it first).

| reason | what it means | what to do |
| --- | --- | --- |
`)
	for _, e := range outcome.Explanations() {
		if e.Kind == outcome.Unprocessed {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", e.Code, cell(e.Meaning), cell(e.Fix))
		}
	}
	b.WriteString(`
## undo-failed.csv: instances undo did not remove

| errorCode | what it means | what to do |
| --- | --- | --- |
`)
	for _, e := range outcome.UndoExplanations() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", e.Code, cell(e.Meaning), cell(e.Fix))
	}
	return b.String()
}

// flagRef is a flag, with its value when the value is one of a few words.
var flagRef = regexp.MustCompile(`(--[a-z][a-z-]*(?: (?:name|email|auto|salesforce)\b)?)`)

// cell puts flags in code spans and escapes a table cell's pipes.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return flagRef.ReplaceAllString(s, "`$1`")
}

// TestWhatToDo checks docs/what-to-do.md against outcome.Explanations, and
// that every Code and Reason constant of pkg/outcome is explained there.
func TestWhatToDo(t *testing.T) {
	path := filepath.Join(root, "docs", "what-to-do.md")
	want := whatToDo()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("docs/what-to-do.md is not what outcome.Explanations says; run go test ./docs -update (-want +got):\n%s", diff)
	}

	explained := map[string]bool{}
	for _, e := range append(outcome.Explanations(), outcome.UndoExplanations()...) {
		if e.Meaning == "" || e.Fix == "" {
			t.Errorf("%s: no meaning or no fix", e.Code)
		}
		explained[e.Code] = true
	}
	consts := codeConstants(t)
	if len(consts) < 20 {
		t.Fatalf("found %d Code and Reason constants in pkg/outcome; the parse went wrong", len(consts))
	}
	for name, value := range consts {
		if name == "CodeHTTPPrefix" {
			value += "nnn"
		}
		if !explained[value] {
			t.Errorf("outcome.%s (%q) is not in outcome.Explanations, so not in docs/what-to-do.md", name, value)
		}
	}
}

// codeConstants parses pkg/outcome for its Code* and Reason* string
// constants.
func codeConstants(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(root, "pkg", "outcome", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Code") && !strings.HasPrefix(id.Name, "Reason") {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: outcome.%s is not a string literal", fset.Position(id.Pos()), id.Name)
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[id.Name] = v
				}
			}
		}
	}
	return out
}

// TestImportGraph checks the import graph in docs/design.md against
// `go list`: the block after the `<!-- go list graph -->` marker. -update
// writes it (then read the prose around it again).
func TestImportGraph(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./pkg/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const prefix = "github.com/flowenroll/flowenroll/pkg/"
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		row := strings.TrimPrefix(fields[0], prefix) + ":"
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, prefix) {
				row += " " + strings.TrimPrefix(imp, prefix)
			}
		}
		want = append(want, row)
	}
	sort.Strings(want)

	path := filepath.Join(root, "docs", "design.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)<!-- go list graph -->\n```text\n(.*?)```\n")
	m := block.FindSubmatchIndex(doc)
	if m == nil {
		t.Fatal("docs/design.md has no ```text block after <!-- go list graph -->")
	}
	if *update {
		doc = slices.Concat(doc[:m[2]:m[2]], []byte(strings.Join(want, "\n")+"\n"), doc[m[3]:])
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		m = block.FindSubmatchIndex(doc)
	}
	got := strings.Split(strings.TrimSuffix(string(doc[m[2]:m[3]]), "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/design.md's import graph is not what go list says (-go list +doc):\n%s", diff)
	}
}

// TestSize checks the README stays a five-minute read, and that the links
// from README.md and docs/*.md to files of the repository lead somewhere.
func TestSize(t *testing.T) {
	info, err := os.Stat(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() >= 15_000 {
		t.Errorf("README.md is %d bytes; keep it under 15,000 and move the rest to docs/", info.Size())
	}
	link := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	for _, page := range docFiles(t) {
		doc, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllSubmatch(doc, -1) {
			target := filepath.Join(filepath.Dir(page), string(m[1]))
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links to %s, which does not exist", page, m[1])
			}
		}
	}
}
