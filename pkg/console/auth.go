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
	"net/netip"
	"strings"
	"sync"
	"time"

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
	// TrustedProxies are the addresses Header is believed from, and whose
	// X-Forwarded-For names the client to throttle: the proxy. None means
	// Header is believed from loopback only, a proxy in the same pod as a
	// console listening on 127.0.0.1 (CheckListen refuses any other listen).
	TrustedProxies []netip.Prefix
	// Throttle slows password guessing; nil means one on the wall clock.
	Throttle *Throttle

	mu      sync.Mutex
	ok      map[[32]byte]string // passwords already checked: bcrypt is slow on purpose
	refused map[string]int64    // refused sign-ins by reason, for the metric
}

// String is the reason's label in flowenroll_console_signins_refused_total.
func (why signIn) String() string {
	return [...]string{"", "no_or_wrong_credentials", "untrusted_proxy", "throttled"}[why]
}

// count adds a refused sign-in.
func (a *Auth) count(why signIn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refused == nil {
		a.refused = map[string]int64{}
	}
	a.refused[why.String()]++
}

// Refused returns the sign-ins refused so far, by reason.
func (a *Auth) Refused() map[string]int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int64{noUser.String(): 0, untrusted.String(): 0, throttled.String(): 0}
	for k, v := range a.refused {
		out[k] = v
	}
	return out
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

// signIn is why a request has no user.
type signIn int

const (
	signedIn  signIn = iota
	noUser           // no or wrong credentials: 401
	untrusted        // the auth header from an address not trusted: 403
	throttled        // too many attempts from this address or name: 429
)

// user returns who made the request, or why not.
func (a *Auth) user(r *http.Request) (string, signIn) {
	switch {
	case a.open():
		return LocalUser, signedIn
	case a.Header != "":
		if !a.trusted(r.RemoteAddr) {
			return "", untrusted
		}
		u := strings.TrimSpace(r.Header.Get(a.Header))
		if u == "" {
			return "", noUser
		}
		return u, signedIn
	}
	name, pass, ok := r.BasicAuth()
	if !ok {
		return "", noUser
	}
	key := sha256.Sum256([]byte(name + "\x00" + pass))
	a.mu.Lock()
	known, seen := a.ok[key]
	a.mu.Unlock()
	if seen && subtle.ConstantTimeCompare([]byte(known), []byte(name)) == 1 {
		return name, signedIn
	}
	// Only checks that reach bcrypt are throttled: a signed-in page's
	// many requests hit the kept answer above.
	addr := a.clientIP(r)
	if !a.throttle().allow(addr, name) {
		return "", throttled
	}
	if !a.check(name, pass) {
		a.throttle().failed(addr, name)
		return "", noUser
	}
	a.throttle().succeeded(addr, name)
	a.mu.Lock()
	if a.ok == nil || len(a.ok) > 1000 {
		a.ok = map[[32]byte]string{}
	}
	a.ok[key] = name
	a.mu.Unlock()
	return name, signedIn
}

// check compares a password with the user's bcrypt hash.
func (a *Auth) check(name, pass string) bool {
	hash, exists := a.Users[name]
	if !exists {
		// Spend the same time as a wrong password, so names cannot be probed.
		for _, h := range a.Users {
			hash = h
			break
		}
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(pass)) == nil && exists
}

func (a *Auth) throttle() *Throttle {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Throttle == nil {
		a.Throttle = NewThrottle(time.Now)
	}
	return a.Throttle
}

// trusted says whether the auth header is believed from this peer.
func (a *Auth) trusted(remote string) bool {
	ip, err := netip.ParseAddr(remoteIP(remote))
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	if len(a.TrustedProxies) == 0 {
		return ip.IsLoopback()
	}
	for _, p := range a.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is who to throttle: the peer, or, when the peer is one of
// TrustedProxies, the address it put last in X-Forwarded-For (the one it
// saw). Without TrustedProxies every client behind a proxy shares its
// address, and its throttle.
func (a *Auth) clientIP(r *http.Request) string {
	peer := remoteIP(r.RemoteAddr)
	if len(a.TrustedProxies) == 0 || !a.trusted(r.RemoteAddr) {
		return peer
	}
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return peer
	}
	hops := strings.Split(xff[len(xff)-1], ",")
	if ip, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1])); err == nil {
		return ip.String()
	}
	return peer
}

// remoteIP is the address of a RemoteAddr, without the port.
func remoteIP(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
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
		u, why := a.user(r)
		if why != signedIn {
			a.count(why)
		}
		switch why {
		case untrusted:
			writeError(w, http.StatusForbidden, "Refused: the sign-in header "+a.Header+" is believed only from the sign-in proxy, and this request did not come from it (see --trusted-proxy).")
			return
		case throttled:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "Too many sign-in attempts: wait a moment and try again.")
			return
		case noUser:
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
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	if a != nil && a.Header != "" && len(a.TrustedProxies) == 0 && !loopback {
		return fmt.Errorf("--auth-header %s on --listen %s: anyone who reaches the port could set the header and be anyone. Give --trusted-proxy CIDR (the address of your sign-in proxy), or listen on 127.0.0.1 behind a proxy in the same pod", a.Header, addr)
	}
	if !a.open() || loopback {
		return nil
	}
	return fmt.Errorf("--listen %s is not a loopback address: set FLOWENROLL_USERS_FILE (htpasswd, bcrypt) or --auth-header (the header your sign-in proxy sets), so that everyone signs in", addr)
}
