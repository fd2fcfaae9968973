package engine_test

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/registry"
)

// countingListener is a loopback TCP listener that counts the connections
// made to it and closes each at once.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func listenCounting(t *testing.T) *countingListener {
	t.Helper()
	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cl := &countingListener{Listener: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cl.n.Add(1)
			c.Close()
		}
	}()
	return cl
}

// TestRegistryAllowList installs by reference through the real registry
// adapter: references to registries not on the allow-list (another
// loopback port, link-local and metadata addresses) are refused without a
// single connection, while the allowed registry is dialled.
func TestRegistryAllowList(t *testing.T) {
	allowed, other := listenCounting(t), listenCounting(t)
	e := newTestEngineWith(t, func(cfg *engine.Config, deps *engine.Deps) {
		cfg.RestrictRegistries = true
		cfg.AllowedRegistries = []string{allowed.Addr().String(), "169.254.169.254"}
		cfg.RegistryMirror = "mirror.example.lan:5000"
		deps.Registry = registry.New(nil, nil)
	}, nil)
	assert.Equal(t, []string{allowed.Addr().String(), "169.254.169.254", "mirror.example.lan:5000"}, e.AllowedRegistries())

	refused := []struct{ name, ref, want string }{
		{"other loopback port", other.Addr().String() + "/hello:v1", "not on the allow-list"},
		{"localhost by name", "localhost:" + portOf(other) + "/hello:v1", "not on the allow-list"},
		{"metadata even when listed", "169.254.169.254/latest:v1", "link-local, metadata"},
		{"link-local", "169.254.7.1:5000/hello:v1", "link-local, metadata"},
		{"alibaba metadata", "100.100.100.200/meta:v1", "link-local, metadata"},
		{"unspecified", "0.0.0.0:5000/hello:v1", "link-local, metadata"},
		{"public registry", "ghcr.io/someone/bundle:v1", "not on the allow-list"},
		{"docker hub", "someone/bundle:v1", "docker.io"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Install(t.Context(), engine.InstallOptions{Reference: tt.ref})
			require.ErrorIs(t, err, engine.ErrForbidden)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, engine.HintOf(err), "allowed")
		})
	}
	assert.Zero(t, other.n.Load(), "a refused reference was dialled")

	// The allowed registry is contacted (it answers nothing useful).
	_, err := e.Install(t.Context(), engine.InstallOptions{Reference: allowed.Addr().String() + "/hello:v1"})
	require.Error(t, err)
	require.NotErrorIs(t, err, engine.ErrForbidden, "allowed registry refused")
	assert.Positive(t, allowed.n.Load(), "the allowed registry was never dialled")
}

func portOf(l net.Listener) string {
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
