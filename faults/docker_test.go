//go:build integration

package faults_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// socketProxy forwards a unix socket to the real Docker socket; stop makes
// it a dead socket (no listener, every open connection cut), start brings
// it back.
type socketProxy struct {
	path   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newSocketProxy(t *testing.T) *socketProxy {
	t.Helper()
	// Short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("/tmp", "shdead")
	require.NoError(t, err)
	p := &socketProxy{path: filepath.Join(dir, "docker.sock"), target: "/var/run/docker.sock", conns: map[net.Conn]bool{}}
	t.Cleanup(func() { p.stop(); _ = os.RemoveAll(dir) })
	return p
}

func (p *socketProxy) start(t *testing.T) {
	t.Helper()
	_ = os.Remove(p.path)
	ln, err := net.Listen("unix", p.path)
	require.NoError(t, err)
	// Invocation containers reach Docker through this socket as a non-root
	// user.
	require.NoError(t, os.Chmod(p.path, 0o666))
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
}

func (p *socketProxy) serve(c net.Conn) {
	up, err := net.Dial("unix", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

func (p *socketProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	_ = os.Remove(p.path)
}

// TestDockerUnreachable runs StackHub against a Docker socket that is dead,
// then live, then dead again, then live: it must refuse to start with a clear
// message, answer requests that need Docker with a clear error and no
// crash while the daemon is away, and work again once it is back.
func TestDockerUnreachable(t *testing.T) {
	proxy := newSocketProxy(t)
	env := []string{"DOCKER_HOST=unix://" + proxy.path}

	// Dead from the start: serve exits with the reason and a hint.
	s := newServer(t, serverOptions{env: env, noWait: true, ports: "23301-23399"})
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve kept running without Docker:\n%s", s.logs.String())
	}
	out := s.logs.String()
	assert.NotEqual(t, 0, s.cmd.ProcessState.ExitCode())
	assert.Contains(t, out, "Docker daemon is not reachable")
	assert.Contains(t, out, "Hint:")
	assert.NotContains(t, out, "goroutine ", "no panic")

	// Live: serve starts.
	proxy.start(t)
	s.start()
	s.waitHealthy(30 * time.Second)

	// Dead while serving: requests that need Docker fail clearly, the rest
	// answer.
	proxy.stop()
	e := s.postJSON("/installApp", map[string]string{"appName": "hello"})
	assert.Equal(t, "0", e.Code, e.raw)
	assert.Equal(t, http.StatusServiceUnavailable, e.status, e.raw)
	assert.Contains(t, strings.ToLower(e.Message), "docker", e.raw)
	e = s.get("/getAllAppInfo", nil)
	assert.Equal(t, "1", e.Code, e.raw)
	e = s.get("/getAppInfo", url.Values{"appName": {"hello"}})
	assert.Equal(t, http.StatusNotFound, e.status, "the refused install recorded nothing: %s", e.raw)
	e = s.get("/searchServer", nil)
	assert.Less(t, e.status, 500, e.raw)
	require.True(t, s.running(), "serve survived the daemon going away")

	// Back: installs work again (the first request may still meet a
	// connection cut by the outage).
	proxy.start(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		e = s.postJSON("/installApp", map[string]string{"appName": "hello"})
		if e.Code == "1" || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.Equal(t, "1", e.Code, e.raw)
	e = s.waitStatus("hello", 3*time.Minute)
	require.Equal(t, "1", e.Data["status"], e.raw)

	// Dead during an install: the job fails with the reason, nothing stays,
	// and once Docker is back a retry succeeds.
	e = s.uninstall("hello")
	require.Equal(t, "1", e.Code, e.raw)
	e = s.postJSON("/installApp", map[string]string{"appName": "hello"})
	require.Equal(t, "1", e.Code, e.raw)
	time.Sleep(300 * time.Millisecond)
	proxy.stop()
	e = s.waitStatus("hello", 3*time.Minute)
	proxy.start(t)
	if e.Data["status"] == "2" {
		t.Logf("install cut by the outage failed with: %s", e.Data["info"])
		assert.NotEmpty(t, e.Data["info"])
		e = s.postJSON("/installApp", map[string]string{"appName": "hello"})
		require.Equal(t, "1", e.Code, e.raw)
		e = s.waitStatus("hello", 3*time.Minute)
	}
	require.Equal(t, "1", e.Data["status"], e.raw)
	e = s.uninstall("hello")
	require.Equal(t, "1", e.Code, e.raw)
	assert.Empty(t, leftovers(t, s.prefix+"-hello"))
	assert.Empty(t, invocationContainers(t, s, false), "no invocation container outlives its run")
	assert.True(t, s.running())
}
