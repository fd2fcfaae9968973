package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingApp is an app that counts the connections made to it.
func countingApp(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func newAppTransport(addr string) *appTransport {
	var d net.Dialer
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return &appTransport{dial: dial, maxIdle: 4, fallback: &http.Transport{DialContext: dial}}
}

func do(t *testing.T, tr http.RoundTripper, method, url string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, string(b)
}

func TestAppTransportKeepsConnections(t *testing.T) {
	app, conns := countingApp(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.(http.Flusher).Flush() // no length known: chunked
			_, _ = io.WriteString(w, "part one, ")
			_, _ = io.WriteString(w, "part two")
		case "/not-modified":
			w.WriteHeader(http.StatusNotModified)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/upload":
			b, _ := io.ReadAll(r.Body)
			_, _ = fmt.Fprintf(w, "%s %d bytes", r.Method, len(b))
		default:
			_, _ = io.WriteString(w, "hello "+r.Method)
		}
	})
	tr := newAppTransport(app.Listener.Addr().String())
	tests := []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/", 200, "hello GET"},
		{"GET", "/chunked", 200, "part one, part two"},
		{"HEAD", "/", 200, ""},
		{"GET", "/not-modified", 304, ""},
		{"GET", "/empty", 204, ""},
		{"GET", "/", 200, "hello GET"},
	}
	for _, tt := range tests {
		resp, body := do(t, tr, tt.method, app.URL+tt.path, nil)
		assert.Equal(t, tt.code, resp.StatusCode, tt.method+" "+tt.path)
		assert.Equal(t, tt.body, body, tt.method+" "+tt.path)
	}
	assert.Equal(t, int32(1), conns.Load(), "every GET and HEAD went over one kept-alive connection")

	// A request with a body goes through net/http's Transport.
	_, body := do(t, tr, "POST", app.URL+"/upload", strings.NewReader("0123456789"))
	assert.Equal(t, "POST 10 bytes", body)

	tr.retire()
	_, body = do(t, tr, "GET", app.URL+"/", nil)
	assert.Equal(t, "hello GET", body)
	tr.mu.Lock()
	assert.Empty(t, tr.idle, "a retired transport keeps no connection")
	tr.mu.Unlock()
}

// rawApp answers each request on a connection with the next of answers,
// then closes the connection when close is set.
func rawApp(t *testing.T, answer func(n int) (resp string, closeAfter bool)) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var conns atomic.Int32
	var requests atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_ = req.Body.Close()
					resp, closeAfter := answer(int(requests.Add(1)))
					if _, err := io.WriteString(c, resp); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), &conns
}

func TestAppTransportRecovers(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	t.Run("an idle connection the app closed is replaced", func(t *testing.T) {
		addr, conns := rawApp(t, func(int) (string, bool) { return ok, true }) // closes after each answer, without saying so
		tr := newAppTransport(addr)
		for range 3 {
			_, body := do(t, tr, "GET", "http://"+addr+"/", nil)
			assert.Equal(t, "ok", body)
		}
		assert.GreaterOrEqual(t, conns.Load(), int32(3))
	})
	t.Run("Connection: close is honoured", func(t *testing.T) {
		addr, conns := rawApp(t, func(int) (string, bool) {
			return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false
		})
		tr := newAppTransport(addr)
		for range 2 {
			_, body := do(t, tr, "GET", "http://"+addr+"/", nil)
			assert.Equal(t, "ok", body)
		}
		assert.Equal(t, int32(2), conns.Load())
	})
	t.Run("an early hint is skipped", func(t *testing.T) {
		addr, _ := rawApp(t, func(int) (string, bool) {
			return "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + ok, false
		})
		resp, body := do(t, newAppTransport(addr), "GET", "http://"+addr+"/", nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "ok", body)
	})
	t.Run("an answer cut short is not reused", func(t *testing.T) {
		addr, conns := rawApp(t, func(n int) (string, bool) {
			if n == 1 {
				return "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true
			}
			return ok, false
		})
		tr := newAppTransport(addr)
		req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr+"/", nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		_, err = io.ReadAll(resp.Body)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		_ = resp.Body.Close()
		_, body := do(t, tr, "GET", "http://"+addr+"/", nil)
		assert.Equal(t, "ok", body)
		assert.Equal(t, int32(2), conns.Load())
	})
	t.Run("closing an answer before its end does not read the rest", func(t *testing.T) {
		block := make(chan struct{})
		app, _ := countingApp(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000000")
			_, _ = io.WriteString(w, "first part")
			w.(http.Flusher).Flush()
			select { // the rest never comes while the test runs
			case <-block:
			case <-r.Context().Done():
			}
		})
		defer close(block)
		tr := newAppTransport(app.Listener.Addr().String())
		req, err := http.NewRequestWithContext(t.Context(), "GET", app.URL+"/", nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		_, err = io.ReadFull(resp.Body, make([]byte, 5))
		require.NoError(t, err)
		closed := make(chan struct{})
		go func() { _ = resp.Body.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("Close waited for the rest of the answer")
		}
	})
	t.Run("a request that ends unblocks its connection", func(t *testing.T) {
		block := make(chan struct{})
		app, conns := countingApp(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				_, _ = io.WriteString(w, "first part")
				w.(http.Flusher).Flush()
				select {
				case <-block:
				case <-r.Context().Done():
				}
				return
			}
			_, _ = io.WriteString(w, "fast")
		})
		defer close(block)
		tr := newAppTransport(app.Listener.Addr().String())
		ctx, cancel := context.WithCancel(t.Context())
		req, err := http.NewRequestWithContext(ctx, "GET", app.URL+"/slow", nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		buf := make([]byte, 10)
		_, err = io.ReadFull(resp.Body, buf)
		require.NoError(t, err)
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		_, err = io.ReadAll(resp.Body)
		require.Error(t, err, "the read stops when the request ends")
		_ = resp.Body.Close()
		_, body := do(t, tr, "GET", app.URL+"/", nil)
		assert.Equal(t, "fast", body)
		assert.Equal(t, int32(2), conns.Load(), "the cut connection was not reused")
	})
}
