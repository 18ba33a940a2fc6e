package console

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// LocalUser is who uses a console on a loopback address without sign-in.
const LocalUser = "local"

// Auth says how people sign in. With neither Users nor Header, everyone is
// LocalUser: only for a server listening on loopback (see CheckListen).
type Auth struct {
	// Users maps a name to its bcrypt hash (an htpasswd file): HTTP Basic.
	Users map[string][]byte
	// Header names a header an authenticating proxy sets to the user's
	// identity (X-Forwarded-Email); requests without it are refused.
	Header string

	mu sync.Mutex
	ok map[[32]byte]string // passwords already checked: bcrypt is slow on purpose
}

// ParseUsers reads an htpasswd file of bcrypt lines, name:$2y$...; blank
// lines and # comments are skipped. Other hash kinds are refused.
func ParseUsers(r io.Reader) (map[string][]byte, error) {
	users := map[string][]byte{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("users file line %d: not name:hash", n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("users file line %d (%s): not a bcrypt hash (htpasswd -B makes one)", n, name)
		}
		users[name] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("users file: no users")
	}
	return users, nil
}

// open says whether nobody needs to sign in.
func (a *Auth) open() bool { return a == nil || (len(a.Users) == 0 && a.Header == "") }

// user returns who made the request, or false.
func (a *Auth) user(r *http.Request) (string, bool) {
	switch {
	case a.open():
		return LocalUser, true
	case a.Header != "":
		u := strings.TrimSpace(r.Header.Get(a.Header))
		return u, u != ""
	}
	name, pass, ok := r.BasicAuth()
	if !ok {
		return "", false
	}
	key := sha256.Sum256([]byte(name + "\x00" + pass))
	a.mu.Lock()
	known, seen := a.ok[key]
	a.mu.Unlock()
	if seen && subtle.ConstantTimeCompare([]byte(known), []byte(name)) == 1 {
		return name, true
	}
	hash, exists := a.Users[name]
	if !exists {
		// Spend the same time as a wrong password, so names cannot be probed.
		for _, h := range a.Users {
			hash = h
			break
		}
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil || !exists {
		return "", false
	}
	a.mu.Lock()
	if a.ok == nil || len(a.ok) > 1000 {
		a.ok = map[[32]byte]string{}
	}
	a.ok[key] = name
	a.mu.Unlock()
	return name, true
}

type userKey struct{}

// userOf is the signed-in user of a request that went through requireUser.
func userOf(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}

// requireUser answers 401 to a request without a user.
func (a *Auth) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := a.user(r)
		if !ok {
			if len(a.Users) > 0 {
				w.Header().Set("WWW-Authenticate", `Basic realm="flowenroll", charset="UTF-8"`)
			}
			writeError(w, http.StatusUnauthorized, "Sign in first.")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

// CheckListen refuses a console that anyone on the network could use: on an
// address other than loopback, a users file or an auth header is required.
func CheckListen(addr string, a *Auth) error {
	if !a.open() {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %s is not a loopback address: set FLOWENROLL_USERS_FILE (htpasswd, bcrypt) or --auth-header (the header your sign-in proxy sets), so that everyone signs in", addr)
}
