package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The web console: what its first load costs on loopback, how soon the
// store's grid can be used after the page's first byte, how soon My apps
// is drawn with the installed apps, and how many requests an idle My apps
// makes per minute.

// runConsole measures the console alone, on a fresh server with no apps
// (bench -only console).
func runConsole(bin, outDir, catalog string) error {
	bin, _ = filepath.Abs(bin)
	catalog, _ = filepath.Abs(catalog)
	host, _ := os.Hostname()
	rep := &report{Started: time.Now().UTC(), Host: host}
	s, err := startServer(bin, catalog, "")
	if err != nil {
		return err
	}
	defer s.cleanup()
	if err := benchConsole(rep, s, 0); err != nil {
		return err
	}
	printTable(os.Stdout, rep)
	return writeJSON(outDir, rep)
}

var consoleRef = regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`)

// consoleBytes fetches the page and every file it names, as a browser
// with an empty cache does, and returns the bytes on the wire (gzip).
func consoleBytes(s *server) (page, api int64, err error) {
	tr := &http.Transport{DisableCompression: true}
	get := func(path string, auth bool) ([]byte, int64, error) {
		req, _ := http.NewRequest("GET", "http://"+s.addr+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if auth {
			req.Header.Set("Authorization", "Bearer "+s.token)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return nil, 0, fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
		}
		return b, int64(len(b)), err
	}
	_, n, err := get("/", false)
	if err != nil {
		return 0, 0, err
	}
	page += n
	// The links of the page, read from its plain text.
	resp, err := http.Get("http://" + s.addr + "/")
	if err != nil {
		return 0, 0, err
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range consoleRef.FindAllStringSubmatch(string(html), -1) {
		if _, n, err = get(m[1], false); err != nil {
			return 0, 0, err
		}
		page += n
	}
	for _, p := range []string{"/ui/i18n/en.json", "/ui/js/main.js"} {
		if _, n, err = get(p, false); err != nil {
			return 0, 0, err
		}
		page += n
	}
	for _, p := range []string{"/api/v1/me", "/api/v1/apps?page=1&per_page=48"} {
		if _, n, err = get(p, true); err != nil {
			return 0, 0, err
		}
		page += n
		api = n
	}
	return page, api, nil
}

// timing is what the page reports about itself.
type timing struct {
	Ready    float64 `json:"ready"`
	Bytes    float64 `json:"bytes"`
	Requests int     `json:"requests"`
}

const readScript = `(() => {
	const nav = performance.getEntriesByType("navigation")[0];
	const mark = performance.getEntriesByName(%q)[0];
	const res = performance.getEntriesByType("resource");
	return {ready: mark.startTime - nav.responseStart, requests: res.length + 1,
		bytes: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0)};
})()`

func benchConsole(rep *report, s *server, apps int) error {
	page, api, err := consoleBytes(s)
	if err != nil {
		return err
	}
	rep.add("console", "first load, bytes on the wire (gzip)", float64(page)/1024, "KB", "< 150", "page, files, me, apps")
	rep.add("console", "GET /api/v1/apps alone", float64(api)/1024, "KB", "", "")

	path, err := exec.LookPath("chromium")
	if err != nil {
		return fmt.Errorf("chromium is not installed (make browser-deps): no browser timings")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 860))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// The first call starts the browser: with no time limit, which would
	// end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}
	run := func(limit time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
		c, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		return chromedp.Do(c, steps...)
	}
	ready := func(mark string) chromedp.Action[chromedp.Void] {
		return func(c context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[any](fmt.Sprintf(`performance.getEntriesByName(%q).length > 0`, mark),
				chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(5*time.Millisecond))(c, t)
			return chromedp.Void{}, err
		}
	}
	base := "http://" + s.addr
	if err := run(time.Minute, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login-password"),
		chromedp.SendKeys("#login-password", s.password), chromedp.Click("#login-submit"), ready("stackhub:store-ready")); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		return err
	}
	var store []float64
	var last timing
	for i := range 5 {
		if err := run(time.Minute, chromedp.Navigate(fmt.Sprintf("%s/?cold=%d#/store", base, i)), ready("stackhub:store-ready")); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		t, err := chromedp.Run(ctx, chromedp.Evaluate[timing](fmt.Sprintf(readScript, "stackhub:store-ready")))
		if err != nil {
			return err
		}
		store, last = append(store, t.Ready), t
	}
	rep.add("console", "store grid ready after the first byte, cold", median(store), "ms", "< 300", fmt.Sprintf("median of 5; %d catalog apps shown first", min(48, catalogSize(s))))
	rep.add("console", "store first load, as the browser counts it", last.Bytes/1024, "KB", "< 150", fmt.Sprintf("%d requests", last.Requests))

	var list []float64
	for i := range 3 {
		if err := run(time.Minute, chromedp.Navigate(fmt.Sprintf("%s/?apps=%d#/apps", base, i)), ready("stackhub:apps-ready")); err != nil {
			return fmt.Errorf("my apps: %w", err)
		}
		t, err := chromedp.Run(ctx, chromedp.Evaluate[timing](fmt.Sprintf(readScript, "stackhub:apps-ready")))
		if err != nil {
			return err
		}
		list = append(list, t.Ready)
	}
	rep.add("console", fmt.Sprintf("my apps drawn after the first byte, %d apps", apps), median(list), "ms", "", "median of 3")
	const idle = 30 * time.Second
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType("resource").length`))
	if err != nil {
		return err
	}
	time.Sleep(idle)
	after, err := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType("resource").length`))
	if err != nil {
		return err
	}
	rep.add("console", "my apps idle: requests per minute", float64(after-before)*float64(time.Minute)/float64(idle), "req/min", "", "")
	return nil
}

// catalogSize is how many apps the server's catalog has.
func catalogSize(s *server) int {
	req, _ := http.NewRequest("GET", "http://"+s.addr+"/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var body struct {
		Apps  []json.RawMessage `json:"apps"`
		Total *int              `json:"total"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return 0
	}
	if body.Total != nil {
		return *body.Total
	}
	return len(body.Apps)
}
