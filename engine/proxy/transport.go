package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// appTransport sends GET and HEAD requests without a body (most of what
// browsers ask) over kept-alive connections to one app, writing the
// request and reading the answer on the request's own goroutine.
// net/http's Transport, which takes every other request (uploads, form
// posts, WebSockets), hands each one to two goroutines of its connection;
// on a small machine those hand-offs cost more than the proxying itself
// (bench: the proxy's CPU per request fell by a fifth to a quarter).
type appTransport struct {
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	fallback *http.Transport
	maxIdle  int

	mu      sync.Mutex
	idle    []*appConn
	retired bool
}

type appConn struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

func (t *appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !fastPath(req) {
		return t.fallback.RoundTrip(req)
	}
	pc, reused, err := t.get(req.Context(), true)
	if err != nil {
		return nil, err
	}
	resp, err := t.exchange(req, pc)
	if err == nil || !reused || req.Context().Err() != nil {
		return resp, err
	}
	// An idle connection the app closed meanwhile: the request (GET or
	// HEAD, safe to repeat) goes again on a new one.
	if pc, _, err = t.get(req.Context(), false); err != nil {
		return nil, err
	}
	return t.exchange(req, pc)
}

// fastPath: a GET or HEAD with no body that asks for no protocol switch.
func fastPath(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.Body == nil || req.Body == http.NoBody) && req.ContentLength == 0 &&
		len(req.TransferEncoding) == 0 && req.Header.Get("Upgrade") == "" && req.URL.Scheme == "http"
}

// writeRequest writes a GET or HEAD without a body (see fastPath) as
// req.Write would, without its general framing work; no User-Agent when
// the header holds an empty one, as there.
func writeRequest(bw *bufio.Writer, req *http.Request) error {
	_, _ = bw.WriteString(req.Method)
	_, _ = bw.WriteString(" ")
	_, _ = bw.WriteString(req.URL.RequestURI())
	_, _ = bw.WriteString(" HTTP/1.1\r\n")
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	writeField(bw, "Host", host)
	if _, ok := req.Header["User-Agent"]; !ok {
		writeField(bw, "User-Agent", "Go-http-client/1.1")
	}
	for k, vs := range req.Header {
		if k == "Host" || k == "Content-Length" || k == "Transfer-Encoding" || k == "Trailer" {
			continue
		}
		for _, v := range vs {
			if k == "User-Agent" && v == "" {
				continue
			}
			writeField(bw, k, v)
		}
	}
	if req.Close {
		writeField(bw, "Connection", "close")
	}
	_, err := bw.WriteString("\r\n")
	return err
}

func (t *appTransport) exchange(req *http.Request, pc *appConn) (*http.Response, error) {
	// A request that ends (the browser went away) unblocks its
	// connection, which is then closed, not reused.
	stop := context.AfterFunc(req.Context(), func() { _ = pc.conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = pc.conn.Close()
		return nil, err
	}
	if err := writeRequest(pc.bw, req); err != nil {
		return fail(err)
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err)
	}
	for {
		resp, err := http.ReadResponse(pc.br, req)
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			// An informational answer (103 Early Hints): the final one
			// follows.
			continue
		}
		resp.Body = &appBody{rc: resp.Body, pc: pc, t: t, keep: !resp.Close && !req.Close, stop: stop}
		return resp, nil
	}
}

// get returns an idle connection (when reuse is set), else dials a new
// one.
func (t *appTransport) get(ctx context.Context, reuse bool) (*appConn, bool, error) {
	t.mu.Lock()
	if n := len(t.idle); reuse && n > 0 {
		pc := t.idle[n-1]
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		return pc, true, nil
	}
	t.mu.Unlock()
	c, err := t.dial(ctx, "tcp", "")
	if err != nil {
		return nil, false, err
	}
	return &appConn{conn: c, br: bufio.NewReader(c), bw: bufio.NewWriter(c)}, false, nil
}

func (t *appTransport) put(pc *appConn) {
	t.mu.Lock()
	if !t.retired && len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, pc)
		pc = nil
	}
	t.mu.Unlock()
	if pc != nil {
		_ = pc.conn.Close()
	}
}

// CloseIdleConnections closes the connections no request uses.
func (t *appTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, pc := range idle {
		_ = pc.conn.Close()
	}
	t.fallback.CloseIdleConnections()
}

// retire closes the idle connections and those still in use once their
// requests end: no route uses the app's address any more.
func (t *appTransport) retire() {
	t.mu.Lock()
	t.retired = true
	t.mu.Unlock()
	t.CloseIdleConnections()
}

// appBody gives the connection back once the answer is read to its end.
type appBody struct {
	rc   io.ReadCloser
	pc   *appConn
	t    *appTransport
	keep bool
	stop func() bool
	done bool
}

func (b *appBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if errors.Is(err, io.EOF) {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *appBody) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

func (b *appBody) finish(complete bool) {
	b.done = true
	stopped := b.stop()
	if !complete {
		// Closed first: closing the body of an answer not read to its
		// end would otherwise read (and drop) the rest from the app.
		_ = b.pc.conn.Close()
		_ = b.rc.Close()
		return
	}
	_ = b.rc.Close()
	if stopped && b.keep && b.pc.br.Buffered() == 0 {
		b.t.put(b.pc)
		return
	}
	_ = b.pc.conn.Close()
}
