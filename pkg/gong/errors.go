package gong

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// APIError is a non-200 answer from Gong.
type APIError struct {
	Op         string // "assign", "read-back", "list flows", "list users", "unassign"
	StatusCode int
	RequestID  string
	Errors     []string
	// RetryAfter is the wait the server asked for (429, 503); zero if none.
	RetryAfter time.Duration
	// Location is where a 3xx answer pointed, resolved against the request
	// and without query, fragment or user info (they may hold a token). The
	// client follows no redirect: the Authorization header must reach no
	// other address than the configured one.
	Location string
	// Scope is, for a 403, the OAuth scope the call needs with a Bearer
	// token; the message names it.
	Scope string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gong %s: HTTP %d", e.Op, e.StatusCode)
	if len(e.Errors) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(e.Errors, "; "))
	}
	b.WriteString(e.hint())
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (requestId %s)", e.RequestID)
	}
	return b.String()
}

// Message is the errors joined, or the status text when Gong gave none: what
// Gong said, for a result file. Of the hints in Error it keeps only where a
// redirect pointed, as that is what the server said.
func (e *APIError) Message() string {
	msg := http.StatusText(e.StatusCode)
	if len(e.Errors) > 0 {
		msg = strings.Join(e.Errors, "; ")
	}
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		return msg + e.hint()
	}
	return msg
}

// hint is what the status alone does not say: where a redirect pointed, and
// the scope a refused call needs.
func (e *APIError) hint() string {
	switch {
	case e.StatusCode >= 300 && e.StatusCode < 400:
		if e.Location == "" {
			return "; redirect not followed"
		}
		return "; redirect to " + e.Location + " not followed"
	case e.StatusCode == http.StatusForbidden && e.Scope != "":
		return "; with a Bearer token this call needs the scope " + e.Scope
	}
	return ""
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
//	not retried: 3xx (the client follows no redirect), 400 malformed
//	             request, 401 unauthorized, 403 forbidden, 404 flow not
//	             found, 501, any other 4xx, a request the client would not
//	             send (*InvalidRequestError), and the caller's own
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
	Op string
	// Host is the base URL's host[:port], for a message that says where.
	Host string
	Err  error
	// Sent reports whether the request may have reached the server, so that
	// the caller must treat the outcome as in doubt.
	Sent bool
	// Responded reports that the server did answer, with a status and
	// headers, and the body was lost or refused: the address is a server
	// that answers, whatever went wrong after.
	Responded bool
}

// Responded reports whether err is an answer of the server: an API error
// (any status), or a transport error after the status and headers came.
func Responded(err error) bool {
	var te *TransportError
	return StatusOf(err) != 0 || errors.As(err, &te) && te.Responded
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

// BadAnswerError is a 200 whose body is not the answer asked for: JSON
// null, not a JSON object, not of the documented shape, or an assign answer
// that lists neither prospectsAssigned nor prospectsNotAssigned.
//
// The client returns it inside a *TransportError with Sent set, so that code
// that knows only TransportError treats the outcome as in doubt and retries;
// find it with errors.As.
type BadAnswerError struct {
	Op     string
	Reason string
	Err    error // the decoder's error, if any
}

func (e *BadAnswerError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *BadAnswerError) Unwrap() error { return e.Err }

// MayHaveApplied reports whether Gong may have acted on the request: true
// for assign and unassign, whose rows are then in doubt (read them back),
// not failed.
func (e *BadAnswerError) MayHaveApplied() bool { return isWrite(e.Op) }

// InvalidRequestError is a request the client would not send: it could not
// be built, a header value is not valid in HTTP, or it breaks a limit of the
// API. Nothing was sent, and trying again cannot help.
type InvalidRequestError struct {
	Op     string
	Reason string
}

func (e *InvalidRequestError) Error() string {
	return "gong " + e.Op + ": request not sent: " + e.Reason
}

// Unreachable recognises, among the client's errors, a setup that no retry
// will mend, and says in one line what to fix:
//
//   - the host does not resolve (*net.DNSError with IsNotFound);
//   - the connection is refused;
//   - TLS fails: the certificate is not trusted or not for that host, or
//     the port does not speak TLS;
//   - the request could not be sent (*InvalidRequestError, e.g. a header
//     value Go refuses);
//   - the base URL answers with a redirect (a 3xx *APIError).
//
// Retryable still reports the first three as worth another try, as a
// network can recover mid-run. A caller should treat them as fatal while no
// request has yet reached Gong (see Client.Reached): then it is the
// configuration, not the network.
func Unreachable(err error) (what string, ok bool) {
	if err == nil {
		return "", false
	}
	var host string
	if te, ok := errors.AsType[*TransportError](err); ok {
		host = te.Host
	}
	if dns, ok := errors.AsType[*net.DNSError](err); ok && dns.IsNotFound {
		return fmt.Sprintf("the Gong host %s does not resolve: check %s, your company's API address (e.g. https://us-12345.api.gong.io)", dns.Name, EnvBaseURL), true
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Sprintf("%s refused the connection: check the host and port in %s (for the emulator: is it running?)", orAddr(host, err), EnvBaseURL), true
	}
	if what, ok := tlsProblem(err); ok {
		return fmt.Sprintf("TLS with %s failed: %s", orAddr(host, err), what), true
	}
	if ire, ok := errors.AsType[*InvalidRequestError](err); ok {
		return ire.Error(), true
	}
	if api, ok := errors.AsType[*APIError](err); ok && api.StatusCode >= 300 && api.StatusCode < 400 {
		return fmt.Sprintf("the Gong address answers with a redirect (HTTP %d%s): set %s to your company's API address, as shown on Gong's API settings page", api.StatusCode, api.hint(), EnvBaseURL), true
	}
	return "", false
}

// orAddr is host, or the address a *net.OpError names when host is unknown.
func orAddr(host string, err error) string {
	if host != "" {
		return host
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Addr != nil {
		return op.Addr.String()
	}
	return "the Gong host"
}

// tlsProblem says what to fix for a TLS failure.
func tlsProblem(err error) (string, bool) {
	const proxy = "; behind a TLS-inspecting proxy, add its CA certificate to the system's trust store (or SSL_CERT_FILE)"
	if he, ok := errors.AsType[x509.HostnameError](err); ok {
		return fmt.Sprintf("the certificate is not for this host (%v): check the host in %s", he, EnvBaseURL), true
	}
	if ua, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return fmt.Sprintf("the certificate is not trusted (%v)%s", ua, proxy), true
	}
	if ci, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return fmt.Sprintf("the certificate is not valid (%v)%s", ci, proxy), true
	}
	if cv, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return fmt.Sprintf("the certificate was refused (%v)%s", cv.Err, proxy), true
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok || errors.Is(err, http.ErrSchemeMismatch) {
		return fmt.Sprintf("the server does not speak TLS on that port: check the scheme and port in %s", EnvBaseURL), true
	}
	if ae, ok := errors.AsType[tls.AlertError](err); ok {
		return fmt.Sprintf("the server ended the handshake (%v): check the host and port in %s", ae, EnvBaseURL), true
	}
	return "", false
}

// isWrite reports whether op may change something at Gong.
func isWrite(op string) bool { return op == opAssign || op == opUnassign }
