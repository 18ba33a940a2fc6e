package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

// emulatorCommand is `flowenroll emulator`: its flags and what it runs.
type emulatorCommand struct {
	getenv         func(string) string
	stdout, stderr io.Writer

	listen, fixture, logFormat, logLevel string
	cfg                                  emulator.Config // the flags' part of it
}

func newEmulatorCommand(getenv func(string) string, stdout, stderr io.Writer) *ffcli.Command {
	c := &emulatorCommand{getenv: getenv, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("flowenroll emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.fixture, "fixture", "", "JSON file of users and flows (default: a built-in fixture)")
	fs.StringVar(&c.logFormat, "log-format", "auto", "auto, json or console")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	cfg := &c.cfg
	fs.IntVar(&cfg.RatePerSecond, "rate-limit", 3, "requests per second before 429 (negative: unlimited)")
	fs.StringVar(&cfg.Window, "window", "aligned", "how the per-second limit counts: aligned (clock-aligned seconds), rolling (any second) or gcra (a token bucket)")
	fs.DurationVar(&cfg.Jitter, "jitter", 0, "vary each request's --latency by up to this much either way, before the limits count it")
	fs.Float64Var(&cfg.SharedPerSecond, "shared-rate", 0, "another integration's calls per second, counted against --rate-limit")
	fs.IntVar(&cfg.DailyLimit, "daily-limit", 10000, "requests per UTC day before 429 (negative: unlimited)")
	fs.IntVar(&cfg.MaxIDs, "max-ids", 200, "most CRM IDs one assign request may carry (the help page says 200, the newer spec 100)")
	fs.DurationVar(&cfg.Latency, "latency", 0, "delay added to every answer")
	fs.IntVar(&cfg.PageSize, "page-size", 100, "flows per page of GET /v2/flows")
	fs.IntVar(&cfg.UserPageSize, "user-page-size", 100, "users per page of GET /v2/users")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed for request and instance IDs")
	fs.StringVar(&cfg.UnknownOwner, "unknown-owner", "request", "an owner who is not a Gong user: request (400) or prospect (InvalidArgument per prospect)")
	m := &cfg.Modes
	fs.BoolVar(&m.NonUserListsFlows, "non-user-lists-flows", false, "GET /v2/flows answers an email that is no Gong user with the company's flows (default: 400)")
	fs.StringVar(&m.QuotaRetryAfter, "quota-retry-after", "midnight", "Retry-After of a 429 for the daily limit: midnight (seconds to UTC midnight), one or none")
	fs.BoolVar(&m.RepeatCursor, "repeat-cursor", false, "GET /v2/flows answers the first page and the same cursor for ever")
	fs.StringVar(&m.AssignLie, "assign-lie", "", "make assign's 200 answers lie: wrong-flow-id, both-lists, unsent-id or null-body")
	fs.StringVar(&m.RedirectTo, "redirect-to", "", "answer every request with 307 to this base URL")
	fs.BoolVar(&m.Silent, "silent", false, "read every request and never answer it (a server that accepts connections and hangs)")
	fs.IntVar(&m.SilentAfter, "silent-after", 0, "with --silent, answer this many requests first, then go silent")
	fs.StringVar(&m.UnassignByCRMIDAnswer, "unassign-by-crm-id-answer", "instance-ids", "what unassign by CRM ID lists: instance-ids or flow-ids")
	fs.BoolVar(&m.AnswerExistingAsAssigned, "answer-existing-as-assigned", false, "assign answers a prospect already in the flow with its existing instance in prospectsAssigned (default: InvalidState)")
	fs.DurationVar(&m.ClockOffset, "clock-offset", 0, "the server's clock (Date header, creation dates) this far from the real one, e.g. -3m")
	fs.BoolVar(&m.CoolOff, "cool-off", false, "a finished instance of the flow puts its prospect in the cool-off period: assign refuses it InvalidState, the cool-off-override endpoint takes it")
	fs.IntVar(&m.BulkPolls, "bulk-polls", 0, "reads of a bulk assignment answered IN_PROGRESS before the one that finds it done")
	fs.DurationVar(&m.ExistingAge, "existing-age", 0, "date the fixture's undated existing instances this long before the start: someone else's, made just before the run")
	return &ffcli.Command{
		Name:       "emulator",
		ShortUsage: "flowenroll emulator [--listen ADDR] [flags]",
		ShortHelp:  "a local stand-in for Gong's Engage flow API",
		LongHelp: `A local stand-in for Gong's Engage flow API, for rehearsals, demos and tests.
It serves POST /v2/flows/prospects/assign (and its cool-off-override),
the bulk assignments (POST, and GET by id), POST /v2/flows/prospects,
GET /v2/flows, GET /v2/users and the two unassign endpoints
(POST /v2/flows/prospects/unassign-flows-by-instance-id and -by-crm-id) as
Gong's spec describes them, with Gong's limits (3 requests per second, 10,000
per day, answered with 429 and Retry-After). The mode flags make it behave
in ways Gong has not published, or should not, for testing clients.

It accepts the credentials in GONG_ACCESS_KEY + GONG_ACCESS_KEY_SECRET or in
GONG_BEARER_TOKEN (or their _FILE forms; one kind, as for run); with none set
it accepts any well-formed Basic or Bearer header.

Example:
  flowenroll emulator --listen 127.0.0.1:8080 &
  GONG_BASE_URL=http://127.0.0.1:8080 GONG_ACCESS_KEY=k GONG_ACCESS_KEY_SECRET=s \
    flowenroll run --input samples/prospects.csv --out /tmp/out`,
		FlagSet: fs,
		Options: ffOptions(),
		Exec:    c.Exec,
	}
}

// Exec builds the emulator from the flags and serves it until ctx ends.
func (c *emulatorCommand) Exec(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usagef("emulator: unexpected arguments %q", args)
	}
	if u := c.cfg.UnknownOwner; u != "request" && u != "prospect" {
		return usagef("--unknown-owner must be request or prospect, got %q", u)
	}
	log := newLogger(c.logFormat, c.logLevel, c.stderr)
	defer log.Sync() //nolint:errcheck
	cfg := c.cfg
	cfg.Fixture, cfg.Logger = emulator.DefaultFixture(), log
	if c.fixture != "" {
		fx, err := emulator.LoadFixture(c.fixture)
		if err != nil {
			return err
		}
		cfg.Fixture = fx
	}
	creds, err := gong.CredentialsFromEnv(c.getenv, gong.OpenSecret)
	switch {
	case errors.Is(err, gong.ErrNoCredentials):
		log.Warn("no GONG_* credentials set: accepting any well-formed Authorization header")
	case err != nil:
		return err
	default:
		cfg.AccessKey, cfg.AccessKeySecret = creds.AccessKey, creds.AccessKeySecret
		if creds.BearerToken != "" {
			cfg.BearerTokens = map[string][]string{creds.BearerToken: {emulator.ScopeFlowsRead, emulator.ScopeFlowsWrite, emulator.ScopeUsersRead}}
		}
	}
	emu, err := emulator.New(cfg)
	if err != nil {
		return err
	}
	return c.serve(ctx, emu, log)
}

// serve answers with emu on c.listen until ctx ends, then shuts down.
func (c *emulatorCommand) serve(ctx context.Context, emu http.Handler, log *zap.Logger) error {
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	log.Info("emulator listening", zap.String("baseURL", "http://"+ln.Addr().String()))
	fmt.Fprintf(c.stdout, "GONG_BASE_URL=http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
