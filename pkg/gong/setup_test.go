package gong_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zaptest"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

var assignOne = gong.AssignRequest{CRMProspectsIDs: []string{"0031"}, FlowID: flowSDR, FlowInstanceOwnerEmail: ava}

// clientFor returns a client for a server, through hc.
func clientFor(t *testing.T, rawURL string, creds gong.Credentials, hc *http.Client) *gong.Client {
	t.Helper()
	base, err := gong.ParseBaseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return gong.NewClient(base, creds, hc, zaptest.NewLogger(t))
}

// counter records the requests a server got; it never blocks a handler.
type counter struct{ got chan captured }

func newCounter() *counter { return &counter{got: make(chan captured, 16)} }

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.got <- captured{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Authorization: r.Header.Get("Authorization")}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"requestId":"followed","prospectsAssigned":[]}`))
}

// drain returns what a counter got so far. The client's call has returned
// by then, so a request it sent has been handled.
func (c *counter) drain() []captured {
	var out []captured
	for {
		select {
		case got := <-c.got:
			out = append(out, got)
		default:
			return out
		}
	}
}

func TestClientFollowsNoRedirect(t *testing.T) {
	t.Run("307 to another port of the same host: nothing reaches it", func(t *testing.T) {
		other := newCounter()
		otherSrv := httptest.NewServer(other)
		t.Cleanup(otherSrv.Close)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, otherSrv.URL+r.URL.Path+"?token="+testToken, http.StatusTemporaryRedirect)
		}))
		t.Cleanup(srv.Close)
		c := clientFor(t, srv.URL, bearerCreds(), srv.Client())
		got, err := c.Assign(context.Background(), assignOne)
		want := &gong.APIError{Op: "assign", StatusCode: 307, Location: otherSrv.URL + gong.PathAssign}
		var api *gong.APIError
		if !errors.As(err, &api) {
			t.Fatalf("error %v (%T), want *gong.APIError", err, err)
		}
		if diff := cmp.Diff(want, api); diff != "" {
			t.Errorf("APIError (-want +got):\n%s", diff)
		}
		if got, want := err.Error(), "gong assign: HTTP 307; redirect to "+otherSrv.URL+gong.PathAssign+" not followed"; got != want {
			t.Errorf("error %q, want %q", got, want)
		}
		if gong.Retryable(err) || gong.StatusOf(err) != 307 || got != nil {
			t.Errorf("Retryable %v, StatusOf %d, answer %v; want false, 307, nil", gong.Retryable(err), gong.StatusOf(err), got)
		}
		if seen := other.drain(); len(seen) != 0 {
			t.Errorf("the redirect target got %+v, want nothing", seen)
		}
	})

	t.Run("302 is not replayed as a GET", func(t *testing.T) {
		rec := newCounter()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == gong.PathAssign {
				rec.got <- captured{Method: r.Method, Path: r.URL.Path}
				http.Redirect(w, r, "/moved", http.StatusFound)
				return
			}
			rec.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		c := clientFor(t, srv.URL, basicCreds(), srv.Client())
		_, err := c.Assign(context.Background(), assignOne)
		if gong.StatusOf(err) != 302 {
			t.Fatalf("error %v, want HTTP 302", err)
		}
		want := []captured{{Method: "POST", Path: gong.PathAssign}}
		if diff := cmp.Diff(want, rec.drain()); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})

	t.Run("https redirecting to plain http sends nothing there", func(t *testing.T) {
		plain := newCounter()
		plainSrv := httptest.NewServer(plain)
		t.Cleanup(plainSrv.Close)
		tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plainSrv.URL+r.URL.Path, http.StatusMovedPermanently)
		}))
		t.Cleanup(tlsSrv.Close)
		c := clientFor(t, tlsSrv.URL, bearerCreds(), tlsSrv.Client())
		_, err := c.ListUsers(context.Background(), "")
		if gong.StatusOf(err) != 301 {
			t.Fatalf("error %v, want HTTP 301", err)
		}
		if seen := plain.drain(); len(seen) != 0 {
			t.Errorf("the plain-http target got %+v, want nothing", seen)
		}
	})

	t.Run("the caller's client is neither changed nor obeyed", func(t *testing.T) {
		other := newCounter()
		otherSrv := httptest.NewServer(other)
		t.Cleanup(otherSrv.Close)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, otherSrv.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}))
		t.Cleanup(srv.Close)
		hc := srv.Client()
		follow := func(*http.Request, []*http.Request) error { return nil }
		hc.CheckRedirect = follow
		c := clientFor(t, srv.URL, basicCreds(), hc)
		if _, err := c.Assign(context.Background(), assignOne); gong.StatusOf(err) != 307 {
			t.Errorf("error %v, want HTTP 307", err)
		}
		if seen := other.drain(); len(seen) != 0 {
			t.Errorf("the redirect target got %+v, want nothing", seen)
		}
		if hc.CheckRedirect == nil || hc.CheckRedirect(nil, nil) != nil {
			t.Errorf("the caller's CheckRedirect was replaced")
		}
	})
}

// quietTLSServer is an httptest TLS server that does not log the failed
// handshakes the tests cause.
func quietTLSServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// dnsFails is a transport whose every dial fails with err, as a resolver would.
func dnsFails(err error) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		},
	}}
}

func TestUnreachable(t *testing.T) {
	freeAddr := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	type setup struct {
		base  string
		hc    *http.Client
		creds gong.Credentials
	}
	tests := []struct {
		name          string
		setup         func(t *testing.T) setup
		wantWhat      string // with {host} for the server's address
		wantOK        bool
		wantRetryable bool
	}{
		{
			name: "host does not resolve",
			setup: func(t *testing.T) setup {
				return setup{base: "https://us-0.api.gong.invalid", hc: dnsFails(&net.DNSError{Err: "no such host", Name: "us-0.api.gong.invalid", IsNotFound: true})}
			},
			wantWhat:      "the Gong host us-0.api.gong.invalid does not resolve: check GONG_BASE_URL, your company's API address (e.g. https://us-12345.api.gong.io)",
			wantOK:        true,
			wantRetryable: true,
		},
		{
			name: "DNS timeout is not a setup failure",
			setup: func(t *testing.T) setup {
				return setup{base: "https://us-0.api.gong.io", hc: dnsFails(&net.DNSError{Err: "i/o timeout", Name: "us-0.api.gong.io", IsTimeout: true})}
			},
			wantRetryable: true,
		},
		{
			name: "connection refused",
			setup: func(t *testing.T) setup {
				return setup{base: "http://" + freeAddr(t), hc: &http.Client{Transport: &http.Transport{}}}
			},
			wantWhat:      "{host} refused the connection: check the host and port in GONG_BASE_URL (for the emulator: is it running?)",
			wantOK:        true,
			wantRetryable: true,
		},
		{
			name: "certificate not trusted",
			setup: func(t *testing.T) setup {
				srv := quietTLSServer(t, newCounter())
				return setup{base: srv.URL, hc: &http.Client{Transport: &http.Transport{}}}
			},
			wantWhat:      "TLS with {host} failed: the certificate is not trusted (x509: certificate signed by unknown authority); behind a TLS-inspecting proxy, add its CA certificate to the system's trust store (or SSL_CERT_FILE)",
			wantOK:        true,
			wantRetryable: true,
		},
		{
			name: "certificate for another host",
			setup: func(t *testing.T) setup {
				srv := quietTLSServer(t, newCounter())
				return setup{base: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), hc: srv.Client()}
			},
			wantWhat:      "TLS with {host} failed: the certificate is not for this host (x509: certificate is valid for example.com, *.example.com, not localhost): check the host in GONG_BASE_URL",
			wantOK:        true,
			wantRetryable: true,
		},
		{
			name: "https to a plain-http port",
			setup: func(t *testing.T) setup {
				srv := httptest.NewServer(newCounter())
				t.Cleanup(srv.Close)
				return setup{base: strings.Replace(srv.URL, "http:", "https:", 1), hc: &http.Client{Transport: &http.Transport{}}}
			},
			wantWhat:      "TLS with {host} failed: the server does not speak TLS on that port: check the scheme and port in GONG_BASE_URL",
			wantOK:        true,
			wantRetryable: true,
		},
		{
			name: "a header value Go refuses",
			setup: func(t *testing.T) setup {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					t.Errorf("the server got %s %s", r.Method, r.URL)
				}))
				t.Cleanup(srv.Close)
				return setup{base: srv.URL, hc: srv.Client(), creds: gong.Credentials{BearerToken: testToken + "\r\nX-Injected: 1"}}
			},
			wantWhat: "gong assign: request not sent: the Authorization header would hold a control character: check the GONG_* credentials",
			wantOK:   true,
		},
		{
			name: "the base URL redirects",
			setup: func(t *testing.T) setup {
				srv := httptest.NewServer(http.RedirectHandler("https://app.gong.io/login?next=x", http.StatusFound))
				t.Cleanup(srv.Close)
				return setup{base: srv.URL, hc: srv.Client()}
			},
			wantWhat: "the Gong address answers with a redirect (HTTP 302; redirect to https://app.gong.io/login not followed): set GONG_BASE_URL to your company's API address, as shown on Gong's API settings page",
			wantOK:   true,
		},
		{
			name: "a 500 is not a setup failure",
			setup: func(t *testing.T) setup {
				srv := httptest.NewServer(answerJSON(500, `{"errors":["boom"]}`))
				t.Cleanup(srv.Close)
				return setup{base: srv.URL, hc: srv.Client()}
			},
			wantRetryable: true,
		},
		{
			name: "a 401 is not one either",
			setup: func(t *testing.T) setup {
				srv := httptest.NewServer(answerJSON(401, `{"errors":["Unauthorized"]}`))
				t.Cleanup(srv.Close)
				return setup{base: srv.URL, hc: srv.Client()}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.setup(t)
			if tr, ok := s.hc.Transport.(*http.Transport); ok {
				t.Cleanup(tr.CloseIdleConnections)
			}
			if s.creds == (gong.Credentials{}) {
				s.creds = bearerCreds()
			}
			base, err := gong.ParseBaseURL(s.base)
			if err != nil {
				t.Fatal(err)
			}
			c := gong.NewClient(base, s.creds, s.hc, zaptest.NewLogger(t))
			_, err = c.Assign(context.Background(), assignOne)
			if err == nil {
				t.Fatal("no error")
			}
			what, ok := gong.Unreachable(err)
			wantWhat := strings.ReplaceAll(tt.wantWhat, "{host}", base.Host)
			if what != wantWhat || ok != tt.wantOK {
				t.Errorf("Unreachable(%v) =\n  %q, %v\nwant\n  %q, %v", err, what, ok, wantWhat, tt.wantOK)
			}
			if got := gong.Retryable(err); got != tt.wantRetryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tt.wantRetryable)
			}
			if l := leaked(what + err.Error()); l != nil {
				t.Errorf("message shows %q", l)
			}
		})
	}
}

// Errors a live test cannot make cheaply, built as the transport would.
func TestUnreachableOfBuiltErrors(t *testing.T) {
	te := func(err error) error { return &gong.TransportError{Op: "assign", Host: "us-1.api.gong.io", Err: err} }
	tests := []struct {
		name     string
		err      error
		wantWhat string
		wantOK   bool
	}{
		{name: "nil", err: nil},
		{name: "canceled", err: context.Canceled},
		{name: "plain", err: errors.New("something else")},
		{name: "EOF after sending", err: &gong.TransportError{Op: "assign", Err: io.EOF, Sent: true}},
		{name: "reset", err: te(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})},
		{
			name:     "expired certificate",
			err:      te(&tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired, Detail: "now is after notAfter"}}),
			wantWhat: "TLS with us-1.api.gong.io failed: the certificate is not valid (x509: certificate has expired or is not yet valid: now is after notAfter); behind a TLS-inspecting proxy, add its CA certificate to the system's trust store (or SSL_CERT_FILE)",
			wantOK:   true,
		},
		{
			name:     "handshake refused",
			err:      te(&net.OpError{Op: "remote error", Err: tls.AlertError(40)}),
			wantWhat: "TLS with us-1.api.gong.io failed: the server ended the handshake (tls: handshake failure): check the host and port in GONG_BASE_URL",
			wantOK:   true,
		},
		{
			name:     "refused, no host known: the dialled address",
			err:      &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
			wantWhat: "127.0.0.1:9 refused the connection: check the host and port in GONG_BASE_URL (for the emulator: is it running?)",
			wantOK:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			what, ok := gong.Unreachable(tt.err)
			if what != tt.wantWhat || ok != tt.wantOK {
				t.Errorf("Unreachable(%v) =\n  %q, %v\nwant\n  %q, %v", tt.err, what, ok, tt.wantWhat, tt.wantOK)
			}
		})
	}
}

func TestClientReached(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	refused := clientFor(t, "http://"+addr, bearerCreds(), &http.Client{Transport: &http.Transport{}})
	if _, err := refused.Assign(context.Background(), assignOne); err == nil || refused.Reached() {
		t.Errorf("after %v: Reached = %v, want false", err, refused.Reached())
	}

	srv := httptest.NewServer(answerJSON(500, `{}`))
	t.Cleanup(srv.Close)
	c := clientFor(t, srv.URL, bearerCreds(), srv.Client())
	if c.Reached() {
		t.Error("Reached before any call")
	}
	if _, err := c.Assign(context.Background(), assignOne); gong.StatusOf(err) != 500 || !c.Reached() {
		t.Errorf("after %v: Reached = %v, want true", err, c.Reached())
	}
}

// failingTransport fails every round trip; net/http wraps the failure in a
// *url.Error that repeats the URL, query included.
type failingTransport struct{ err error }

func (f failingTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

func TestErrorsShowNoQuery(t *testing.T) {
	c := clientFor(t, "https://us-1.api.gong.io", bearerCreds(), &http.Client{Transport: failingTransport{errors.New("proxy refused")}})
	for _, call := range []call{listFlows(ava, "cursor-"+testToken), listUsers("cursor-" + testToken)} {
		_, err := call(context.Background(), c)
		msg := errString(err)
		for _, private := range []string{"?", "cursor-", "flowOwnerEmail", testToken} {
			if strings.Contains(msg, private) {
				t.Errorf("error %q shows %q", msg, private)
			}
		}
		if !strings.HasSuffix(msg, ": proxy refused") {
			t.Errorf("error %q lost its cause", msg)
		}
	}
}
