package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// proxyDomain is the LAN name the proxy section routes to hello (a
// certificate from StackHub's local CA, no ACME).
const proxyDomain = "hello-bench.lan"

// runProxy is `bench -only proxy`: the proxy section on a server of its
// own.
func runProxy(bin, outDir, catalog string, clients int, loadFor time.Duration, samples int) error {
	bin, _ = filepath.Abs(bin)
	catalog, _ = filepath.Abs(catalog)
	host, _ := os.Hostname()
	rep := &report{Started: time.Now().UTC(), Host: host}
	if err := benchProxy(rep, bin, catalog, clients, loadFor, samples); err != nil {
		return err
	}
	printTable(os.Stdout, rep)
	return writeJSON(outDir, rep)
}

// benchProxy installs hello on a server whose proxy listens on loopback
// ports, routes a domain to it, and measures requests through the proxy
// (HTTPS) against requests to the app's own port (plain HTTP), in the same
// run: sequential latency, throughput with concurrent keep-alive clients,
// TLS handshakes per second, and the service's idle memory with the proxy
// on.
func benchProxy(rep *report, bin, catalog string, clients int, loadFor time.Duration, samples int) error {
	ports := freePorts(2)
	s, err := startServer(bin, catalog, "")
	if err != nil {
		return err
	}
	defer s.cleanup()
	if err := s.stop(); err != nil {
		return err
	}
	s.extra = []string{"--proxy-http", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--proxy-https", fmt.Sprintf("127.0.0.1:%d", ports[1])}
	if err := s.start(); err != nil {
		return err
	}
	if e, err := s.call("POST", "/installApp", map[string]string{"appName": "hello"}); err != nil || e.Code != "1" {
		return fmt.Errorf("install hello: %w %s", err, e.Message)
	}
	app, err := s.waitRunning("hello", 3*time.Minute)
	if err != nil {
		return err
	}
	time.Sleep(idleWait)
	if rss, err := s.rss(); err == nil {
		rep.add("proxy", "idle RSS of serve before any domain (proxy not listening), 1 app", float64(rss)/1e6, "MB", "", "")
	}
	if err := s.addDomain("hello", proxyDomain); err != nil {
		return err
	}
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(filepath.Join(s.data, "certs", "local", "ca.crt"))
	if err != nil {
		return err
	}
	roots.AppendCertsFromPEM(pem)
	proxied := "https://" + proxyDomain + "/"
	direct := "http://127.0.0.1:" + app.Port + "/"
	newClient := func(keepAlive bool) *http.Client {
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); host == proxyDomain {
				addr = fmt.Sprintf("127.0.0.1:%d", ports[1])
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 256, DisableKeepAlives: !keepAlive,
		}}
	}
	// Browsers speak HTTP/2 to the proxy: one connection carries every
	// request of a client.
	newH2Client := func() *http.Client {
		c := newClient(true)
		c.Transport.(*http.Transport).ForceAttemptHTTP2 = true
		return c
	}
	// The proxy starts listening at its next reading of the routes.
	c := newClient(true)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := get(c, proxied); err == nil {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("no answer through the proxy: %w\n%s", err, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	lat := map[string][]float64{}
	for range samples { // interleaved, so that both see the same machine
		for _, u := range []string{direct, proxied} {
			start := time.Now()
			if err := get(c, u); err == nil {
				lat[u] = append(lat[u], ms(time.Since(start)))
			}
		}
	}
	p99d, p99p := percentile(lat[direct], 99), percentile(lat[proxied], 99)
	rep.add("proxy", "hello direct p50", percentile(lat[direct], 50), "ms", "", "plain HTTP/1.1 to the app's port, keep-alive")
	rep.add("proxy", "hello through the proxy p50", percentile(lat[proxied], 50), "ms", "", "HTTPS (HTTP/1.1, keep-alive) through the proxy")
	rep.add("proxy", "hello direct p99", p99d, "ms", "", "")
	rep.add("proxy", "hello through the proxy p99", p99p, "ms", "", "")
	rep.add("proxy", "p99 added by the proxy", p99p-p99d, "ms", "<= 1", "")

	// Where the CPU of a request goes, process by process: on a machine
	// the load generator shares, throughput follows the sum.
	appPIDs, errApp := containerPIDs(s.prefix + "-hello")
	directM := cpuMeter{relay: dockerProxyPIDs(app.Port), app: appPIDs}
	proxiedM := cpuMeter{relay: []int{s.cmd.Process.Pid}, app: appPIDs}
	d0, errD0 := directM.read()
	rd := loadURL(newClient(true), direct, clients, loadFor)
	d1, errD1 := directM.read()
	p0, errP0 := proxiedM.read()
	rp := loadURL(newClient(true), proxied, clients, loadFor)
	p1, errP1 := proxiedM.read()
	if err := errors.Join(errApp, errD0, errD1, errP0, errP1); err != nil {
		fmt.Fprintln(os.Stderr, "bench: proxy: no CPU figures:", err)
	} else if rd > 0 && rp > 0 {
		dc := d1.sub(d0).perRequest(rd * loadFor.Seconds())
		pc := p1.sub(p0).perRequest(rp * loadFor.Seconds())
		rep.add("proxy", "CPU per direct request: load generator", dc.client, "µs", "", "this process, plain HTTP")
		if len(directM.relay) > 0 {
			rep.add("proxy", "CPU per direct request: docker-proxy", dc.relay, "µs", "", "Docker's relay of the app's port: copies bytes, no TLS, no HTTP")
		}
		rep.add("proxy", "CPU per direct request: app", dc.app, "µs", "", "")
		rep.add("proxy", "CPU per proxied request: load generator", pc.client, "µs", "", "this process, with the client's side of TLS")
		rep.add("proxy", "CPU of serve per proxied request", pc.relay, "µs", "", "user+system time of the service (proxy, TLS) over the proxied load")
		rep.add("proxy", "CPU per proxied request: app", pc.app, "µs", "", "")
		// The load generator and the app cost what they cost; what is
		// left for serve if the proxied side may use 1/0.8 of the direct
		// side's CPU per request.
		rep.add("proxy", "CPU per request the 0.8x goal leaves to serve", dc.total()/0.8-pc.client-pc.app, "µs", "", "direct total / 0.8, less the proxied side's load generator and app")
	}
	rep.add("proxy", fmt.Sprintf("hello direct req/s, %d clients", clients), rd, "req/s", "", "")
	rep.add("proxy", fmt.Sprintf("hello through the proxy req/s, %d clients", clients), rp, "req/s", "", "")
	if rd > 0 {
		rep.add("proxy", "proxied / direct throughput", rp/rd, "x", ">= 0.8", "")
	}
	rh2 := loadURL(newH2Client(), proxied, clients, loadFor)
	rep.add("proxy", fmt.Sprintf("hello through the proxy over HTTP/2 req/s, %d clients", clients), rh2, "req/s", "", "as browsers reach it")
	if rd > 0 {
		rep.add("proxy", "proxied over HTTP/2 / direct throughput", rh2/rd, "x", "", "")
	}
	hs := loadURL(newClient(false), proxied, 8, loadFor)
	rep.add("proxy", "TLS handshakes/s (a new connection per request), 8 clients", hs, "req/s", "", "ECDSA P-256 certificate")

	time.Sleep(idleWait)
	if rss, err := s.rss(); err == nil {
		rep.add("proxy", "idle RSS of serve with the proxy on, after the load, 1 app", float64(rss)/1e6, "MB", "<= 40", "")
	}
	// RSS counts the pages of the binary the process has touched (clean,
	// shared with the page cache); the anonymous part is what the process
	// allocated itself: heap, stacks, runtime.
	if anon, err := procStatusKB(s.cmd.Process.Pid, "RssAnon:"); err == nil {
		rep.add("proxy", "  of which anonymous (heap, stacks; not the binary's pages)", float64(anon*1024)/1e6, "MB", "", "")
	}
	return nil
}

// procStatusKB reads one kB field of /proc/PID/status.
func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// cpuSeconds is the user+system CPU time a process has used.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command's closing parenthesis: utime and stime are
	// the 12th and 13th, in clock ticks (100 a second on Linux).
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return (ut + st) / 100, nil
}

func get(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return nil
}

// loadURL runs clients loops for d and returns the successful requests
// per second (at most 200,000 requests in all).
func loadURL(c *http.Client, u string, clients int, d time.Duration) float64 {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && n.Load() < 200000 {
				if get(c, u) == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	c.CloseIdleConnections()
	return float64(n.Load()) / d.Seconds()
}

// addDomain routes a domain to an installed app through the REST API.
func (s *server) addDomain(app, domain string) error {
	b, _ := json.Marshal(map[string]string{"app": app, "domain": domain})
	req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/v1/domains", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("add domain: HTTP %d: %s", resp.StatusCode, body)
	}
	return nil
}
