package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewDNSProvider(t *testing.T) {
	const secret = "c3VwZXItc2VjcmV0LWtleQ=="
	tests := []struct {
		name string
		cfg  Config
		want string // the provider's String, or the error's text
		err  bool
	}{
		{"none", Config{}, "", false},
		{"rfc2136", Config{DNSProvider: "rfc2136", DNSServer: "ns1.example.org", DNSTSIGKey: "hmac-sha256:acme:" + secret}, "rfc2136 ns1.example.org:53", false},
		{"rfc2136 without a server", Config{DNSProvider: "rfc2136"}, "primary server", true},
		{"bad tsig key", Config{DNSProvider: "rfc2136", DNSServer: "ns1", DNSTSIGKey: secret}, "[ALGORITHM:]NAME:SECRET", true},
		{"bad tsig secret", Config{DNSProvider: "rfc2136", DNSServer: "ns1", DNSTSIGKey: "acme:not*base64"}, "base64", true},
		{"exec without a program", Config{DNSProvider: "exec"}, "--dns-exec", true},
		{"exec", Config{DNSProvider: "exec", DNSExec: "sh"}, "exec /", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newDNSProvider(&tt.cfg)
			if tt.err {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.want)
				assert.NotContains(t, err.Error(), "not*base64", "the key is never shown")
				assert.NotContains(t, err.Error(), secret, "the key is never shown")
				return
			}
			require.NoError(t, err)
			if tt.want == "" {
				assert.Nil(t, p)
				return
			}
			s, ok := p.(interface{ String() string })
			require.True(t, ok)
			assert.Contains(t, s.String(), tt.want)
			assert.NotContains(t, s.String(), secret)
		})
	}
}

func TestGateConfigConsoleURL(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, ""},
		{Config{ConsoleURL: "http://nas.lan:9000"}, "http://nas.lan:9000/api/v1/gate"},
		{Config{ConsoleURL: "http://nas.lan:9000", ConsoleDomain: "hub.example.org", ProxyHTTPS: ":443"}, "https://hub.example.org/api/v1/gate"},
	} {
		g, err := gateConfig(&tt.cfg, []byte("k"))
		require.NoError(t, err)
		assert.Equal(t, tt.want, g.LoginURL)
	}
	set := func(v string) (*Config, error) {
		for _, s := range settings() {
			if s.flag == "console-url" {
				c := &Config{}
				return c, s.set(c, v)
			}
		}
		t.Fatal("no console-url setting")
		return nil, nil
	}
	c, err := set("http://nas.lan:9000/")
	require.NoError(t, err)
	assert.Equal(t, "http://nas.lan:9000", c.ConsoleURL)
	for _, bad := range []string{"nas.lan:9000", "ftp://nas.lan", "http://nas.lan/ui", "http://u:p@nas.lan"} {
		_, err := set(bad)
		assert.Error(t, err, bad)
	}
}
