package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine/contract"
)

// TLS modes of a domain.
const (
	// TLSACME: a certificate from the ACME CA (Let's Encrypt unless the
	// service is told another), obtained and renewed automatically. The
	// name's DNS must point at this host and ports 80 or 443 be reachable.
	TLSACME = "acme"
	// TLSSelfSigned: a certificate from StackHub's own CA, kept in the
	// data folder, for names that only a LAN knows (nas.lan, app.local).
	TLSSelfSigned = "self-signed"
	// TLSCustom: a certificate the user supplies, as PEM files in the data
	// folder: certs/custom/<domain>/cert.pem (the chain) and key.pem.
	TLSCustom = "custom"
)

// Domain routes a host name to a port of an installation, through the
// reverse proxy of `stackhub serve`.
type Domain struct {
	// Name is the host name, lowercase, without a trailing dot.
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	Installation string `json:"installation"`
	// Service and Port name the compose service and the bundle's port
	// (its name, e.g. "port"); the proxy sends requests to the host
	// port leased for it.
	Service string    `json:"service,omitempty"`
	Port    string    `json:"port"`
	TLS     string    `json:"tls"`
	Created time.Time `json:"created"`
	// Login puts the proxy's login gate in front of the app: only a
	// StackHub user (viewer or above) gets through.
	Login bool `json:"login,omitempty"`
	// Warnings are what the preflight found that may keep the domain from
	// working (its DNS), when it was added; not stored.
	Warnings []string `json:"warnings,omitempty"`
}

// DomainOptions asks for a domain to be routed to an app.
type DomainOptions struct {
	// App is the installation's name.
	App string
	// Domain is the host name.
	Domain string
	// Service and Port pick the app's port; empty: the web entry point
	// the bundle declares (custom.stackhub.web), else its only TCP port.
	Service string
	Port    string
	// TLS is TLSACME, TLSSelfSigned or TLSCustom; empty: self-signed for names only
	// a LAN resolves (one label, .lan, .local, .internal, .home.arpa),
	// ACME otherwise.
	TLS string
	// Login puts StackHub's login in front of the app (the proxy's login
	// gate), for apps without a login of their own.
	Login bool
}

// Validate checks the options and normalises the domain.
func (o *DomainOptions) Validate() error {
	if err := ValidateName("appName", o.App); err != nil {
		return err
	}
	d, err := NormalizeDomain(o.Domain)
	if err != nil {
		return err
	}
	o.Domain = d
	switch o.TLS {
	case "":
		o.TLS = TLSACME
		if IsLANName(d) {
			o.TLS = TLSSelfSigned
		}
	case TLSACME:
		if IsLANName(d) {
			return NewUserError(ErrInvalid, fmt.Sprintf("domain %s is a LAN name: no public CA issues certificates for it", d),
				"use --tls self-signed, or a public domain whose DNS points at this host")
		}
	case TLSSelfSigned, TLSCustom:
	default:
		return NewUserError(ErrInvalid, fmt.Sprintf("tls %q is not known", o.TLS), "use acme, self-signed or custom")
	}
	if IsWildcard(d) && o.Login {
		return NewUserError(ErrInvalid, fmt.Sprintf("the login gate is not available on wildcard domain %s", d),
			"add the names that need a login one by one, with --login")
	}
	return nil
}

// IsWildcard reports whether a (normalised) domain is a wildcard.
func IsWildcard(d string) bool { return strings.HasPrefix(d, "*.") }

// DNSProviderFlag is the serve setting that turns on DNS-01 challenges,
// which wildcard certificates from an ACME CA need.
const DNSProviderFlag = "--dns-provider"

// NormalizeDomain lowercases a host name, drops a trailing dot, and checks
// it is a DNS name (RFC 1123 labels), or a wildcard: "*." then a name of
// two labels or more (*.example.org routes every one-label name under
// example.org). IP addresses, ports and URLs are refused with a hint.
func NormalizeDomain(s string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	shown := d
	if len(shown) > 80 {
		shown = shown[:80] + "..."
	}
	bad := func(why, hint string) error {
		return NewUserError(ErrInvalid, fmt.Sprintf("domain %q is not valid: %s", shown, why), hint)
	}
	switch {
	case d == "":
		return "", NewUserError(ErrInvalid, "domain is required", "pass a host name, for example blog.example.org")
	case strings.Contains(d, "://") || strings.ContainsAny(d, "/:?#@"):
		return "", bad("it is not a bare host name", "give only the name, for example blog.example.org (no scheme, port or path)")
	case strings.Contains(strings.TrimPrefix(d, "*."), "*"):
		return "", bad("a wildcard is only a first label \"*\"", "for example *.example.org")
	case strings.HasPrefix(d, "*.") && !strings.Contains(d[2:], "."):
		return "", bad("a wildcard covers names under a domain of two labels or more", "for example *.example.org")
	case net.ParseIP(d) != nil:
		return "", bad("it is an IP address", "give a host name; an app is reached by its address at its own port already")
	case len(d) > 253:
		return "", bad("it is longer than 253 characters", "use a shorter name")
	}
	for _, label := range strings.Split(strings.TrimPrefix(d, "*."), ".") {
		if label == "" || len(label) > 63 {
			return "", bad("each dot-separated label must have 1 to 63 characters", "for example blog.example.org")
		}
		for i, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(label)-1
			if !ok {
				return "", bad(fmt.Sprintf("label %q holds %q", label, r),
					"use letters, digits and inner dashes; write international names in punycode (xn--...)")
			}
		}
	}
	return d, nil
}

// IsLANName reports whether only a local network can resolve d: one
// label, or a suffix reserved for local use.
func IsLANName(d string) bool {
	if !strings.Contains(d, ".") {
		return true
	}
	for _, suf := range []string{".localhost", ".local", ".lan", ".internal", ".home.arpa", ".intranet", ".corp", ".home"} {
		if strings.HasSuffix(d, suf) {
			return true
		}
	}
	return false
}

// AddDomain routes a domain to a port of an installed app. Invalid names,
// a name routed to another app and a port the app does not have are
// refused (ErrInvalid, ErrConflict, ErrNotFound for the app).
func (e *Engine) AddDomain(ctx context.Context, opts DomainOptions) (*Domain, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if IsWildcard(opts.Domain) && opts.TLS == TLSACME && e.cfg.DNSProvider == "" {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("wildcard domain %s needs a DNS provider: an ACME CA checks wildcard names through DNS records only", opts.Domain),
			"start `stackhub serve` with "+DNSProviderFlag+" rfc2136 (and --dns-server, --dns-tsig-key) or exec (and --dns-exec), see docs/domains.md; or use --tls self-signed or custom")
	}
	if opts.Login && !e.cfg.LoginGate {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("domain %s cannot have the login gate: the server has no console address to send browsers to for logging in", opts.Domain),
			"start `stackhub serve` with --console-domain (the console on its own HTTPS domain) or --console-url (the address browsers reach the console at, e.g. http://nas.lan:9000)")
	}
	inst, err := e.installed(ctx, opts.App)
	if err != nil {
		return nil, err
	}
	service, port, err := e.pickPort(ctx, inst, opts.Service, opts.Port)
	if err != nil {
		return nil, err
	}
	all, err := e.deps.Store.ListDomains(ctx)
	if err != nil {
		return nil, fmt.Errorf("add domain %s: %w", opts.Domain, err)
	}
	for _, d := range all {
		if d.Name != opts.Domain {
			continue
		}
		if d.Namespace == inst.Namespace && d.Installation == inst.Name {
			return nil, NewUserError(ErrConflict, fmt.Sprintf("domain %s is already routed to %s (port %s)", d.Name, d.Installation, d.Port),
				"remove it first to route it to another port (stackhub domain remove "+d.Name+")")
		}
		if e.stale(ctx, d) {
			// Its app is gone: the record is a leftover, not a claim.
			if err := e.deps.Store.DeleteDomain(ctx, d.Name); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("add domain %s: %w", d.Name, err)
			}
			continue
		}
		return nil, NewUserError(ErrConflict, fmt.Sprintf("domain %s is already used by app %s", d.Name, d.Installation),
			"a domain routes to one app: remove it from "+d.Installation+" first, or choose another name")
	}
	d := &Domain{
		Name: opts.Domain, Namespace: inst.Namespace, Installation: inst.Name,
		Service: service, Port: port, TLS: opts.TLS, Login: opts.Login, Created: time.Now().UTC().Truncate(time.Second),
	}
	if err := e.deps.Store.CreateDomain(ctx, d); err != nil {
		return nil, fmt.Errorf("add domain %s: %w", d.Name, err)
	}
	e.log.Info("domain added", "domain", d.Name, "installation", d.Installation, "port", d.Port, "tls", d.TLS, "login", d.Login)
	e.notifyDomains()
	if d.TLS == TLSACME && !IsWildcard(d.Name) {
		d.Warnings = e.dnsPreflight(ctx, d.Name)
	}
	return d, nil
}

// dnsTimeout bounds the preflight's DNS lookup.
const dnsTimeout = 3 * time.Second

// dnsPreflight checks where a domain's DNS points: an ACME CA validates
// the name by connecting to it, so it must reach this server. It warns
// rather than refuses: DNS may be set up after the domain, and a server
// behind NAT is reached at an address it does not have.
func (e *Engine) dnsPreflight(ctx context.Context, name string) []string {
	for _, suf := range []string{".test", ".example", ".invalid"} {
		if strings.HasSuffix(name, suf) {
			// Reserved (RFC 2606): only a resolver set up for it answers.
			return []string{fmt.Sprintf("%s is a reserved test name: no public DNS resolves it", name)}
		}
	}
	lookup := e.deps.LookupHost
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	ctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	addrs, err := lookup(ctx, name)
	if err != nil || len(addrs) == 0 {
		return []string{fmt.Sprintf("%s does not resolve yet: point its DNS (an A or AAAA record) at this server; the certificate is obtained once it does", name)}
	}
	mine := localAddrs()
	if e.cfg.PublicHost != "" {
		mine[e.cfg.PublicHost] = true
	}
	for _, a := range addrs {
		if mine[a] {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s resolves to %s, not to an address of this server: fine if a router forwards ports 80 and 443 here, otherwise point its DNS at this server",
		name, strings.Join(addrs, ", "))}
}

// localAddrs are the addresses of this host's interfaces.
func localAddrs() map[string]bool {
	out := map[string]bool{}
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range ifs {
		if n, ok := a.(*net.IPNet); ok {
			out[n.IP.String()] = true
		}
	}
	return out
}

// stale reports whether a domain's installation is gone.
func (e *Engine) stale(ctx context.Context, d *Domain) bool {
	inst, err := e.deps.Store.GetInstallation(ctx, d.Namespace, d.Installation)
	return errors.Is(err, ErrNotFound) || (err == nil && inst.Status == StatusUninstalled)
}

// pickPort resolves the service and port name a domain routes to: the
// ones asked for, else the bundle's declared web entry point, else its
// one TCP port.
func (e *Engine) pickPort(ctx context.Context, inst *Installation, service, port string) (string, string, error) {
	type portInfo struct{ service, protocol string }
	known := map[string]portInfo{}
	var web [2]string
	if ix, err := e.index(ctx); err == nil {
		if entries := ix.Get(inst.App); len(entries) > 0 {
			for _, p := range entries[0].Ports {
				known[p.Name] = portInfo{p.Service, p.Protocol}
			}
			if w := entries[0].Meta.Web; w != nil {
				web = [2]string{w.Service, w.Port}
			}
		}
	}
	var names []string
	for name := range inst.Ports {
		if pi, ok := known[name]; ok && pi.protocol != "" && pi.protocol != "tcp" {
			continue
		}
		if service != "" && known[name].service != "" && known[name].service != service {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	all := make([]string, 0, len(inst.Ports))
	for name, host := range inst.Ports {
		all = append(all, name+" ("+strconv.Itoa(host)+")")
	}
	sort.Strings(all)
	if len(all) == 0 {
		return "", "", NewUserError(ErrInvalid, fmt.Sprintf("app %s publishes no port a domain could route to", inst.Name), "")
	}
	switch {
	case port != "":
		if _, ok := inst.Ports[port]; !ok {
			return "", "", NewUserError(ErrInvalid, fmt.Sprintf("app %s has no port %q", inst.Name, port),
				"its ports: "+strings.Join(all, ", "))
		}
		if !slices.Contains(names, port) {
			return "", "", NewUserError(ErrInvalid, fmt.Sprintf("port %q of app %s is not a TCP port of service %q", port, inst.Name, service),
				"its ports: "+strings.Join(all, ", "))
		}
	case web[1] != "" && (service == "" || service == web[0]) && inst.Ports[web[1]] != 0:
		port = web[1]
	case len(names) == 1:
		port = names[0]
	default:
		return "", "", NewUserError(ErrInvalid, fmt.Sprintf("app %s has several ports; say which one the domain routes to", inst.Name),
			"pass --port NAME (and --service S); its ports: "+strings.Join(all, ", "))
	}
	if service == "" {
		service = known[port].service
	}
	return service, port, nil
}

// Domains lists the domains of this engine's namespace.
func (e *Engine) Domains(ctx context.Context) ([]*Domain, error) {
	all, err := e.deps.Store.ListDomains(ctx)
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	out := make([]*Domain, 0, len(all))
	for _, d := range all {
		if d.Namespace == e.cfg.Namespace {
			out = append(out, d)
		}
	}
	return out, nil
}

// RemoveDomain stops routing a domain; the proxy drops its route and its
// certificate.
func (e *Engine) RemoveDomain(ctx context.Context, name string) error {
	d, err := NormalizeDomain(name)
	if err != nil {
		return err
	}
	if err := e.deps.Store.DeleteDomain(ctx, d); err != nil {
		if errors.Is(err, ErrNotFound) {
			return NewUserError(ErrNotFound, fmt.Sprintf("domain %s is not routed", d), "see the routed domains with `stackhub domain list`").WithCause(err)
		}
		return fmt.Errorf("remove domain %s: %w", d, err)
	}
	e.log.Info("domain removed", "domain", d)
	e.notifyDomains()
	return nil
}

// dropDomains removes the domains of an uninstalled installation.
func (e *Engine) dropDomains(ctx context.Context, installation string) {
	all, err := e.deps.Store.ListDomains(ctx)
	if err != nil {
		e.log.Warn("could not list domains to remove", "installation", installation, "err", err)
		return
	}
	changed := false
	for _, d := range all {
		if d.Namespace == e.cfg.Namespace && d.Installation == installation {
			if err := e.deps.Store.DeleteDomain(ctx, d.Name); err != nil && !errors.Is(err, ErrNotFound) {
				e.log.Warn("could not remove domain", "domain", d.Name, "err", err)
			}
			changed = true
		}
	}
	if changed {
		e.notifyDomains()
	}
}

// Route is what the reverse proxy needs of one domain.
type Route struct {
	Domain       string
	Installation string
	TLS          string
	// Backend is the app's address (127.0.0.1:PORT); empty when its port
	// is not leased (the app is not installed any more).
	Backend string
	// Direct is the address of the running container behind Backend on
	// its own network (172.18.0.2:8080), when Docker reports one: the
	// proxy connects there first and so skips Docker's port forwarder, a
	// process that copies every byte once more. Empty for swarm apps and
	// stopped containers; the proxy falls back to Backend when Direct
	// does not answer (a Docker whose networks the host cannot reach).
	Direct string
	// HSTS makes browsers use HTTPS only for the name (the service's own
	// domain sets it).
	HSTS bool
	// Login asks the proxy to let only StackHub users through (the
	// login gate).
	Login bool
}

// Routes resolves every domain of every namespace to its backend.
func (e *Engine) Routes(ctx context.Context) ([]Route, error) {
	all, err := e.deps.Store.ListDomains(ctx)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	out := make([]Route, 0, len(all))
	for _, d := range all {
		r := Route{Domain: d.Name, Installation: d.Installation, TLS: d.TLS, Login: d.Login}
		inst, err := e.deps.Store.GetInstallation(ctx, d.Namespace, d.Installation)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("list routes: %w", err)
		case inst.Status != StatusUninstalled && inst.Ports[d.Port] != 0:
			r.Backend = net.JoinHostPort("127.0.0.1", strconv.Itoa(inst.Ports[d.Port]))
			if d.Namespace == e.cfg.Namespace && TargetOf(inst) != contract.TargetSwarm {
				cs, _ := e.live.get(e.Project(inst.Name))
				r.Direct = directAddr(cs, inst.Ports[d.Port])
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// directAddr is the container address and port behind a published host
// port: the running container that publishes it, on its first network
// address; "" when there is none.
func directAddr(cs []ContainerState, hostPort int) string {
	for _, c := range cs {
		if c.State != "running" || len(c.Addrs) == 0 {
			continue
		}
		for _, p := range c.Ports {
			if p.Port == hostPort && p.Private != 0 && (p.Protocol == "" || p.Protocol == "tcp") {
				return net.JoinHostPort(c.Addrs[0], strconv.Itoa(p.Private))
			}
		}
	}
	return ""
}

// addrsOf sums up what of a project's containers the routes depend on:
// which run, on which addresses and ports. The event watch tells the proxy
// to read its routes again when it changes.
func addrsOf(cs []ContainerState) string {
	var b strings.Builder
	for _, c := range cs {
		if c.State != "running" {
			continue
		}
		fmt.Fprintf(&b, "%s=%v", c.ID, c.Addrs)
		for _, p := range c.Ports {
			fmt.Fprintf(&b, ",%d:%d", p.Port, p.Private)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// DomainsChanged is signalled (without blocking) after every change of
// this engine's domains; the proxy reloads its routes on it, and on a
// timer for changes made by another process.
func (e *Engine) DomainsChanged() <-chan struct{} { return e.domainsChanged }

func (e *Engine) notifyDomains() {
	select {
	case e.domainsChanged <- struct{}{}:
	default:
	}
}
