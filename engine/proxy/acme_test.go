package proxy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/proxy"
	"github.com/stackhub/stackhub/engine/proxy/proxytest"
)

// waitHTTPS polls until url answers over HTTPS with a certificate the
// client trusts, and returns the served certificate.
func waitHTTPS(t *testing.T, c *http.Client, url string) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			return resp.TLS.PeerCertificates[0]
		}
		require.True(t, time.Now().Before(deadline), "no trusted certificate for %s: %v", url, err)
		time.Sleep(100 * time.Millisecond)
	}
}

func TestProxyACMEWithPebble(t *testing.T) {
	for _, tt := range []struct {
		name string
		acme proxy.ACMEConfig
	}{
		{"http-01", proxy.ACMEConfig{DisableTLSALPN01: true}},
		{"tls-alpn-01", proxy.ACMEConfig{DisableHTTP01: true}},
	} {
		t.Run(tt.name, func(t *testing.T) { testACME(t, tt.acme) })
	}
}

// startACMEProxy runs a proxy whose certificates come from a new Pebble.
func startACMEProxy(t *testing.T, src proxy.Routes, acme proxy.ACMEConfig, validity uint64) (*proxy.Proxy, *proxytest.Pebble, string, int, int) {
	t.Helper()
	httpPort, httpsPort := freePort(t), freePort(t)
	pebble := proxytest.StartPebble(t, httpPort, httpsPort, validity)
	data := t.TempDir()
	acme.CA, acme.Roots, acme.DisableOCSP, acme.Email = pebble.Directory, pebble.Roots, true, "admin@shdm.test"
	p, err := proxy.New(proxy.Config{
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", httpPort), HTTPSAddr: fmt.Sprintf("127.0.0.1:%d", httpsPort),
		DataDir: data, Refresh: time.Hour, ACME: acme,
	}, src, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	<-p.Ready()
	return p, pebble, data, httpPort, httpsPort
}

func testACME(t *testing.T, acme proxy.ACMEConfig) {
	app := echoApp(t)
	const name = "hello.shdm.test"
	src := &routeList{}
	src.set(engine.Route{Domain: name, Installation: "hello", TLS: engine.TLSACME, Backend: app.Listener.Addr().String()})
	p, pebble, data, httpPort, httpsPort := startACMEProxy(t, src, acme, 0)

	c := client(pebble.IssuedRoots(), httpsPort)
	cert := waitHTTPS(t, c, "https://"+name+"/")
	assert.Equal(t, []string{name}, cert.DNSNames)
	assert.Contains(t, p.Status(name), "valid until")

	// The certificate is kept in the data folder.
	stored, err := filepath.Glob(filepath.Join(data, "certs", "certificates", "*", name, name+".crt"))
	require.NoError(t, err)
	require.Len(t, stored, 1, "certificate stored under the data folder")

	// HTTP redirects to HTTPS.
	resp, err := client(nil, httpPort).Get("http://" + name + "/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Location"), "https://"+name+":"))

	// Removing the domain removes its route and its certificate.
	src.set()
	require.NoError(t, p.Reload(t.Context()))
	_, err = os.Stat(stored[0])
	require.ErrorIs(t, err, os.ErrNotExist, "the certificate is deleted")
	_, err = tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), &tls.Config{ServerName: name, RootCAs: pebble.IssuedRoots(), MinVersion: tls.VersionTLS12})
	require.Error(t, err, "no certificate is served for a removed domain")
}

// TestProxyACMERenews gives certificates a lifetime of a few seconds and
// sees the proxy serve a new one before the first ends.
func TestProxyACMERenews(t *testing.T) {
	app := echoApp(t)
	const name = "renew.shdm.test"
	src := &routeList{}
	src.set(engine.Route{Domain: name, Installation: "hello", TLS: engine.TLSACME, Backend: app.Listener.Addr().String()})
	_, pebble, _, _, httpsPort := startACMEProxy(t, src, proxy.ACMEConfig{RenewCheck: 500 * time.Millisecond, DisableTLSALPN01: true}, 12)
	c := client(pebble.IssuedRoots(), httpsPort)
	first := waitHTTPS(t, c, "https://"+name+"/")
	deadline := time.Now().Add(40 * time.Second)
	for {
		c.CloseIdleConnections()
		cert := waitHTTPS(t, c, "https://"+name+"/")
		if cert.SerialNumber.Cmp(first.SerialNumber) != 0 {
			assert.True(t, cert.NotAfter.After(first.NotAfter), "the renewed certificate ends later")
			return
		}
		require.True(t, time.Now().Before(deadline), "the certificate ending %s was not renewed", first.NotAfter)
		time.Sleep(200 * time.Millisecond)
	}
}
