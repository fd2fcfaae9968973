// Package proxytest runs what tests of the reverse proxy need on loopback:
// a Pebble ACME server in the test's process and a DNS server that points
// every name at 127.0.0.1. It is for tests only; it imports Pebble and
// miekg/dns, nothing of StackHub's.
package proxytest

import (
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// DNS answers every A question with 127.0.0.1 (and nothing else), over
// TCP as Pebble's validation asks, until the test ends; it returns its
// address.
func DNS(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("test dns: %v", err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			if qq.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(127, 0, 0, 1)})
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// Pebble is a Pebble ACME server running in the test's process.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// Roots trusts the ACME endpoint (give it to the ACME client).
	Roots *x509.CertPool
	ca    *ca.CAImpl
}

// StartPebble runs Pebble on loopback until the test ends. Its validation
// connects to httpPort (HTTP-01) and tlsPort (TLS-ALPN-01) on 127.0.0.1
// (every name resolves there, through DNS). validity is the certificates'
// lifetime in seconds (0: Pebble's default, 90 days). It sets environment
// variables, so the test must not run in parallel.
func StartPebble(t *testing.T, httpPort, tlsPort int, validity uint64) *Pebble {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // no random wait before validating
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no deliberately rejected nonces
	logger := log.New(io.Discard, "", 0)
	if testing.Verbose() {
		logger = log.New(os.Stderr, "pebble ", log.Ltime)
	}
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "test", ValidityPeriod: validity}})
	validator := va.New(logger, httpPort, tlsPort, false, DNS(t), store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 1, 1)
	srv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return &Pebble{Directory: srv.URL + wfe.DirectoryPath, Roots: roots, ca: authority}
}

// IssuedRoots trusts the certificates Pebble issues.
func (p *Pebble) IssuedRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.GetRootCert(0).Cert)
	return pool
}
