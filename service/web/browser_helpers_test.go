//go:build integration

package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The browser suite's plumbing: one Chromium for every test, one real
// `stackhub serve` on the fixture catalog, and pages that record every
// console error, exception and failed request and save a screenshot.

// browser starts Debian's chromium, headless, for the whole test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run `make browser-deps` (apt-get install chromium fonts-noto-cjk)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 860), chromedp.Flag("lang", "en-US"),
		chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// screensDir is out/screens at the repository's root.
func screensDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../out/screens")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// tab is one browser tab under test.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
	// allowed are answers that the test expects to fail (status and a
	// pattern of the URL), such as the login's 401 on a wrong password.
	allowed []allowance
}

type allowance struct {
	status int
	url    *regexp.Regexp
}

// openPage opens a tab; fresh gives it a browser context of its own (no
// cookies or storage shared with other tabs).
func openPage(t *testing.T, browserCtx context.Context, fresh bool, allowed ...allowance) *tab {
	t.Helper()
	var opts []chromedp.ContextOption
	if fresh {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(browserCtx, opts...)
	p := &tab{t: t, ctx: ctx, allowed: allowed}
	t.Cleanup(func() { cancel() })
	require.NoError(t, chromedp.Listen(ctx, p.record))
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, cdplog.Enable, cdp.Empty{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, runtime.Enable, cdp.Empty{})
	require.NoError(t, err)
	return p
}

func (p *tab) record(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		problem = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			problem += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			problem = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
		}
	case *cdplog.EventEntryAdded:
		// Network failures are judged below, by their status.
		if ev.Entry.Level == cdplog.EntryLevelError && ev.Entry.Source != cdplog.EntrySourceNetwork {
			problem = "log " + string(ev.Entry.Source) + ": " + ev.Entry.Text + " " + ev.Entry.URL
		}
	case *network.EventLoadingFailed:
		if !ev.Canceled && ev.ErrorText != "net::ERR_ABORTED" {
			problem = "request failed: " + ev.ErrorText + " " + string(ev.BlockedReason)
		}
	case *page.EventNavigatedWithinDocument:
		p.t.Logf("page at %s (%s)", ev.URL, ev.NavigationType)
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 && !p.isAllowed(int(ev.Response.Status), ev.Response.URL) {
			problem = fmt.Sprintf("HTTP %d: %s", ev.Response.Status, ev.Response.URL)
		}
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	}
}

func (p *tab) isAllowed(status int, url string) bool {
	for _, a := range p.allowed {
		if a.status == status && a.url.MatchString(url) {
			return true
		}
	}
	return false
}

// do runs actions with a time limit.
func (p *tab) do(limit time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.shot("FAILED-" + strings.ReplaceAll(p.t.Name(), "/", "-"))
		p.t.Fatalf("browser: %v\nproblems so far: %v\npage text: %s", err, p.problems, p.textNow())
	}
}

// wait waits until the JavaScript expression is truthy.
func (p *tab) wait(limit time.Duration, expr string) {
	p.t.Helper()
	p.do(limit+5*time.Second, pollVoid(expr, limit))
}

func pollVoid(expr string, limit time.Duration) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[any](expr, chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(100*time.Millisecond))(ctx, t)
		if err != nil {
			return chromedp.Void{}, fmt.Errorf("wait for %s: %w", expr, err)
		}
		return chromedp.Void{}, nil
	}
}

// eval evaluates an expression and returns its value.
func eval[T any](p *tab, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(p.t, err, "evaluate %s", expr)
	return v
}

// textNow returns the page's visible text, for failure messages.
func (p *tab) textNow() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len(s) > 3000 {
		s = s[:3000]
	}
	return s
}

// shot saves a screenshot of the viewport as out/screens/<name>.png.
func (p *tab) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	// Let transitions and fonts settle.
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[any](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAsValue))
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(screensDir(p.t), name+".png"), buf, 0o644); err != nil {
		p.t.Errorf("save screenshot %s: %v", name, err)
	}
}

// clean fails the test if the page logged an error or a request failed.
func (p *tab) clean() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) > 0 {
		p.t.Errorf("the page had problems:\n  %s", strings.Join(p.problems, "\n  "))
	}
	p.problems = nil
}

// server is a running `stackhub serve`.
type server struct {
	url, prefix, token string
	// proxyHTTPS is the reverse proxy's HTTPS address (loopback, a free
	// port: the tests never take the host's 80 and 443).
	proxyHTTPS string
	logs       *syncBuffer
	cmd        *exec.Cmd
	// stop ends the server (once; later calls do nothing).
	stop func()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr is a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// startServer runs stackhub serve on the fixture catalog with no admin
// yet, so the setup link is offered; it removes what the tests left.
func startServer(t *testing.T) *server {
	t.Helper()
	bin := os.Getenv("STACKHUB_BIN")
	if bin == "" {
		t.Fatal("STACKHUB_BIN is not set: run `make build test-images` and pass STACKHUB_BIN=$PWD/bin/stackhub")
	}
	if err := exec.Command("docker", "version").Run(); err != nil {
		t.Fatalf("docker is not reachable: %v", err)
	}
	catalog, err := filepath.Abs("../../testdata/bundles")
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	s := &server{url: "http://" + addr, prefix: fmt.Sprintf("web%d", time.Now().UnixNano()%100000),
		token: fmt.Sprintf("shk_webtest_%d", time.Now().UnixNano()), logs: &syncBuffer{},
		proxyHTTPS: freeAddr(t)}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data", t.TempDir(), "--catalog", catalog,
		"--prefix", s.prefix, "--port-min", "19501", "--port-max", "19599",
		"--proxy-http", freeAddr(t), "--proxy-https", s.proxyHTTPS,
		// The login gate sends browsers to the console here.
		"--console-url", s.url,
		// The Backups tab is tested from no backup on.
		"--backup-before-upgrade=false")
	cmd.Env = append(os.Environ(), "STACKHUB_TOKEN="+s.token)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	require.NoError(t, cmd.Start())
	s.cmd = cmd
	var stopOnce sync.Once
	s.stop = func() {
		stopOnce.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("stackhub serve output:\n%s", s.logs.String())
		}
		removeByPrefix(s.prefix)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(s.url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		require.True(t, time.Now().Before(deadline), "service did not answer /health:\n%s", s.logs.String())
		time.Sleep(100 * time.Millisecond)
	}
}

var setupLink = regexp.MustCompile(`/setup\?token=[A-Za-z0-9_-]+`)

// setupURL is the one-time link the service logged.
func (s *server) setupURL(t *testing.T) string {
	t.Helper()
	m := setupLink.FindString(s.logs.String())
	require.NotEmpty(t, m, "no setup link in the log:\n%s", s.logs.String())
	return s.url + m
}

// volumes lists the Docker volumes of the server's apps.
func (s *server) volumes(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "volume", "ls", "-q", "--filter", "name="+s.prefix).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

func removeByPrefix(prefix string) {
	if out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name=^"+prefix+"-").Output(); len(out) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, strings.Fields(string(out))...)...).Run()
	}
	if out, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "name=^"+prefix+"-").Output(); len(out) > 0 {
		_ = exec.Command("docker", append([]string{"network", "rm"}, strings.Fields(string(out))...)...).Run()
	}
	if out, _ := exec.Command("docker", "volume", "ls", "-q", "--filter", "name="+prefix).Output(); len(out) > 0 {
		_ = exec.Command("docker", append([]string{"volume", "rm", "-f"}, strings.Fields(string(out))...)...).Run()
	}
}
