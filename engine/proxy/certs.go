package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/stackhub/stackhub/engine"
)

// certs hands out the certificate of each routed name: certmagic manages
// ACME names (obtain, store in DataDir/certs, renew), the local CA signs
// self-signed ones.
type certs struct {
	log    *slog.Logger
	magic  *certmagic.Config
	cache  *certmagic.Cache
	issuer *certmagic.ACMEIssuer
	// magicDNS and dnsIssuer obtain wildcard names through DNS-01 (nil
	// without a DNS provider); they share the cache and storage.
	magicDNS  *certmagic.Config
	dnsIssuer *certmagic.ACMEIssuer
	storage   *certmagic.FileStorage
	local     *localCA
	custom    *customCerts
	ports     [2]int // HTTP-01 and TLS-ALPN-01 ports asked for

	base   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	routes  map[string]engine.Route
	managed map[string]context.CancelFunc
}

func newCerts(cfg Config, log *slog.Logger) (*certs, error) {
	dir := filepath.Join(cfg.DataDir, "certs")
	local, err := openLocalCA(filepath.Join(dir, "local"))
	if err != nil {
		return nil, err
	}
	zl := zapLogger(log.With("component", "certmagic"))
	c := &certs{log: log, local: local, custom: &customCerts{dir: filepath.Join(dir, "custom"), loaded: map[string]customCert{}}, routes: map[string]engine.Route{}, managed: map[string]context.CancelFunc{},
		storage: &certmagic.FileStorage{Path: dir}, ports: [2]int{cfg.ACME.HTTPPort, cfg.ACME.TLSPort}}
	c.base, c.cancel = context.WithCancel(context.Background())
	c.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(cert certmagic.Certificate) (*certmagic.Config, error) {
			for _, n := range cert.Names {
				if strings.HasPrefix(n, "*.") && c.magicDNS != nil {
					return c.magicDNS, nil
				}
			}
			return c.magic, nil
		},
		RenewCheckInterval: cfg.ACME.RenewCheck,
		Logger:             zl,
	})
	c.magic = certmagic.New(c.cache, certmagic.Config{
		Storage: c.storage,
		Logger:  zl,
		OCSP:    certmagic.OCSPConfig{DisableStapling: cfg.ACME.DisableOCSP},
	})
	ca := cfg.ACME.CA
	if ca == "" {
		ca = certmagic.LetsEncryptProductionCA
	}
	listenHost := ""
	if h, _, err := net.SplitHostPort(cfg.HTTPAddr); err == nil {
		listenHost = h
	}
	c.issuer = certmagic.NewACMEIssuer(c.magic, certmagic.ACMEIssuer{
		CA:           ca,
		Email:        cfg.ACME.Email,
		Agreed:       true,
		TrustedRoots: cfg.ACME.Roots,
		ListenHost:   listenHost,
		Logger:       zl,

		DisableHTTPChallenge:    cfg.ACME.DisableHTTP01,
		DisableTLSALPNChallenge: cfg.ACME.DisableTLSALPN01,
	})
	c.magic.Issuers = []certmagic.Issuer{c.issuer}
	if dc := cfg.ACME.DNS; dc.Provider != nil {
		c.magicDNS = certmagic.New(c.cache, certmagic.Config{
			Storage: c.storage,
			Logger:  zl,
			OCSP:    certmagic.OCSPConfig{DisableStapling: cfg.ACME.DisableOCSP},
		})
		c.dnsIssuer = certmagic.NewACMEIssuer(c.magicDNS, certmagic.ACMEIssuer{
			CA:           ca,
			Email:        cfg.ACME.Email,
			Agreed:       true,
			TrustedRoots: cfg.ACME.Roots,
			Logger:       zl,
			DNS01Solver: &certmagic.DNS01Solver{DNSManager: certmagic.DNSManager{
				DNSProvider:        dc.Provider,
				Resolvers:          dc.Resolvers,
				PropagationTimeout: dc.PropagationTimeout,
				Logger:             zl,
			}},
		})
		c.magicDNS.Issuers = []certmagic.Issuer{c.dnsIssuer}
	}
	return c, nil
}

// configFor is the certmagic config that obtains a name's certificate:
// DNS-01 for wildcards.
func (c *certs) configFor(name string) *certmagic.Config {
	if strings.HasPrefix(name, "*.") && c.magicDNS != nil {
		return c.magicDNS
	}
	return c.magic
}

// setPorts tells the ACME solvers which ports the proxy listens on: they
// find them taken (by the proxy) and leave the challenges to its handlers.
func (c *certs) setPorts(httpPort, httpsPort int) {
	if c.ports[0] == 0 {
		c.ports[0] = httpPort
	}
	if c.ports[1] == 0 {
		c.ports[1] = httpsPort
	}
	c.issuer.AltHTTPPort, c.issuer.AltTLSALPNPort = c.ports[0], c.ports[1]
}

// sync starts managing the ACME names that came and drops the
// certificates of the names that went.
func (c *certs) sync(_ context.Context, routes map[string]engine.Route) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.routes = routes
	for name, cancel := range c.managed {
		if rt, ok := routes[name]; ok && rt.TLS == engine.TLSACME {
			continue
		}
		cancel()
		delete(c.managed, name)
		c.cache.RemoveManaged([]certmagic.SubjectIssuer{{Subject: name}})
		prefix := certmagic.StorageKeys.CertsSitePrefix(c.issuer.IssuerKey(), name)
		if err := c.storage.Delete(c.base, prefix); err != nil {
			c.log.Warn("could not delete the certificate of a removed domain", "domain", name, "err", err)
		} else {
			c.log.Info("certificate of a removed domain deleted", "domain", name)
		}
	}
	for name := range c.local.names() {
		if rt, ok := routes[name]; !ok || rt.TLS != engine.TLSSelfSigned {
			c.local.forget(name)
		}
	}
	for name, rt := range routes {
		if rt.TLS != engine.TLSACME {
			continue
		}
		if _, ok := c.managed[name]; ok {
			continue
		}
		if strings.HasPrefix(name, "*.") && c.magicDNS == nil {
			c.log.Warn("a wildcard domain needs a DNS provider for its certificate", "domain", name,
				"hint", "start `stackhub serve` with --dns-provider (rfc2136 or exec)")
			continue
		}
		ctx, cancel := context.WithCancel(c.base)
		if err := c.configFor(name).ManageAsync(ctx, []string{name}); err != nil {
			cancel()
			c.log.Warn("could not manage the certificate of a domain", "domain", name, "err", err)
			continue
		}
		c.managed[name] = cancel
	}
}

func (c *certs) route(name string) (engine.Route, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return lookupRoute(c.routes, name)
}

// get is the TLS listener's GetCertificate.
func (c *certs) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if slices.Contains(hello.SupportedProtos, "acme-tls/1") {
		return c.magic.GetCertificate(hello)
	}
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if name == "" {
		return nil, errors.New("no server name: reach apps by their domain")
	}
	rt, ok := c.route(name)
	if !ok {
		return nil, fmt.Errorf("no app is routed at %s", name)
	}
	name = rt.Domain // a wildcard's certificate serves its names
	switch rt.TLS {
	case engine.TLSSelfSigned:
		return c.local.leaf(name)
	case engine.TLSCustom:
		cert, err := c.custom.get(name)
		if err != nil {
			c.log.Warn("no usable certificate for a domain with a custom certificate", "domain", name, "err", err,
				"hint", "put the PEM chain in "+c.custom.path(name, "cert.pem")+" and its key in "+c.custom.path(name, "key.pem"))
		}
		return cert, err
	}
	return c.magic.GetCertificate(hello)
}

// handleHTTPChallenge answers an ACME HTTP-01 challenge of a name being
// managed.
func (c *certs) handleHTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	return c.issuer.HandleHTTPChallenge(w, r)
}

func (c *certs) stop() {
	c.cancel()
	c.cache.Stop()
}

// Status says where a domain's certificate stands, for people: "valid
// until DATE", "pending" (being obtained, or the route not read yet),
// "self-signed (local CA)", "custom" or why the custom files are not
// usable, or why the proxy is not serving at all.
func (p *Proxy) Status(name string) string {
	if msg := p.down.Load(); msg != nil {
		return "proxy not serving: " + *msg
	}
	rt, ok := p.certs.route(name)
	if !ok {
		return "pending"
	}
	switch rt.TLS {
	case engine.TLSSelfSigned:
		return "self-signed (local CA)"
	case engine.TLSCustom:
		if _, err := p.certs.custom.get(name); err != nil {
			return "custom: " + err.Error()
		}
		return "custom"
	}
	for _, cert := range p.certs.cache.AllMatchingCertificates(name) {
		if cert.Leaf != nil {
			return "valid until " + cert.Leaf.NotAfter.UTC().Format("2006-01-02")
		}
	}
	return "pending"
}

// customCerts reads user-supplied certificates from
// <dir>/<domain>/cert.pem and key.pem, again whenever the files change.
type customCerts struct {
	dir    string
	mu     sync.Mutex
	loaded map[string]customCert
}

type customCert struct {
	cert    *tls.Certificate
	modTime time.Time
}

func (cc *customCerts) path(name, file string) string { return filepath.Join(cc.dir, name, file) }

func (cc *customCerts) get(name string) (*tls.Certificate, error) {
	certFile, keyFile := cc.path(name, "cert.pem"), cc.path(name, "key.pem")
	var mod time.Time
	for _, f := range []string{certFile, keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("custom certificate of %s: %w", name, err)
		}
		if st.ModTime().After(mod) {
			mod = st.ModTime()
		}
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if c, ok := cc.loaded[name]; ok && c.modTime.Equal(mod) {
		return c.cert, nil
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("custom certificate of %s: %w", name, err)
	}
	cc.loaded[name] = customCert{cert: &pair, modTime: mod}
	return &pair, nil
}
