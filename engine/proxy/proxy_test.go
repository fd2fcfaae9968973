package proxy_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/proxy"
)

// routeList is a route source the test changes.
type routeList struct {
	mu sync.Mutex
	rs []engine.Route
}

func (l *routeList) Routes(_ context.Context) ([]engine.Route, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]engine.Route(nil), l.rs...), nil
}

func (l *routeList) set(rs ...engine.Route) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rs = rs
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProxy runs a proxy on free loopback ports until the test ends.
func startProxy(t *testing.T, src proxy.Routes, acme proxy.ACMEConfig, data string) (*proxy.Proxy, int, int) {
	t.Helper()
	httpPort, httpsPort := freePort(t), freePort(t)
	p, err := proxy.New(proxy.Config{
		HTTPAddr:    fmt.Sprintf("127.0.0.1:%d", httpPort),
		HTTPSAddr:   fmt.Sprintf("127.0.0.1:%d", httpsPort),
		DataDir:     data,
		ACME:        acme,
		DialTimeout: time.Second,
		Refresh:     time.Hour,
	}, src, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	select {
	case <-p.Ready():
	case err := <-done:
		t.Fatalf("proxy stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy's listeners did not come up")
	}
	return p, httpPort, httpsPort
}

// client trusts roots and sends every request to the proxy's port,
// whatever name the URL holds (a test DNS answer).
func client(roots *x509.CertPool, port int) *http.Client {
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:       dial,
			TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

func rootsOf(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	return pool
}

// echoApp answers what it was asked, and echoes a WebSocket-like
// upgraded connection.
func echoApp(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			_ = rw.Flush()
			_, _ = io.Copy(conn, rw)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"host": r.Host, "uri": r.RequestURI, "proto": r.Header.Get("X-Forwarded-Proto"),
			"fwdHost": r.Header.Get("X-Forwarded-Host"), "fwdFor": r.Header.Get("X-Forwarded-For"), "body": n,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProxyStaysOffWithoutRoutes(t *testing.T) {
	p, err := proxy.New(proxy.Config{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", DataDir: t.TempDir()}, &routeList{}, nil)
	require.NoError(t, err)
	require.NoError(t, p.Reload(t.Context()))
	h, s := p.Addrs()
	assert.Nil(t, h, "no domain, no listener")
	assert.Nil(t, s)
}

func TestProxyRoutesSelfSigned(t *testing.T) {
	app := echoApp(t)
	down := freePort(t) // nothing listens: a stopped app
	src := &routeList{}
	src.set(
		engine.Route{Domain: "app.lan", Installation: "hello", TLS: engine.TLSSelfSigned, Backend: app.Listener.Addr().String()},
		engine.Route{Domain: "down.lan", Installation: "stopped", TLS: engine.TLSSelfSigned, Backend: fmt.Sprintf("127.0.0.1:%d", down)},
		engine.Route{Domain: "gone.lan", Installation: "gone", TLS: engine.TLSSelfSigned},
		engine.Route{Domain: "console.lan", Installation: "stackhub", TLS: engine.TLSSelfSigned, Backend: app.Listener.Addr().String(), HSTS: true},
	)
	p, httpPort, httpsPort := startProxy(t, src, proxy.ACMEConfig{}, t.TempDir())
	c := client(rootsOf(t, p.RootFile()), httpsPort)
	plain := client(nil, httpPort)

	t.Run("https reaches the app over HTTP/2 with forwarded headers", func(t *testing.T) {
		resp, err := c.Get("https://app.lan/path?q=1")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, 2, resp.ProtoMajor)
		var got map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		assert.Equal(t, "app.lan", got["host"], "the app sees the name it was asked for")
		assert.Equal(t, "/path?q=1", got["uri"])
		assert.Equal(t, "https", got["proto"])
		assert.Equal(t, "app.lan", got["fwdHost"])
		assert.Equal(t, "127.0.0.1", got["fwdFor"])
	})
	t.Run("status", func(t *testing.T) {
		assert.Equal(t, "self-signed (local CA)", p.Status("app.lan"))
		assert.Equal(t, "pending", p.Status("other.lan"), "not read yet")
	})
	t.Run("hsts only where asked", func(t *testing.T) {
		resp, err := c.Get("https://console.lan/")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "max-age=31536000", resp.Header.Get("Strict-Transport-Security"))
		resp, err = c.Get("https://app.lan/")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Empty(t, resp.Header.Get("Strict-Transport-Security"))
	})
	t.Run("large upload streams through", func(t *testing.T) {
		const size = 64 << 20
		resp, err := c.Post("https://app.lan/upload", "application/octet-stream", io.LimitReader(zeros{}, size))
		require.NoError(t, err)
		defer resp.Body.Close()
		var got map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		assert.InDelta(t, float64(size), got["body"], 0)
	})
	t.Run("http redirects to https", func(t *testing.T) {
		resp, err := plain.Get("http://app.lan/a/b?c=d")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
		assert.Equal(t, fmt.Sprintf("https://app.lan:%d/a/b?c=d", httpsPort), resp.Header.Get("Location"))
	})
	t.Run("acme challenge path is not redirected", func(t *testing.T) {
		resp, err := plain.Get("http://app.lan/.well-known/acme-challenge/unknown-token")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("unknown host", func(t *testing.T) {
		resp, err := plain.Get("http://other.lan/")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Contains(t, string(body), "No app is reached at other.lan")
		_, err = c.Get("https://other.lan/")
		require.Error(t, err, "no certificate for a name nobody routed")
	})
	t.Run("stopped app gives a 502 page at once", func(t *testing.T) {
		start := time.Now()
		resp, err := c.Get("https://down.lan/")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
		assert.Contains(t, string(body), "The app stopped behind down.lan did not answer")
		assert.Contains(t, string(body), "stackhub start stopped")
		assert.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("uninstalled app gives a 502 page", func(t *testing.T) {
		resp, err := c.Get("https://gone.lan/")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		assert.Contains(t, string(body), "not installed")
	})
	t.Run("websocket upgrade passes through", func(t *testing.T) {
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), &tls.Config{
			ServerName: "app.lan", RootCAs: rootsOf(t, p.RootFile()), NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12,
		})
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: app.lan\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		require.NoError(t, err)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
		_, err = io.WriteString(conn, "ping over the socket")
		require.NoError(t, err)
		buf := make([]byte, len("ping over the socket"))
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err = io.ReadFull(br, buf)
		require.NoError(t, err)
		assert.Equal(t, "ping over the socket", string(buf))
	})
	t.Run("a removed route goes", func(t *testing.T) {
		src.set(engine.Route{Domain: "console.lan", Installation: "stackhub", TLS: engine.TLSSelfSigned, Backend: app.Listener.Addr().String(), HSTS: true})
		require.NoError(t, p.Reload(t.Context()))
		resp, err := plain.Get("http://app.lan/")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// tagApp answers its tag: which of two listeners a request reached.
func tagApp(t *testing.T, tag string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, tag)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProxyDialsTheContainerAddressFirst(t *testing.T) {
	published, container := tagApp(t, "published"), tagApp(t, "container")
	closed := freePort(t)
	src := &routeList{}
	src.set(
		engine.Route{Domain: "direct.lan", Installation: "a", TLS: engine.TLSSelfSigned, Backend: published.Listener.Addr().String(), Direct: container.Listener.Addr().String()},
		engine.Route{Domain: "fallback.lan", Installation: "b", TLS: engine.TLSSelfSigned, Backend: published.Listener.Addr().String(), Direct: fmt.Sprintf("127.0.0.1:%d", closed)},
		engine.Route{Domain: "plain.lan", Installation: "c", TLS: engine.TLSSelfSigned, Backend: published.Listener.Addr().String()},
	)
	p, _, httpsPort := startProxy(t, src, proxy.ACMEConfig{}, t.TempDir())
	c := client(rootsOf(t, p.RootFile()), httpsPort)
	get := func(name string) string {
		t.Helper()
		resp, err := c.Get("https://" + name + "/")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		return string(b)
	}
	assert.Equal(t, "container", get("direct.lan"), "the container's own address is used when it answers")
	assert.Equal(t, "published", get("fallback.lan"), "a container address that refuses falls back to the published port")
	assert.Equal(t, "published", get("fallback.lan"))
	assert.Equal(t, "published", get("plain.lan"), "no container address: the published port")

	// The container moved (another address): the next reading of the
	// routes sends requests there.
	moved := tagApp(t, "moved")
	src.set(engine.Route{Domain: "direct.lan", Installation: "a", TLS: engine.TLSSelfSigned, Backend: published.Listener.Addr().String(), Direct: moved.Listener.Addr().String()})
	require.NoError(t, p.Reload(t.Context()))
	assert.Equal(t, "moved", get("direct.lan"))
}

func TestProxyCustomCertificate(t *testing.T) {
	app := echoApp(t)
	data := t.TempDir()
	const name = "custom.example.org"
	src := &routeList{}
	src.set(engine.Route{Domain: name, Installation: "hello", TLS: engine.TLSCustom, Backend: app.Listener.Addr().String()})
	p, _, httpsPort := startProxy(t, src, proxy.ACMEConfig{}, data)

	// Without the files the handshake fails (and the log says where to put them).
	assert.Contains(t, p.Status(name), "custom: ")
	c := client(nil, httpsPort)
	_, err := c.Get("https://" + name + "/")
	require.Error(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := filepath.Join(data, "certs", "custom", name)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))

	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	c = client(roots, httpsPort)
	resp, err := c.Get("https://" + name + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, leaf.SerialNumber, resp.TLS.PeerCertificates[0].SerialNumber, "the user's certificate is served")
	assert.Equal(t, "custom", p.Status(name))
}

func TestProxyPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := taken.Addr().String()
	src := &routeList{}
	src.set(engine.Route{Domain: "app.lan", Installation: "hello", TLS: engine.TLSSelfSigned, Backend: "127.0.0.1:1"})
	p, err := proxy.New(proxy.Config{HTTPAddr: addr, HTTPSAddr: "127.0.0.1:0", DataDir: t.TempDir()}, src, nil)
	require.NoError(t, err)
	err = p.Reload(t.Context())
	require.ErrorIs(t, err, engine.ErrUnavailable)
	assert.Contains(t, engine.HintOf(err), "--proxy-http")
	assert.Equal(t, "proxy not serving: the proxy cannot listen on "+addr+": listen tcp "+addr+": bind: address already in use", p.Status("app.lan"))

	// Once the port is free, the next reading listens.
	require.NoError(t, taken.Close())
	require.NoError(t, p.Reload(t.Context()))
	assert.Equal(t, "self-signed (local CA)", p.Status("app.lan"))
	h, _ := p.Addrs()
	assert.Equal(t, addr, h.String())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.NoError(t, p.Run(ctx), "Run ends with its context and closes the listeners")
}
