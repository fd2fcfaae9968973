//go:build integration

package main_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server is a `stackhub serve` process started for one test.
type server struct {
	t      *testing.T
	url    string
	token  string
	prefix string
	data   string
	cmd    *exec.Cmd
	logs   *syncBuffer
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

// binary returns the stackhub binary under test: $STACKHUB_BIN (make sets
// it), else one built now.
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("STACKHUB_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "stackhub")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

func requireDocker(t *testing.T) {
	t.Helper()
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	require.NoError(t, err, "these tests need a running Docker Engine: %s", out)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	requireDocker(t)
	bin := binary(t)
	catalog, err := filepath.Abs("../../testdata/bundles")
	require.NoError(t, err)
	s := &server{t: t, token: "shk_" + randomHex(16), prefix: "e2e" + randomHex(3), data: t.TempDir(), logs: &syncBuffer{}}
	port := freePort(t)
	s.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	args := append([]string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data", s.data,
		"--catalog", catalog, "--prefix", s.prefix, "--port-min", "19001", "--port-max", "19999", "--log-level", "debug"}, extra...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(), "STACKHUB_API_TOKEN="+s.token, "STACKHUB_ADMIN_PASSWORD=e2e-"+randomHex(8))
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("stackhub serve output:\n%s", s.logs.String())
		}
		// Leave nothing behind even when a test failed half way.
		removeByPrefix(t, s.prefix)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		require.True(t, time.Now().Before(deadline), "service did not answer /health in time:\n%s", s.logs.String())
		time.Sleep(100 * time.Millisecond)
	}
}

func removeByPrefix(t *testing.T, prefix string) {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name=^"+prefix+"-").Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run()
	}
	out, _ = exec.Command("docker", "network", "ls", "-q", "--filter", "name=^"+prefix+"-").Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"network", "rm"}, ids...)...).Run()
	}
	out, _ = exec.Command("docker", "volume", "ls", "-q", "--filter", "name=^"+prefix+"-").Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"volume", "rm", "-f"}, ids...)...).Run()
	}
}

// envelope is the PRD endpoints' answer.
type envelope struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data"`
	status  int
	raw     string
}

func (s *server) do(method, path string, body io.Reader, contentType string) envelope {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	var e envelope
	require.NoError(s.t, json.Unmarshal(raw, &e), "not an envelope: %s", raw)
	e.status, e.raw = resp.StatusCode, string(raw)
	return e
}

func (s *server) postJSON(path string, body any) envelope {
	b, err := json.Marshal(body)
	require.NoError(s.t, err)
	return s.do(http.MethodPost, path, bytes.NewReader(b), "application/json")
}

func (s *server) get(path string, q url.Values) envelope {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return s.do(http.MethodGet, path, nil, "")
}

// waitStatus polls getAppInfo until status leaves "0".
func (s *server) waitStatus(app string, timeout time.Duration) envelope {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		e := s.get("/getAppInfo", url.Values{"appName": {app}})
		if e.Code == "1" && e.Data["status"] != "0" {
			return e
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s still not started after %s: %s\n%s", app, timeout, e.raw, s.logs.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func httpGetBody(t *testing.T, u string) string {
	t.Helper()
	var last error
	for i := 0; i < 40; i++ {
		resp, err := http.Get(u)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", u, last)
	return ""
}

func dockerLines(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	require.NoError(t, err, string(out))
	return strings.Fields(string(out))
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func TestWalkingSkeleton(t *testing.T) {
	s := startServer(t)

	// hello, by POST JSON.
	start := time.Now()
	e := s.postJSON("/installApp", map[string]string{"appName": "hello"})
	require.Equal(t, "1", e.Code, e.raw)
	assert.Equal(t, s.prefix+"-hello", e.Data["containerName"])
	helloPort, err := strconv.Atoi(fmt.Sprint(e.Data["port"]))
	require.NoError(t, err, e.raw)
	assert.GreaterOrEqual(t, helloPort, 19001)

	e = s.waitStatus("hello", 3*time.Minute)
	require.Equal(t, "1", e.Data["status"], e.raw)
	t.Logf("hello: installApp -> status 1 in %s (includes building the images)", time.Since(start).Round(time.Millisecond))
	assert.Equal(t, strconv.Itoa(helloPort), fmt.Sprint(e.Data["port"]))
	assert.Contains(t, httpGetBody(t, fmt.Sprintf("http://127.0.0.1:%d/", helloPort)), "hello")

	// A second install of an installed app is refused.
	e = s.postJSON("/installApp", map[string]string{"appName": "hello"})
	assert.Equal(t, "0", e.Code, e.raw)
	assert.Equal(t, http.StatusConflict, e.status)
	assert.Contains(t, e.Message, "hello")

	// hello-db, by GET with a query parameter; the images exist now.
	start = time.Now()
	e = s.get("/installApp", url.Values{"appName": {"hello-db"}})
	require.Equal(t, "1", e.Code, e.raw)
	dbPort, err := strconv.Atoi(fmt.Sprint(e.Data["db_port"]))
	require.NoError(t, err, e.raw)
	webPort, err := strconv.Atoi(fmt.Sprint(e.Data["port"]))
	require.NoError(t, err, e.raw)
	assert.NotEqual(t, helloPort, webPort)
	assert.NotEqual(t, webPort, dbPort)
	e = s.waitStatus("hello-db", 3*time.Minute)
	require.Equal(t, "1", e.Data["status"], e.raw)
	t.Logf("hello-db: installApp -> status 1 in %s", time.Since(start).Round(time.Millisecond))
	assert.Contains(t, httpGetBody(t, fmt.Sprintf("http://127.0.0.1:%d/", webPort)), "hello")
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", dbPort), 5*time.Second)
	require.NoError(t, err, "the db companion answers on db_port")
	conn.Close()
	assert.Len(t, dockerLines(t, "ps", "-q", "--filter", "label=com.docker.compose.project="+s.prefix+"-hello-db"), 2,
		"hello-db runs a web and a db container")

	// getAllAppInfo lists both; searchServer answers.
	e = s.postJSON("/getAllAppInfo", map[string]string{})
	require.Equal(t, "1", e.Code, e.raw)
	assert.Contains(t, e.raw, `"hello-db"`)
	e = s.get("/searchServer", nil)
	require.Equal(t, "1", e.Code, e.raw)
	for _, k := range []string{"cpu", "memory", "hdd", "risk"} {
		assert.Contains(t, e.Data, k)
	}
	assert.True(t, strings.HasSuffix(fmt.Sprint(e.Data["memory"]), "%"), e.raw)

	// Uninstall by form post: containers and networks go, the port is free.
	e = s.do(http.MethodPost, "/uninstallApp", strings.NewReader("appName=hello"), "application/x-www-form-urlencoded")
	require.Equal(t, "1", e.Code, e.raw)
	assert.Empty(t, dockerLines(t, "ps", "-aq", "--filter", "label=com.docker.compose.project="+s.prefix+"-hello"))
	assert.Empty(t, dockerLines(t, "network", "ls", "-q", "--filter", "label=com.docker.compose.project="+s.prefix+"-hello"))
	assert.True(t, portFree(helloPort), "port %d is free again", helloPort)
	e = s.get("/getAppInfo", url.Values{"appName": {"hello"}})
	assert.Equal(t, "0", e.Code, e.raw)
	assert.Equal(t, http.StatusNotFound, e.status)

	// uninstallAllApp removes the rest.
	e = s.postJSON("/uninstallAllApp", map[string]string{})
	require.Equal(t, "1", e.Code, e.raw)
	assert.Empty(t, dockerLines(t, "ps", "-aq", "--filter", "label=com.docker.compose.project="+s.prefix+"-hello-db"))
	assert.True(t, portFree(webPort))
	assert.True(t, portFree(dbPort))
	e = s.get("/getAllAppInfo", nil)
	require.Equal(t, "1", e.Code, e.raw)
	assert.NotContains(t, e.raw, `"hello-db"`)
}

// TestFailedInstallShowsReasonAndLeavesNothing installs a bundle whose
// container never turns healthy.
func TestFailedInstallShowsReasonAndLeavesNothing(t *testing.T) {
	s := startServer(t)
	e := s.postJSON("/installApp", map[string]string{"appName": "hello-broken"})
	require.Equal(t, "1", e.Code, e.raw)
	port, err := strconv.Atoi(fmt.Sprint(e.Data["port"]))
	require.NoError(t, err, e.raw)

	e = s.waitStatus("hello-broken", 3*time.Minute)
	require.Equal(t, "2", e.Data["status"], e.raw)
	assert.Contains(t, fmt.Sprint(e.Data["info"]), "healthy", "the reason says what went wrong: %s", e.raw)
	assert.Empty(t, dockerLines(t, "ps", "-aq", "--filter", "label=com.docker.compose.project="+s.prefix+"-hello-broken"))
	assert.Empty(t, dockerLines(t, "network", "ls", "-q", "--filter", "label=com.docker.compose.project="+s.prefix+"-hello-broken"))
	assert.True(t, portFree(port), "the failed install's port is free")

	// A failed install can be removed.
	e = s.postJSON("/uninstallApp", map[string]string{"appName": "hello-broken"})
	require.Equal(t, "1", e.Code, e.raw)
}

func TestBadInputIsRefusedAndCreatesNothing(t *testing.T) {
	s := startServer(t)
	tests := []struct {
		name   string
		do     func() envelope
		status int
	}{
		{"empty appName", func() envelope { return s.postJSON("/installApp", map[string]string{"appName": ""}) }, 400},
		{"missing appName", func() envelope { return s.get("/installApp", nil) }, 400},
		{"unknown app", func() envelope { return s.postJSON("/installApp", map[string]string{"appName": "no-such-app"}) }, 404},
		{"path traversal", func() envelope { return s.get("/installApp", url.Values{"appName": {"../../etc"}}) }, 400},
		{"spaces", func() envelope { return s.get("/installApp", url.Values{"appName": {"hello world"}}) }, 400},
		{"shell characters", func() envelope { return s.get("/installApp", url.Values{"appName": {"hello;rm -rf /"}}) }, 400},
		{"upper case", func() envelope { return s.get("/installApp", url.Values{"appName": {"Hello"}}) }, 400},
		{"malformed JSON", func() envelope {
			return s.do(http.MethodPost, "/installApp", strings.NewReader(`{"appName":`), "application/json")
		}, 400},
		{"uninstall of a missing app", func() envelope { return s.postJSON("/uninstallApp", map[string]string{"appName": "hello"}) }, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.do()
			assert.Equal(t, "0", e.Code, e.raw)
			assert.Equal(t, tt.status, e.status, e.raw)
			assert.NotEmpty(t, e.Message)
		})
	}
	e := s.get("/getAllAppInfo", nil)
	require.Equal(t, "1", e.Code, e.raw)
	assert.NotContains(t, e.raw, "containerName", "nothing was installed: %s", e.raw)
	assert.Empty(t, dockerLines(t, "ps", "-aq", "--filter", "name=^"+s.prefix+"-"))

	// Without credentials the PRD endpoints answer 401.
	resp, err := http.Get(s.url + "/getAllAppInfo")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

// TestServeLogsNoSecrets checks that a generated password reaches the app
// but never the service's logs or the PRD answers.
func TestServeLogsNoSecrets(t *testing.T) {
	s := startServer(t)
	e := s.postJSON("/installApp", map[string]string{"appName": "hello-db"})
	require.Equal(t, "1", e.Code, e.raw)
	e = s.waitStatus("hello-db", 3*time.Minute)
	require.Equal(t, "1", e.Data["status"], e.raw)
	// The generated db password is a sensitive output: it must not show in
	// the service's logs nor in getAppInfo.
	out, err := exec.Command("docker", "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", s.prefix+"-hello-db-db").Output()
	require.NoError(t, err)
	var secret string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && strings.Contains(strings.ToUpper(k), "PASSWORD") {
			secret = v
		}
	}
	require.NotEmpty(t, secret, "the db container gets a generated password:\n%s", out)
	assert.GreaterOrEqual(t, len(secret), 16)
	assert.NotContains(t, s.logs.String(), secret)
	assert.NotContains(t, e.raw, secret)
	e = s.postJSON("/uninstallApp", map[string]string{"appName": "hello-db"})
	require.Equal(t, "1", e.Code, e.raw)
}
