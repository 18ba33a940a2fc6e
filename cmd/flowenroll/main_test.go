package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/outcome"
	"github.com/flowenroll/flowenroll/pkg/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type result struct {
	err            error
	stdout, stderr string
}

func (r result) code() int {
	var ee *exitError
	var ue *usageError
	switch {
	case r.err == nil, errors.Is(r.err, errHelp):
		return 0
	case errors.As(r.err, &ee):
		return ee.code
	case errors.As(r.err, &ue):
		return outcome.ExitUsage
	}
	return outcome.ExitFatal
}

func invoke(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	return result{err: err, stdout: out.String(), stderr: errb.String()}
}

func TestHelpAndUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout+stderr+error
	}{
		{"root help", []string{"--help"}, 0, "EXIT CODES"},
		{"run help", []string{"run", "--help"}, 0, "-max-requests 0"},
		{"no command", nil, outcome.ExitUsage, "a command is required"},
		{"unknown flag", []string{"run", "--bogus"}, outcome.ExitUsage, "bogus"},
		{"misspelt flag", []string{"run", "--inptu", "x"}, outcome.ExitUsage, "run: unknown flag --inptu: did you mean --input? (flowenroll run --help lists its flags)"},
		{"misspelt flag of undo", []string{"undo", "--dryrun"}, outcome.ExitUsage, "did you mean --dry-run?"},
		{"missing input", []string{"run", "--out", "x"}, outcome.ExitUsage, "--input is required"},
		{"missing out", []string{"run", "--input", "x"}, outcome.ExitUsage, "--out is required"},
		{"chunk size", []string{"run", "--input", "x", "--out", "y", "--chunk-size", "201"}, outcome.ExitUsage, "--chunk-size must be 1 to 200"},
		{"rate", []string{"run", "--input", "x", "--out", "y", "--rate", "0"}, outcome.ExitUsage, "--rate must be above 0"},
		{"bad map", []string{"plan", "--input", "x", "--map", "nope"}, outcome.ExitUsage, "--map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, nil, tc.args...)
			if r.code() != tc.code {
				t.Errorf("exit %d, want %d (err %v)", r.code(), tc.code, r.err)
			}
			all := r.stdout + r.stderr
			if r.err != nil {
				all += r.err.Error()
			}
			if !strings.Contains(all, tc.want) {
				t.Errorf("output does not mention %q:\n%s", tc.want, all)
			}
		})
	}
}

func TestBadConfigurationFailsBeforeAnyRequest(t *testing.T) {
	emu, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	in := filepath.Join("..", "..", "samples", "prospects.csv")
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no credentials", map[string]string{"GONG_BASE_URL": srv.URL}, "no Gong credentials"},
		{"half a key pair", map[string]string{"GONG_BASE_URL": srv.URL, "GONG_ACCESS_KEY": "k"}, "GONG_ACCESS_KEY_SECRET is not"},
		{"plain http elsewhere", map[string]string{"GONG_BASE_URL": "http://api.gong.io", "GONG_BEARER_TOKEN": "t"}, "plain http is refused"},
		{"unreadable secret file", map[string]string{"GONG_BASE_URL": srv.URL, "GONG_BEARER_TOKEN_FILE": "/nonexistent/token"}, "GONG_BEARER_TOKEN_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, tc.env, "run", "--input", in, "--out", t.TempDir())
			if r.code() != outcome.ExitFatal || r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("exit %d, err %v; want exit 1 mentioning %q", r.code(), r.err, tc.want)
			}
		})
	}
	if n := emu.Stats().Requests; n != 0 {
		t.Errorf("the emulator saw %d requests, want none", n)
	}
}

func TestMissingColumnsFailAtOnce(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(in, []byte("Contact ID,Email\nA1,a@example.com\n"), 0o600)
	r := invoke(t, nil, "run", "--sandbox", "--input", in, "--out", t.TempDir())
	if r.code() != outcome.ExitFatal || !strings.Contains(r.err.Error(), "Contact ID") || !strings.Contains(r.err.Error(), "flowInstanceOwnerEmail") {
		t.Errorf("exit %d, err %v; want exit 1 naming the missing column and the headers found", r.code(), r.err)
	}
}

// TestSandboxSample is `make demo`: the sample against the in-process
// emulator (Gong's 3 requests per second) at the default --rate 3 ends with
// exit 3 and every data line is in exactly one file. (Whether a request went
// over the limit depends on scheduling under a loaded test machine: see
// pkg/enroll's TestNoRequestOverTheLimitAtRate3 and make bench.)
func TestSandboxSample(t *testing.T) {
	out := t.TempDir()
	in := filepath.Join("..", "..", "samples", "prospects.csv")
	r := invoke(t, nil, "run", "--sandbox", "--input", in, "--out", out)
	if r.code() != 3 {
		t.Fatalf("exit %d (%v), want 3; stderr:\n%s", r.code(), r.err, r.stderr)
	}
	f, _ := os.Open(in)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, name := range []string{report.AssignedFile, report.FailedFile, report.UnprocessedFile} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows[1:] {
			if prev, ok := seen[row[0]]; ok {
				t.Errorf("line %s in %s and %s", row[0], prev, name)
			}
			seen[row[0]] = name
		}
	}
	if len(seen) != len(recs)-1 {
		t.Errorf("%d lines in the result files, want %d (every data line of the sample)", len(seen), len(recs)-1)
	}
	var sum report.Summary
	b, _ := os.ReadFile(filepath.Join(out, report.SummaryFile))
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.ExitCode != 3 || sum.RowsRead != len(recs)-1 || sum.FailedByStage["input"]["FlowNotVisible"] == 0 {
		t.Errorf("summary.json = %+v", sum)
	}
	if !strings.Contains(r.stdout, "assigned") || !strings.Contains(r.stdout, out) {
		t.Errorf("stdout lacks the human summary:\n%s", r.stdout)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	const key, secret = "AKIAFLOWENROLLKEY1", "s3cr3t-Flowenroll-Value-99"
	emu, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(), AccessKey: key, AccessKeySecret: secret, RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	out := t.TempDir()
	in := filepath.Join("..", "..", "samples", "prospects.csv")
	env := map[string]string{"GONG_BASE_URL": srv.URL, "GONG_ACCESS_KEY": key, "GONG_ACCESS_KEY_SECRET": secret}
	r := invoke(t, env, "run", "--input", in, "--out", out, "--log-level", "debug", "--rate", "50")
	if r.code() != 3 {
		t.Fatalf("exit %d (%v), want 3", r.code(), r.err)
	}
	// A wrong secret too: the 401 path must not echo it either.
	env["GONG_ACCESS_KEY_SECRET"] = secret + "x"
	r2 := invoke(t, env, "run", "--input", in, "--out", t.TempDir(), "--log-level", "debug", "--restart")
	if r2.code() != outcome.ExitFatal {
		t.Fatalf("wrong secret: exit %d, want 1", r2.code())
	}
	haystacks := map[string]string{"stdout": r.stdout + r2.stdout, "stderr": r.stderr + r2.stderr}
	if r2.err != nil {
		haystacks["error"] = r2.err.Error()
	}
	files, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(files) < 5 {
		t.Fatalf("out holds %v, want the result files and the ledger", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		haystacks[f] = string(b)
		// They hold email addresses: owner only.
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	basic := "QUtJQUZMT1dFTlJPTExLRVkxOnMzY3IzdC1GbG93ZW5yb2xsLVZhbHVlLTk5" // base64(key:secret)
	for where, text := range haystacks {
		for _, s := range []string{secret, basic, key} {
			if strings.Contains(text, s) {
				t.Errorf("%s contains a credential (%.6s…)", where, s)
			}
		}
	}
}
