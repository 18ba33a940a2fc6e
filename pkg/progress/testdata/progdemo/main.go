// Command progdemo drives a progress.Reporter the way a run does, for the
// package's terminal test: a bar when stderr is a terminal, zap JSON lines
// otherwise.
package main

import (
	"context"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/flowenroll/flowenroll/pkg/progress"
)

func main() {
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	log := zap.New(zapcore.NewCore(
		zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(os.Stderr), zap.InfoLevel))
	defer log.Sync()

	r := progress.New(progress.Config{TTY: tty, Out: os.Stderr, Log: log, Interval: time.Hour})
	r.Start(context.Background())
	r.SetTotal(50) // the row count, known after a first pass
	for i := 1; i <= 5; i++ {
		r.Requests(int64(i))
		r.Settled(10)
	}
	r.Stop()
}
