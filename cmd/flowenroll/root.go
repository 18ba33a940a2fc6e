package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// exitError carries a non-zero exit code for a run that went as designed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// usageError is a wrong flag or argument (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

var errHelp = flag.ErrHelp

// env is what a command gets from the process: its environment and streams.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

const rootHelp = `flowenroll puts CRM prospects from a CSV or workbook into Gong Engage flows.
See README.md for the full contract.

COMMANDS
  run       enroll every valid row of the file in its flow
  plan      dry run: read and validate, print the request plan, send nothing
  undo      remove the flow instances a run created (from its ledger), no other
  verify    read back every row a run assigned: open, no longer open, elsewhere
  serve     the ops console: upload, check, run, follow and download in a browser
  emulator  a local stand-in for Gong's Engage flow API

EXAMPLES
  flowenroll run --input prospects.csv --out results/
  flowenroll run --sandbox --input samples/prospects.csv --out /tmp/demo
  flowenroll undo --sandbox --out /tmp/demo   (the sandbox's Gong kept in /tmp/demo)
  flowenroll plan --input prospects.csv
  flowenroll undo --out results/ --dry-run
  flowenroll verify --out results/
  flowenroll serve --sandbox            (the console at http://127.0.0.1:8080)
  cat prospects.csv | flowenroll run --input - --out results/

INPUT
  A CSV (or .xlsx) with a header row and the columns crmProspectId, flowId
  (digits) or flowName, and flowInstanceOwnerEmail. Header matching ignores
  case, spaces, _ and -; common aliases ("Contact ID", "Flow ID", "Owner
  Email", ...) are known and --map canonical=Header names any other header.
  Other columns are carried into the result files.

OUTPUT (in --out)
  assigned.csv, failed.csv, unprocessed.csv: every input row is in exactly one.
  failed.csv holds final answers only; unprocessed.csv what the same command
  sends again. summary.json: counts, requests, retries, 429s, wall time, exit
  code. One run at a time per --out.

CONFIGURATION
  Every flag can be set as FLOWENROLL_<FLAG> (upper case, - as _).
  Credentials only from the environment, never from flags:
    GONG_ACCESS_KEY + GONG_ACCESS_KEY_SECRET (Basic), or GONG_BEARER_TOKEN
    (OAuth); each also as <NAME>_FILE naming a file that holds it.
  GONG_BASE_URL, default https://api.gong.io; plain http only for loopback.

EXIT CODES
  0 every row was assigned
  1 fatal: bad credentials or scope (401, 403), Gong unreachable or a wrong
    base URL (also one that never answers), unreadable input, output not
    writable, held by another run or deleted, a damaged ledger
  2 usage: a wrong flag or argument
  3 finished, and some rows failed (see failed.csv)
  4 stopped early: some rows are unprocessed (signal, request cap, quota,
    an incomplete flow listing); the same command continues where it stopped
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintf(stdout, "flowenroll %s\n", version)
		return nil
	}
	subs := []*ffcli.Command{newRunCommand(e).ffcli(), newPlanCommand(e).ffcli(), newEmulatorCommand(getenv, stdout, stderr),
		newUndoCommand(e).ffcli(), newVerifyCommand(e).ffcli(), newServeCommand(getenv, stdout, stderr)}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && find(subs, args[0]) == nil {
		return usagef("unknown command %q%s", args[0], suggestCommand(subs, args[0]))
	}
	var cmd *ffcli.Command
	if len(args) > 0 {
		cmd = find(subs, args[0])
	}
	warnUnknownEnv(os.Environ(), cmd, subs, stderr)
	rootFS := flag.NewFlagSet("flowenroll", flag.ContinueOnError)
	root := &ffcli.Command{
		Name:        "flowenroll",
		ShortUsage:  "flowenroll <run|plan|undo|verify|serve|emulator> [flags]",
		FlagSet:     rootFS,
		Subcommands: subs,
		UsageFunc:   func(*ffcli.Command) string { return rootHelp },
		Exec: func(context.Context, []string) error {
			return usagef("a command is required: run, plan, undo, verify, serve or emulator")
		},
	}
	// Flag sets print nothing: help asked for goes to stdout, whole, and
	// a wrong flag is one line on stderr (main adds where help is).
	rootFS.SetOutput(io.Discard)
	for _, c := range subs {
		c.FlagSet.SetOutput(io.Discard)
	}
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, helpFor(root, args))
			return errHelp
		}
		return parseError(err, subs, args)
	}
	return redact(root.Run(ctx), secrets(getenv))
}

func ffOptions() []ff.Option { return []ff.Option{ff.WithEnvVarPrefix("FLOWENROLL")} }

// helpFor is the help of the command args name (the root's if none).
func helpFor(root *ffcli.Command, args []string) string {
	for _, a := range args {
		if c := find(root.Subcommands, a); c != nil {
			return ffcli.DefaultUsageFunc(c)
		}
	}
	return rootHelp
}

func find(cmds []*ffcli.Command, name string) *ffcli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
	}
	return nil
}
