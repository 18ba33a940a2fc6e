package gong

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DefaultBaseURL is Gong's usual base URL; each company may have its own.
const DefaultBaseURL = "https://api.gong.io"

// MaxSecretFileBytes bounds a NAME_FILE: a key or token is a few hundred
// bytes, and a path such as /dev/zero must fail at once, not fill memory.
const MaxSecretFileBytes = 64 << 10

// Credentials authenticate every request: an access key and secret (HTTP
// Basic) or an OAuth bearer token. Their String and GoString never show the
// secrets, so a credential cannot reach a log line by accident.
type Credentials struct {
	AccessKey       string
	AccessKeySecret string
	BearerToken     string
}

// Environment variables that carry credentials; each also has a _FILE form.
const (
	EnvAccessKey       = "GONG_ACCESS_KEY"
	EnvAccessKeySecret = "GONG_ACCESS_KEY_SECRET"
	EnvBearerToken     = "GONG_BEARER_TOKEN"
	EnvBaseURL         = "GONG_BASE_URL"
)

// ErrNoCredentials says that neither a key pair nor a token was configured.
var ErrNoCredentials = errors.New("no Gong credentials: set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_BEARER_TOKEN (or their _FILE forms)")

// CredentialsFromEnv reads the credentials from the environment, where each
// variable NAME may instead be given as NAME_FILE naming a file that holds
// it (a mounted Kubernetes Secret). Surrounding whitespace, such as a file's
// trailing newline, is dropped; a value that could not go into an HTTP
// header is refused with a message that names the variable, never the value.
//
// open opens a NAME_FILE; pass os.Open. It is generic so that os.Open fits
// as it is and tests may pass any io.ReadCloser. At most MaxSecretFileBytes
// are read from it.
func CredentialsFromEnv[F io.ReadCloser](getenv func(string) string, open func(name string) (F, error)) (Credentials, error) {
	var c Credentials
	for _, f := range []struct {
		name string
		dst  *string
	}{{EnvAccessKey, &c.AccessKey}, {EnvAccessKeySecret, &c.AccessKeySecret}, {EnvBearerToken, &c.BearerToken}} {
		v, err := secretFromEnv(f.name, getenv, open)
		if err != nil {
			return Credentials{}, err
		}
		*f.dst = v
	}
	return c, c.Validate()
}

// secretFromEnv reads one variable or its _FILE form, trimmed and checked.
func secretFromEnv[F io.ReadCloser](name string, getenv func(string) string, open func(string) (F, error)) (string, error) {
	v := getenv(name)
	path := getenv(name + "_FILE")
	if v != "" && path != "" {
		return "", fmt.Errorf("both %s and %s_FILE are set; set one", name, name)
	}
	if path == "" {
		v = strings.TrimSpace(v)
		if v == "" {
			return "", nil
		}
		return v, checkSecret(name, v)
	}
	// The path is not a secret; the content never appears in a message.
	what := name + "_FILE"
	f, err := open(path)
	if err != nil {
		return "", fmt.Errorf("%s: cannot read %s: %w", what, path, unwrapPathError(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("%s: cannot read %s: %w", what, path, unwrapPathError(err))
	}
	if len(b) > MaxSecretFileBytes {
		return "", fmt.Errorf("%s: %s is larger than %d KiB; it must hold the value alone", what, path, MaxSecretFileBytes>>10)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", what, path)
	}
	return s, checkSecret(what, s)
}

func unwrapPathError(err error) error {
	var pe interface{ Unwrap() error }
	if errors.As(err, &pe) {
		if inner := pe.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// checkSecret refuses a value that cannot be sent as it is in an
// Authorization header, or that was pasted with something around it. The
// message names the variable and what is wrong, never the value or where in
// it the fault lies.
func checkSecret(name, v string) error {
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("%s: the value has leading or trailing whitespace", name)
	}
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case b == '\r' || b == '\n':
			return fmt.Errorf("%s: the value holds a line break; it must be one line", name)
		case b < 0x20 || b == 0x7f:
			return fmt.Errorf("%s: the value holds a control character", name)
		case b >= 0x80:
			return fmt.Errorf("%s: the value holds a non-ASCII character", name)
		}
	}
	return nil
}

// Validate checks that exactly one way of authenticating is complete and
// that each value can be sent in a header, so that a bad value fails at
// start and not as a refused request.
func (c Credentials) Validate() error {
	for _, f := range []struct{ name, v string }{
		{EnvAccessKey, c.AccessKey}, {EnvAccessKeySecret, c.AccessKeySecret}, {EnvBearerToken, c.BearerToken},
	} {
		if f.v == "" {
			continue
		}
		if err := checkSecret(f.name, f.v); err != nil {
			return err
		}
	}
	// Basic's user-id ends at the first colon (RFC 7617); a token is one
	// word after "Bearer" (RFC 6750).
	if strings.Contains(c.AccessKey, ":") {
		return fmt.Errorf("%s: an access key cannot hold a colon", EnvAccessKey)
	}
	if strings.ContainsAny(c.BearerToken, " \t") {
		return fmt.Errorf("%s: a bearer token cannot hold a space", EnvBearerToken)
	}
	basic := c.AccessKey != "" || c.AccessKeySecret != ""
	switch {
	case basic && c.BearerToken != "":
		return errors.New("both an access key and a bearer token are set; set one")
	case c.AccessKey != "" && c.AccessKeySecret == "":
		return fmt.Errorf("%s is set but %s is not", EnvAccessKey, EnvAccessKeySecret)
	case c.AccessKey == "" && c.AccessKeySecret != "":
		return fmt.Errorf("%s is set but %s is not", EnvAccessKeySecret, EnvAccessKey)
	case !basic && c.BearerToken == "":
		return ErrNoCredentials
	}
	return nil
}

// Header is the Authorization header value.
func (c Credentials) Header() string {
	if c.BearerToken != "" {
		return "Bearer " + c.BearerToken
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.AccessKey+":"+c.AccessKeySecret))
}

// Kind names the scheme without revealing anything: "basic", "bearer" or "none".
func (c Credentials) Kind() string {
	switch {
	case c.BearerToken != "":
		return "bearer"
	case c.AccessKey != "":
		return "basic"
	}
	return "none"
}

// String hides the secrets.
func (c Credentials) String() string { return "gong.Credentials{" + c.Kind() + ", redacted}" }

// GoString hides the secrets from %#v too.
func (c Credentials) GoString() string { return c.String() }

// Format hides the secrets from every fmt verb.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = f.Write([]byte(strconv.Quote(c.String())))
		return
	}
	_, _ = f.Write([]byte(c.String()))
}

// MarshalJSON hides the secrets from JSON, and so from zap.Any.
func (c Credentials) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// ParseBaseURL checks a base URL: https://host[:port] with nothing after the
// host but an optional "/", and plain http only for a loopback host (the
// emulator). It returns the URL reduced to scheme and host. No message
// quotes the query or the user info, which may hold a token or password.
func ParseBaseURL(s string) (*url.URL, error) {
	if s == "" {
		s = DefaultBaseURL
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s: not a URL: %s", EnvBaseURL, parseFault(err))
	}
	if u.User != nil || strings.Contains(s, "@") {
		return nil, fmt.Errorf("%s: credentials in the URL are not accepted; use the GONG_* variables", EnvBaseURL)
	}
	if err := checkBaseURL(u, s); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvBaseURL, err)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// parseFault says what url.Parse found wrong without quoting the input: the
// faulty part may be a password or a token.
func parseFault(err error) string {
	var host url.InvalidHostError
	if errors.As(err, &host) {
		return host.Error() // one character
	}
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return "a malformed %-escape"
	}
	return "check the scheme, host and port"
}

// checkBaseURL is ParseBaseURL's list of refusals, for a URL with no user
// info; s is the URL as given.
func checkBaseURL(u *url.URL, s string) error {
	if u.Scheme != "https" && u.Scheme != "http" || u.Opaque != "" {
		return fmt.Errorf("want https://host, got %q", redactedURL(u))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("no host in %q; want https://host", redactedURL(u))
	}
	// Checked on the string too: url.URL does not record an empty fragment.
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return errors.New("a base URL has no query or fragment; drop what follows ? or #")
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("must be the company's API address without a path, e.g. https://us-12345.api.gong.io; drop %q", u.EscapedPath())
	}
	if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("empty port in %q; drop the colon or give a port from 1 to 65535", redactedURL(u))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %s is not from 1 to 65535", p)
		}
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return fmt.Errorf("plain http is refused for %s; use https (http is allowed only for loopback hosts)", u.Hostname())
	}
	return nil
}

// redactedURL is u without user info, query and fragment: the form in which
// a URL may appear in a message or a log line.
func redactedURL(u *url.URL) string {
	// An opaque part ("https:user:pass@host") is dropped too: it may hold anything.
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}

// IsLoopback reports whether host names this machine: localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
