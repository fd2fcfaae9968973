package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/proxy"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/service"
	"github.com/stackhub/stackhub/service/servicetest"
)

// gateRoutes is the engine's side of the routes in this test: one gated
// app.
type gateRoutes struct{ backend string }

func (g gateRoutes) Routes(context.Context) ([]engine.Route, error) {
	return []engine.Route{{Domain: "wiki.lan", Installation: "wiki", TLS: engine.TLSSelfSigned, Backend: g.backend, Login: true}}, nil
}

// testPort returns a free loopback port in 36001-36999.
func testPort(t *testing.T, not ...int) int {
	t.Helper()
	start := int(time.Now().UnixNano() % 999)
next:
	for i := range 999 {
		port := 36001 + (start+i)%999
		for _, n := range not {
			if n == port {
				continue next
			}
		}
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			_ = ln.Close()
			return port
		}
	}
	t.Fatal("no free port in 36001-36999")
	return 0
}

// TestLoginGateThroughServiceAndProxy walks a browser through the gate as
// `stackhub serve` wires it: the app's host sends it to the console's
// domain, the console to its login page, back to the gate after logging
// in, and on to the app with the proxy's cookie.
func TestLoginGateThroughServiceAndProxy(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	key, err := engine.GateKey(data)
	require.NoError(t, err)

	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"app": "wiki", "uri": r.RequestURI, "cookie": r.Header.Get("Cookie")})
	}))
	t.Cleanup(app.Close)

	store, err := sqlite.Open(ctx, filepath.Join(data, "stackhub.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	eng := servicetest.NewEngine()
	_, err = eng.Mem.Install(ctx, engine.InstallOptions{App: "hello", Name: "wiki"})
	require.NoError(t, err)
	_, err = eng.Mem.AddDomain(ctx, engine.DomainOptions{App: "wiki", Domain: "wiki.lan", Login: true})
	require.NoError(t, err)

	svcPort := testPort(t)
	httpPort := testPort(t, svcPort)
	httpsPort := testPort(t, svcPort, httpPort)
	cfg := &Config{
		Addr: fmt.Sprintf("127.0.0.1:%d", svcPort), ConsoleDomain: "console.lan",
		ProxyHTTP: fmt.Sprintf("127.0.0.1:%d", httpPort), ProxyHTTPS: fmt.Sprintf("127.0.0.1:%d", httpsPort),
	}
	srv := service.New(service.Config{DataDir: data, AdminPassword: "gate-admin-pw-1", SecureCookies: true, BehindLoopbackProxy: true, GateKey: key},
		eng, store, slog.New(slog.DiscardHandler))
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Listen(sctx, cfg.Addr) }()
	t.Cleanup(func() { stop(); assert.NoError(t, <-served) })
	require.Eventually(t, func() bool {
		r, err := http.Get("http://" + cfg.Addr + "/health")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "the service did not come up")

	gate, err := gateConfig(cfg, key)
	require.NoError(t, err)
	gate.PassActive = gatePassActive(store)
	gate.UserRecheck = time.Nanosecond // every request asks
	assert.Equal(t, fmt.Sprintf("https://console.lan:%d/api/v1/gate", httpsPort), gate.LoginURL)
	cr, err := consoleRoute(cfg)
	require.NoError(t, err)
	p, err := proxy.New(proxy.Config{HTTPAddr: cfg.ProxyHTTP, HTTPSAddr: cfg.ProxyHTTPS, DataDir: data, Gate: gate, Refresh: time.Hour},
		withRoute{next: gateRoutes{backend: app.Listener.Addr().String()}, route: cr}, nil)
	require.NoError(t, err)
	pctx, pstop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- p.Run(pctx) }()
	t.Cleanup(func() { pstop(); assert.NoError(t, <-ran) })
	select {
	case <-p.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not listen")
	}

	// A browser: every name resolves to the proxy, the local CA trusted,
	// cookies kept per host.
	ca, err := os.ReadFile(filepath.Join(data, "certs", "local", "ca.crt"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(ca))
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	var hops []string
	browser := &http.Client{
		Jar: jar,
		CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			hops = append(hops, r.URL.Host+r.URL.Path)
			return nil
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", httpsPort))
			},
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		},
		Timeout: 10 * time.Second,
	}
	get := func(target string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		hops = nil
		res, err := browser.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(b)
	}
	console := fmt.Sprintf("https://console.lan:%d", httpsPort)
	wiki := fmt.Sprintf("https://wiki.lan:%d", httpsPort)

	// Not logged in: the app's address ends on the console's login page.
	res, _ := get(wiki + "/notes?id=7")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "console.lan", res.Request.URL.Hostname())
	next := res.Request.URL.Query().Get("next")
	require.True(t, strings.HasPrefix(next, "/api/v1/gate?rd="), "the login page knows where to go back: %s", res.Request.URL)

	// Logging in, then (as the console's page does) back to the gate.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, console+"/api/v1/login", strings.NewReader(`{"username":"admin","password":"gate-admin-pw-1"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	lres, err := browser.Do(req)
	require.NoError(t, err)
	var login struct {
		CSRFToken string `json:"csrfToken"`
	}
	require.NoError(t, json.NewDecoder(lres.Body).Decode(&login))
	lres.Body.Close()
	require.Equal(t, http.StatusOK, lres.StatusCode)

	res, body := get(console + next)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "wiki.lan", res.Request.URL.Hostname(), "on to the app")
	var seen map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &seen))
	assert.Equal(t, "/notes?id=7", seen["uri"])
	assert.NotContains(t, seen["cookie"], "stackhub_", "neither the gate's nor the console's cookie reaches the app")

	// The proxy's cookie holds for the next requests: no more redirects.
	res, body = get(wiki + "/other")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, hops)
	assert.Contains(t, body, `"uri":"/other"`)

	// A forged cookie on the app's host is refused: to the login again
	// (the console session still holds, so back to the app at once).
	u := res.Request.URL
	jar.SetCookies(u, []*http.Cookie{{Name: "stackhub_gate", Value: "forged.value", Path: "/"}})
	res, _ = get(wiki + "/again")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, []string{
		fmt.Sprintf("console.lan:%d/api/v1/gate", httpsPort),
		fmt.Sprintf("wiki.lan:%d/.stackhub/gate", httpsPort),
		fmt.Sprintf("wiki.lan:%d/again", httpsPort),
	}, hops, "through the gate again")

	// Logging out of the console ends the gate's pass too: the app's
	// address goes to the login page again.
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, console+"/api/v1/logout", nil)
	require.NoError(t, err)
	req.Header.Set("X-CSRF-Token", login.CSRFToken)
	lres, err = browser.Do(req)
	require.NoError(t, err)
	lres.Body.Close()
	require.Equal(t, http.StatusOK, lres.StatusCode)
	res, _ = get(wiki + "/after-logout")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "console.lan", res.Request.URL.Hostname(), "the login page, not the app")
	assert.Contains(t, res.Request.URL.Query().Get("next"), "/api/v1/gate?rd=")
}
