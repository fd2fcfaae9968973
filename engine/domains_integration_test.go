//go:build integration

package engine_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/proxy"
	"github.com/stackhub/stackhub/engine/proxy/proxytest"
)

func loopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestDomainHTTPSOnRealDocker installs the hello app, routes a domain to
// it, and reaches it over HTTPS through the proxy with a certificate from
// Pebble; a stopped app answers the 502 page; removing the domain removes
// the route and the certificate.
func TestDomainHTTPSOnRealDocker(t *testing.T) {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	prefix := "shdm" + hex.EncodeToString(b)
	e := newRealEngineWith(t, func(c *engine.Config) { c.Prefix, c.PortMin, c.PortMax = prefix, 32001, 32999 })
	dk, err := docker.New()
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = dk.RemoveProject(context.WithoutCancel(t.Context()), prefix+"-hello", true)
		_ = dk.Close()
	})
	ctx := t.Context()

	_, err = e.Install(ctx, engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	inst := e.wait(t, "hello")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)

	// Bad input is refused with the reason.
	_, err = e.AddDomain(ctx, engine.DomainOptions{App: "hello", Domain: "hello.shdm.test", Port: "admin"})
	require.ErrorIs(t, err, engine.ErrInvalid)
	_, err = e.AddDomain(ctx, engine.DomainOptions{App: "hello", Domain: "https://hello.shdm.test"})
	require.ErrorIs(t, err, engine.ErrInvalid)

	const name = "hello.shdm.test"
	d, err := e.AddDomain(ctx, engine.DomainOptions{App: "hello", Domain: name})
	require.NoError(t, err)
	assert.Equal(t, "port", d.Port, "hello's one port")
	assert.Equal(t, engine.TLSACME, d.TLS)

	httpPort, httpsPort := loopbackPort(t), loopbackPort(t)
	pebble := proxytest.StartPebble(t, httpPort, httpsPort, 0)
	data := t.TempDir()
	p, err := proxy.New(proxy.Config{
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", httpPort), HTTPSAddr: fmt.Sprintf("127.0.0.1:%d", httpsPort),
		DataDir: data, DialTimeout: time.Second, Refresh: time.Minute,
		ACME: proxy.ACMEConfig{CA: pebble.Directory, Roots: pebble.Roots, DisableOCSP: true},
	}, e.Engine, e.DomainsChanged())
	require.NoError(t, err)
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(pctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	select {
	case <-p.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not start listening for the routed domain")
	}

	toProxy := func(port int) func(ctx context.Context, network, _ string) (net.Conn, error) {
		return func(ctx context.Context, network, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		}
	}
	c := &http.Client{
		Transport: &http.Transport{DialContext: toProxy(httpsPort), TLSClientConfig: &tls.Config{RootCAs: pebble.IssuedRoots(), MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true},
		Timeout:   10 * time.Second,
	}
	get := func(url string) (int, string, error) {
		resp, err := c.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}

	// HTTPS with Pebble's certificate reaches the app.
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body, err := get("https://" + name + "/")
		if err == nil {
			require.Equal(t, http.StatusOK, code, body)
			assert.Contains(t, body, "Hello")
			break
		}
		require.True(t, time.Now().Before(deadline), "no HTTPS through the proxy: %v", err)
		time.Sleep(200 * time.Millisecond)
	}

	// The proxy connects to the container on its Docker network, not
	// through Docker's port forwarder on the published port.
	routes, err := e.Routes(ctx)
	require.NoError(t, err)
	require.Len(t, routes, 1)
	direct := routes[0].Direct
	require.NotEmpty(t, direct, "Docker reports the container's address")
	host, port, err := net.SplitHostPort(direct)
	require.NoError(t, err)
	assert.NotEqual(t, "127.0.0.1", host)
	assert.Equal(t, "8080", port, "hello's own port in its container")
	conn, err := net.DialTimeout("tcp", direct, time.Second)
	require.NoError(t, err, "the host reaches the container's address")
	conn.Close()

	// HTTP redirects to HTTPS.
	plain := &http.Client{Transport: &http.Transport{DialContext: toProxy(httpPort)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := plain.Get("http://" + name + "/page")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
	assert.Equal(t, fmt.Sprintf("https://%s:%d/page", name, httpsPort), resp.Header.Get("Location"))

	// A stopped app answers the 502 page at once.
	job, err := e.Action(ctx, engine.ActionOptions{Name: "hello", Action: "stop"})
	require.NoError(t, err)
	waitJobDone(t, e, job.ID)
	start := time.Now()
	code, body, err := get("https://" + name + "/")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, code)
	assert.Contains(t, body, "The app hello behind "+name+" did not answer")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Eventually(t, func() bool {
		routes, err := e.Routes(ctx)
		return err == nil && len(routes) == 1 && routes[0].Direct == ""
	}, 10*time.Second, 50*time.Millisecond, "a stopped container has no address to route to")

	// Removing the domain removes the route and the certificate.
	stored, err := filepath.Glob(filepath.Join(data, "certs", "certificates", "*", name, name+".crt"))
	require.NoError(t, err)
	require.Len(t, stored, 1)
	require.NoError(t, e.RemoveDomain(ctx, name))
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(stored[0]); os.IsNotExist(err) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the removed domain's certificate stayed")
		time.Sleep(50 * time.Millisecond)
	}
	// It was the last domain: the proxy's ports are closed again.
	deadline = time.Now().Add(10 * time.Second)
	for {
		plain.CloseIdleConnections()
		resp, err = plain.Get("http://" + name + "/")
		if err != nil {
			break
		}
		resp.Body.Close()
		require.True(t, time.Now().Before(deadline), "the proxy still listens after the last domain went (HTTP %d)", resp.StatusCode)
		time.Sleep(50 * time.Millisecond)
	}
	c.CloseIdleConnections()
	_, _, err = get("https://" + name + "/")
	require.Error(t, err, "no certificate for a removed domain")

	require.NoError(t, e.Uninstall(ctx, engine.UninstallOptions{Name: "hello"}))
}

func waitJobDone(t *testing.T, e *realEngine, id string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := e.Job(t.Context(), id)
		require.NoError(t, err)
		if j.Status == engine.JobSucceeded {
			return
		}
		require.NotEqual(t, engine.JobFailed, j.Status, j.Message)
		require.True(t, time.Now().Before(deadline), "job %s still %s", id, j.Status)
		time.Sleep(200 * time.Millisecond)
	}
}
