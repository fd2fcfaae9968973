package proxy_test

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/proxy"
)

func TestProxyPreflight(t *testing.T) {
	httpPort, httpsPort := rangePort(t), rangePort(t)
	for httpsPort == httpPort {
		httpsPort = rangePort(t)
	}
	httpAddr, httpsAddr := fmt.Sprintf("127.0.0.1:%d", httpPort), fmt.Sprintf("127.0.0.1:%d", httpsPort)
	src := &routeList{}
	p, err := proxy.New(proxy.Config{HTTPAddr: httpAddr, HTTPSAddr: httpsAddr, DataDir: t.TempDir()}, src, nil)
	require.NoError(t, err)

	require.NoError(t, p.Preflight(), "both ports are free")

	taken, err := net.Listen("tcp", httpsAddr)
	require.NoError(t, err)
	err = p.Preflight()
	require.ErrorIs(t, err, engine.ErrUnavailable)
	assert.Contains(t, err.Error(), "cannot listen on "+httpsAddr)
	hint := engine.HintOf(err)
	assert.Contains(t, hint, "--proxy-https")
	if _, statErr := os.Stat("/proc/net/tcp"); statErr == nil {
		assert.Contains(t, hint, "(pid "+strconv.Itoa(os.Getpid())+")", "names the process that holds the port")
	}
	require.NoError(t, taken.Close())

	// Held by the proxy itself: fine.
	src.set(engine.Route{Domain: "app.lan", Installation: "hello", TLS: engine.TLSSelfSigned, Backend: "127.0.0.1:1"})
	require.NoError(t, p.Reload(t.Context()))
	h, s := p.Addrs()
	require.NotNil(t, h)
	assert.Equal(t, httpsAddr, s.String())
	require.NoError(t, p.Preflight(), "the proxy's own listeners")

	// The last domain goes: the listeners close and the ports are free.
	src.set()
	require.NoError(t, p.Reload(t.Context()))
	h, _ = p.Addrs()
	assert.Nil(t, h, "no domain, no listener")
	for _, addr := range []string{httpAddr, httpsAddr} {
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err, "%s is free again", addr)
		require.NoError(t, ln.Close())
	}
	select {
	case <-p.Ready():
		t.Fatal("Ready is closed while nothing listens")
	default:
	}

	// A new domain opens them again.
	src.set(engine.Route{Domain: "app.lan", Installation: "hello", TLS: engine.TLSSelfSigned, Backend: "127.0.0.1:1"})
	require.NoError(t, p.Reload(t.Context()))
	<-p.Ready()
	h, _ = p.Addrs()
	require.NotNil(t, h)
	assert.Equal(t, httpAddr, h.String())
	src.set()
	require.NoError(t, p.Reload(t.Context()))
}
