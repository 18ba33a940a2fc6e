package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/enroll"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

// planCmd is `flowenroll plan`.
type planCmd struct {
	env
	common
	rate    float64
	sandbox bool
	fs      *flag.FlagSet
}

func newPlanCommand(e env) *planCmd {
	c := &planCmd{env: e, fs: flag.NewFlagSet("flowenroll plan", flag.ContinueOnError)}
	c.fs.SetOutput(e.stderr)
	c.common.register(c.fs)
	c.fs.Float64Var(&c.rate, "rate", 3, "requests per second for the flow listings, and the quota the time estimate assumes")
	c.fs.BoolVar(&c.sandbox, "sandbox", false, "resolve flow names and check flows against the in-process emulator, as run --sandbox does (no credentials needed)")
	return c
}

func (c *planCmd) ffcli() *ffcli.Command {
	return &ffcli.Command{
		Name:       "plan",
		ShortUsage: "flowenroll plan --input PATH [--out DIR] [flags]",
		ShortHelp:  "dry run: validate the file and print the request plan; sends nothing",
		LongHelp: `Dry run: the same reading and validation as run. Prints the requests it would
send per flow and owner, how long they take at the quota, and the rejected rows
grouped by reason. With --out it writes the rejected rows to failed.csv. Sends
no assign request and needs no credentials; with credentials (GONG_* as for
run) it also resolves flow names and checks each flow is visible to its owner
(GET /v2/flows), and says clearly when it did not.

Example:
  flowenroll plan --input prospects.csv --out check/`,
		FlagSet: c.fs,
		Options: ffOptions(),
		Exec:    c.Exec,
	}
}

// Exec runs the command.
func (c *planCmd) Exec(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usagef("plan: unexpected arguments %q", args)
	}
	m, err := c.common.check(false)
	if err != nil {
		return err
	}
	if !(c.rate > 0 && c.rate <= 1000) {
		return usagef("--rate must be above 0 and at most 1000 requests a second, got %v", c.rate)
	}
	log := newLogger(c.logFormat, c.logLevel, c.stderr)
	defer log.Sync() //nolint:errcheck
	pc := enroll.PlanConfig{InputPath: c.input, Stdin: c.stdin, OutDir: c.out, Input: m, ChunkSize: c.chunkSize, Preflight: c.preflight, Log: log,
		Sheet: c.sheet, MaxInputBytes: c.maxInput, OwnerBy: c.ownerBy}
	// Credentials are optional for plan: with them (or --sandbox) it
	// resolves flow names and runs the preflight; without, it says it did
	// not.
	client, stop, err := c.client(log)
	if err != nil {
		return err
	}
	defer stop()
	if client != nil {
		pc.Client, pc.Limiter = client, newPacer(c.rate, c.out)
	}
	p, err := enroll.MakePlan(ctx, pc)
	if err != nil {
		return err
	}
	printPlan(c.stdout, p, c.rate)
	return nil
}

// client is the Gong client plan reads through: the sandbox's, the one the
// credentials name, or nil without credentials.
func (c *planCmd) client(log *zap.Logger) (*gong.Client, func(), error) {
	base, stop := c.getenv(gong.EnvBaseURL), func() {}
	var creds gong.Credentials
	var err error
	if c.sandbox {
		var key, secret string
		base, key, secret, stop, err = startSandbox(log, "", true)
		creds = gong.Credentials{AccessKey: key, AccessKeySecret: secret}
	} else {
		creds, err = gong.CredentialsFromEnv(c.getenv, gong.OpenSecret)
		if errors.Is(err, gong.ErrNoCredentials) {
			return nil, stop, nil
		}
	}
	if err != nil {
		return nil, nil, err
	}
	baseURL, err := gong.ParseBaseURL(base)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return gong.NewClient(baseURL, creds, &http.Client{Timeout: 30 * time.Second}, log), stop, nil
}
