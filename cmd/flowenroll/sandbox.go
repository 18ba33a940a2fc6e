package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/emulator"
)

// startSandbox starts the emulator on a loopback port with fresh credentials.
func startSandbox(log *zap.Logger) (string, string, string, func(), error) {
	key, secret := randomHex(8), randomHex(16)
	emu, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(), AccessKey: key, AccessKeySecret: secret, Logger: log.Named("emulator")})
	if err != nil {
		return "", "", "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", "", nil, fmt.Errorf("sandbox: %w", err)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return "http://" + ln.Addr().String(), key, secret, func() { srv.Close() }, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
