package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// TestServeStartsAndDrains runs `flowenroll serve --sandbox` whose context
// has already ended (SIGTERM at once): it must accept its own defaults,
// start, and drain without error.
func TestServeStartsAndDrains(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	err := run(ctx, []string{"serve", "--sandbox", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--log-format", "json"},
		func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, errb.String())
	}
}

// `flowenroll serve --sandbox`, as the root help suggests it, starts with no
// --data (a fresh temporary folder); without --sandbox, --data is required.
func TestServeSandboxNeedsNoDataFolder(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	err := run(ctx, []string{"serve", "--sandbox", "--listen", "127.0.0.1:0", "--log-format", "json"},
		func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	if err != nil {
		t.Fatalf("serve --sandbox: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "flowenroll-sandbox-") {
		t.Errorf("banner %q: want it to name the fresh folder", out.String())
	}
	if r := invoke(t, nil, "serve", "--listen", "127.0.0.1:0"); r.code() != outcome.ExitUsage {
		t.Errorf("serve without --data or --sandbox: exit %d, want 2", r.code())
	}
}

func TestServeRefusesAnOpenAddressWithoutSignIn(t *testing.T) {
	r := invoke(t, nil, "serve", "--data", t.TempDir(), "--listen", "0.0.0.0:0")
	if r.code() != outcome.ExitUsage && r.code() != outcome.ExitFatal {
		t.Errorf("exit %d, want a refusal (err %v)", r.code(), r.err)
	}
	if r.err == nil || !strings.Contains(r.err.Error()+r.stderr, "sign") && !strings.Contains(r.err.Error()+r.stderr, "users") {
		t.Errorf("err %v: want it to say how to sign in", r.err)
	}
}

func TestServeChecksItsSendingFlagsAsRunDoes(t *testing.T) {
	for _, args := range [][]string{{"--rate", "NaN"}, {"--rate", "Inf"}, {"--concurrency", "100000000"}, {"--max-wait", "0s"}} {
		r := invoke(t, nil, append([]string{"serve", "--sandbox", "--data", t.TempDir()}, args...)...)
		if r.code() != outcome.ExitUsage {
			t.Errorf("serve %v: exit %d (%v), want 2", args, r.code(), r.err)
		}
	}
}

// --auth-header believes anyone who reaches the port unless the proxy is
// named or the console is on loopback: serve refuses to start.
func TestServeRefusesAnAuthHeaderFromAnyone(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"open address, no proxy", []string{"--listen", "0.0.0.0:0", "--auth-header", "X-Forwarded-Email"}, outcome.ExitUsage},
		{"bad CIDR", []string{"--listen", "0.0.0.0:0", "--auth-header", "X-Forwarded-Email", "--trusted-proxy", "10.0.0.0/33"}, outcome.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invoke(t, nil, append([]string{"serve", "--sandbox", "--data", t.TempDir()}, tt.args...)...)
			if r.code() != tt.want || r.err == nil || !strings.Contains(r.err.Error(), "--trusted-proxy") {
				t.Errorf("exit %d (%v), want %d naming --trusted-proxy", r.code(), r.err, tt.want)
			}
		})
	}
}
