package proxy_test

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/proxy"
)

// h1Conn is one HTTP/1.1 connection to the proxy's HTTPS port.
type h1Conn struct {
	t  *testing.T
	c  *tls.Conn
	br *bufio.Reader
}

func dialH1(t *testing.T, port int, roots *tls.Config, name string) *h1Conn {
	t.Helper()
	conf := roots.Clone()
	conf.ServerName, conf.NextProtos = name, []string{"http/1.1"}
	c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), conf)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.Equal(t, "http/1.1", c.ConnectionState().NegotiatedProtocol)
	return &h1Conn{t: t, c: c, br: bufio.NewReader(c)}
}

// do sends a raw request and reads its answer (the body read whole unless
// the caller takes it).
func (h *h1Conn) do(raw string, method string) *http.Response {
	h.t.Helper()
	_ = h.c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := io.WriteString(h.c, raw)
	require.NoError(h.t, err)
	resp, err := http.ReadResponse(h.br, &http.Request{Method: method})
	require.NoError(h.t, err)
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestProxyHTTP1Connection(t *testing.T) {
	next := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			// An answer of unknown length, sent in pieces.
			_, _ = io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			<-next
			_, _ = io.WriteString(w, "second\n")
		case "/trailer":
			w.Header().Set("Trailer", "X-Checksum")
			_, _ = io.WriteString(w, "data")
			w.Header().Set("X-Checksum", "abc")
		case "/cached":
			w.WriteHeader(http.StatusNotModified)
		default:
			n, _ := io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, ua := r.Header["User-Agent"]
			_ = json.NewEncoder(w).Encode(map[string]any{
				"method": r.Method, "host": r.Host, "uri": r.RequestURI, "proto": r.Header.Get("X-Forwarded-Proto"),
				"fwdHost": r.Header.Get("X-Forwarded-Host"), "fwdFor": r.Header.Get("X-Forwarded-For"),
				"userAgent": ua, "hop": r.Header.Get("X-Hop"), "body": n,
			})
		}
	}))
	t.Cleanup(app.Close)
	src := &routeList{}
	src.set(
		engine.Route{Domain: "app.lan", Installation: "hello", TLS: engine.TLSSelfSigned, Backend: app.Listener.Addr().String()},
		engine.Route{Domain: "down.lan", Installation: "stopped", TLS: engine.TLSSelfSigned, Backend: fmt.Sprintf("127.0.0.1:%d", freePort(t))},
		engine.Route{Domain: "console.lan", Installation: "stackhub", TLS: engine.TLSSelfSigned, Backend: app.Listener.Addr().String(), HSTS: true},
	)
	p, _, httpsPort := startProxy(t, src, proxy.ACMEConfig{}, t.TempDir())
	roots := &tls.Config{RootCAs: rootsOf(t, p.RootFile()), MinVersion: tls.VersionTLS12}
	decode := func(resp *http.Response) map[string]any {
		t.Helper()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(body(t, resp)), &got))
		return got
	}

	t.Run("one connection: plain requests, then an upload, then plain again", func(t *testing.T) {
		h := dialH1(t, httpsPort, roots, "app.lan")
		got := decode(h.do("GET /a?b=1 HTTP/1.1\r\nHost: app.lan\r\nX-Forwarded-For: 10.9.9.9\r\nConnection: X-Hop\r\nX-Hop: 1\r\n\r\n", "GET"))
		assert.Equal(t, map[string]any{"method": "GET", "host": "app.lan", "uri": "/a?b=1", "proto": "https", "fwdHost": "app.lan",
			"fwdFor": "127.0.0.1", "userAgent": false, "hop": "", "body": float64(0)}, got,
			"forwarded headers set anew, no agent added, headers named by Connection dropped")

		resp := h.do("HEAD / HTTP/1.1\r\nHost: app.lan\r\n\r\n", "HEAD")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Empty(t, body(t, resp), "no body to a HEAD")

		resp = h.do("GET /cached HTTP/1.1\r\nHost: app.lan\r\n\r\n", "GET")
		assert.Equal(t, http.StatusNotModified, resp.StatusCode)
		assert.Empty(t, body(t, resp))

		resp = h.do("GET /stream HTTP/1.1\r\nHost: app.lan\r\n\r\n", "GET")
		assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "first\n", line, "a piece is sent as it comes, before the app's answer ends")
		close(next)
		assert.Equal(t, "second\n", body(t, resp))

		resp = h.do("GET /trailer HTTP/1.1\r\nHost: app.lan\r\n\r\n", "GET")
		assert.Equal(t, "data", body(t, resp))
		assert.Equal(t, "abc", resp.Trailer.Get("X-Checksum"), "trailers pass")

		resp = h.do("GET / HTTP/1.1\r\nHost: console.lan\r\n\r\n", "GET")
		assert.Equal(t, "max-age=31536000", resp.Header.Get("Strict-Transport-Security"))
		body(t, resp)

		// An upload: net/http's server takes the connection over, with the
		// request it had read ahead, and still knows it is TLS.
		got = decode(h.do("POST /up HTTP/1.1\r\nHost: app.lan\r\nContent-Length: 5\r\n\r\nhello", "POST"))
		assert.Equal(t, "POST", got["method"])
		assert.Equal(t, float64(5), got["body"])
		assert.Equal(t, "https", got["proto"])
		got = decode(h.do("GET /after HTTP/1.1\r\nHost: app.lan\r\n\r\n", "GET"))
		assert.Equal(t, "/after", got["uri"])
	})

	t.Run("a stopped app gets the 502 page and the connection goes on", func(t *testing.T) {
		h := dialH1(t, httpsPort, roots, "app.lan")
		resp := h.do("GET / HTTP/1.1\r\nHost: down.lan\r\n\r\n", "GET")
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		assert.Contains(t, body(t, resp), "The app stopped behind down.lan did not answer")
		decode(h.do("GET / HTTP/1.1\r\nHost: app.lan\r\n\r\n", "GET"))
	})

	t.Run("Connection: close is honoured", func(t *testing.T) {
		h := dialH1(t, httpsPort, roots, "app.lan")
		resp := h.do("GET / HTTP/1.1\r\nHost: app.lan\r\nConnection: close\r\n\r\n", "GET")
		assert.True(t, resp.Close)
		decode(resp)
		_, err := h.br.ReadByte()
		assert.ErrorIs(t, err, io.EOF, "the proxy closed the connection")
	})

	t.Run("heads ended by bare line feeds go to net/http, requests in a row kept apart", func(t *testing.T) {
		h := dialH1(t, httpsPort, roots, "app.lan")
		_ = h.c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err := io.WriteString(h.c, "GET /one HTTP/1.1\nHost: app.lan\n\nGET /two HTTP/1.1\r\nHost: app.lan\r\n\r\n")
		require.NoError(t, err)
		for _, uri := range []string{"/one", "/two"} {
			resp, err := http.ReadResponse(h.br, &http.Request{Method: "GET"})
			require.NoError(t, err)
			assert.Equal(t, uri, decode(resp)["uri"])
		}
	})

	t.Run("HTTP/1.0 and heads too large go to net/http", func(t *testing.T) {
		h := dialH1(t, httpsPort, roots, "app.lan")
		got := decode(h.do("GET /old HTTP/1.0\r\nHost: app.lan\r\n\r\n", "GET"))
		assert.Equal(t, "/old", got["uri"])
		h = dialH1(t, httpsPort, roots, "app.lan")
		resp := h.do("GET / HTTP/1.1\r\nHost: app.lan\r\nX-Big: "+strings.Repeat("x", 9<<10)+"\r\n\r\n", "GET")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "net/http's server reads up to 1 MB of head")
		body(t, resp)
	})
}
