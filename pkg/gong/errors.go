package gong

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is a non-200 answer from Gong.
type APIError struct {
	Op         string // "assign", "read-back", "list flows"
	StatusCode int
	RequestID  string
	Errors     []string
	// RetryAfter is the wait the server asked for (429, 503); zero if none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gong %s: HTTP %d", e.Op, e.StatusCode)
	if len(e.Errors) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(e.Errors, "; "))
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (requestId %s)", e.RequestID)
	}
	return b.String()
}

// Message is the errors joined, or the status text when Gong gave none.
func (e *APIError) Message() string {
	if len(e.Errors) > 0 {
		return strings.Join(e.Errors, "; ")
	}
	return http.StatusText(e.StatusCode)
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
// It returns 0 for an absent or unreadable header.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-") {
		switch {
		case n < 0:
			return 0
		case n > int64(math.MaxInt64/time.Second):
			return math.MaxInt64 // saturate: a wait this long is "not today"
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Retryable is the one classifier: it reports whether a failed call may
// succeed if tried again.
//
//	retried:     transport errors and timeouts (connection refused or reset,
//	             EOF, an unreadable body), 408, 429, 5xx except 501
//	not retried: 400 malformed request, 401 unauthorized, 403 forbidden,
//	             404 flow not found, 501, any other 4xx, and the caller's own
//	             cancellation
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var api *APIError
	if errors.As(err, &api) {
		switch {
		case api.StatusCode == http.StatusRequestTimeout, api.StatusCode == http.StatusTooManyRequests:
			return true
		case api.StatusCode == http.StatusNotImplemented:
			return false
		case api.StatusCode >= 500:
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// TransportError is a call that got no usable answer: the connection failed,
// timed out, or the body could not be read or decoded. Whether Gong acted on
// the request is unknown.
type TransportError struct {
	Op  string
	Err error
	// Sent reports whether the request may have reached the server, so that
	// the caller must treat the outcome as in doubt.
	Sent bool
}

func (e *TransportError) Error() string { return "gong " + e.Op + ": " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of an API error, or 0.
func StatusOf(err error) int {
	var api *APIError
	if errors.As(err, &api) {
		return api.StatusCode
	}
	return 0
}
