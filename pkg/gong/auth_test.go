package gong_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// fakeEnv is a getenv and a readFile over maps.
type fakeEnv struct {
	vars  map[string]string
	files map[string]string
	// errs are readFile failures; partial is returned with them, as a
	// reader that failed halfway would.
	errs    map[string]error
	partial string
}

func (e fakeEnv) getenv(name string) string { return e.vars[name] }

func (e fakeEnv) readFile(name string) ([]byte, error) {
	if err, ok := e.errs[name]; ok {
		return []byte(e.partial), err
	}
	if s, ok := e.files[name]; ok {
		return []byte(s), nil
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
			got, err := gong.CredentialsFromEnv(tt.env.getenv, tt.env.readFile)
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

// The real os.ReadFile, as main passes it.
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"GONG_BEARER_TOKEN_FILE": tt.file}
			got, err := gong.CredentialsFromEnv(func(k string) string { return env[k] }, os.ReadFile)
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
		{in: "https://gateway.example.com/gong//", want: "https://gateway.example.com/gong"},
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
		{in: "https://api.gong.io?company=1", wantErr: `GONG_BASE_URL: a base URL has no query or fragment: "https://api.gong.io?company=1"`},
		{in: "https://api.gong.io/#top", wantErr: `GONG_BASE_URL: a base URL has no query or fragment: "https://api.gong.io/#top"`},
		{in: "api.gong.io", wantErr: `GONG_BASE_URL: want https://host, got "api.gong.io"`},
		{in: "ftp://api.gong.io", wantErr: `GONG_BASE_URL: want https://host, got "ftp://api.gong.io"`},
		{in: "https://", wantErr: `GONG_BASE_URL: want https://host, got "https://"`},
		{in: "https://api gong.io", wantErr: `GONG_BASE_URL: not a URL: "https://api gong.io"`},
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

// A URL refused for another reason must not echo a password it carries.
func TestParseBaseURLDoesNotEchoPassword(t *testing.T) {
	for _, in := range []string{
		"htps://key:" + testSecret + "@api.gong.io",
		"api.gong.io://key:" + testSecret + "@x",
		"https://key:" + testSecret + "%zz@api.gong.io",
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

// The parsed base URL is used as is by the client: the path is a prefix.
func TestParseBaseURLKeepsPathPrefix(t *testing.T) {
	u, err := gong.ParseBaseURL("https://gateway.example.com/gong/")
	if err != nil {
		t.Fatal(err)
	}
	want := &url.URL{Scheme: "https", Host: "gateway.example.com", Path: "/gong"}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("URL (-want +got):\n%s", diff)
	}
}
