// Package proxy is the reverse proxy `stackhub serve` runs in front of the
// apps: it routes by host name to an installation's container (its address
// on its Docker network, else its leased port on 127.0.0.1), redirects
// HTTP to HTTPS (except ACME HTTP-01 challenges), speaks HTTP/2 to
// clients, passes WebSockets and large uploads through, sets X-Forwarded-*
// headers, and answers a clear 502 page when an app is down. Certificates
// come from an ACME CA through certmagic, stored in the data folder, or
// from StackHub's own local CA for LAN names.
//
// It is an adapter: it reads routes from the engine (engine.Route) and
// imports no other adapter, no Docker, SQL or cnab-go.
package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// Config configures the proxy.
type Config struct {
	// HTTPAddr and HTTPSAddr are the listen addresses (":80", ":443").
	HTTPAddr, HTTPSAddr string
	// DataDir holds the certificates (DataDir/certs).
	DataDir string
	ACME    ACMEConfig
	// DialTimeout bounds how long a request waits to connect to its app
	// (default 3s): a stopped app answers a 502 page at once, not a hang.
	DialTimeout time.Duration
	// Refresh is how often routes are read again (default 10s): changes
	// made by another process on the same data folder show up then.
	Refresh time.Duration
	// Gate configures the login gate of domains added with Login.
	Gate   GateConfig
	Logger *slog.Logger
}

// ACMEConfig says where certificates come from.
type ACMEConfig struct {
	// CA is the ACME directory URL (default Let's Encrypt's production).
	CA string
	// Email is the account's contact address (optional).
	Email string
	// Roots are the roots trusted when talking to the CA (nil: the
	// system's); a test CA's.
	Roots *x509.CertPool
	// HTTPPort and TLSPort are the ports the CA connects to for HTTP-01
	// and TLS-ALPN-01 (default: the ports of HTTPAddr and HTTPSAddr). A
	// router that forwards 80 and 443 to other ports needs them.
	HTTPPort, TLSPort int
	// RenewCheck is how often certificates are checked for renewal
	// (default certmagic's, 10 minutes).
	RenewCheck time.Duration
	// DisableOCSP turns off OCSP stapling (a test CA has no responder).
	DisableOCSP bool
	// DisableHTTP01 and DisableTLSALPN01 turn a challenge type off (for
	// a host that is reached on one of the two ports only).
	DisableHTTP01, DisableTLSALPN01 bool
	// DNS turns on DNS-01 challenges, for wildcard names (*.example.org):
	// the names that are not wildcards keep HTTP-01 and TLS-ALPN-01.
	DNS DNSConfig
}

// Routes is where the proxy reads its routes from; *engine.Engine is one.
type Routes interface {
	Routes(ctx context.Context) ([]engine.Route, error)
}

// Proxy is the reverse proxy. Run starts it.
type Proxy struct {
	cfg     Config
	src     Routes
	changed <-chan struct{}
	log     *slog.Logger

	routes atomic.Pointer[map[string]engine.Route]
	certs  *certs

	mu       sync.Mutex
	backends map[string]*backend
	httpLn   net.Listener
	httpsLn  net.Listener
	servers  []*http.Server
	h1       *h1Server
	httpsURL string // ":PORT" suffix of redirects, "" for 443
	// ready is closed when the listeners are up (tests wait on it).
	ready chan struct{}
	// lastRequest is when the proxy last answered (UnixNano).
	lastRequest atomic.Int64
	// down says why the proxy stopped serving (it could not listen).
	down atomic.Pointer[string]
	// gateUsers keeps the login gate's recent checks of users.
	gateUsers gateUsers
}

// New builds a proxy over a route source; changed (may be nil) signals
// that the routes changed.
func New(cfg Config, src Routes, changed <-chan struct{}) (*Proxy, error) {
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = ":80"
	}
	if cfg.HTTPSAddr == "" {
		cfg.HTTPSAddr = ":443"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 3 * time.Second
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DataDir == "" {
		return nil, errors.New("new proxy: a data folder is required for certificates")
	}
	p := &Proxy{cfg: cfg, src: src, changed: changed, log: cfg.Logger, backends: map[string]*backend{}, ready: make(chan struct{})}
	empty := map[string]engine.Route{}
	p.routes.Store(&empty)
	var err error
	if p.certs, err = newCerts(cfg, p.log); err != nil {
		return nil, err
	}
	return p, nil
}

// Run reads the routes, starts the listeners as soon as there is one
// route (the proxy stays off while no domain is configured), and keeps the
// routes and certificates current until ctx ends. A port it cannot bind is
// logged and tried again at every reading of the routes; Status says why
// meanwhile.
func (p *Proxy) Run(ctx context.Context) error {
	defer p.shutdown()
	t := time.NewTicker(p.cfg.Refresh)
	defer t.Stop()
	go p.releaseWhenIdle(ctx)
	var lastDown string
	for {
		if err := p.Reload(ctx); err != nil {
			if !errors.Is(err, errListen) {
				p.log.Warn("could not read the proxy's routes", "err", err)
			} else if msg := *p.down.Load(); msg != lastDown {
				// Said once; the proxy tries again at every reading.
				p.log.Error("the reverse proxy cannot listen; domains are not served until it can", "err", msg, "hint", engine.HintOf(err))
				lastDown = msg
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-p.changed:
		}
	}
}

var errListen = errors.New("listen")

// Reload reads the routes now, starts the listeners if there are routes,
// and starts or stops certificate management for the names that came or
// went.
func (p *Proxy) Reload(ctx context.Context) error {
	rs, err := p.src.Routes(ctx)
	if err != nil {
		return err
	}
	next := make(map[string]engine.Route, len(rs))
	for _, r := range rs {
		next[r.Domain] = r
	}
	p.routes.Store(&next)
	p.dropBackends(next)
	if len(next) > 0 {
		if err := p.listen(); err != nil {
			msg := err.Error()
			if ue := new(engine.UserError); errors.As(err, &ue) {
				msg = ue.Msg
			}
			p.down.Store(&msg)
			return err
		}
		p.down.Store(nil)
	} else {
		// The last domain went: the ports are free again.
		p.closeListeners()
		p.down.Store(nil)
	}
	p.certs.sync(ctx, next)
	return nil
}

// Ready is closed once the listeners are up (a new one after they closed).
func (p *Proxy) Ready() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready
}

// closeListeners stops serving and frees the ports, while no domain is
// routed; the next route opens them again.
func (p *Proxy) closeListeners() {
	p.mu.Lock()
	if p.httpsLn == nil {
		p.mu.Unlock()
		return
	}
	servers, lns, h1 := p.servers, []net.Listener{p.httpLn, p.httpsLn}, p.h1
	p.servers, p.httpLn, p.httpsLn, p.httpsURL, p.h1 = nil, nil, nil, "", nil
	p.ready = make(chan struct{})
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(ctx)
	}
	// Shutdown closes only the listeners Serve has taken; one whose Serve
	// has not started yet is closed here, so the port is free on return.
	if h1 != nil {
		h1.close()
	}
	for _, ln := range lns {
		if ln != nil {
			_ = ln.Close()
		}
	}
	p.log.Info("reverse proxy stopped listening: no domain is routed")
}

func (p *Proxy) listen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.httpsLn != nil {
		return nil
	}
	httpLn, err := net.Listen("tcp", p.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("%w: proxy http %s: %w", errListen, p.cfg.HTTPAddr, listenError(p.cfg.HTTPAddr, "--proxy-http", err))
	}
	httpsLn, err := net.Listen("tcp", p.cfg.HTTPSAddr)
	if err != nil {
		_ = httpLn.Close()
		return fmt.Errorf("%w: proxy https %s: %w", errListen, p.cfg.HTTPSAddr, listenError(p.cfg.HTTPSAddr, "--proxy-https", err))
	}
	p.httpLn, p.httpsLn = httpLn, httpsLn
	if port := httpsLn.Addr().(*net.TCPAddr).Port; port != 443 {
		p.httpsURL = ":" + strconv.Itoa(port)
	}
	p.certs.setPorts(httpLn.Addr().(*net.TCPAddr).Port, httpsLn.Addr().(*net.TCPAddr).Port)

	plain := &http.Server{Handler: http.HandlerFunc(p.serveHTTP), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelDebug)}
	secure := &http.Server{
		Handler:           http.HandlerFunc(p.serveHTTPS),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig: &tls.Config{
			GetCertificate: p.certs.get,
			NextProtos:     []string{"h2", "http/1.1", "acme-tls/1"},
			MinVersion:     tls.VersionTLS12,
		},
		ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	secure.ConnContext = connContext
	h1 := newH1Server(p, secure.TLSConfig, httpsLn.Addr())
	p.servers, p.h1 = []*http.Server{plain, secure}, h1
	go func() {
		if err := plain.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("proxy http server stopped", "err", err)
		}
	}()
	go func() {
		// Connections h1Server hands over: HTTP/2, and HTTP/1.1 at its
		// first request of a kind it leaves to net/http.
		if err := secure.Serve(h1.handoff); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("proxy https server stopped", "err", err)
		}
	}()
	go func() {
		if err := h1.serve(httpsLn); !errors.Is(err, net.ErrClosed) {
			p.log.Error("proxy https listener stopped", "err", err)
		}
	}()
	p.log.Info("reverse proxy is serving", "http", httpLn.Addr().String(), "https", httpsLn.Addr().String())
	close(p.ready)
	return nil
}

// Addrs returns the listeners' addresses once they are up.
func (p *Proxy) Addrs() (httpAddr, httpsAddr net.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.httpLn == nil {
		return nil, nil
	}
	return p.httpLn.Addr(), p.httpsLn.Addr()
}

func (p *Proxy) shutdown() {
	p.mu.Lock()
	servers, h1, httpsLn := p.servers, p.h1, p.httpsLn
	p.mu.Unlock()
	if h1 != nil {
		_ = httpsLn.Close()
		h1.close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(ctx)
	}
	p.certs.stop()
}

// route returns the route of a request's host.
func (p *Proxy) route(host string) (engine.Route, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return lookupRoute(*p.routes.Load(), strings.TrimSuffix(strings.ToLower(host), "."))
}

// lookupRoute finds the route of a name: its own, else the wildcard of
// its parent (*.example.org routes a.example.org, not a.b.example.org).
func lookupRoute(routes map[string]engine.Route, name string) (engine.Route, bool) {
	if r, ok := routes[name]; ok {
		return r, true
	}
	if _, parent, ok := strings.Cut(name, "."); ok && strings.Contains(parent, ".") {
		r, ok := routes["*."+parent]
		return r, ok
	}
	return engine.Route{}, false
}

// acmePrefix is the path of ACME HTTP-01 challenges.
const acmePrefix = "/.well-known/acme-challenge/"

// idleRelease is how long the proxy goes without a request before it hands
// the memory it no longer uses (buffers of a busy spell) back to the
// system, as the service does.
const idleRelease = 10 * time.Second

func (p *Proxy) releaseWhenIdle(ctx context.Context) {
	t := time.NewTicker(idleRelease / 4)
	defer t.Stop()
	var released int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last := p.lastRequest.Load()
		if last == 0 || last == released || time.Since(time.Unix(0, last)) < idleRelease {
			continue
		}
		p.closeIdleBackends()
		releaseMemory()
		released = last
	}
}

// releaseMemory hands the memory of a busy spell back to the system. Two
// collections: the first only moves what sync.Pools hold (the buffers of
// the spell's connections, here and in net/http and crypto/tls) to their
// victim caches; the second frees it.
func releaseMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// serveHTTP answers on the HTTP port: ACME challenges, else a redirect to
// HTTPS for known names.
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p.lastRequest.Store(time.Now().UnixNano())
	if strings.HasPrefix(r.URL.Path, acmePrefix) {
		if p.certs.handleHTTPChallenge(w, r) {
			return
		}
		http.NotFound(w, r)
		return
	}
	if _, ok := p.route(r.Host); !ok {
		page(w, http.StatusNotFound, "No app here", "No app is reached at "+hostOnly(r.Host)+" on this server.", "An administrator routes a domain to an app with `stackhub domain add`.")
		return
	}
	target := "https://" + strings.TrimSuffix(strings.ToLower(hostOnly(r.Host)), ".") + p.httpsURL + r.URL.RequestURI()
	http.Redirect(w, r, target, http.StatusPermanentRedirect)
}

// serveHTTPS proxies a request to its app.
func (p *Proxy) serveHTTPS(w http.ResponseWriter, r *http.Request) {
	p.lastRequest.Store(time.Now().UnixNano())
	rt, ok := p.route(r.Host)
	if !ok {
		page(w, http.StatusMisdirectedRequest, "No app here", "No app is reached at "+hostOnly(r.Host)+" on this server.", "")
		return
	}
	if rt.HSTS {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
	}
	if rt.Backend == "" {
		page(w, http.StatusBadGateway, "App not installed", "The app "+rt.Installation+" that "+rt.Domain+" routes to is not installed.", "Install it again, or remove the domain.")
		return
	}
	if rt.Login && !p.gate(w, r, rt) {
		return
	}
	if r.TLS == nil {
		// A connection h1Server read ahead of and handed over.
		r.TLS, _ = r.Context().Value(tlsStateKey{}).(*tls.ConnectionState)
	}
	p.backendOf(rt).rp.ServeHTTP(w, r)
}

// appUnavailable answers a request whose app did not answer.
func (p *Proxy) appUnavailable(w http.ResponseWriter, host string, err error) {
	app := p.installationOf(host)
	p.log.Warn("proxy could not reach app", "host", hostOnly(host), "installation", app, "err", err)
	page(w, http.StatusBadGateway, "App unavailable",
		"The app "+app+" behind "+hostOnly(host)+" did not answer: it may be stopped, starting or failing.",
		"Check it with `stackhub show "+app+"`, and start it with `stackhub start "+app+"`.")
}

// backendOf returns the (cached) reverse proxy of a route's backend.
func (p *Proxy) backendOf(rt engine.Route) *backend {
	key := backendKey(rt)
	p.mu.Lock()
	defer p.mu.Unlock()
	if b, ok := p.backends[key]; ok {
		return b
	}
	target := &url.URL{Scheme: "http", Host: rt.Backend}
	dial := p.dialApp(rt)
	tr := &appTransport{dial: dial, maxIdle: 128, fallback: &http.Transport{
		DialContext:         dial,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     idleRelease,
	}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			// Apps build links from the name they were asked for.
			pr.Out.Host = pr.In.Host
		},
		Transport:  tr,
		ErrorLog:   slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		BufferPool: copyBuffers,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			p.appUnavailable(w, r.Host, err)
		},
	}
	b := &backend{rp: rp, transport: tr}
	p.backends[key] = b
	return b
}

// backend is the reverse proxy of one app address, with its connections.
type backend struct {
	rp        *httputil.ReverseProxy
	transport *appTransport
}

func backendKey(rt engine.Route) string { return rt.Backend + " " + rt.Direct }

// directDialTimeout bounds a connection to a container's own address: on
// this host's bridge it answers in microseconds, so a longer wait means
// the host cannot reach Docker's networks (rootless Docker, say).
const directDialTimeout = 300 * time.Millisecond

// directRetry is how long a container address that did not answer is
// left aside before the proxy tries it again.
const directRetry = 30 * time.Second

// dialApp connects to a route's app: to its container's own address first
// (rt.Direct), which skips Docker's port forwarder and the copy it makes
// of every byte, else to its published port on 127.0.0.1. A container
// address that fails is left aside for directRetry; when the container
// moves, the routes change and a new dialer is made.
func (p *Proxy) dialApp(rt engine.Route) func(ctx context.Context, network, addr string) (net.Conn, error) {
	published := &net.Dialer{Timeout: p.cfg.DialTimeout, KeepAlive: 30 * time.Second}
	direct := &net.Dialer{Timeout: directDialTimeout, KeepAlive: 30 * time.Second}
	var failedAt atomic.Int64 // UnixNano of the last failure of rt.Direct
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		if rt.Direct != "" && time.Since(time.Unix(0, failedAt.Load())) > directRetry {
			c, err := direct.DialContext(ctx, network, rt.Direct)
			if err == nil {
				return c, nil
			}
			if ctx.Err() != nil {
				return nil, err
			}
			failedAt.Store(time.Now().UnixNano())
			p.log.Debug("the app's container address does not answer; the proxy uses its published port", "installation", rt.Installation, "container", rt.Direct, "published", rt.Backend, "err", err)
		}
		return published.DialContext(ctx, network, rt.Backend)
	}
}

// dropBackends forgets the reverse proxies no route uses any more and
// closes their idle connections.
func (p *Proxy) dropBackends(routes map[string]engine.Route) {
	used := make(map[string]bool, len(routes))
	for _, rt := range routes {
		used[backendKey(rt)] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, b := range p.backends {
		if !used[k] {
			b.transport.retire()
			delete(p.backends, k)
		}
	}
}

// closeIdleBackends closes the idle connections to every app.
func (p *Proxy) closeIdleBackends() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.backends {
		b.transport.CloseIdleConnections()
	}
}

// bufferPool reuses the buffers responses are copied through.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

var copyBuffers = &bufferPool{}

func (p *Proxy) installationOf(host string) string {
	rt, _ := p.route(host)
	return rt.Installation
}

func hostOnly(h string) string {
	if x, _, err := net.SplitHostPort(h); err == nil {
		return x
	}
	return h
}
