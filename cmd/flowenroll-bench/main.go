// Command flowenroll-bench is `make bench`: it runs flowenroll's real job
// against the Gong emulator, over real HTTP on loopback and in real time, and
// prints in one run the figures of the speed issue, each with its target:
//
//   - quota use: achieved requests per second over the emulator's limit, and
//     the 429s, alone at 0 ms, 300 ms and 1 s of latency, each beside a naive
//     script's (one request at a time, 1/rate of sleep after each answer),
//     and with the emulator's limit at 2 per second while the client runs at
//     --rate 3;
//   - request efficiency: requests sent over the minimum, for one run and
//     for a run stopped and resumed 5 times, flowenroll's beside the naive
//     script's;
//   - local cost: plan over 1,000,000 rows against a bare encoding/csv loop
//     over the same file, and the peak memory of plan for 1,000,000 and
//     10,000,000 rows;
//   - CPU seconds per 100,000 prospects assigned in a rate-limited run.
//
// The client of the quota runs and the plans measured for memory run in child
// processes (this binary again, with an internal subcommand), so that their
// CPU time and peak RSS are theirs alone, not the emulator's or the bench's.
// The emulator runs in this process.
//
// A missed target is a result, not an error: the program exits 0 once every
// figure is printed, and 1 only if it could not measure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintf(os.Stderr, "flowenroll-bench: %v\n", err)
		os.Exit(1)
	}
}
