package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/flowenroll/flowenroll/pkg/reconcile"
)

// verifyCmd is `flowenroll verify`.
type verifyCmd struct {
	env
	gongFlags
	fs *flag.FlagSet
}

func newVerifyCommand(e env) *verifyCmd {
	c := &verifyCmd{env: e, fs: flag.NewFlagSet("flowenroll verify", flag.ContinueOnError)}
	c.fs.SetOutput(e.stderr)
	c.gongFlags.register(c.fs)
	return c
}

func (c *verifyCmd) ffcli() *ffcli.Command {
	return &ffcli.Command{
		Name:       "verify",
		ShortUsage: "flowenroll verify --out DIR [flags]",
		ShortHelp:  "read back every assigned row of a run; changes nothing in Gong",
		LongHelp: `Read back every row the run in --out assigned (from its ledger) through
POST /v2/flows/prospects, up to 200 CRM IDs a request, paced as run is, and
write verify.csv: for each row, "open" (with its status), "no-longer-open",
"open-in-another-flow" (otherOpenFlowIds names them) or
"open-as-another-instance"; and a "verify" section in summary.json with the
counts. Sends no write to Gong. Exit 0 when every row was read back, 4 when
stopped first (rows "unknown"), 1 as for run.

Example:
  flowenroll verify --out results/`,
		FlagSet: c.fs,
		Options: ffOptions(),
		Exec:    c.Exec,
	}
}

// Exec runs the command.
func (c *verifyCmd) Exec(ctx context.Context, args []string) error {
	if err := c.gongFlags.check("verify", args); err != nil {
		return err
	}
	log := newLogger(c.logFormat, c.logLevel, c.stderr)
	defer log.Sync() //nolint:errcheck
	client, gw, stop, err := c.connect(c.env, log)
	if err != nil {
		return err
	}
	defer stop()
	sum, err := reconcile.Verify(ctx, reconcile.VerifyConfig{Dir: c.out, Client: client, Gateway: gw, Log: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "verify: %d assigned rows: %d open, %d no longer open, %d open in another flow, %d open as another instance, %d unknown; %d requests\nsee %s/%s\n",
		sum.Rows, sum.ByState[reconcile.StateOpen], sum.ByState[reconcile.StateNoLongerOpen], sum.ByState[reconcile.StateOpenInAnotherFlow],
		sum.ByState[reconcile.StateOpenAsAnotherInstance], sum.ByState[reconcile.StateUnknown], sum.Requests, c.out, reconcile.VerifyFile)
	return exitWith(sum.ExitCode)
}
