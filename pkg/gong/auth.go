package gong

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DefaultBaseURL is Gong's usual base URL; each company may have its own.
const DefaultBaseURL = "https://api.gong.io"

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
// it (a mounted Kubernetes Secret). Trailing newlines in files are dropped.
func CredentialsFromEnv(getenv func(string) string, readFile func(string) ([]byte, error)) (Credentials, error) {
	get := func(name string) (string, error) {
		v := getenv(name)
		f := getenv(name + "_FILE")
		if v != "" && f != "" {
			return "", fmt.Errorf("both %s and %s_FILE are set; set one", name, name)
		}
		if f == "" {
			return strings.TrimSpace(v), nil
		}
		b, err := readFile(f)
		if err != nil {
			// The path is not a secret; the content never appears here.
			return "", fmt.Errorf("%s_FILE: cannot read %s: %w", name, f, unwrapPathError(err))
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("%s_FILE: %s is empty", name, f)
		}
		return s, nil
	}
	var c Credentials
	var err error
	if c.AccessKey, err = get(EnvAccessKey); err != nil {
		return Credentials{}, err
	}
	if c.AccessKeySecret, err = get(EnvAccessKeySecret); err != nil {
		return Credentials{}, err
	}
	if c.BearerToken, err = get(EnvBearerToken); err != nil {
		return Credentials{}, err
	}
	return c, c.Validate()
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

// Validate checks that exactly one way of authenticating is complete.
func (c Credentials) Validate() error {
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

// ParseBaseURL checks a base URL: absolute, no query or fragment, and https
// unless the host is loopback (the emulator). A trailing slash is dropped.
func ParseBaseURL(s string) (*url.URL, error) {
	if s == "" {
		s = DefaultBaseURL
	}
	// Refused first, so that later messages may quote the value: with no @
	// it carries no password.
	if strings.Contains(s, "@") {
		return nil, fmt.Errorf("%s: credentials in the URL are not accepted; use the GONG_* variables", EnvBaseURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s: not a URL: %q", EnvBaseURL, s)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%s: want https://host, got %q", EnvBaseURL, s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s: a base URL has no query or fragment: %q", EnvBaseURL, s)
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%s: plain http is refused for %s; use https (http is allowed only for loopback hosts)", EnvBaseURL, u.Hostname())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// IsLoopback reports whether host names this machine: localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
