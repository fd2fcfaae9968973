package service

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/servicetest"
)

func TestGateRoute(t *testing.T) {
	eng := servicetest.NewEngine()
	_, err := eng.Mem.Install(t.Context(), engine.InstallOptions{App: "hello", Name: "hello"})
	require.NoError(t, err)
	_, err = eng.Mem.AddDomain(t.Context(), engine.DomainOptions{App: "hello", Domain: "wiki.lan", Login: true})
	require.NoError(t, err)
	_, err = eng.Mem.AddDomain(t.Context(), engine.DomainOptions{App: "hello", Domain: "open.lan"})
	require.NoError(t, err)
	s, _ := newTestServer(t, eng)
	key := []byte("0123456789abcdef0123456789abcdef")
	s.cfg.GateKey = key
	require.NoError(t, s.EnsureAdmin(t.Context()))
	cookie, _ := login(t, s)
	withSession := map[string]string{"Cookie": sessionCookie + "=" + cookie}
	browser := map[string]string{"Accept": "text/html,application/xhtml+xml"}
	rd := url.QueryEscape("https://wiki.lan:36443/page?x=1")

	t.Run("no session goes to the login page and back", func(t *testing.T) {
		res := do(t, s, request{method: http.MethodGet, target: "/api/v1/gate?rd=" + rd, anonymous: true})
		assert.Equal(t, http.StatusUnauthorized, res.status, "an API caller gets a 401")
		res = do(t, s, request{method: http.MethodGet, target: "/api/v1/gate?rd=" + rd, anonymous: true, headers: browser})
		require.Equal(t, http.StatusSeeOther, res.status, "body: %s", res.body)
		loc := res.headers.Get("Location")
		require.True(t, strings.HasPrefix(loc, "/?next="), loc)
		assert.True(t, strings.HasSuffix(loc, "#/login"), loc)
		next, err := url.QueryUnescape(strings.TrimSuffix(strings.TrimPrefix(loc, "/?next="), "#/login"))
		require.NoError(t, err)
		assert.Equal(t, "/api/v1/gate?rd="+rd, next)
	})
	t.Run("forged session goes to the login page", func(t *testing.T) {
		res := do(t, s, request{method: http.MethodGet, target: "/api/v1/gate?rd=" + rd, anonymous: true,
			headers: map[string]string{"Cookie": sessionCookie + "=forged", "Accept": "text/html"}})
		require.Equal(t, http.StatusSeeOther, res.status)
		assert.True(t, strings.HasPrefix(res.headers.Get("Location"), "/?next="))
	})
	t.Run("a session gets a ticket for the host", func(t *testing.T) {
		res := do(t, s, request{method: http.MethodGet, target: "/api/v1/gate?rd=" + rd, anonymous: true, headers: withSession})
		require.Equal(t, http.StatusSeeOther, res.status, "body: %s", res.body)
		loc, err := url.Parse(res.headers.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, "https", loc.Scheme)
		assert.Equal(t, "wiki.lan:36443", loc.Host)
		assert.Equal(t, "/.stackhub/gate", loc.Path)
		assert.Equal(t, "/page?x=1", loc.Query().Get("rd"))
		pass, err := engine.VerifyGatePass(key, loc.Query().Get("ticket"), engine.GatePassTicket, "wiki.lan", time.Now())
		require.NoError(t, err)
		assert.Equal(t, "admin", pass.User)
		_, err = engine.VerifyGatePass(key, loc.Query().Get("ticket"), engine.GatePassCookie, "wiki.lan", time.Now())
		require.ErrorIs(t, err, engine.ErrGatePass, "a ticket is no cookie")
		assert.Equal(t, "no-store", res.headers.Get("Cache-Control"))
	})
	bad := []struct {
		name, rd string
		status   int
	}{
		{"a domain without the gate", "https://open.lan/", http.StatusNotFound},
		{"an unknown host", "https://evil.example.org/", http.StatusNotFound},
		{"plain http", "http://wiki.lan/", http.StatusBadRequest},
		{"no rd", "", http.StatusBadRequest},
		{"credentials in the url", "https://u:p@wiki.lan/", http.StatusBadRequest},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, s, request{method: http.MethodGet, target: "/api/v1/gate?rd=" + url.QueryEscape(tt.rd), anonymous: true, headers: withSession})
			assert.Equal(t, tt.status, res.status, "body: %s", res.body)
		})
	}
	t.Run("without a key the route says why", func(t *testing.T) {
		s.cfg.GateKey = nil
		defer func() { s.cfg.GateKey = key }()
		res := do(t, s, request{method: http.MethodGet, target: "/api/v1/gate?rd=" + rd, anonymous: true, headers: withSession})
		assert.Equal(t, http.StatusServiceUnavailable, res.status, "body: %s", res.body)
	})
}
