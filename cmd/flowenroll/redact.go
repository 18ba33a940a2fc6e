package main

import (
	"io"
	"strings"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// secretNames are the variables that hold Gong credentials, each also as
// NAME_FILE.
func secretNames() []string {
	return []string{"GONG_ACCESS_KEY_SECRET", "GONG_BEARER_TOKEN", "GONG_ACCESS_KEY", "FLOWENROLL_NOTIFY"}
}

// secrets are the credential values configured, read the way the client
// reads them, so that no message repeats one (an --input pointed at the
// secret file would otherwise quote it as "found headers").
func secrets(getenv func(string) string) []string {
	var out []string
	for _, n := range secretNames() {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			out = append(out, v)
		}
		if p := getenv(n + "_FILE"); p != "" {
			if f, err := gong.OpenSecret(p); err == nil {
				b, _ := io.ReadAll(io.LimitReader(f, gong.MaxSecretFileBytes))
				f.Close()
				if v := strings.TrimSpace(string(b)); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// redactedError is err with every secret taken out of its message; it
// unwraps to err, so the exit code is still err's.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with the secrets replaced by [redacted].
func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if len(s) >= 4 {
			clean = strings.ReplaceAll(clean, s, "[redacted]")
		}
	}
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}
