// Package proxytest runs what tests of the reverse proxy need on loopback:
// a Pebble ACME server in the test's process and a DNS server that points
// every name at 127.0.0.1 and keeps the TXT records of DNS-01 challenges
// (set through RFC 2136 updates or directly). It is for tests only; it imports Pebble and
// miekg/dns, nothing of StackHub's.
package proxytest

import (
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// Zone is the zone the test DNS is authoritative for: it answers SOA
// questions for it (an ACME client finds the zone of a DNS-01 record that
// way) and takes RFC 2136 updates of its TXT records.
const Zone = "shdm.test."

// TSIG is the key (name, algorithm, base64 secret) the test DNS requires
// of RFC 2136 updates.
var TSIG = struct{ Name, Algorithm, Secret string }{"stackhub-test.", "hmac-sha256.", "c3RhY2todWItdGVzdC1zZWNyZXQtMzItYnl0ZXMhISE="}

// DNSServer answers every A question with 127.0.0.1, TXT questions from
// the records set by updates or by Set, and SOA questions for Zone, over
// UDP and TCP on one port, until the test ends.
type DNSServer struct {
	// Addr is HOST:PORT.
	Addr string
	mu   sync.Mutex
	txt  map[string][]string // lowercase FQDN -> values
}

// DNS starts a test DNS server and returns its address.
func DNS(t testing.TB) string { return StartDNS(t).Addr }

// StartDNS starts a test DNS server.
func StartDNS(t testing.TB) *DNSServer {
	t.Helper()
	d := &DNSServer{txt: map[string][]string{}}
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatalf("test dns: %v", err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		_ = pc.Close()
		pc = nil
	}
	if ln == nil {
		t.Fatal("test dns: no port free for both UDP and TCP")
	}
	d.Addr = ln.Addr().String()
	secrets := map[string]string{TSIG.Name: TSIG.Secret}
	// The default accept function refuses updates.
	accept := func(dns.Header) dns.MsgAcceptAction { return dns.MsgAccept }
	for _, srv := range []*dns.Server{{Listener: ln, Handler: d, TsigSecret: secrets, MsgAcceptFunc: accept}, {PacketConn: pc, Handler: d, TsigSecret: secrets, MsgAcceptFunc: accept}} {
		go func() { _ = srv.ActivateAndServe() }()
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return d
}

// Set replaces the TXT values of a name (an FQDN, with or without the
// final dot); no values removes them.
func (d *DNSServer) Set(name string, values ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = dns.Fqdn(strings.ToLower(name))
	if len(values) == 0 {
		delete(d.txt, name)
		return
	}
	d.txt[name] = values
}

// TXT returns the TXT values of a name.
func (d *DNSServer) TXT(name string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.txt[dns.Fqdn(strings.ToLower(name))])
}

// ServeDNS answers a question or applies an update.
func (d *DNSServer) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	if q.Opcode == dns.OpcodeUpdate {
		d.update(w, q, m)
		return
	}
	for _, qq := range q.Question {
		name := strings.ToLower(qq.Name)
		hdr := dns.RR_Header{Name: qq.Name, Class: dns.ClassINET, Ttl: 5}
		switch qq.Qtype {
		case dns.TypeA:
			hdr.Rrtype = dns.TypeA
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.IPv4(127, 0, 0, 1)})
		case dns.TypeTXT:
			hdr.Rrtype = dns.TypeTXT
			for _, v := range d.TXT(name) {
				m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{v}})
			}
		case dns.TypeSOA:
			if name == Zone {
				hdr.Rrtype = dns.TypeSOA
				m.Answer = append(m.Answer, &dns.SOA{Hdr: hdr, Ns: "ns." + Zone, Mbox: "admin." + Zone, Serial: 1, Refresh: 60, Retry: 60, Expire: 600, Minttl: 5})
			}
		}
	}
	_ = w.WriteMsg(m)
}

// update applies an RFC 2136 update of TXT records in Zone signed with
// TSIG; anything else is refused.
func (d *DNSServer) update(w dns.ResponseWriter, q *dns.Msg, m *dns.Msg) {
	refuse := func(rcode int) {
		m.Rcode = rcode
		_ = w.WriteMsg(m)
	}
	if q.IsTsig() == nil || w.TsigStatus() != nil {
		refuse(dns.RcodeNotAuth)
		return
	}
	m.SetTsig(TSIG.Name, TSIG.Algorithm, 300, time.Now().Unix())
	if len(q.Question) != 1 || strings.ToLower(q.Question[0].Name) != Zone {
		refuse(dns.RcodeNotZone)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rr := range q.Ns {
		txt, ok := rr.(*dns.TXT)
		name := strings.ToLower(rr.Header().Name)
		if !ok || !dns.IsSubDomain(Zone, name) {
			refuse(dns.RcodeRefused)
			return
		}
		value := strings.Join(txt.Txt, "")
		switch rr.Header().Class {
		case dns.ClassINET:
			if !slices.Contains(d.txt[name], value) {
				d.txt[name] = append(d.txt[name], value)
			}
		case dns.ClassNONE:
			d.txt[name] = slices.DeleteFunc(d.txt[name], func(v string) bool { return v == value })
			if len(d.txt[name]) == 0 {
				delete(d.txt, name)
			}
		default:
			refuse(dns.RcodeRefused)
			return
		}
	}
	_ = w.WriteMsg(m)
}

// Pebble is a Pebble ACME server running in the test's process.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// Roots trusts the ACME endpoint (give it to the ACME client).
	Roots *x509.CertPool
	// DNS is the test DNS Pebble validates names with.
	DNS *DNSServer
	ca  *ca.CAImpl
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
	dnsServer := StartDNS(t)
	validator := va.New(logger, httpPort, tlsPort, false, dnsServer.Addr, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 1, 1)
	srv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return &Pebble{Directory: srv.URL + wfe.DirectoryPath, Roots: roots, DNS: dnsServer, ca: authority}
}

// IssuedRoots trusts the certificates Pebble issues.
func (p *Pebble) IssuedRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.GetRootCert(0).Cert)
	return pool
}
