package console

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hostCheck refuses a request whose Host the console does not answer to.
//
// A console without sign-in trusts whoever reaches it, which on loopback is
// the person at the machine, and also any web page they open: a page on
// evil.example whose name the attacker rebinds to 127.0.0.1 is same-origin
// with itself, so the browser lets it call the API and read the answers.
// Such a request still carries Host: evil.example, so without sign-in only
// loopback names and the listen address are answered. With sign-in the
// browser sends no credentials to the rebound name, so any Host is answered
// unless allowed lists some.
type hostCheck struct {
	open    bool     // no sign-in
	listen  string   // the listen address's host, lower case
	allowed []string // with sign-in: the names answered; none means any
}

// HostAllowed says whether a request with this Host header is answered.
func (h hostCheck) HostAllowed(hostport string) bool {
	host := strings.ToLower(hostport)
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if !h.open {
		if len(h.allowed) == 0 {
			return true
		}
		for _, a := range h.allowed {
			if a == host || (strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:])) {
				return true
			}
		}
		return false
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		// RFC 6761: browsers resolve these to loopback themselves.
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return true
	}
	return host != "" && host == h.listen
}

func (h hostCheck) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.HostAllowed(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, "Refused: this console does not answer to the name "+
				"this request was sent to. Open it at the address it listens on (see --listen and --allowed-hosts).")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// newHostCheck builds the check for a server listening on listen.
func newHostCheck(listen string, open bool, allowed []string) hostCheck {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	h := hostCheck{open: open, listen: strings.ToLower(strings.Trim(host, "[]"))}
	if ip, err := netip.ParseAddr(h.listen); err == nil && ip.IsUnspecified() {
		h.listen = "" // 0.0.0.0 is no name anyone browses to
	}
	for _, a := range allowed {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			h.allowed = append(h.allowed, strings.TrimSuffix(a, "."))
		}
	}
	return h
}
