package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/flowenroll/flowenroll/pkg/emulator"
	"github.com/flowenroll/flowenroll/pkg/fsguard"
)

// sandboxStateFile keeps, in a run's --out, the flow instances the
// sandbox's Gong held when the command ended: `undo --sandbox` and
// `verify --sandbox` start a Gong that holds what the run created, as the
// README's tour goes on from `make demo`.
const sandboxStateFile = ".sandbox-gong.json"

// startSandbox starts the emulator on a loopback port with fresh
// credentials. With a state file, the emulator starts with the instances
// it names (when the file is there and not fresh) and stop writes its
// instances back (when the folder is there); "" is a Gong of the default
// fixture, kept nowhere.
func startSandbox(log *zap.Logger, state string, fresh bool) (string, string, string, func(), error) {
	key, secret := randomHex(8), randomHex(16)
	fixture := emulator.DefaultFixture()
	if state != "" && !fresh {
		held, err := readSandboxState(state)
		if err != nil {
			return "", "", "", nil, err
		}
		if held != nil {
			fixture.Existing = held
			log.Info("sandbox: Gong holds the instances the last sandbox command left", zap.Int("instances", len(held)))
		}
	}
	emu, err := emulator.New(emulator.Config{Fixture: fixture, AccessKey: key, AccessKeySecret: secret, Logger: log.Named("emulator")})
	if err != nil {
		return "", "", "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", "", nil, fmt.Errorf("sandbox: %w", err)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	stop := func() {
		srv.Close()
		if state == "" {
			return
		}
		if _, err := os.Stat(filepath.Dir(state)); err != nil {
			return // the command wrote no folder: nothing to keep
		}
		if err := writeSandboxState(state, emu.Instances()); err != nil {
			log.Warn("sandbox: Gong's instances could not be kept for undo --sandbox", zap.Error(err))
		}
	}
	return "http://" + ln.Addr().String(), key, secret, stop, nil
}

// readSandboxState reads the instances a sandbox left; nil when none.
func readSandboxState(path string) ([]emulator.AssignedFlow, error) {
	f, err := fsguard.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer f.Close()
	var held []emulator.AssignedFlow
	if err := json.NewDecoder(f).Decode(&held); err != nil {
		return nil, fmt.Errorf("sandbox: %s: %w (delete it, or run with --restart, to start from a fresh Gong)", path, err)
	}
	return held, nil
}

func writeSandboxState(path string, instances []emulator.Instance) error {
	held := make([]emulator.AssignedFlow, len(instances))
	for i, in := range instances {
		held[i] = in.AssignedFlow
	}
	b, err := json.MarshalIndent(held, "", " ")
	if err != nil {
		return err
	}
	return fsguard.WriteBytes(path, append(b, '\n'))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
