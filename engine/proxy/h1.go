package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// h1Server takes the HTTPS port's connections first. It does the TLS
// handshake; a connection that speaks HTTP/1.1 then has its plain
// requests — a GET or HEAD without a body, to a routed app without the
// login gate — proxied here, one after the other, with no goroutine,
// context or timer per request: on a small server net/http's per-request
// machinery cost more CPU than the copying (bench: proxy section). At the
// first request of any other kind (an upload, a form post, a WebSocket,
// a gated app, HTTP/1.0, a head too large to read ahead), and for HTTP/2
// from the start, the connection goes to net/http's server with the
// bytes read ahead, and stays there.
type h1Server struct {
	p       *Proxy
	tls     *tls.Config
	handoff *connQueue

	mu     sync.Mutex
	conns  map[*tls.Conn]struct{}
	closed bool
}

const (
	// handshakeTimeout bounds the TLS handshake and each request's head,
	// as ReadHeaderTimeout does for net/http's server.
	handshakeTimeout = 10 * time.Second
	// keepAliveTimeout is how long a connection may wait for its next
	// request (the server's IdleTimeout).
	keepAliveTimeout = 2 * time.Minute
	// headMax is the largest request head read ahead; a larger one goes
	// to net/http's server, which answers it.
	headMax = 8 << 10
)

func newH1Server(p *Proxy, conf *tls.Config, addr net.Addr) *h1Server {
	return &h1Server{p: p, tls: conf, conns: map[*tls.Conn]struct{}{},
		handoff: &connQueue{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}}
}

// serve accepts connections until ln is closed.
func (s *h1Server) serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return err
		}
		go s.serveConn(tls.Server(c, s.tls))
	}
}

// close closes the connections this server holds (not those handed to
// net/http's server).
func (s *h1Server) close() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = map[*tls.Conn]struct{}{}
	s.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

func (s *h1Server) track(c *tls.Conn, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on && s.closed {
		return false
	}
	if on {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

var (
	headReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, headMax) }}
	respWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
	headParsers = sync.Pool{New: func() any { return &headParser{br: bufio.NewReaderSize(nil, 1<<10)} }}
)

func (s *h1Server) serveConn(c *tls.Conn) {
	if !s.track(c, true) {
		_ = c.Close()
		return
	}
	handed := false
	defer func() {
		s.track(c, false)
		if !handed {
			_ = c.Close()
		}
	}()
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := c.HandshakeContext(context.Background()); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	if proto := c.ConnectionState().NegotiatedProtocol; proto != "" && proto != "http/1.1" {
		// HTTP/2, or a TLS-ALPN-01 challenge: net/http's server knows.
		handed = s.handoff.put(c)
		return
	}
	br := headReaders.Get().(*bufio.Reader)
	br.Reset(c)
	bw := respWriters.Get().(*bufio.Writer)
	bw.Reset(c)
	defer func() {
		if !handed {
			br.Reset(nil)
			headReaders.Put(br)
		}
		bw.Reset(nil)
		respWriters.Put(bw)
	}()
	client := clientIP(c.RemoteAddr())
	slowHead := func() { _ = c.SetReadDeadline(time.Now().Add(handshakeTimeout)) }
	for {
		// One deadline per request: the wait for the next request; a
		// head that does not come whole at once gets handshakeTimeout.
		_ = c.SetReadDeadline(time.Now().Add(keepAliveTimeout))
		if _, err := br.Peek(1); err != nil {
			return
		}
		head, err := peekHead(br, slowHead)
		if err != nil {
			return
		}
		req, rt, ok := s.plain(head)
		if !ok {
			_ = c.SetReadDeadline(time.Time{})
			handed = s.handoff.put(&handedConn{Conn: c, r: br})
			return
		}
		_, _ = br.Discard(len(head))
		if !s.proxy(bw, req, rt, client) {
			return
		}
	}
}

// peekHead returns the request head (through its empty line) buffered in
// br, reading more as needed (more is called before the first wait);
// past headMax, what there is: the connection is then handed to net/http's
// server, which reads heads up to its own limit.
func peekHead(br *bufio.Reader, more func()) ([]byte, error) {
	for waited := false; ; waited = true {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			return buf[:i+4], nil
		}
		if len(buf) >= headMax {
			return buf, nil
		}
		if !waited {
			more()
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return nil, err
		}
	}
}

// headParser parses a request head with net/http's own parser.
type headParser struct {
	r  bytes.Reader
	br *bufio.Reader
}

// plain parses a request head and says whether it is one this server
// proxies itself.
func (s *h1Server) plain(head []byte) (*http.Request, engine.Route, bool) {
	if !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		return nil, engine.Route{}, false
	}
	hp := headParsers.Get().(*headParser)
	hp.r.Reset(head)
	hp.br.Reset(&hp.r)
	req, err := http.ReadRequest(hp.br)
	// The parser must have taken the head whole: a head with bare line
	// feeds ends earlier than the first CRLFCRLF, and what follows is the
	// next request, which net/http's server must read from the start.
	whole := hp.r.Len() == 0 && hp.br.Buffered() == 0
	hp.br.Reset(nil)
	headParsers.Put(hp)
	if err != nil || !whole || !req.ProtoAtLeast(1, 1) || (req.Method != http.MethodGet && req.Method != http.MethodHead) ||
		req.ContentLength != 0 || len(req.TransferEncoding) > 0 ||
		req.Header.Get("Upgrade") != "" || req.Header.Get("Expect") != "" {
		return nil, engine.Route{}, false
	}
	rt, ok := s.p.route(req.Host)
	if !ok || rt.Backend == "" || rt.Login {
		return nil, engine.Route{}, false
	}
	return req, rt, true
}

// proxy sends a plain request to its app and writes the answer; false
// when the connection must close.
func (s *h1Server) proxy(bw *bufio.Writer, req *http.Request, rt engine.Route, client string) bool {
	s.p.lastRequest.Store(time.Now().UnixNano())
	keep := !req.Close
	outbound(req, rt.Backend, client)
	b := s.p.backendOf(rt)
	resp, err := b.transport.RoundTrip(req)
	if err != nil {
		rec := &recorder{header: http.Header{}}
		s.p.appUnavailable(rec, req.Host, err)
		resp = rec.response(req)
	}
	defer resp.Body.Close()
	stripHopHeaders(resp.Header)
	if rt.HSTS {
		resp.Header.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if err := writeResponse(bw, resp, req.Method == http.MethodHead, keep); err != nil {
		return false
	}
	return bw.Flush() == nil && keep
}

// writeResponse writes an app's answer to the client: HTTP/1.1, the
// app's headers, its own framing (Content-Length, else chunked with each
// piece sent as it comes: server-sent events, downloads of unknown size).
func writeResponse(bw *bufio.Writer, resp *http.Response, head, keep bool) error {
	code := resp.StatusCode
	bodyless := head || code < 200 || code == http.StatusNoContent || code == http.StatusNotModified
	_, _ = bw.WriteString("HTTP/1.1 ")
	if resp.Status != "" && strings.HasPrefix(resp.Status, strconv.Itoa(code)+" ") {
		_, _ = bw.WriteString(resp.Status)
	} else {
		_, _ = bw.WriteString(strconv.Itoa(code) + " " + http.StatusText(code))
	}
	_, _ = bw.WriteString("\r\n")
	for k, vs := range resp.Header {
		if k == "Content-Length" || k == "Transfer-Encoding" || k == "Trailer" {
			continue
		}
		for _, v := range vs {
			writeField(bw, k, v)
		}
	}
	chunked := false
	switch {
	case resp.ContentLength >= 0 && (!bodyless || head):
		writeField(bw, "Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	case resp.ContentLength < 0 && !bodyless:
		writeField(bw, "Transfer-Encoding", "chunked")
		chunked = true
		for k := range resp.Trailer {
			writeField(bw, "Trailer", k)
		}
	}
	if !keep {
		writeField(bw, "Connection", "close")
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return err
	}
	if bodyless {
		// Read to its (empty) end, so that the app's connection is reused.
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	if !chunked {
		n, err := io.Copy(bw, resp.Body)
		if err == nil && n != resp.ContentLength {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	cw := httputil.NewChunkedWriter(flushWriter{bw})
	if _, err := io.Copy(cw, resp.Body); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	// The trailers the app sent after its body (gRPC-web's status, say).
	for k, vs := range resp.Trailer {
		for _, v := range vs {
			writeField(bw, k, v)
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// writeField writes a header line; a value never carries a line break
// (net/http's readers refuse them; this keeps it so).
func writeField(bw *bufio.Writer, k, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	_, _ = bw.WriteString(k)
	_, _ = bw.WriteString(": ")
	_, _ = bw.WriteString(v)
	_, _ = bw.WriteString("\r\n")
}

// outbound turns a request read from a client into the app's: the app's
// address, no hop-by-hop headers, X-Forwarded-* set anew (as
// httputil.ProxyRequest.SetXForwarded does), the Host the client asked
// for kept.
func outbound(req *http.Request, backend, client string) {
	req.URL.Scheme, req.URL.Host = "http", backend
	req.RequestURI = ""
	req.Close = false
	stripHopHeaders(req.Header)
	h := req.Header
	for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		delete(h, k)
	}
	h["X-Forwarded-For"] = []string{client}
	h["X-Forwarded-Host"] = []string{req.Host}
	h["X-Forwarded-Proto"] = []string{"https"}
	if _, ok := h["User-Agent"]; !ok {
		// Not net/http's default agent: none, as the client sent.
		h["User-Agent"] = []string{""}
	}
}

// hopHeaders are the headers of one connection, not passed on.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func stripHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

func clientIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, _ := net.SplitHostPort(a.String())
	return host
}

// flushWriter sends each write at once.
type flushWriter struct{ bw *bufio.Writer }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.bw.Write(p)
	if err == nil {
		err = f.bw.Flush()
	}
	return n, err
}

// recorder keeps a page written for the fast path.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

func (r *recorder) response(req *http.Request) *http.Response {
	return &http.Response{StatusCode: r.code, Header: r.header, Request: req,
		Body: io.NopCloser(&r.body), ContentLength: int64(r.body.Len())}
}

// handedConn is a connection handed to net/http's server with the bytes
// read ahead of it.
type handedConn struct {
	*tls.Conn
	r io.Reader
}

func (c *handedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// tlsStateKey carries a handed connection's TLS state to its requests:
// net/http's server sees a *tls.Conn only when it is handed one.
type tlsStateKey struct{}

func connContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*handedConn); ok {
		st := hc.ConnectionState()
		return context.WithValue(ctx, tlsStateKey{}, &st)
	}
	return ctx
}

// connQueue is the listener net/http's server takes handed connections
// from.
type connQueue struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }

// put hands a connection over; false (and the connection closed) once
// the server is gone.
func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		_ = c.Close()
		return true
	}
}
