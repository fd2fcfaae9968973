package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/bundles"
	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/proxy"
)

// ServeOptions are the inputs of `stackhub serve`.
type ServeOptions struct {
	Config *Config
}

func newServeCmd(f *Factory, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the StackHub service (HTTP API and jobs)",
		Long: "Start the StackHub service. It keeps its state in an embedded SQLite file in the data folder,\n" +
			"talks to the local Docker Engine, and serves the HTTP API on --addr.",
		Example: "  stackhub serve\n  stackhub serve --addr 127.0.0.1:9000 --data /var/lib/stackhub --catalog ./bundles",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config(cmd)
			if err != nil {
				return err
			}
			opts := &ServeOptions{Config: cfg}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runServe(cmd.Context(), f, opts)
		},
	}
	addConfigFlags(cmd.Flags(), "addr", "data", "catalog", "prefix", "port-min", "port-max", "jobs", "history", "wait-timeout", "lang", "log-level", "runtime-binary", "public-host", "registry-mirror",
		"allowed-registries", "import-dir", "upload-limit", "signature-keys", "default-target", "swarm-publish-mode",
		"proxy-http", "proxy-https", "acme-ca", "acme-email", "console-domain", "console-url",
		"dns-provider", "dns-server", "dns-tsig-key", "dns-exec", "dns-resolvers",
		"backup-target", "backup-options", "backup-before-upgrade", "backup-schedule", "backup-keep")
	return cmd
}

func newLogger(f *Factory, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, &FlagError{Err: fmt.Errorf("log level %q: use debug, info, warn or error", level)}
	}
	return slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: l})), nil
}

// openCatalog opens the base catalog: the built-in apps, or the folder
// given with --catalog (source "local").
func openCatalog(dir string) (*engine.DirCatalog, error) {
	if dir == "" {
		return engine.NewDirCatalog(bundles.FS), nil
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, &engine.UserError{Msg: fmt.Sprintf("catalog folder %s is not readable", dir), Hint: "pass a folder of bundle folders with --catalog", Kind: engine.ErrInvalid}
	}
	return engine.NewDirCatalog(os.DirFS(dir)).WithSource("local"), nil
}

// publicHost is the address put into the apps' url outputs: the setting,
// else the address this host reaches other networks from (a UDP "connect"
// sends nothing), else localhost.
func publicHost(setting string) string {
	if setting != "" {
		return setting
	}
	conn, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		return "localhost"
	}
	defer conn.Close()
	addr, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok || addr.IP.IsLoopback() || addr.IP.IsUnspecified() {
		return "localhost"
	}
	return addr.IP.String()
}

func runServe(ctx context.Context, f *Factory, opts *ServeOptions) error {
	cfg := opts.Config
	sampleHeap()
	log, err := newLogger(f, cfg.LogLevel)
	if err != nil {
		return err
	}
	keys, err := readSignatureKeys(cfg.SignatureKeys)
	if err != nil {
		return err
	}
	w, err := wireEngine(ctx, cfg, log, wireOptions{Serve: true, SignatureKeys: keys})
	if err != nil {
		return err
	}
	defer w.Close()
	go w.Host.Start(ctx)
	eng, store := w.Engine, w.Store
	if err := eng.Start(ctx); err != nil {
		return err
	}
	if !strings.HasPrefix(cfg.Addr, "127.") && !strings.HasPrefix(cfg.Addr, "localhost:") && !strings.HasPrefix(cfg.Addr, "[::1]") {
		log.Warn("StackHub listens on a non-loopback address without TLS; put it behind a TLS proxy", "addr", cfg.Addr)
	}
	var gateKey []byte
	if cfg.ProxyHTTP != "off" && cfg.ProxyHTTPS != "off" {
		if gateKey, err = engine.GateKey(cfg.DataDir); err != nil {
			return err
		}
	}
	px, err := startProxy(ctx, cfg, eng, gateKey, store, log)
	if err != nil {
		return err
	}
	defer px.stop()
	return serveHTTP(ctx, f, cfg, eng, store, log, px, gateKey)
}

// sampleHeap turns the heap profile's sampling off unless GODEBUG asks
// for it (memprofilerate=524288 is Go's usual rate): its table of call
// stacks keeps growing with each new stack that allocates, a megabyte or
// two an idle service holds for a profile nobody reads.
// /debug/pprof/heap then shows nothing until the service is started
// with that setting.
func sampleHeap() {
	if !strings.Contains(os.Getenv("GODEBUG"), "memprofilerate=") {
		runtime.MemProfileRate = 0
	}
}

// runningProxy is what the service sees of the reverse proxy.
type runningProxy struct {
	// status is a domain's certificate status (nil when the proxy is off).
	status func(string) string
	// check says what keeps the proxy from serving a new domain.
	check func() []string
	stop  func()
}

// proxyOff is the warning for a domain added while the proxy is off.
const proxyOff = "the reverse proxy is off (serve --proxy-http off): the domain is kept but not served until serve runs with the proxy"

// startProxy starts the reverse proxy for the routed domains, unless it
// is turned off, and returns its certificate status, its port check and
// its stop. Its listeners open once a domain is routed; a port it cannot
// bind is tried again at every reading of the routes, while the log and
// the domains' certificate status say why.
// gateAccounts is what the login gate asks of the user store.
type gateAccounts interface {
	UserRole(ctx context.Context, username string) (string, error)
	SessionUser(ctx context.Context, idHash string, now time.Time) (username, csrfHash string, err error)
}

// gatePassActive says whether a gate pass still holds: a user who logged
// out (the pass's console session ended) or was removed loses the gate's
// access at the proxy's next check, not at the end of the cookie's hour.
func gatePassActive(accounts gateAccounts) func(ctx context.Context, user, session string) (bool, error) {
	return func(ctx context.Context, user, session string) (bool, error) {
		var err error
		if session != "" {
			var owner string
			owner, _, err = accounts.SessionUser(ctx, session, time.Now())
			if err == nil && owner != user {
				return false, nil
			}
		} else {
			_, err = accounts.UserRole(ctx, user)
		}
		if errors.Is(err, engine.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
}

func startProxy(ctx context.Context, cfg *Config, eng *engine.Engine, key []byte, accounts gateAccounts, log *slog.Logger) (*runningProxy, error) {
	if cfg.ProxyHTTP == "off" || cfg.ProxyHTTPS == "off" {
		if cfg.ConsoleDomain != "" {
			return nil, &FlagError{Err: errors.New("--console-domain needs the reverse proxy: do not turn it off")}
		}
		return &runningProxy{check: func() []string { return []string{proxyOff} }, stop: func() {}}, nil
	}
	var routes proxy.Routes = eng
	if cfg.ConsoleDomain != "" {
		cr, err := consoleRoute(cfg)
		if err != nil {
			return nil, err
		}
		routes = withRoute{next: eng, route: cr}
	}
	gate, err := gateConfig(cfg, key)
	if err != nil {
		return nil, err
	}
	gate.PassActive = gatePassActive(accounts)
	dnsProvider, err := newDNSProvider(cfg)
	if err != nil {
		return nil, err
	}
	p, err := proxy.New(proxy.Config{
		HTTPAddr: cfg.ProxyHTTP, HTTPSAddr: cfg.ProxyHTTPS, DataDir: cfg.DataDir,
		ACME: proxy.ACMEConfig{CA: cfg.ACMECA, Email: cfg.ACMEEmail,
			DNS: proxy.DNSConfig{Provider: dnsProvider, Resolvers: cfg.DNSResolvers}},
		Gate:   gate,
		Logger: log.With("component", "proxy"),
	}, routes, eng.DomainsChanged())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.Run(ctx); err != nil {
			log.Error("the reverse proxy stopped; domains are not served", "err", err)
		}
	}()
	check := func() []string {
		if err := p.Preflight(); err != nil {
			msg := err.Error()
			if hint := engine.HintOf(err); hint != "" {
				msg += " (" + hint + ")"
			}
			return []string{msg}
		}
		return nil
	}
	return &runningProxy{status: p.Status, check: check, stop: func() { cancel(); <-done }}, nil
}

// newDNSProvider builds the DNS-01 provider the settings name (nil for
// none). Its errors never quote the TSIG key.
func newDNSProvider(cfg *Config) (proxy.DNSProvider, error) {
	switch cfg.DNSProvider {
	case "":
		return nil, nil
	case "rfc2136":
		p := proxy.RFC2136{Server: cfg.DNSServer}
		if cfg.DNSTSIGKey != "" {
			var err error
			if p.KeyName, p.KeyAlgorithm, p.Secret, err = proxy.ParseTSIG(cfg.DNSTSIGKey); err != nil {
				return nil, &FlagError{Err: fmt.Errorf("--dns-tsig-key: %w", err)}
			}
		}
		rp, err := proxy.NewRFC2136(p)
		if err != nil {
			return nil, &FlagError{Err: fmt.Errorf("--dns-provider rfc2136: %w", err)}
		}
		return rp, nil
	case "exec":
		h, err := proxy.NewExecHook(cfg.DNSExec)
		if err != nil {
			return nil, &FlagError{Err: fmt.Errorf("--dns-provider exec: %w", err)}
		}
		return h, nil
	}
	return nil, &FlagError{Err: fmt.Errorf("--dns-provider %q: use rfc2136 or exec", cfg.DNSProvider)}
}

// gateConfig is the login gate's: it sends browsers to the console's
// domain to log in, else to --console-url; with neither, gated domains
// answer 503 (and `domain add --login` is refused).
func gateConfig(cfg *Config, key []byte) (proxy.GateConfig, error) {
	g := proxy.GateConfig{Key: key}
	if cfg.ConsoleDomain == "" {
		if cfg.ConsoleURL != "" {
			g.LoginURL = strings.TrimSuffix(cfg.ConsoleURL, "/") + "/api/v1/gate"
		}
		return g, nil
	}
	name, err := engine.NormalizeDomain(cfg.ConsoleDomain)
	if err != nil {
		return g, err
	}
	host := name
	if _, port, err := net.SplitHostPort(cfg.ProxyHTTPS); err == nil && port != "443" && port != "" {
		host = net.JoinHostPort(name, port)
	}
	g.LoginURL = "https://" + host + "/api/v1/gate"
	return g, nil
}

// consoleRoute routes the console's domain to the service's own address.
func consoleRoute(cfg *Config) (engine.Route, error) {
	name, err := engine.NormalizeDomain(cfg.ConsoleDomain)
	if err != nil {
		return engine.Route{}, err
	}
	if engine.IsWildcard(name) {
		return engine.Route{}, &FlagError{Err: fmt.Errorf("--console-domain %s: the console needs one name, not a wildcard", name)}
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return engine.Route{}, &FlagError{Err: fmt.Errorf("addr %q: %w", cfg.Addr, err)}
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	tlsMode := engine.TLSACME
	if engine.IsLANName(name) {
		tlsMode = engine.TLSSelfSigned
	}
	return engine.Route{Domain: name, Installation: "stackhub", TLS: tlsMode, Backend: net.JoinHostPort(host, port), HSTS: true}, nil
}

// withRoute adds one fixed route to the engine's.
type withRoute struct {
	next  proxy.Routes
	route engine.Route
}

func (w withRoute) Routes(ctx context.Context) ([]engine.Route, error) {
	rs, err := w.next.Routes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]engine.Route, 0, len(rs)+1)
	for _, r := range rs {
		if r.Domain != w.route.Domain { // the console's name wins
			out = append(out, r)
		}
	}
	return append(out, w.route), nil
}
