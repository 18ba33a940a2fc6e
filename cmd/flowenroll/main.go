// Command flowenroll enrolls CRM prospects from a CSV into Gong Engage flows.
// See README.md and `flowenroll --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// version is set at link time (-X main.version=...): the one package-level
// variable, since the linker can set nothing else.
var version = "dev"

func main() {
	// One channel for both signals, registered once: the first cancels the
	// run, which drains; the second ends it at once. The ledger is fsync'd
	// line by line, so it stays consistent either way.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		first := time.Now()
		cancel()
		for range sigs {
			// A supervisor (timeout, a shell) may signal the process and its
			// group at once: a repeat within a second is the same request.
			if time.Since(first) < time.Second {
				continue
			}
			fmt.Fprintln(os.Stderr, "flowenroll: second signal, exiting now; run the same command to continue")
			os.Exit(outcome.ExitStoppedEarly)
		}
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	cancel()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode maps run's error to the contract's exit code, in one place.
func exitCode(err error, stderr *os.File) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errHelp):
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "flowenroll: %v\n", err)
		if !strings.Contains(err.Error(), "--help") {
			fmt.Fprintln(stderr, "run 'flowenroll --help' for usage")
		}
		return outcome.ExitUsage
	}
	fmt.Fprintf(stderr, "flowenroll: %v\n", err)
	return outcome.ExitFatal
}
