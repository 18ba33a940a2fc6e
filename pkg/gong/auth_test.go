package gong_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

// Values no output may show. Distinct, so a leak names its source.
const (
	testKey    = "AKEY-4711"
	testSecret = "s3cr3t-access-key-secret"
	testToken  = "t0k3n-bearer-oauth"
)

func basicCreds() gong.Credentials {
	return gong.Credentials{AccessKey: testKey, AccessKeySecret: testSecret}
}

func bearerCreds() gong.Credentials { return gong.Credentials{BearerToken: testToken} }

// secrets lists what must never appear in output, with the Authorization values.
func secrets() []string {
	return []string{
		testSecret, testToken,
		basicCreds().Header(), bearerCreds().Header(),
		base64.StdEncoding.EncodeToString([]byte(testKey + ":" + testSecret)),
	}
}

func leaked(s string) []string {
	var out []string
	for _, sec := range secrets() {
		if strings.Contains(s, sec) {
			out = append(out, sec)
		}
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// fakeEnv is a getenv and an open over maps.
type fakeEnv struct {
	vars  map[string]string
	files map[string]string
	// errs are read failures; partial is read before them, as from a
	// reader that failed halfway.
	errs    map[string]error
	partial string
}

func (e fakeEnv) getenv(name string) string { return e.vars[name] }

func (e fakeEnv) open(name string) (io.ReadCloser, error) {
	if err, ok := e.errs[name]; ok {
		return io.NopCloser(io.MultiReader(strings.NewReader(e.partial), iotest.ErrReader(err))), nil
	}
	if s, ok := e.files[name]; ok {
		return io.NopCloser(strings.NewReader(s)), nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func TestCredentialsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     fakeEnv
		want    gong.Credentials
		wantErr string
		wantIs  error
	}{
		{
			name: "basic",
			env:  fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_SECRET": testSecret}},
			want: basicCreds(),
		},
		{
			name: "basic with surrounding space",
			env:  fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY": " " + testKey + "\n", "GONG_ACCESS_KEY_SECRET": testSecret + "\r\n"}},
			want: basicCreds(),
		},
		{
			name: "bearer",
			env:  fakeEnv{vars: map[string]string{"GONG_BEARER_TOKEN": testToken}},
			want: bearerCreds(),
		},
		{
			name: "basic from files with trailing newlines",
			env: fakeEnv{
				vars:  map[string]string{"GONG_ACCESS_KEY_FILE": "/run/secrets/key", "GONG_ACCESS_KEY_SECRET_FILE": "/run/secrets/secret"},
				files: map[string]string{"/run/secrets/key": testKey + "\n", "/run/secrets/secret": testSecret + "\r\n"},
			},
			want: basicCreds(),
		},
		{
			name: "bearer from a file",
			env: fakeEnv{
				vars:  map[string]string{"GONG_BEARER_TOKEN_FILE": "/run/secrets/token"},
				files: map[string]string{"/run/secrets/token": testToken + "\n\n"},
			},
			want: bearerCreds(),
		},
		{
			name: "key from env, secret from file",
			env: fakeEnv{
				vars:  map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_SECRET_FILE": "/run/secrets/secret"},
				files: map[string]string{"/run/secrets/secret": testSecret},
			},
			want: basicCreds(),
		},
		{
			name: "NAME and NAME_FILE both set",
			env: fakeEnv{
				vars:  map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_FILE": "/run/secrets/key", "GONG_ACCESS_KEY_SECRET": testSecret},
				files: map[string]string{"/run/secrets/key": testKey},
			},
			wantErr: "both GONG_ACCESS_KEY and GONG_ACCESS_KEY_FILE are set; set one",
		},
		{
			name: "token and token file both set",
			env: fakeEnv{
				vars:  map[string]string{"GONG_BEARER_TOKEN": testToken, "GONG_BEARER_TOKEN_FILE": "/run/secrets/token"},
				files: map[string]string{"/run/secrets/token": testToken},
			},
			wantErr: "both GONG_BEARER_TOKEN and GONG_BEARER_TOKEN_FILE are set; set one",
		},
		{
			name:    "key without secret",
			env:     fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY": testKey}},
			wantErr: "GONG_ACCESS_KEY is set but GONG_ACCESS_KEY_SECRET is not",
		},
		{
			name:    "secret without key",
			env:     fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY_SECRET": testSecret}},
			wantErr: "GONG_ACCESS_KEY_SECRET is set but GONG_ACCESS_KEY is not",
		},
		{
			name:    "basic and bearer",
			env:     fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_SECRET": testSecret, "GONG_BEARER_TOKEN": testToken}},
			wantErr: "both an access key and a bearer token are set; set one",
		},
		{
			name:    "key and bearer",
			env:     fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_BEARER_TOKEN": testToken}},
			wantErr: "both an access key and a bearer token are set; set one",
		},
		{
			name:    "none",
			env:     fakeEnv{vars: map[string]string{"GONG_BASE_URL": "https://api.gong.io"}},
			wantErr: gong.ErrNoCredentials.Error(),
			wantIs:  gong.ErrNoCredentials,
		},
		{
			name:    "only blanks",
			env:     fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY": "  ", "GONG_BEARER_TOKEN": "\n"}},
			wantErr: gong.ErrNoCredentials.Error(),
			wantIs:  gong.ErrNoCredentials,
		},
		{
			name: "unreadable secret file: path and cause, never the content",
			env: fakeEnv{
				vars:    map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_SECRET_FILE": "/run/secrets/secret"},
				errs:    map[string]error{"/run/secrets/secret": &fs.PathError{Op: "read", Path: "/run/secrets/secret", Err: fs.ErrPermission}},
				partial: testSecret,
			},
			wantErr: "GONG_ACCESS_KEY_SECRET_FILE: cannot read /run/secrets/secret: permission denied",
			wantIs:  fs.ErrPermission,
		},
		{
			name: "unreadable token file, plain error",
			env: fakeEnv{
				vars:    map[string]string{"GONG_BEARER_TOKEN_FILE": "/run/secrets/token"},
				errs:    map[string]error{"/run/secrets/token": errors.New("input/output error")},
				partial: testToken,
			},
			wantErr: "GONG_BEARER_TOKEN_FILE: cannot read /run/secrets/token: input/output error",
		},
		{
			name:    "missing token file",
			env:     fakeEnv{vars: map[string]string{"GONG_BEARER_TOKEN_FILE": "/run/secrets/token"}},
			wantErr: "GONG_BEARER_TOKEN_FILE: cannot read /run/secrets/token: file does not exist",
			wantIs:  fs.ErrNotExist,
		},
		{
			name: "secret file of the secret and a newline",
			env: fakeEnv{
				vars:  map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_SECRET_FILE": "/run/secrets/secret"},
				files: map[string]string{"/run/secrets/secret": testSecret + "\n"},
			},
			want: basicCreds(),
		},
		{
			name: "file of exactly the cap",
			env: fakeEnv{
				vars:  map[string]string{"GONG_BEARER_TOKEN_FILE": "/run/secrets/token"},
				files: map[string]string{"/run/secrets/token": strings.Repeat("t", gong.MaxSecretFileBytes)},
			},
			want: gong.Credentials{BearerToken: strings.Repeat("t", gong.MaxSecretFileBytes)},
		},
		{
			name: "file one byte over the cap",
			env: fakeEnv{
				vars:  map[string]string{"GONG_BEARER_TOKEN_FILE": "/run/secrets/token"},
				files: map[string]string{"/run/secrets/token": testToken + strings.Repeat("\n", gong.MaxSecretFileBytes+1-len(testToken))},
			},
			wantErr: "GONG_BEARER_TOKEN_FILE: /run/secrets/token is larger than 64 KiB; it must hold the value alone",
		},
		{
			name:    "line break inside a variable",
			env:     fakeEnv{vars: map[string]string{"GONG_BEARER_TOKEN": testToken + "\r\nX-Injected: 1"}},
			wantErr: "GONG_BEARER_TOKEN: the value holds a line break; it must be one line",
		},
		{
			name: "two lines in a file",
			env: fakeEnv{
				vars:  map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_SECRET_FILE": "/run/secrets/secret"},
				files: map[string]string{"/run/secrets/secret": testSecret + "\n" + testSecret + "\n"},
			},
			wantErr: "GONG_ACCESS_KEY_SECRET_FILE: the value holds a line break; it must be one line",
		},
		{
			name: "NUL in a file",
			env: fakeEnv{
				vars:  map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_SECRET_FILE": "/run/secrets/secret"},
				files: map[string]string{"/run/secrets/secret": testSecret + "\x00"},
			},
			wantErr: "GONG_ACCESS_KEY_SECRET_FILE: the value holds a control character",
		},
		{
			name:    "tab inside a secret",
			env:     fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_SECRET": testSecret + "\tx"}},
			wantErr: "GONG_ACCESS_KEY_SECRET: the value holds a control character",
		},
		{
			name:    "DEL inside a token",
			env:     fakeEnv{vars: map[string]string{"GONG_BEARER_TOKEN": testToken + "\x7f"}},
			wantErr: "GONG_BEARER_TOKEN: the value holds a control character",
		},
		{
			name:    "non-ASCII key",
			env:     fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY": "AKEY\u20134711", "GONG_ACCESS_KEY_SECRET": testSecret}},
			wantErr: "GONG_ACCESS_KEY: the value holds a non-ASCII character",
		},
		{
			name:    "non-breaking space inside a token",
			env:     fakeEnv{vars: map[string]string{"GONG_BEARER_TOKEN": testToken + "\u00a0x"}},
			wantErr: "GONG_BEARER_TOKEN: the value holds a non-ASCII character",
		},
		{
			name:    "colon in the access key",
			env:     fakeEnv{vars: map[string]string{"GONG_ACCESS_KEY": testKey + ":" + testSecret, "GONG_ACCESS_KEY_SECRET": testSecret}},
			wantErr: "GONG_ACCESS_KEY: an access key cannot hold a colon",
		},
		{
			name:    "space inside a token",
			env:     fakeEnv{vars: map[string]string{"GONG_BEARER_TOKEN": "Bearer " + testToken}},
			wantErr: "GONG_BEARER_TOKEN: a bearer token cannot hold a space",
		},
		{
			name: "empty token file",
			env: fakeEnv{
				vars:  map[string]string{"GONG_BEARER_TOKEN_FILE": "/run/secrets/token"},
				files: map[string]string{"/run/secrets/token": "\n"},
			},
			wantErr: "GONG_BEARER_TOKEN_FILE: /run/secrets/token is empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gong.CredentialsFromEnv(tt.env.getenv, tt.env.open)
			if gotErr := errString(err); gotErr != tt.wantErr {
				t.Errorf("error %q, want %q", gotErr, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if l := leaked(errString(err)); l != nil {
				t.Errorf("error %q shows %q", err, l)
			}
			if tt.wantErr == "" {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Credentials (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// The real os.Open, as main passes it.
func TestCredentialsFromEnvRealFiles(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		want    gong.Credentials
		wantErr string
	}{
		{name: "mounted secret", file: tokenFile, want: bearerCreds()},
		{name: "missing", file: filepath.Join(dir, "nope"), wantErr: "GONG_BEARER_TOKEN_FILE: cannot read " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{name: "a directory", file: dir, wantErr: "GONG_BEARER_TOKEN_FILE: cannot read " + dir + ": is a directory"},
		{name: "endless", file: "/dev/zero", wantErr: "GONG_BEARER_TOKEN_FILE: /dev/zero is larger than 64 KiB; it must hold the value alone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"GONG_BEARER_TOKEN_FILE": tt.file}
			got, err := gong.CredentialsFromEnv(func(k string) string { return env[k] }, os.Open)
			if gotErr := errString(err); gotErr != tt.wantErr {
				t.Errorf("error %q, want %q", gotErr, tt.wantErr)
			}
			if tt.wantErr == "" {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Credentials (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestCredentialsHeaderAndKind(t *testing.T) {
	tests := []struct {
		name       string
		creds      gong.Credentials
		wantHeader string
		wantKind   string
	}{
		{"basic", basicCreds(), "Basic " + base64.StdEncoding.EncodeToString([]byte(testKey+":"+testSecret)), "basic"},
		{"basic with a colon in the secret", gong.Credentials{AccessKey: "k", AccessKeySecret: "a:b"}, "Basic " + base64.StdEncoding.EncodeToString([]byte("k:a:b")), "basic"},
		{"bearer", bearerCreds(), "Bearer " + testToken, "bearer"},
		{"none", gong.Credentials{}, "Basic " + base64.StdEncoding.EncodeToString([]byte(":")), "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.creds.Header(); got != tt.wantHeader {
				t.Errorf("Header() = %q, want %q", got, tt.wantHeader)
			}
			if got := tt.creds.Kind(); got != tt.wantKind {
				t.Errorf("Kind() = %q, want %q", got, tt.wantKind)
			}
		})
	}
}

func TestCredentialsFormatting(t *testing.T) {
	type config struct {
		Name  string
		Creds gong.Credentials
	}
	type configPtr struct{ Creds *gong.Credentials }
	b, bt := basicCreds(), bearerCreds()
	tests := []struct {
		name   string
		format string
		arg    any
		want   string
	}{
		{"basic %v", "%v", b, "gong.Credentials{basic, redacted}"},
		{"basic %+v", "%+v", b, "gong.Credentials{basic, redacted}"},
		{"basic %#v", "%#v", b, "gong.Credentials{basic, redacted}"},
		{"basic %s", "%s", b, "gong.Credentials{basic, redacted}"},
		{"basic %q", "%q", b, `"gong.Credentials{basic, redacted}"`},
		{"bearer %v", "%v", bt, "gong.Credentials{bearer, redacted}"},
		{"bearer %+v", "%+v", bt, "gong.Credentials{bearer, redacted}"},
		{"bearer %#v", "%#v", bt, "gong.Credentials{bearer, redacted}"},
		{"pointer %v", "%v", &b, "gong.Credentials{basic, redacted}"},
		{"pointer %+v", "%+v", &bt, "gong.Credentials{bearer, redacted}"},
		{"pointer %#v", "%#v", &b, "gong.Credentials{basic, redacted}"},
		{"none %v", "%v", gong.Credentials{}, "gong.Credentials{none, redacted}"},
		{"in a struct %v", "%v", config{"job", b}, "{job gong.Credentials{basic, redacted}}"},
		{"in a struct %+v", "%+v", config{"job", bt}, "{Name:job Creds:gong.Credentials{bearer, redacted}}"},
		{"in a struct %#v", "%#v", config{"job", b}, `gong_test.config{Name:"job", Creds:gong.Credentials{basic, redacted}}`},
		{"pointer in a struct %+v", "%+v", []configPtr{{&b}}, "[{Creds:gong.Credentials{basic, redacted}}]"},
		{"in a slice %v", "%v", []gong.Credentials{b, bt}, "[gong.Credentials{basic, redacted} gong.Credentials{bearer, redacted}]"},
		{"in a map %v", "%v", map[string]gong.Credentials{"a": bt}, "map[a:gong.Credentials{bearer, redacted}]"},
		{"String", "%s", b.String(), "gong.Credentials{basic, redacted}"},
		{"GoString", "%s", bt.GoString(), "gong.Credentials{bearer, redacted}"},
		{"Sprint", "%s", fmt.Sprint(b, bt), "gong.Credentials{basic, redacted} gong.Credentials{bearer, redacted}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fmt.Sprintf(tt.format, tt.arg)
			if got != tt.want {
				t.Errorf("Sprintf(%q) = %q, want %q", tt.format, got, tt.want)
			}
			if l := leaked(got); l != nil {
				t.Errorf("Sprintf(%q) shows %q", tt.format, l)
			}
		})
	}
}

// Ways a credential can still reach a log line by accident.
func TestCredentialsDoNotLeak(t *testing.T) {
	base, err := gong.ParseBaseURL("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		render func() (string, error)
		bug    string
	}{
		{
			name: "zap.Any of Credentials",
			render: func() (string, error) {
				return encodeZap(zap.Any("creds", basicCreds()))
			},
		},
		{
			name: "zap.Stringer of Credentials",
			render: func() (string, error) {
				return encodeZap(zap.Stringer("creds", bearerCreds()))
			},
		},
		{
			name: "fmt %d of Credentials",
			render: func() (string, error) {
				verb := "%d" // a variable, so vet lets the wrong verb through as a caller's mistake would
				return fmt.Sprintf(verb, basicCreds()), nil
			},
		},
		{
			name: "json.Marshal of Credentials (zap.Any of a struct holding them)",
			render: func() (string, error) {
				return encodeZap(zap.Any("config", struct{ Creds gong.Credentials }{basicCreds()}))
			},
		},
		{
			name: "fmt %+v of *Client",
			render: func() (string, error) {
				return fmt.Sprintf("%+v", gong.NewClient(base, basicCreds(), nil, nil)), nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				t.Skip(tt.bug)
			}
			got, err := tt.render()
			if err != nil {
				t.Fatal(err)
			}
			if l := leaked(got); l != nil {
				t.Errorf("%s shows %q:\n%s", tt.name, l, got)
			}
		})
	}
}

// encodeZap renders one field as a production logger's JSON encoder would.
func encodeZap(f zap.Field) (string, error) {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	buf, err := enc.EncodeEntry(zapcore.Entry{Message: "m"}, []zap.Field{f})
	if err != nil {
		return "", err
	}
	defer buf.Free()
	return buf.String(), nil
}

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "", want: "https://api.gong.io"},
		{in: "https://api.gong.io", want: "https://api.gong.io"},
		{in: "https://us-12345.api.gong.io", want: "https://us-12345.api.gong.io"},
		{in: "https://us-12345.api.gong.io/", want: "https://us-12345.api.gong.io"},
		{in: "https://us-12345.api.gong.io:8443", want: "https://us-12345.api.gong.io:8443"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080"},
		{in: "http://localhost:1234", want: "http://localhost:1234"},
		{in: "http://LocalHost", want: "http://LocalHost"},
		{in: "http://[::1]:9000/", want: "http://[::1]:9000"},
		{in: "http://127.0.0.2", want: "http://127.0.0.2"},
		{in: "http://api.gong.io", wantErr: "GONG_BASE_URL: plain http is refused for api.gong.io; use https (http is allowed only for loopback hosts)"},
		{in: "http://10.0.0.1:8080", wantErr: "GONG_BASE_URL: plain http is refused for 10.0.0.1; use https (http is allowed only for loopback hosts)"},
		{in: "http://localhost.example.com", wantErr: "GONG_BASE_URL: plain http is refused for localhost.example.com; use https (http is allowed only for loopback hosts)"},
		{in: "http://127.0.0.1.nip.io", wantErr: "GONG_BASE_URL: plain http is refused for 127.0.0.1.nip.io; use https (http is allowed only for loopback hosts)"},
		{in: "http://0.0.0.0:8080", wantErr: "GONG_BASE_URL: plain http is refused for 0.0.0.0; use https (http is allowed only for loopback hosts)"},
		{in: "https://key:" + testSecret + "@api.gong.io", wantErr: "GONG_BASE_URL: credentials in the URL are not accepted; use the GONG_* variables"},
		{in: "https://key@api.gong.io", wantErr: "GONG_BASE_URL: credentials in the URL are not accepted; use the GONG_* variables"},
		{in: "https://api.gong.io?company=1", wantErr: "GONG_BASE_URL: a base URL has no query or fragment; drop what follows ? or #"},
		{in: "https://api.gong.io/?access_token=" + testToken, wantErr: "GONG_BASE_URL: a base URL has no query or fragment; drop what follows ? or #"},
		{in: "https://api.gong.io?", wantErr: "GONG_BASE_URL: a base URL has no query or fragment; drop what follows ? or #"},
		{in: "https://api.gong.io/#top", wantErr: "GONG_BASE_URL: a base URL has no query or fragment; drop what follows ? or #"},
		{in: "https://api.gong.io#", wantErr: "GONG_BASE_URL: a base URL has no query or fragment; drop what follows ? or #"},
		{in: "https://us-12345.api.gong.io/v2", wantErr: `GONG_BASE_URL: must be the company's API address without a path, e.g. https://us-12345.api.gong.io; drop "/v2"`},
		{in: "https://us-12345.api.gong.io/v2/", wantErr: `GONG_BASE_URL: must be the company's API address without a path, e.g. https://us-12345.api.gong.io; drop "/v2/"`},
		{in: "https://gateway.example.com/gong//", wantErr: `GONG_BASE_URL: must be the company's API address without a path, e.g. https://us-12345.api.gong.io; drop "/gong//"`},
		{in: "https://api.gong.io//", wantErr: `GONG_BASE_URL: must be the company's API address without a path, e.g. https://us-12345.api.gong.io; drop "//"`},
		{in: "https://api.gong.io:0", wantErr: "GONG_BASE_URL: port 0 is not from 1 to 65535"},
		{in: "https://api.gong.io:65536", wantErr: "GONG_BASE_URL: port 65536 is not from 1 to 65535"},
		{in: "https://api.gong.io:65535", want: "https://api.gong.io:65535"},
		{in: "http://127.0.0.1:1", want: "http://127.0.0.1:1"},
		{in: "https://api.gong.io:", wantErr: `GONG_BASE_URL: empty port in "https://api.gong.io:"; drop the colon or give a port from 1 to 65535`},
		{in: "https://:443", wantErr: `GONG_BASE_URL: no host in "https://:443"; want https://host`},
		{in: "api.gong.io", wantErr: `GONG_BASE_URL: want https://host, got "api.gong.io"`},
		{in: "ftp://api.gong.io", wantErr: `GONG_BASE_URL: want https://host, got "ftp://api.gong.io"`},
		{in: "https:api.gong.io", wantErr: `GONG_BASE_URL: want https://host, got "https:"`},
		{in: "https://", wantErr: `GONG_BASE_URL: no host in "https:"; want https://host`},
		{in: "https://api gong.io", wantErr: `GONG_BASE_URL: not a URL: invalid character " " in host name`},
		{in: "https://api.gong.io:x", wantErr: `GONG_BASE_URL: not a URL: check the scheme, host and port`},
		{in: "https://api.gong.io/%zz", wantErr: `GONG_BASE_URL: not a URL: a malformed %-escape`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := gong.ParseBaseURL(tt.in)
			if got := errString(err); got != tt.wantErr {
				t.Errorf("error %q, want %q", got, tt.wantErr)
			}
			if l := leaked(errString(err)); l != nil {
				t.Errorf("error shows %q", l)
			}
			var got string
			if u != nil {
				got = u.String()
			}
			if got != tt.want {
				t.Errorf("URL %q, want %q", got, tt.want)
			}
		})
	}
}

// A URL refused for another reason must not echo a password or a query it carries.
func TestParseBaseURLDoesNotEchoPassword(t *testing.T) {
	for _, in := range []string{
		"htps://key:" + testSecret + "@api.gong.io",
		"api.gong.io://key:" + testSecret + "@x",
		"https://key:" + testSecret + "%zz@api.gong.io",
		"https://key:" + testSecret + "@api.gong.io:99999/v2?x#y",
		"https://api.gong.io:" + testSecret,
		"https://api.gong.io/?" + testSecret,
		"https://api.gong.io/v2?token=" + testSecret,
		"https://api.gong.io/#" + testSecret,
		"ftp://api.gong.io/?" + testSecret,
		"https:" + testSecret + "@api.gong.io",
		"http://10.0.0.1?" + testSecret,
	} {
		t.Run(in, func(t *testing.T) {
			_, err := gong.ParseBaseURL(in)
			if err == nil {
				t.Fatal("no error")
			}
			if l := leaked(err.Error()); l != nil {
				t.Errorf("error %q shows %q", err, l)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "api.gong.io": false,
		"localhost.": false, "[::1]": false, "localhost.example.com": false,
	}
	for host, want := range tests {
		if got := gong.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// The parsed base URL is reduced to scheme and host.
func TestParseBaseURLReturnsSchemeAndHost(t *testing.T) {
	u, err := gong.ParseBaseURL("https://us-12345.api.gong.io:8443/")
	if err != nil {
		t.Fatal(err)
	}
	want := &url.URL{Scheme: "https", Host: "us-12345.api.gong.io:8443"}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("URL (-want +got):\n%s", diff)
	}
}

// endless is a file with no end, counting what is read of it.
type endless struct{ read int }

func (e *endless) Read(p []byte) (int, error) {
	clear(p)
	e.read += len(p)
	return len(p), nil
}

func (e *endless) Close() error { return nil }

// A NAME_FILE with no end is refused after the cap, not read on.
func TestCredentialsFromEnvCapsFiles(t *testing.T) {
	f := &endless{}
	env := map[string]string{"GONG_ACCESS_KEY": testKey, "GONG_ACCESS_KEY_SECRET_FILE": "/dev/zero"}
	_, err := gong.CredentialsFromEnv(func(k string) string { return env[k] }, func(string) (*endless, error) { return f, nil })
	if got, want := errString(err), "GONG_ACCESS_KEY_SECRET_FILE: /dev/zero is larger than 64 KiB; it must hold the value alone"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if f.read != gong.MaxSecretFileBytes+1 {
		t.Errorf("read %d bytes, want %d", f.read, gong.MaxSecretFileBytes+1)
	}
}

// Credentials built in code get the checks CredentialsFromEnv applies.
func TestCredentialsValidate(t *testing.T) {
	tests := []struct {
		name    string
		creds   gong.Credentials
		wantErr string
	}{
		{name: "basic", creds: basicCreds()},
		{name: "bearer", creds: bearerCreds()},
		{name: "space inside a secret", creds: gong.Credentials{AccessKey: testKey, AccessKeySecret: "two words"}},
		{name: "untrimmed key", creds: gong.Credentials{AccessKey: " " + testKey, AccessKeySecret: testSecret},
			wantErr: "GONG_ACCESS_KEY: the value has leading or trailing whitespace"},
		{name: "newline after a token", creds: gong.Credentials{BearerToken: testToken + "\n"},
			wantErr: "GONG_BEARER_TOKEN: the value has leading or trailing whitespace"},
		{name: "CR inside a secret", creds: gong.Credentials{AccessKey: testKey, AccessKeySecret: testSecret + "\rx"},
			wantErr: "GONG_ACCESS_KEY_SECRET: the value holds a line break; it must be one line"},
		{name: "escape inside a token", creds: gong.Credentials{BearerToken: testToken + "\x1b[0m"},
			wantErr: "GONG_BEARER_TOKEN: the value holds a control character"},
		{name: "non-ASCII secret", creds: gong.Credentials{AccessKey: testKey, AccessKeySecret: testSecret + "é"},
			wantErr: "GONG_ACCESS_KEY_SECRET: the value holds a non-ASCII character"},
		{name: "none", creds: gong.Credentials{}, wantErr: gong.ErrNoCredentials.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.creds.Validate()
			if got := errString(err); got != tt.wantErr {
				t.Errorf("error %q, want %q", got, tt.wantErr)
			}
			if l := leaked(errString(err)); l != nil {
				t.Errorf("error shows %q", l)
			}
		})
	}
}
