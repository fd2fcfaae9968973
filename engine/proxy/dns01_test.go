package proxy_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/proxy"
	"github.com/stackhub/stackhub/engine/proxy/proxytest"
)

// hookEnv makes the test binary act as a DNS exec hook: it sets the
// record in the test DNS at that address through RFC 2136.
const hookEnv = "STACKHUB_TEST_DNS_HOOK"

func TestMain(m *testing.M) {
	if addr := os.Getenv(hookEnv); addr != "" {
		os.Exit(runHook(addr, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func runHook(addr string, args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: present|cleanup NAME VALUE")
		return 2
	}
	// The hook is a process of its own, outside any test.
	ctx := context.Background() //nolint:forbidigo // no test runs in the hook's process
	p, err := testRFC2136(addr)
	if err == nil {
		recs := []libdns.Record{libdns.RR{Type: "TXT", Name: libdns.RelativeName(args[1], proxytest.Zone), Data: args[2]}}
		if args[0] == "present" {
			_, err = p.AppendRecords(ctx, proxytest.Zone, recs)
		} else {
			_, err = p.DeleteRecords(ctx, proxytest.Zone, recs)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func testRFC2136(addr string) (*proxy.RFC2136, error) {
	k := proxytest.TSIG
	return proxy.NewRFC2136(proxy.RFC2136{Server: addr, KeyName: k.Name, KeyAlgorithm: strings.TrimSuffix(k.Algorithm, "."), Secret: k.Secret})
}

// TestProxyWildcardDNS01 gets a wildcard certificate from Pebble through
// DNS-01, the TXT record set by each provider in the test DNS, and
// reaches two names under it through the proxy.
func TestProxyWildcardDNS01(t *testing.T) {
	for _, tt := range []struct {
		name     string
		provider func(t *testing.T, dnsAddr string) proxy.DNSProvider
	}{
		{"rfc2136", func(t *testing.T, dnsAddr string) proxy.DNSProvider {
			p, err := testRFC2136(dnsAddr)
			require.NoError(t, err)
			return p
		}},
		{"exec", func(t *testing.T, dnsAddr string) proxy.DNSProvider {
			t.Setenv(hookEnv, dnsAddr)
			self, err := os.Executable()
			require.NoError(t, err)
			h, err := proxy.NewExecHook(self)
			require.NoError(t, err)
			return h
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := echoApp(t)
			const name = "*.wild.shdm.test"
			src := &routeList{}
			src.set(engine.Route{Domain: name, Installation: "hello", TLS: engine.TLSACME, Backend: app.Listener.Addr().String()})
			httpPort, httpsPort := freePort(t), freePort(t)
			pebble := proxytest.StartPebble(t, httpPort, httpsPort, 0)
			acme := proxy.ACMEConfig{CA: pebble.Directory, Roots: pebble.Roots, DisableOCSP: true,
				DNS: proxy.DNSConfig{Provider: tt.provider(t, pebble.DNS.Addr), Resolvers: []string{pebble.DNS.Addr}, PropagationTimeout: 20 * time.Second}}
			p, err := proxy.New(proxy.Config{
				HTTPAddr: fmt.Sprintf("127.0.0.1:%d", httpPort), HTTPSAddr: fmt.Sprintf("127.0.0.1:%d", httpsPort),
				DataDir: t.TempDir(), Refresh: time.Hour, ACME: acme,
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

			c := client(pebble.IssuedRoots(), httpsPort)
			for _, host := range []string{"a.wild.shdm.test", "b.wild.shdm.test"} {
				cert := waitHTTPS(t, c, "https://"+host+"/")
				assert.Equal(t, []string{name}, cert.DNSNames)
			}
			assert.Contains(t, p.Status(name), "valid until")
			// A name two labels down is not under the wildcard.
			resp, err := c.Get("https://x.y.wild.shdm.test/")
			if err == nil {
				resp.Body.Close()
			}
			require.Error(t, err, "no certificate for a name the wildcard does not cover")
			// The challenge's record is removed once the certificate is in.
			require.Eventually(t, func() bool { return len(pebble.DNS.TXT("_acme-challenge.wild.shdm.test")) == 0 }, 10*time.Second, 50*time.Millisecond)
		})
	}
}

func TestDNSProviderSettings(t *testing.T) {
	_, err := proxy.NewRFC2136(proxy.RFC2136{})
	require.ErrorContains(t, err, "primary server")
	_, err = proxy.NewRFC2136(proxy.RFC2136{Server: "ns1.example.org", KeyName: "k", Secret: "not base64!"})
	require.ErrorContains(t, err, "base64")
	_, err = proxy.NewRFC2136(proxy.RFC2136{Server: "ns1.example.org", KeyName: "k", KeyAlgorithm: "md5", Secret: "YWJj"})
	require.ErrorContains(t, err, "not supported")
	p, err := proxy.NewRFC2136(proxy.RFC2136{Server: "ns1.example.org", KeyName: "k", Secret: "c2VjcmV0"})
	require.NoError(t, err)
	assert.Equal(t, "ns1.example.org:53", p.Server)
	assert.NotContains(t, p.String(), "c2VjcmV0", "the secret is never shown")

	name, alg, secret, err := proxy.ParseTSIG("hmac-sha512:acme-key:c2VjcmV0")
	require.NoError(t, err)
	assert.Equal(t, []string{"acme-key", "hmac-sha512", "c2VjcmV0"}, []string{name, alg, secret})
	_, _, _, err = proxy.ParseTSIG("justone")
	require.Error(t, err)

	_, err = proxy.NewExecHook("/nonexistent/hook")
	require.Error(t, err)
	_, err = exec.LookPath("sh")
	require.NoError(t, err)
	script := t.TempDir() + "/hook"
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" >> \"$0.log\"\n[ \"$1\" = present ] || { echo nope >&2; exit 3; }\n"), 0o755))
	h, err := proxy.NewExecHook(script)
	require.NoError(t, err)
	rec := []libdns.Record{libdns.RR{Type: "TXT", Name: "_acme-challenge", Data: "tok"}}
	_, err = h.AppendRecords(t.Context(), "example.org.", rec)
	require.NoError(t, err)
	_, err = h.DeleteRecords(t.Context(), "example.org.", rec)
	require.ErrorContains(t, err, "nope", "the hook's output says why it failed")
	log, err := os.ReadFile(script + ".log")
	require.NoError(t, err)
	assert.Equal(t, "present _acme-challenge.example.org. tok\ncleanup _acme-challenge.example.org. tok\n", string(log))
}
