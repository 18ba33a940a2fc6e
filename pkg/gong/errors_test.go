package gong_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{"absent", "", 0},
		{"blank", "  ", 0},
		{"zero seconds", "0", 0},
		{"seconds", "7", 7 * time.Second},
		{"seconds with spaces", " 120 ", 2 * time.Minute},
		{"a day of seconds", "86400", 24 * time.Hour},
		{"negative seconds", "-3", 0},
		{"fraction", "1.5", 0},
		{"garbage", "soon", 0},
		{"seconds and garbage", "5s", 0},
		{"HTTP-date ahead", "Tue, 10 Mar 2026 12:01:30 GMT", 90 * time.Second},
		{"HTTP-date now", "Tue, 10 Mar 2026 12:00:00 GMT", 0},
		{"HTTP-date past", "Tue, 10 Mar 2026 11:59:00 GMT", 0},
		{"RFC 850 date ahead", "Tuesday, 10-Mar-26 12:00:10 GMT", 10 * time.Second},
		{"ANSI C date ahead", "Tue Mar 10 12:00:05 2026", 5 * time.Second},
		{"date not in GMT", "Tue, 10 Mar 2026 12:01:30 +0100", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gong.ParseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// A Retry-After beyond what a Duration holds must not wrap around: the
// submitter compares it with --max-wait to decide to stop, and a negative
// or small wrapped value makes it retry at once instead.
func TestParseRetryAfterHuge(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, in := range []string{"9223372036", "9223372037", "18446744074", "99999999999999"} {
		if got := gong.ParseRetryAfter(in, now); got < 24*time.Hour {
			t.Errorf("ParseRetryAfter(%q) = %v, want a wait of more than a day", in, got)
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestRetryable(t *testing.T) {
	api := func(code int) error { return &gong.APIError{Op: "assign", StatusCode: code} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"301", api(301), false},
		{"307", api(307), false},
		{"308", api(308), false},
		{"400", api(400), false},
		{"401", api(401), false},
		{"403", api(403), false},
		{"404", api(404), false},
		{"408", api(408), true},
		{"409", api(409), false},
		{"422", api(422), false},
		{"429", api(429), true},
		{"500", api(500), true},
		{"501", api(501), false},
		{"502", api(502), true},
		{"503", api(503), true},
		{"504", api(504), true},
		{"wrapped 429", fmt.Errorf("chunk 3: %w", api(429)), true},
		{"wrapped 404", fmt.Errorf("chunk 3: %w", api(404)), false},
		{"transport: connection refused", &gong.TransportError{Op: "assign", Err: syscall.ECONNREFUSED}, true},
		{"transport: EOF", &gong.TransportError{Op: "assign", Err: io.ErrUnexpectedEOF, Sent: true}, true},
		{"transport: undecodable", &gong.TransportError{Op: "assign", Err: errors.New("undecodable answer"), Sent: true}, true},
		{"transport: canceled", &gong.TransportError{Op: "assign", Err: context.Canceled, Sent: true}, false},
		{"wrapped transport", fmt.Errorf("x: %w", &gong.TransportError{Op: "assign", Err: io.EOF}), true},
		{"net.OpError", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"net.Error timeout", timeoutError{}, true},
		{"os deadline", os.ErrDeadlineExceeded, true},
		{"context.Canceled", context.Canceled, false},
		{"wrapped context.Canceled", fmt.Errorf("stop: %w", context.Canceled), false},
		{"plain error", errors.New("boom"), false},
		{"request not sent", &gong.InvalidRequestError{Op: "assign", Reason: "bad header"}, false},
		{"bad answer", &gong.TransportError{Op: "assign", Err: &gong.BadAnswerError{Op: "assign", Reason: "answer is JSON null"}, Sent: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gong.Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	tests := []struct {
		name        string
		err         *gong.APIError
		wantError   string
		wantMessage string
	}{
		{
			name:        "errors and request ID",
			err:         &gong.APIError{Op: "assign", StatusCode: 400, RequestID: "4al018gzaztcr8nbukw", Errors: []string{"flowId: invalid", "crmProspectsIds: duplicate"}},
			wantError:   "gong assign: HTTP 400: flowId: invalid; crmProspectsIds: duplicate (requestId 4al018gzaztcr8nbukw)",
			wantMessage: "flowId: invalid; crmProspectsIds: duplicate",
		},
		{
			name:        "bare status",
			err:         &gong.APIError{Op: "list flows", StatusCode: 503},
			wantError:   "gong list flows: HTTP 503",
			wantMessage: "Service Unavailable",
		},
		{
			name:        "request ID only",
			err:         &gong.APIError{Op: "read-back", StatusCode: 429, RequestID: "r-9", RetryAfter: time.Second},
			wantError:   "gong read-back: HTTP 429 (requestId r-9)",
			wantMessage: "Too Many Requests",
		},
		{
			name:        "403: the scope in the error, Gong's words alone in the message",
			err:         &gong.APIError{Op: "assign", StatusCode: 403, RequestID: "r-3", Errors: []string{"Forbidden"}, Scope: "api:flows:write"},
			wantError:   "gong assign: HTTP 403: Forbidden; with a Bearer token this call needs the scope api:flows:write (requestId r-3)",
			wantMessage: "Forbidden",
		},
		{
			name:        "redirect: where to, in both",
			err:         &gong.APIError{Op: "list users", StatusCode: 308, Location: "https://us-1.api.gong.io/v2/users"},
			wantError:   "gong list users: HTTP 308; redirect to https://us-1.api.gong.io/v2/users not followed",
			wantMessage: "Permanent Redirect; redirect to https://us-1.api.gong.io/v2/users not followed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.wantError {
				t.Errorf("Error() = %q, want %q", got, tt.wantError)
			}
			if got := tt.err.Message(); got != tt.wantMessage {
				t.Errorf("Message() = %q, want %q", got, tt.wantMessage)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("x"), 0},
		{&gong.APIError{StatusCode: 404}, 404},
		{fmt.Errorf("w: %w", &gong.APIError{StatusCode: 429}), 429},
		{&gong.TransportError{Op: "assign", Err: io.EOF}, 0},
	}
	for _, tt := range tests {
		if got := gong.StatusOf(tt.err); got != tt.want {
			t.Errorf("StatusOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestTransportError(t *testing.T) {
	err := error(&gong.TransportError{Op: "assign", Err: io.ErrUnexpectedEOF, Sent: true})
	if got, want := err.Error(), "gong assign: unexpected EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("errors.Is(%v, io.ErrUnexpectedEOF) = false", err)
	}
	var te *gong.TransportError
	if !errors.As(fmt.Errorf("w: %w", err), &te) {
		t.Fatal("errors.As found no *TransportError")
	}
	if diff := cmp.Diff(transportView{Op: "assign", Sent: true, Err: "unexpected EOF"}, viewTransport(te)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// transportView is a *TransportError with its cause as text, for cmp.
type transportView struct {
	Op   string
	Sent bool
	Err  string
}

func viewTransport(te *gong.TransportError) transportView {
	return transportView{Op: te.Op, Sent: te.Sent, Err: errString(te.Err)}
}
