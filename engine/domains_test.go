package engine_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

func TestNormalizeDomain(t *testing.T) {
	tests := []struct {
		in, want string
		bad      string
	}{
		{in: "Blog.Example.ORG.", want: "blog.example.org"},
		{in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{in: "nas", want: "nas"},
		{in: "", bad: "required"},
		{in: "https://blog.example.org", bad: "bare host name"},
		{in: "blog.example.org:8443", bad: "bare host name"},
		{in: "*.Example.org", want: "*.example.org"},
		{in: "*.org", bad: "two labels"},
		{in: "a.*.example.org", bad: "first label"},
		{in: "**.example.org", bad: "first label"},
		{in: "192.168.1.4", bad: "IP address"},
		{in: "-blog.example.org", bad: "holds"},
		{in: "blog..example.org", bad: "1 to 63"},
		{in: "bücher.example", bad: "punycode"},
		{in: "a_b.example", bad: "holds"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := engine.NormalizeDomain(tt.in)
			if tt.bad != "" {
				require.ErrorIs(t, err, engine.ErrInvalid)
				assert.Contains(t, err.Error()+" "+engine.HintOf(err), tt.bad)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDomainOptionsPickTLS(t *testing.T) {
	for name, want := range map[string]string{"blog.example.org": engine.TLSACME, "nas.lan": engine.TLSSelfSigned, "nas": engine.TLSSelfSigned, "app.home.arpa": engine.TLSSelfSigned} {
		o := engine.DomainOptions{App: "hello", Domain: name}
		require.NoError(t, o.Validate())
		assert.Equal(t, want, o.TLS, name)
	}
	o := engine.DomainOptions{App: "hello", Domain: "nas.lan", TLS: engine.TLSACME}
	require.ErrorIs(t, o.Validate(), engine.ErrInvalid, "no public CA signs a LAN name")
	o = engine.DomainOptions{App: "hello", Domain: "a.example.org", TLS: "letsencrypt"}
	require.ErrorIs(t, o.Validate(), engine.ErrInvalid)
	o = engine.DomainOptions{App: "hello", Domain: "*.example.org", Login: true}
	require.ErrorIs(t, o.Validate(), engine.ErrInvalid, "no login gate on a wildcard")
}

func TestDomainsAddListRemove(t *testing.T) {
	e := newTestEngineWith(t, func(_ *engine.Config, d *engine.Deps) {
		d.LookupHost = func(_ context.Context, host string) ([]string, error) {
			if host == "elsewhere.example.org" {
				return []string{"192.0.2.10"}, nil
			}
			return nil, errors.New("no such host")
		}
	}, nil)
	ctx := t.Context()
	for _, name := range []string{"hello", "hello2"} {
		_, err := e.Install(ctx, engine.InstallOptions{App: "hello", Name: name})
		require.NoError(t, err)
		waitStatus(t, e, name, engine.StatusRunning)
	}
	inst, err := e.Get(ctx, "hello")
	require.NoError(t, err)

	bad := []struct {
		name string
		opts engine.DomainOptions
		kind error
		msg  string
	}{
		{"invalid name", engine.DomainOptions{App: "hello", Domain: "blog example.org", Port: "port"}, engine.ErrInvalid, "not valid"},
		{"no such app", engine.DomainOptions{App: "nope", Domain: "blog.example.org", Port: "port"}, engine.ErrNotFound, "not installed"},
		{"no such port", engine.DomainOptions{App: "hello", Domain: "blog.example.org", Port: "http"}, engine.ErrInvalid, `has no port "http"`},
		{"port of another service", engine.DomainOptions{App: "hello", Domain: "blog.example.org", Service: "db", Port: "port"}, engine.ErrInvalid, "not a TCP port of service"},
		{"several ports, none named", engine.DomainOptions{App: "hello", Domain: "blog.example.org"}, engine.ErrInvalid, "several ports"},
		{"login gate without a console address", engine.DomainOptions{App: "hello", Domain: "wiki.example.org", Port: "port", Login: true}, engine.ErrInvalid, "no console address"},
		{"wildcard without a DNS provider", engine.DomainOptions{App: "hello", Domain: "*.example.org", Port: "port"}, engine.ErrInvalid, "needs a DNS provider"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.AddDomain(ctx, tt.opts)
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
	assert.Contains(t, engine.HintOf(func() error {
		_, err := e.AddDomain(ctx, engine.DomainOptions{App: "hello", Domain: "*.example.org", Port: "port"})
		return err
	}()), "--dns-provider", "the hint names the setting")
	wild, err := e.AddDomain(ctx, engine.DomainOptions{App: "hello", Domain: "*.wild.lan", Port: "port"})
	require.NoError(t, err, "a self-signed wildcard needs no DNS provider")
	assert.Equal(t, engine.TLSSelfSigned, wild.TLS)
	require.NoError(t, e.RemoveDomain(ctx, wild.Name))

	d, err := e.AddDomain(ctx, engine.DomainOptions{App: "hello", Domain: "Blog.Example.org", Port: "port"})
	require.NoError(t, err)
	assert.Equal(t, "blog.example.org", d.Name)
	assert.Equal(t, "web", d.Service, "the service comes from the bundle's port")
	assert.Equal(t, engine.TLSACME, d.TLS)
	require.Len(t, d.Warnings, 1, "the preflight says the name does not resolve")
	assert.Contains(t, d.Warnings[0], "does not resolve yet")
	select {
	case <-e.DomainsChanged():
	default:
		t.Fatal("adding a domain signals DomainsChanged")
	}

	_, err = e.AddDomain(ctx, engine.DomainOptions{App: "hello2", Domain: "blog.example.org", Port: "port"})
	require.ErrorIs(t, err, engine.ErrConflict)
	assert.Contains(t, err.Error(), "already used by app hello")
	_, err = e.AddDomain(ctx, engine.DomainOptions{App: "hello", Domain: "blog.example.org", Port: "db_port"})
	require.ErrorIs(t, err, engine.ErrConflict)

	lan, err := e.AddDomain(ctx, engine.DomainOptions{App: "hello2", Domain: "nas.lan", Service: "web"})
	require.NoError(t, err, "one TCP port of the service named")
	assert.Empty(t, lan.Warnings, "no DNS preflight for a LAN name")
	far, err := e.AddDomain(ctx, engine.DomainOptions{App: "hello2", Domain: "elsewhere.example.org", Port: "port"})
	require.NoError(t, err)
	require.Len(t, far.Warnings, 1)
	assert.Contains(t, far.Warnings[0], "resolves to 192.0.2.10, not to an address of this server")
	require.NoError(t, e.RemoveDomain(ctx, far.Name))
	reserved, err := e.AddDomain(ctx, engine.DomainOptions{App: "hello2", Domain: "x.shdm.test", Port: "port"})
	require.NoError(t, err)
	assert.Equal(t, []string{"x.shdm.test is a reserved test name: no public DNS resolves it"}, reserved.Warnings, "no lookup for a reserved name")
	require.NoError(t, e.RemoveDomain(ctx, reserved.Name))

	routes, err := e.Routes(ctx)
	require.NoError(t, err)
	require.Len(t, routes, 2)
	assert.Equal(t, engine.Route{Domain: "blog.example.org", Installation: "hello", TLS: engine.TLSACME,
		Backend: "127.0.0.1:" + strconv.Itoa(inst.Ports["port"])}, routes[0])
	assert.Equal(t, engine.TLSSelfSigned, routes[1].TLS)

	list, err := e.Domains(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 2)

	require.NoError(t, e.RemoveDomain(ctx, "blog.example.org"))
	err = e.RemoveDomain(ctx, "blog.example.org")
	require.ErrorIs(t, err, engine.ErrNotFound)
	assert.Contains(t, err.Error(), "not routed")

	// Uninstalling an app drops its domains.
	require.NoError(t, e.Uninstall(ctx, engine.UninstallOptions{Name: "hello2"}))
	list, err = e.Domains(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestDomainsWildcardWithDNSProvider(t *testing.T) {
	e := newTestEngineWith(t, func(c *engine.Config, _ *engine.Deps) { c.DNSProvider, c.LoginGate = "rfc2136", true }, nil)
	ctx := t.Context()
	_, err := e.Install(ctx, engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	waitStatus(t, e, "hello", engine.StatusRunning)
	d, err := e.AddDomain(ctx, engine.DomainOptions{App: "hello", Domain: "*.Wiki.example.org", Port: "port"})
	require.NoError(t, err)
	assert.Equal(t, "*.wiki.example.org", d.Name)
	assert.Equal(t, engine.TLSACME, d.TLS)
	assert.Empty(t, d.Warnings, "no DNS lookup of a wildcard")
	gated, err := e.AddDomain(ctx, engine.DomainOptions{App: "hello", Domain: "admin.wiki.example.org", Port: "port", Login: true})
	require.NoError(t, err, "a console address makes the gate available")
	assert.True(t, gated.Login)
	routes, err := e.Routes(ctx)
	require.NoError(t, err)
	require.Len(t, routes, 2)
}
