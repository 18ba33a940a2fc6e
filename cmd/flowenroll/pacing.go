package main

import (
	"path/filepath"

	"github.com/flowenroll/flowenroll/pkg/pace"
)

// newPacer is the process's one pacer at --rate. It keeps its last sends in
// dir (the --out, --inbox or --data folder; "" for none), so that a command
// started the instant the last one ended there (a resumed run, undo, verify,
// a restarted console) does not send into the same second.
func newPacer(rate float64, dir string) *pace.Pacer {
	p := pace.New(rate, pace.DefaultMargin)
	if dir != "" {
		p.Keep(filepath.Join(dir, pace.StateFile))
	}
	return p
}

// stateDir is where run keeps the pacer's state: the --inbox folder (its
// files' runs share the pacer), else --out.
func (c *runCmd) stateDir() string {
	if c.inbox != "" {
		return c.inbox
	}
	return c.out
}
