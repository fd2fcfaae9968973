package service

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// fuzzEngine answers every call the way a healthy engine would, after the
// same input checks the real one makes.
func fuzzEngine() *fakeEngine {
	inst := func(name string) *engine.Installation {
		return &engine.Installation{Name: name, App: name, Status: engine.StatusRunning, ContainerName: "stackhub-" + name,
			Ports: map[string]int{"port": 9001}, Created: time.Unix(0, 0).UTC(), Modified: time.Unix(0, 0).UTC()}
	}
	return &fakeEngine{
		InstallFunc: func(_ context.Context, opts engine.InstallOptions) (*engine.Installation, error) {
			if err := opts.Validate(); err != nil {
				return nil, err
			}
			return inst(opts.Name), nil
		},
		UninstallFunc: func(_ context.Context, opts engine.UninstallOptions) error { return opts.Validate() },
		UninstallAllFunc: func(context.Context) ([]engine.UninstallOutcome, error) {
			return []engine.UninstallOutcome{{Name: "hello"}}, nil
		},
		GetFunc: func(_ context.Context, name string) (*engine.Installation, error) {
			if err := engine.ValidateName("appName", name); err != nil {
				return nil, err
			}
			return inst(name), nil
		},
		ListFunc: func(context.Context) ([]*engine.Installation, error) {
			return []*engine.Installation{inst("hello")}, nil
		},
		ServerFunc: func(context.Context) (*engine.ServerStatus, error) { return &engine.ServerStatus{}, nil },
	}
}

// FuzzPRDRequest sends arbitrary queries and bodies to the product
// document's endpoints through the real handlers: every answer is a JSON
// envelope or error body, never a 5xx and never a panic.
func FuzzPRDRequest(f *testing.F) {
	paths := []string{"/installApp", "/uninstallApp", "/getAppInfo", "/getAllAppInfo", "/uninstallAllApp", "/searchServer"}
	ctypes := []string{"", "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", "application/json; charset=utf-8"}
	f.Add(uint8(0), true, "appName=hello", uint8(0), "")
	f.Add(uint8(0), false, "", uint8(1), `{"appName":"hello"}`)
	f.Add(uint8(1), false, "", uint8(2), "appName=hello&appName=x")
	f.Add(uint8(2), true, "appName=%zz", uint8(0), "")
	f.Add(uint8(0), false, "", uint8(1), `{"appName":["a"]}`)
	f.Add(uint8(0), false, "", uint8(3), "--x\r\nContent-Disposition: form-data; name=\"appName\"\r\n\r\nhello\r\n--x--\r\n")
	f.Add(uint8(4), false, "", uint8(1), `[[[[{}]]]]`)
	f.Add(uint8(0), false, "", uint8(5), "{\"appName\":\"hel\xfflo\"}")
	s := New(Config{DataDir: f.TempDir(), APIToken: testToken, AdminPassword: "s3cret-pw", BodyLimit: 4096},
		fuzzEngine(), newMemUsers(), slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, path uint8, get bool, query string, ctype uint8, body string) {
		target := paths[int(path)%len(paths)]
		if strings.ContainsAny(query, " #\r\n\t\x00") {
			query = strings.NewReplacer(" ", "%20", "#", "%23", "\r", "%0D", "\n", "%0A", "\t", "%09", "\x00", "%00").Replace(query)
		}
		if query != "" {
			target += "?" + query
		}
		method := http.MethodPost
		if get {
			method = http.MethodGet
		}
		req := httptest.NewRequestWithContext(t.Context(), method, "http://stackhub.test/", strings.NewReader(body))
		req.RequestURI = target
		req.URL.RawQuery = query
		req.URL.Path = paths[int(path)%len(paths)]
		if ct := ctypes[int(ctype)%len(ctypes)]; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := s.App().Test(req, -1)
		if err != nil {
			t.Skip("fasthttp refused the request line:", err)
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("read answer: %v", err)
		}
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s (%q): HTTP %d: %s", method, target, body, res.StatusCode, raw)
		}
		if !json.Valid(raw) {
			t.Fatalf("%s %s: answer is not JSON: %q", method, target, raw)
		}
	})
}
