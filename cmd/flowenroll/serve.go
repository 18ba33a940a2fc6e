package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/console"
	"github.com/flowenroll/flowenroll/pkg/console/worker"
	"github.com/flowenroll/flowenroll/pkg/gong"
	"github.com/flowenroll/flowenroll/pkg/pace"
)

// serveConfig holds the flags of `flowenroll serve`.
type serveConfig struct {
	data, listen, usersFile, authHeader string
	trustedProxy, allowedHosts, admins  string
	maxUpload                           string
	maxRows, maxConns                   int
	keep                                time.Duration
	sending
	chunkSize           int
	preflight, sandbox  bool
	logFormat, logLevel string
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "", "folder for every run: the upload, its ledger and its result files (survives restarts)")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on; other than loopback needs --users-file or --auth-header")
	fs.StringVar(&c.usersFile, "users-file", "", "htpasswd file of bcrypt users (htpasswd -B) for HTTP Basic sign-in")
	fs.StringVar(&c.authHeader, "auth-header", "", "header set by an authenticating proxy to the user's identity, e.g. X-Forwarded-Email; believed only from --trusted-proxy, or on a loopback --listen from the proxy in the same pod")
	fs.StringVar(&c.trustedProxy, "trusted-proxy", "", "comma-separated CIDRs of the proxy in front (10.0.0.0/8,fd00::/8): --auth-header is believed only from these (others get 403), and their X-Forwarded-For names the client whose password checks are throttled")
	fs.StringVar(&c.allowedHosts, "allowed-hosts", "", "with sign-in, comma-separated names the console answers to (console.example.com, *.example.com); empty: any. Without sign-in only loopback names and the --listen address")
	fs.StringVar(&c.admins, "admins", "", "comma-separated users who may delete any run (others only their own)")
	fs.IntVar(&c.maxConns, "max-conns", console.DefaultMaxConns, "connections held at once; at the cap the longest idle one is closed")
	fs.DurationVar(&c.keep, "keep", console.DefaultKeep, "delete a run's upload and result files this long after it ended (its summary stays in the history); 0 keeps them forever")
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
	case c.data == "" && !c.sandbox:
		return 0, usagef("--data is required: the folder where runs are kept (--sandbox alone makes a fresh one)")
	case err != nil:
		return 0, usagef("--max-upload: %v", err)
	case c.maxRows < 1:
		return 0, usagef("--max-rows must be at least 1, got %d", c.maxRows)
	case c.sending.check() != nil:
		return 0, c.sending.check()
	case c.usersFile != "" && c.authHeader != "":
		return 0, usagef("--users-file and --auth-header: choose one way to sign in")
	case c.maxConns < 16:
		return 0, usagef("--max-conns must be at least 16, got %d", c.maxConns)
	case c.keep < 0:
		return 0, usagef("--keep must be 0 (forever) or a duration such as 720h, got %v", c.keep)
	}
	if _, err := parseCIDRs(c.trustedProxy); err != nil {
		return 0, usagef("--trusted-proxy: %v", err)
	}
	return size, nil
}

// parseCIDRs reads a comma-separated list of CIDRs; a bare address is
// its own /32 or /128.
func parseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR (10.0.0.0/8) or an address", f)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR (10.0.0.0/8) or an address", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// splitList reads a comma-separated list.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
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

Sign-in: on a loopback address nobody signs in (the user is "local"), and
only requests to a loopback name or the --listen address are answered, so
no web page can reach the console by rebinding its name to 127.0.0.1.
Elsewhere, FLOWENROLL_USERS_FILE (htpasswd with bcrypt: htpasswd -B -c users
NAME) for HTTP Basic (password checks are throttled per address and per
name), or --auth-header X-Forwarded-Email behind a sign-in proxy: the header
is believed only from --trusted-proxy CIDR, or with the console on
127.0.0.1 and the proxy in the same pod (jobs/console/). Gong credentials
as for run (GONG_*), never sent to the browser.

Storage: uploads and result files are deleted --keep after a run ends (its
summary stays); a run's uploader or an admin (--admins) can delete it sooner.

Examples:
  flowenroll serve --sandbox            (runs kept in a fresh temporary folder)
  FLOWENROLL_USERS_FILE=/etc/flowenroll/users flowenroll serve --data /data --listen :8080
  flowenroll serve --data /data --listen :8080 --auth-header X-Forwarded-Email --trusted-proxy 10.0.0.0/8`,
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
	defer log.Sync()  //nolint:errcheck
	if c.data == "" { // --sandbox without --data: a tour in a fresh folder
		dir, err := os.MkdirTemp("", "flowenroll-sandbox-")
		if err != nil {
			return err
		}
		c.data = dir
	}
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
		Listen: c.listen, AllowedHosts: splitList(c.allowedHosts), MaxConns: c.maxConns,
		Keep: c.keep, Admins: splitList(c.admins),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	hs := srv.HTTPServer(log.Named("http"))
	served := make(chan error, 1)
	go func() { served <- hs.Serve(srv.Listener(ln)) }()
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
	auth.TrustedProxies, _ = parseCIDRs(c.trustedProxy) // checked in check
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
func servePipeline(c serveConfig, getenv func(string) string, log *zap.Logger) (*worker.EnrollPipeline, string, func(), error) {
	base, banner, stop := getenv(gong.EnvBaseURL), "", func() {}
	var creds gong.Credentials
	if c.sandbox {
		url, key, secret, stopEmu, err := startSandbox(log, "", true)
		if err != nil {
			return nil, "", nil, err
		}
		base, creds, stop = url, gong.Credentials{AccessKey: key, AccessKeySecret: secret}, stopEmu
		banner = "Sandbox: runs go to a built-in stand-in for Gong, not to your company. Try samples/prospects.csv."
	} else {
		var err error
		if creds, err = gong.CredentialsFromEnv(getenv, gong.OpenSecret); err != nil {
			return nil, "", nil, err
		}
	}
	baseURL, err := gong.ParseBaseURL(base)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	client := gong.NewClient(baseURL, creds, &http.Client{Timeout: c.timeout}, log)
	// One pacer, its last sends kept in --data; the page's listings take
	// background turns: only when no run is waiting.
	pacer := newPacer(c.rate, c.data)
	return &worker.EnrollPipeline{
		Client: client, Limiter: pacer, ListLimiter: pace.Background(pacer),
		ChunkSize: c.chunkSize, Concurrency: c.concurrency, MaxRetryTime: c.maxRetry,
		MaxWait: c.maxWait, DrainTimeout: c.drain, Preflight: c.preflight,
	}, banner, stop, nil
}
