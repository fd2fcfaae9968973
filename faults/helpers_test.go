//go:build integration

// Package faults_test drives a real `stackhub serve` through faults: kill -9
// during installs, an unreachable Docker daemon, a full disk under the store
// and hostile input. It imports only the binary under test, the store (to
// read what the service left behind) and the Docker CLI.
package faults_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/sqlite"
)

// server is one `stackhub serve` process; restart keeps its data folder,
// prefix and port.
type server struct {
	t       *testing.T
	bin     string
	url     string
	addr    string
	token   string
	prefix  string
	data    string
	catalog string
	env     []string
	args    []string
	cmd     *exec.Cmd
	exited  chan struct{}
	logs    *syncBuffer
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

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary returns the stackhub binary under test: $STACKHUB_BIN (make sets
// it), else one built once for the package.
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("STACKHUB_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stackhub-faults-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "stackhub")
		cmd := exec.Command("go", "build", "-o", builtBin, "../cmd/stackhub")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return builtBin
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

func fixtureCatalog(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../testdata/bundles")
	require.NoError(t, err)
	return dir
}

// serverOptions adjust a server before its first start.
type serverOptions struct {
	data    string   // data folder ("" = a temp folder)
	catalog string   // catalog folder ("" = the fixtures)
	env     []string // extra environment
	ports   string   // "min-max" host ports to hand out
	noWait  bool     // do not wait for /health
	prefix  string   // container name prefix ("" = flt + random)
}

// newServer starts `stackhub serve`. Everything it created in Docker is
// removed when the test ends.
func newServer(t *testing.T, o serverOptions) *server {
	t.Helper()
	requireDocker(t)
	s := &server{
		t: t, bin: binary(t), token: "shk_" + randomHex(16), prefix: "flt" + randomHex(3),
		data: o.data, catalog: o.catalog, env: o.env, logs: &syncBuffer{},
	}
	if o.prefix != "" {
		s.prefix = o.prefix
	}
	if s.data == "" {
		s.data = t.TempDir()
	}
	if s.catalog == "" {
		s.catalog = fixtureCatalog(t)
	}
	if o.ports == "" {
		o.ports = "23001-23999"
	}
	pmin, pmax, _ := strings.Cut(o.ports, "-")
	s.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.url = "http://" + s.addr
	s.args = []string{"serve", "--addr", s.addr, "--data", s.data, "--catalog", s.catalog, "--prefix", s.prefix,
		"--port-min", pmin, "--port-max", pmax, "--log-level", "debug"}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("stackhub serve output:\n%s", s.logs.String())
		}
		removeByPrefix(s.prefix)
		removeInvocations(s)
	})
	s.start()
	if !o.noWait {
		s.waitHealthy(30 * time.Second)
	}
	return s
}

func (s *server) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Env = append(append(os.Environ(), "STACKHUB_API_TOKEN="+s.token, "STACKHUB_ADMIN_PASSWORD=flt-"+randomHex(8)), s.env...)
	fmt.Fprintf(s.logs, "--- start %s\n", time.Now().Format(time.TimeOnly))
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	require.NoError(s.t, s.cmd.Start())
	s.exited = make(chan struct{})
	cmd, exited := s.cmd, s.exited
	go func() { _ = cmd.Wait(); close(exited) }()
}

// running reports whether the process is still alive.
func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

func (s *server) waitHealthy(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(s.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		require.True(s.t, s.running(), "stackhub serve exited:\n%s", s.logs.String())
		require.True(s.t, time.Now().Before(deadline), "service did not answer /health in time:\n%s", s.logs.String())
		time.Sleep(100 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to go.
func (s *server) kill() {
	if s.cmd == nil || !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	fmt.Fprintf(s.logs, "--- killed %s\n", time.Now().Format(time.TimeOnly))
}

// stop interrupts the process and waits, killing it after 15 s.
func (s *server) stop() {
	if s.cmd == nil || !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.kill()
	}
}

func removeByPrefix(prefix string) {
	for _, kind := range [][]string{{"ps", "-aq"}, {"network", "ls", "-q"}, {"volume", "ls", "-q"}} {
		out, _ := exec.Command("docker", append(kind, "--filter", "name=^"+prefix+"-")...).Output()
		ids := strings.Fields(string(out))
		if len(ids) == 0 {
			continue
		}
		switch kind[0] {
		case "ps":
			_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run()
		case "network":
			_ = exec.Command("docker", append([]string{"network", "rm"}, ids...)...).Run()
		case "volume":
			_ = exec.Command("docker", append([]string{"volume", "rm", "-f"}, ids...)...).Run()
		}
	}
}

// removeInvocations removes the invocation containers of this server's runs.
func removeInvocations(s *server) {
	for _, id := range invocationContainers(s.t, s, true) {
		_ = exec.Command("docker", "rm", "-f", id).Run()
	}
}

// openStore opens the server's store read-side, for inspection.
func openStore(t *testing.T, data string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(data, "stackhub.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// runIDs lists every run the server recorded, across installations.
func runIDs(t *testing.T, st *sqlite.Store, names ...string) []string {
	t.Helper()
	var ids []string
	for _, n := range names {
		runs, err := st.ListRuns(t.Context(), "", n)
		require.NoError(t, err)
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// invocationContainers lists the invocation containers of the server's
// runs. quiet tolerates a store that cannot be read (for cleanup).
func invocationContainers(t *testing.T, s *server, quiet bool) []string {
	st, err := sqlite.Open(context.WithoutCancel(t.Context()), filepath.Join(s.data, "stackhub.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		if !quiet {
			require.NoError(t, err)
		}
		return nil
	}
	defer st.Close()
	ctx := context.WithoutCancel(t.Context())
	all, err := st.ListInstallations(ctx, "")
	if err != nil {
		return nil
	}
	var out []string
	for _, inst := range all {
		runs, _ := st.ListRuns(ctx, "", inst.Name)
		for _, r := range runs {
			b, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=sh.stackhub.run="+r.ID).Output()
			out = append(out, strings.Fields(string(b))...)
		}
	}
	return out
}

// envelope is the PRD endpoints' answer.
type envelope struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data"`
	status  int
	raw     string
}

func (s *server) request(method, path string, body io.Reader, contentType string) (envelope, error) {
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		return envelope{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept-Language", "en")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return envelope{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return envelope{}, err
	}
	e := envelope{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("not an envelope (HTTP %d): %s", resp.StatusCode, raw)
	}
	return e, nil
}

func (s *server) do(method, path string, body io.Reader, contentType string) envelope {
	s.t.Helper()
	e, err := s.request(method, path, body, contentType)
	require.NoError(s.t, err)
	return e
}

func (s *server) postJSON(path string, body any) envelope {
	s.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(s.t, err)
	return s.do(http.MethodPost, path, bytes.NewReader(b), "application/json")
}

func (s *server) get(path string, q url.Values) envelope {
	s.t.Helper()
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
			s.t.Fatalf("%s still not started after %s: %s", app, timeout, e.raw)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func dockerLines(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	require.NoError(t, err, string(out))
	return strings.Fields(string(out))
}

// leftovers lists the containers and networks of a project.
func leftovers(t *testing.T, project string) []string {
	t.Helper()
	f := "label=com.docker.compose.project=" + project
	return append(dockerLines(t, "ps", "-a", "--format", "{{.Names}}", "--filter", f),
		dockerLines(t, "network", "ls", "--format", "{{.Name}}", "--filter", f)...)
}

func leasesOf(t *testing.T, st *sqlite.Store, name string) []engine.PortLease {
	t.Helper()
	all, err := st.ListPortLeases(t.Context())
	require.NoError(t, err)
	var out []engine.PortLease
	for _, l := range all {
		if l.Installation == name {
			out = append(out, l)
		}
	}
	return out
}

// uninstall calls uninstallApp, retrying for a few seconds while the app is
// busy: the install job records status "1" a moment before it lets go of
// the installation.
func (s *server) uninstall(app string) envelope {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		e := s.postJSON("/uninstallApp", map[string]string{"appName": app})
		if e.Code == "1" || !strings.Contains(e.raw, "busy") || time.Now().After(deadline) {
			return e
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
