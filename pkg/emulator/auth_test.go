package emulator

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowenroll/flowenroll/pkg/gong"
)

func TestAuthThroughClient(t *testing.T) {
	tokens := map[string][]string{
		"tok-rw":   {ScopeFlowsRead, ScopeFlowsWrite},
		"tok-read": {ScopeFlowsRead},
		"tok-none": {"api:calls:read:basic"},
	}
	keyed := Config{AccessKey: testKey, AccessKeySecret: testSecret, BearerTokens: tokens}
	keyOnly := Config{AccessKey: testKey, AccessKeySecret: testSecret}
	tokenOnly := Config{BearerTokens: tokens}
	// open: no credentials configured. An empty, non-nil BearerTokens keeps
	// newEnv from configuring its test key pair.
	open := Config{BearerTokens: map[string][]string{}}

	unauthorized := func(msg string) *apiErr { return &apiErr{Status: http.StatusUnauthorized, Errors: []string{msg}} }
	forbidden := func(scope string) *apiErr {
		return &apiErr{Status: http.StatusForbidden, Errors: []string{"the bearer token lacks the scope " + scope}}
	}
	bearer := func(tok string) gong.Credentials { return gong.Credentials{BearerToken: tok} }

	tests := []struct {
		name  string
		cfg   Config
		creds gong.Credentials
		op    string
		want  *apiErr
	}{
		{"basic assign", keyed, basic(), OpAssign, nil},
		{"basic read-back", keyed, basic(), OpReadBack, nil},
		{"basic list", keyed, basic(), OpListFlows, nil},
		{"basic wrong secret", keyed, gong.Credentials{AccessKey: testKey, AccessKeySecret: "nope"}, OpListFlows, unauthorized(msgBadBasic)},
		{"basic wrong key", keyed, gong.Credentials{AccessKey: "other", AccessKeySecret: testSecret}, OpAssign, unauthorized(msgBadBasic)},
		{"basic empty pair", keyed, gong.Credentials{}, OpListFlows, unauthorized(msgMalformedAuth)},
		{"basic when only tokens", tokenOnly, basic(), OpListFlows, unauthorized(msgBadBasic)},
		{"bearer rw assign", keyed, bearer("tok-rw"), OpAssign, nil},
		{"bearer read assign", keyed, bearer("tok-read"), OpAssign, forbidden(ScopeFlowsWrite)},
		{"bearer read read-back", keyed, bearer("tok-read"), OpReadBack, nil},
		{"bearer read list", keyed, bearer("tok-read"), OpListFlows, nil},
		{"bearer other scope list", keyed, bearer("tok-none"), OpListFlows, forbidden(ScopeFlowsRead)},
		{"bearer other scope read-back", keyed, bearer("tok-none"), OpReadBack, forbidden(ScopeFlowsRead)},
		{"bearer unknown", keyed, bearer("tok-stolen"), OpListFlows, unauthorized(msgBadBearer)},
		{"bearer when only key pair", keyOnly, bearer("tok-rw"), OpAssign, unauthorized(msgBadBearer)},
		{"open any basic", open, gong.Credentials{AccessKey: "k", AccessKeySecret: "s"}, OpAssign, nil},
		{"open any bearer has every scope", open, bearer("whatever"), OpAssign, nil},
		{"open empty pair", open, gong.Credentials{}, OpListFlows, unauthorized(msgMalformedAuth)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			c := e.client(t, tt.creds)
			ctx := context.Background()
			var err error
			switch tt.op {
			case OpAssign:
				_, err = c.Assign(ctx, gong.AssignRequest{FlowID: flowSDR, FlowInstanceOwnerEmail: ava, CRMProspectsIDs: []string{"003A"}})
			case OpReadBack:
				_, err = c.ProspectsFlows(ctx, []string{"003A"})
			case OpListFlows:
				_, err = c.ListFlows(ctx, ava, "")
			}
			if diff := cmp.Diff(tt.want, asAPIErr(t, err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthHeaders(t *testing.T) {
	ok := basicHeader(testKey, testSecret)
	tests := []struct {
		name   string
		header []string // Authorization values
		want   int
		msg    string
	}{
		{"none", nil, http.StatusUnauthorized, msgNoAuth},
		{"empty", []string{""}, http.StatusUnauthorized, msgNoAuth},
		{"unknown scheme", []string{"Token abc"}, http.StatusUnauthorized, msgMalformedAuth},
		{"scheme only", []string{"Basic"}, http.StatusUnauthorized, msgMalformedAuth},
		{"bearer without token", []string{"Bearer "}, http.StatusUnauthorized, msgMalformedAuth},
		{"not base64", []string{"Basic !!!"}, http.StatusUnauthorized, msgMalformedAuth},
		{"no colon", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon"))}, http.StatusUnauthorized, msgMalformedAuth},
		{"empty secret", []string{basicHeader(testKey, "")}, http.StatusUnauthorized, msgMalformedAuth},
		{"extra words", []string{ok + " extra"}, http.StatusUnauthorized, msgMalformedAuth},
		{"two headers", []string{ok, ok}, http.StatusUnauthorized, msgMalformedAuth},
		{"scheme case-insensitive", []string{"basic " + strings.TrimPrefix(ok, "Basic ")}, http.StatusOK, ""},
		{"good", []string{ok}, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, e.hs.URL+gong.PathFlows+"?flowOwnerEmail="+ava, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tt.header {
				req.Header.Add("Authorization", v)
			}
			resp, err := e.hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.msg == "" {
				return
			}
			got := errorBody(t, rawAnswer{Status: resp.StatusCode, Header: resp.Header, Body: body})
			if diff := cmp.Diff([]string{tt.msg}, got.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[int]int{http.StatusUnauthorized: 1}, e.srv.Stats().ClientErrors); diff != "" {
				t.Errorf("ClientErrors (-want +got):\n%s", diff)
			}
		})
	}
}
