package main

import (
	"flag"
	"math"
	"time"
)

// sending are the flags of commands that send to Gong (run, serve): the
// pace, the requests in flight and the time limits, with one set of checks.
type sending struct {
	rate                              float64
	concurrency                       int
	timeout, maxRetry, maxWait, drain time.Duration
}

func (s *sending) register(fs *flag.FlagSet, rateHelp string) {
	fs.Float64Var(&s.rate, "rate", 3, rateHelp)
	fs.IntVar(&s.concurrency, "concurrency", 4, "requests in flight, 1 to 64")
	fs.DurationVar(&s.timeout, "timeout", 30*time.Second, "time limit of one HTTP attempt")
	fs.DurationVar(&s.maxRetry, "max-retry-time", 10*time.Minute, "give up retrying a request, or reading a bulk assignment not done, after this long (the rows stay unprocessed)")
	fs.DurationVar(&s.maxWait, "max-wait", 5*time.Minute, "a 429 asking to wait longer than this ends the run with exit 4 (daily quota)")
	fs.DurationVar(&s.drain, "drain-timeout", 20*time.Second, "after SIGTERM, how long requests in flight may finish")
}

// check refuses what would wait instead of failing: NaN, Inf, zero or
// absurd values, before any request.
func (s *sending) check() error {
	switch {
	case math.IsNaN(s.rate) || math.IsInf(s.rate, 0) || s.rate <= 0 || s.rate > 1000:
		return usagef("--rate must be above 0 and at most 1000 requests a second, got %v", s.rate)
	case s.concurrency < 1 || s.concurrency > maxConcurrency:
		return usagef("--concurrency must be 1 to %d, got %d", maxConcurrency, s.concurrency)
	case s.timeout <= 0, s.maxRetry <= 0, s.maxWait <= 0, s.drain <= 0:
		return usagef("--timeout, --max-retry-time, --max-wait and --drain-timeout must be above 0")
	}
	return nil
}
