package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

func newEmulatorCommand(getenv func(string) string, stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("flowenroll emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	fixture := fs.String("fixture", "", "JSON file of users and flows (default: a built-in fixture)")
	rateLimit := fs.Int("rate-limit", 3, "requests per second before 429 (negative: unlimited)")
	dailyLimit := fs.Int("daily-limit", 10000, "requests per UTC day before 429 (negative: unlimited)")
	maxIDs := fs.Int("max-ids", 200, "most CRM IDs one assign request may carry (the help page says 200, the newer spec 100)")
	latency := fs.Duration("latency", 0, "delay added to every answer")
	pageSize := fs.Int("page-size", 100, "flows per page of GET /v2/flows")
	seed := fs.Int64("seed", 1, "seed for request and instance IDs")
	unknownOwner := fs.String("unknown-owner", "request", "an owner who is not a Gong user: request (400) or prospect (InvalidArgument per prospect)")
	userPageSize := fs.Int("user-page-size", 100, "users per page of GET /v2/users")
	var modes emulator.Modes
	fs.BoolVar(&modes.NonUserListsFlows, "non-user-lists-flows", false, "GET /v2/flows answers an email that is no Gong user with the company's flows (default: 400)")
	fs.StringVar(&modes.QuotaRetryAfter, "quota-retry-after", "midnight", "Retry-After of a 429 for the daily limit: midnight (seconds to UTC midnight), one or none")
	fs.BoolVar(&modes.RepeatCursor, "repeat-cursor", false, "GET /v2/flows answers the first page and the same cursor for ever")
	fs.StringVar(&modes.AssignLie, "assign-lie", "", "make assign's 200 answers lie: wrong-flow-id, both-lists, unsent-id or null-body")
	fs.StringVar(&modes.RedirectTo, "redirect-to", "", "answer every request with 307 to this base URL")
	fs.StringVar(&modes.UnassignByCRMIDAnswer, "unassign-by-crm-id-answer", "instance-ids", "what unassign by CRM ID lists: instance-ids or flow-ids")
	logFormat := fs.String("log-format", "auto", "auto, json or console")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	return &ffcli.Command{
		Name:       "emulator",
		ShortUsage: "flowenroll emulator [--listen ADDR] [flags]",
		ShortHelp:  "a local stand-in for Gong's Engage flow API",
		LongHelp: `A local stand-in for Gong's Engage flow API, for rehearsals, demos and tests.
It serves POST /v2/flows/prospects/assign, POST /v2/flows/prospects,
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
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("emulator: unexpected arguments %q", args)
			}
			if *unknownOwner != "request" && *unknownOwner != "prospect" {
				return usagef("--unknown-owner must be request or prospect, got %q", *unknownOwner)
			}
			log := newLogger(*logFormat, *logLevel, stderr)
			defer log.Sync() //nolint:errcheck
			cfg := emulator.Config{
				Fixture: emulator.DefaultFixture(), RatePerSecond: *rateLimit, DailyLimit: *dailyLimit,
				MaxIDs: *maxIDs, Latency: *latency, PageSize: *pageSize, Seed: *seed,
				UnknownOwner: *unknownOwner, UserPageSize: *userPageSize, Modes: modes, Logger: log,
			}
			if *fixture != "" {
				fx, err := emulator.LoadFixture(*fixture)
				if err != nil {
					return err
				}
				cfg.Fixture = fx
			}
			creds, err := gong.CredentialsFromEnv(getenv, os.ReadFile)
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
			ln, err := net.Listen("tcp", *listen)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
			log.Info("emulator listening", zap.String("baseURL", "http://"+ln.Addr().String()))
			fmt.Fprintf(stdout, "GONG_BASE_URL=http://%s\n", ln.Addr())
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
		},
	}
}
