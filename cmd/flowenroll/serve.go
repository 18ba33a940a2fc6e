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
	"strconv"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/console"
	"github.com/flowenroll/flowenroll/pkg/gong"
)

// serveConfig holds the flags of `flowenroll serve`.
type serveConfig struct {
	data, listen, usersFile, authHeader string
	maxUpload                           string
	maxRows                             int
	sending
	chunkSize           int
	preflight, sandbox  bool
	logFormat, logLevel string
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "", "folder for every run: the upload, its ledger and its result files (survives restarts)")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on; other than loopback needs --users-file or --auth-header")
	fs.StringVar(&c.usersFile, "users-file", "", "htpasswd file of bcrypt users (htpasswd -B) for HTTP Basic sign-in")
	fs.StringVar(&c.authHeader, "auth-header", "", "header set by an authenticating proxy to the user's identity, e.g. X-Forwarded-Email")
	fs.StringVar(&c.maxUpload, "max-upload", "100MB", "largest upload, e.g. 100MB or 1GB; larger gets 413")
	fs.IntVar(&c.maxRows, "max-rows", console.DefaultMaxRows, "most data rows in one upload; more gets 400")
	c.sending.register(fs, "requests per second for the whole server (Gong's default company limit is 3)")
	fs.IntVar(&c.chunkSize, "chunk-size", 200, "CRM IDs per request, 1 to 200")
	fs.BoolVar(&c.preflight, "preflight", true, "check through GET /v2/flows that each flow is visible to its owner")
	fs.BoolVar(&c.sandbox, "sandbox", false, "run against the in-process emulator (no credentials needed): a tour")
	fs.StringVar(&c.logFormat, "log-format", "auto", "auto, json or console")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
}

// check validates the flags and returns the upload limit in bytes.
func (c *serveConfig) check(args []string) (int64, error) {
	if len(args) > 0 {
		return 0, usagef("serve: unexpected arguments %q", args)
	}
	common := common{chunkSize: c.chunkSize, logFormat: c.logFormat, logLevel: c.logLevel, input: "-", ownerBy: "auto", maxInput: 1}
	if _, err := common.check(false); err != nil {
		return 0, err
	}
	size, err := parseSize(c.maxUpload)
	switch {
	case c.data == "":
		return 0, usagef("--data is required: the folder where runs are kept")
	case err != nil:
		return 0, usagef("--max-upload: %v", err)
	case c.maxRows < 1:
		return 0, usagef("--max-rows must be at least 1, got %d", c.maxRows)
	case c.sending.check() != nil:
		return 0, c.sending.check()
	case c.usersFile != "" && c.authHeader != "":
		return 0, usagef("--users-file and --auth-header: choose one way to sign in")
	}
	return size, nil
}

// parseSize reads 100MB, 1GB, 512KB or a number of bytes.
func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a size (100MB, 1GB, or bytes)")
	}
	return n * mult, nil
}

func newServeCommand(getenv func(string) string, stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("flowenroll serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c serveConfig
	c.register(fs)
	return &ffcli.Command{
		Name:       "serve",
		ShortUsage: "flowenroll serve --data DIR [--listen ADDR] [flags]",
		ShortHelp:  "the ops console: a web page to upload, check, run and follow enrollments",
		LongHelp: `The ops console: a web page, and the JSON API under /api/v1 it uses, where
people upload a spreadsheet (CSV or .xlsx), check it, start it, follow it and
download the results. Runs go through one queue and one pacer, so one server
spends its Gong company's quota once. Every run is kept in --data and
survives a restart; a run that was going continues when the server starts.

Sign-in: on a loopback address nobody signs in (the user is "local").
Elsewhere, FLOWENROLL_USERS_FILE (htpasswd with bcrypt: htpasswd -B -c users
NAME) for HTTP Basic, or --auth-header X-Forwarded-Email behind a sign-in
proxy. Gong credentials as for run (GONG_*), never sent to the browser.

Examples:
  flowenroll serve --sandbox --data /tmp/console
  FLOWENROLL_USERS_FILE=/etc/flowenroll/users flowenroll serve --data /data --listen :8080`,
		FlagSet: fs,
		Options: ffOptions(),
		Exec: func(ctx context.Context, args []string) error {
			maxUpload, err := c.check(args)
			if err != nil {
				return err
			}
			return serve(ctx, c, maxUpload, getenv, stdout, stderr)
		},
	}
}

// serve runs the console until ctx ends, then drains the running run.
func serve(ctx context.Context, c serveConfig, maxUpload int64, getenv func(string) string, stdout, stderr io.Writer) error {
	log := newLogger(c.logFormat, c.logLevel, stderr)
	defer log.Sync() //nolint:errcheck
	auth, err := loadAuth(c)
	if err != nil {
		return err
	}
	if err := console.CheckListen(c.listen, auth); err != nil {
		return &usageError{err.Error()}
	}
	pipe, banner, stopSandbox, err := servePipeline(c, getenv, log)
	if err != nil {
		return err
	}
	defer stopSandbox()
	srv, err := console.New(console.Config{
		DataDir: c.data, Pipeline: pipe, Auth: auth, MaxUpload: maxUpload, MaxRows: c.maxRows,
		Rate: c.rate, Banner: banner, Log: log.Named("console"),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(log.Named("http"))}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "flowenroll console on http://%s/ (runs kept in %s)\n", ln.Addr(), c.data)
	log.Info("console listening", zap.String("addr", ln.Addr().String()), zap.String("data", c.data))

	shut := make(chan error, 1)
	go func() {
		<-ctx.Done()
		// New requests stop at once; the running run drains in srv.Run.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.drain+5*time.Second)
		defer cancel()
		shut <- hs.Shutdown(sctx)
	}()
	runErr := srv.Run(ctx)
	if err := <-shut; err != nil {
		log.Warn("http shutdown", zap.Error(err))
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("console stopped; queued and running runs continue at the next start")
	return runErr
}

func loadAuth(c serveConfig) (*console.Auth, error) {
	auth := &console.Auth{Header: c.authHeader}
	if c.usersFile == "" {
		return auth, nil
	}
	f, err := os.Open(c.usersFile)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	defer f.Close()
	if auth.Users, err = console.ParseUsers(f); err != nil {
		return nil, err
	}
	return auth, nil
}

// servePipeline builds the one client and the one pacer every run shares.
func servePipeline(c serveConfig, getenv func(string) string, log *zap.Logger) (*console.EnrollPipeline, string, func(), error) {
	base, banner, stop := getenv(gong.EnvBaseURL), "", func() {}
	var creds gong.Credentials
	if c.sandbox {
		url, key, secret, stopEmu, err := startSandbox(log)
		if err != nil {
			return nil, "", nil, err
		}
		base, creds, stop = url, gong.Credentials{AccessKey: key, AccessKeySecret: secret}, stopEmu
		banner = "Sandbox: runs go to a built-in stand-in for Gong, not to your company. Try samples/prospects.csv."
	} else {
		var err error
		if creds, err = gong.CredentialsFromEnv(getenv, os.Open); err != nil {
			return nil, "", nil, err
		}
	}
	baseURL, err := gong.ParseBaseURL(base)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	client := gong.NewClient(baseURL, creds, &http.Client{Timeout: c.timeout}, log)
	return &console.EnrollPipeline{
		Client: client, Limiter: newPacer(c.rate, c.data),
		ChunkSize: c.chunkSize, Concurrency: c.concurrency, MaxRetryTime: c.maxRetry,
		MaxWait: c.maxWait, DrainTimeout: c.drain, Preflight: c.preflight,
	}, banner, stop, nil
}
