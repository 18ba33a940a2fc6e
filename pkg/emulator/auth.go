package emulator

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// Messages of 401 answers; Gong's own wording is unpublished. None of them
// repeats what the client sent.
const (
	msgNoAuth        = "missing Authorization header"
	msgMalformedAuth = "malformed Authorization header: want Basic base64(accessKey:accessKeySecret) or Bearer <token>"
	msgBadBasic      = "invalid access key or access key secret"
	msgBadBearer     = "invalid bearer token"
)

// authenticate checks the Authorization header values against the
// configuration and, for a Bearer token, the scope the endpoint needs. It
// returns 0 and "" if the request may proceed, else the status and message.
func (s *Server) authenticate(values []string, scope string) (int, string) {
	if len(values) == 0 || values[0] == "" {
		return http.StatusUnauthorized, msgNoAuth
	}
	if len(values) > 1 {
		return http.StatusUnauthorized, msgMalformedAuth
	}
	scheme, cred, ok := strings.Cut(values[0], " ")
	if !ok || cred == "" || strings.ContainsAny(cred, " \t") {
		return http.StatusUnauthorized, msgMalformedAuth
	}
	switch {
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return http.StatusUnauthorized, msgMalformedAuth
		}
		key, secret, ok := strings.Cut(string(raw), ":")
		if !ok || key == "" || secret == "" {
			return http.StatusUnauthorized, msgMalformedAuth
		}
		if s.openAuth {
			return 0, ""
		}
		if s.cfg.AccessKey == "" || !equal(key, s.cfg.AccessKey) || !equal(secret, s.cfg.AccessKeySecret) {
			return http.StatusUnauthorized, msgBadBasic
		}
		// Scopes belong to OAuth: a key pair may call every endpoint.
		return 0, ""
	case strings.EqualFold(scheme, "Bearer"):
		if s.openAuth {
			return 0, ""
		}
		scopes, ok := s.cfg.BearerTokens[cred]
		if !ok {
			return http.StatusUnauthorized, msgBadBearer
		}
		for _, sc := range scopes {
			if sc == scope {
				return 0, ""
			}
		}
		return http.StatusForbidden, "the bearer token lacks the scope " + scope
	}
	return http.StatusUnauthorized, msgMalformedAuth
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
