package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/proxy"
)

// rangePort returns a free loopback port in 36001-36999, the range these
// tests use.
func rangePort(t *testing.T) int {
	t.Helper()
	start := 36001 + int(time.Now().UnixNano()%999)
	for i := range 999 {
		port := 36001 + (start-36001+i)%999
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = ln.Close()
			return port
		}
	}
	t.Fatal("no free port in 36001-36999")
	return 0
}

func TestProxyLoginGate(t *testing.T) {
	var cookies atomic.Value
	cookies.Store("")
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookies.Store(r.Header.Get("Cookie"))
		_ = json.NewEncoder(w).Encode(map[string]string{"app": "wiki", "uri": r.RequestURI})
	}))
	t.Cleanup(app.Close)
	key := []byte("0123456789abcdef0123456789abcdef")
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC).Unix())
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	var removed atomic.Bool // eve's account is deleted

	src := &routeList{}
	src.set(
		engine.Route{Domain: "wiki.lan", Installation: "wiki", TLS: engine.TLSSelfSigned, Backend: app.Listener.Addr().String(), Login: true},
		engine.Route{Domain: "open.lan", Installation: "open", TLS: engine.TLSSelfSigned, Backend: app.Listener.Addr().String()},
	)
	data := t.TempDir()
	httpPort, httpsPort := rangePort(t), rangePort(t)
	for httpsPort == httpPort {
		httpsPort = rangePort(t)
	}
	loginURL := "https://console.lan/api/v1/gate"
	p, err := proxy.New(proxy.Config{
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", httpPort), HTTPSAddr: fmt.Sprintf("127.0.0.1:%d", httpsPort),
		DataDir: data, DialTimeout: time.Second, Refresh: time.Hour,
		Gate: proxy.GateConfig{Key: key, LoginURL: loginURL, Now: now, UserRecheck: 30 * time.Second,
			PassActive: func(_ context.Context, user, session string) (bool, error) {
				if user == "broken" {
					return false, errors.New("database is locked")
				}
				if session == "ended" {
					return false, nil
				}
				return !removed.Load(), nil
			}},
	}, src, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	select {
	case <-p.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy's listeners did not come up")
	}
	c := client(rootsOf(t, filepath.Join(data, "certs", "local", "ca.crt")), httpsPort)
	base := fmt.Sprintf("https://wiki.lan:%d", httpsPort)
	get := func(t *testing.T, target, cookie string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
		require.NoError(t, err)
		if cookie != "" {
			req.Header.Set("Cookie", "stackhub_gate="+cookie+"; theme=dark")
		}
		res, err := c.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = res.Body.Close() })
		return res
	}
	toLogin := func(t *testing.T, res *http.Response, asked string) {
		t.Helper()
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, loginURL+"?rd="+url.QueryEscape(asked), res.Header.Get("Location"))
	}
	ticket := func(host string, ttl time.Duration) string {
		return engine.SignGatePass(key, engine.GatePass{Kind: engine.GatePassTicket, User: "eve", Host: host, Expires: now().Add(ttl).Unix()})
	}
	cookieOf := func(host string, ttl time.Duration, k []byte) string {
		return engine.SignGatePass(k, engine.GatePass{Kind: engine.GatePassCookie, User: "eve", Host: host, Expires: now().Add(ttl).Unix()})
	}

	t.Run("no cookie goes to the console's login", func(t *testing.T) {
		toLogin(t, get(t, base+"/notes?id=7", ""), base+"/notes?id=7")
		assert.Empty(t, cookies.Load(), "the app was not asked")
	})
	t.Run("a route without the gate is open", func(t *testing.T) {
		res := get(t, fmt.Sprintf("https://open.lan:%d/", httpsPort), "")
		assert.Equal(t, http.StatusOK, res.StatusCode)
	})
	t.Run("a ticket becomes a cookie, which reaches the app", func(t *testing.T) {
		res := get(t, base+"/.stackhub/gate?"+url.Values{"ticket": {ticket("wiki.lan", time.Minute)}, "rd": {"/notes?id=7"}}.Encode(), "")
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, "/notes?id=7", res.Header.Get("Location"))
		var got *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "stackhub_gate" {
				got = ck
			}
		}
		require.NotNil(t, got, "the proxy set its cookie")
		assert.True(t, got.Secure)
		assert.True(t, got.HttpOnly)
		assert.Empty(t, got.Domain, "host-only")
		assert.Equal(t, http.SameSiteLaxMode, got.SameSite)

		res = get(t, base+"/notes?id=7", got.Value)
		require.Equal(t, http.StatusOK, res.StatusCode)
		var body map[string]string
		require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
		assert.Equal(t, "/notes?id=7", body["uri"])
		assert.Equal(t, "theme=dark", cookies.Load(), "the gate's cookie is not passed to the app; others are")
	})
	t.Run("a valid cookie passes", func(t *testing.T) {
		res := get(t, base+"/", cookieOf("wiki.lan", time.Hour, key))
		assert.Equal(t, http.StatusOK, res.StatusCode)
	})

	refused := []struct{ name, cookie string }{
		{"forged cookie", cookieOf("wiki.lan", time.Hour, []byte("another-key-another-key-another-k"))},
		{"tampered cookie", strings.Replace(cookieOf("wiki.lan", time.Hour, key), ".", "x.", 1)},
		{"expired cookie", cookieOf("wiki.lan", -time.Second, key)},
		{"cookie of another host", cookieOf("open.lan", time.Hour, key)},
		{"a ticket used as cookie", ticket("wiki.lan", time.Minute)},
		{"garbage", "not-a-pass"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			cookies.Store("")
			toLogin(t, get(t, base+"/", tt.cookie), base+"/")
			assert.Empty(t, cookies.Load(), "the app was not asked")
		})
	}
	t.Run("a removed user is refused within the recheck time", func(t *testing.T) {
		ck := cookieOf("wiki.lan", time.Hour, key)
		assert.Equal(t, http.StatusOK, get(t, base+"/", ck).StatusCode)
		removed.Store(true)
		t.Cleanup(func() { removed.Store(false); clock.Add(31) })
		clock.Add(31)
		toLogin(t, get(t, base+"/", ck), base+"/")
		res := get(t, base+"/.stackhub/gate?"+url.Values{"ticket": {ticket("wiki.lan", time.Minute)}, "rd": {"/"}}.Encode(), "")
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "nor does a ticket of a removed user pass")
	})
	t.Run("the cookie of a console session that ended is refused", func(t *testing.T) {
		pass := func(kind, session string, ttl time.Duration) string {
			return engine.SignGatePass(key, engine.GatePass{Kind: kind, User: "eve", Host: "wiki.lan", Expires: now().Add(ttl).Unix(), Session: session})
		}
		// The ticket's session goes into the proxy's cookie.
		res := get(t, base+"/.stackhub/gate?"+url.Values{"ticket": {pass(engine.GatePassTicket, "ended", time.Minute)}, "rd": {"/"}}.Encode(), "")
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "a ticket of a session that ended")
		res = get(t, base+"/.stackhub/gate?"+url.Values{"ticket": {pass(engine.GatePassTicket, "live", time.Minute)}, "rd": {"/"}}.Encode(), "")
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		var got string
		for _, ck := range res.Cookies() {
			if ck.Name == "stackhub_gate" {
				got = ck.Value
			}
		}
		p, err := engine.VerifyGatePass(key, got, engine.GatePassCookie, "wiki.lan", now())
		require.NoError(t, err)
		assert.Equal(t, "live", p.Session, "the cookie is bound to the console session")
		assert.Equal(t, http.StatusOK, get(t, base+"/", got).StatusCode)
		toLogin(t, get(t, base+"/", pass(engine.GatePassCookie, "ended", time.Hour)), base+"/")
	})
	t.Run("a user that cannot be checked is refused", func(t *testing.T) {
		ck := engine.SignGatePass(key, engine.GatePass{Kind: engine.GatePassCookie, User: "broken", Host: "wiki.lan", Expires: now().Add(time.Hour).Unix()})
		toLogin(t, get(t, base+"/", ck), base+"/")
	})
	t.Run("a cookie expires with time", func(t *testing.T) {
		ck := cookieOf("wiki.lan", engine.GateCookieTTL, key)
		assert.Equal(t, http.StatusOK, get(t, base+"/", ck).StatusCode)
		clock.Add(int64(engine.GateCookieTTL / time.Second))
		t.Cleanup(func() { clock.Add(-int64(engine.GateCookieTTL / time.Second)) })
		toLogin(t, get(t, base+"/", ck), base+"/")
	})

	badTickets := []struct{ name, ticket string }{
		{"expired ticket", ticket("wiki.lan", -time.Second)},
		{"ticket of another host", ticket("open.lan", time.Minute)},
		{"cookie used as ticket", cookieOf("wiki.lan", time.Hour, key)},
		{"no ticket", ""},
	}
	for _, tt := range badTickets {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, base+"/.stackhub/gate?"+url.Values{"ticket": {tt.ticket}, "rd": {"/"}}.Encode(), "")
			assert.Equal(t, http.StatusForbidden, res.StatusCode)
			assert.Empty(t, res.Cookies())
		})
	}
	t.Run("rd stays on the host", func(t *testing.T) {
		for _, rd := range []string{"https://evil.example.org/", "//evil.example.org/", "/\\evil.example.org", ""} {
			res := get(t, base+"/.stackhub/gate?"+url.Values{"ticket": {ticket("wiki.lan", time.Minute)}, "rd": {rd}}.Encode(), "")
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			assert.Equal(t, "/", res.Header.Get("Location"), "rd %q", rd)
		}
	})
	t.Run("a change of method without a cookie is refused", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/notes", strings.NewReader("x"))
		require.NoError(t, err)
		res, err := c.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	})
}

func TestProxyLoginGateFailsClosed(t *testing.T) {
	app := echoApp(t)
	src := &routeList{}
	src.set(engine.Route{Domain: "wiki.lan", Installation: "wiki", TLS: engine.TLSSelfSigned, Backend: app.Listener.Addr().String(), Login: true})
	data := t.TempDir()
	_, _, httpsPort := startProxy(t, src, proxy.ACMEConfig{}, data) // no gate configured
	c := client(rootsOf(t, filepath.Join(data, "certs", "local", "ca.crt")), httpsPort)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, fmt.Sprintf("https://wiki.lan:%d/", httpsPort), nil)
	require.NoError(t, err)
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "no console to log in at: nobody passes")
}
