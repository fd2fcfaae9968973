package mixin

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/mixin/compose/composetest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./mixin -update")
	assert.Equal(t, string(want), got)
}

// testBundle is a bundle root holding one of the fixture bundles' compose
// file.
func testBundle(t *testing.T, bundle string) string {
	t.Helper()
	root := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "bundles", bundle, "docker-compose.yml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "docker-compose.yml"), b, 0o644))
	return root
}

func newFakeDocker() *composetest.Docker {
	return &composetest.Docker{Images: map[string]string{
		"stackhub-test/hello:1": "sha256:1111",
		"stackhub-test/db:1":    "sha256:2222",
	}}
}

type run struct {
	m              *Mixin
	stdout, stderr *bytes.Buffer
	root           string
	env            map[string]string
}

func newRun(t *testing.T, d *composetest.Docker, bundle string, busy ...int) *run {
	t.Helper()
	r := &run{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, root: testBundle(t, bundle),
		env: map[string]string{"PORTER_INSTALLATION_NAME": "demo"}}
	r.m = &Mixin{
		Out: r.stdout, Err: r.stderr, Root: r.root, Docker: d,
		Getenv: func(k string) string { return r.env[k] },
		Probe: func(port int, _ string) error {
			if slices.Contains(busy, port) {
				return errors.New("address already in use")
			}
			return nil
		},
		Holder: func(port int, _ string) string { return fmt.Sprintf("process 4242 (listener-%d) on the host", port) },
		Rand:   bytes.NewReader(bytes.Repeat([]byte{0x42, 0x17, 0x99, 0x03}, 4096)),
	}
	return r
}

func (r *run) exec(t *testing.T, stdinFile string, args ...string) int {
	t.Helper()
	in, err := os.ReadFile(filepath.Join("testdata", stdinFile))
	require.NoError(t, err)
	r.m.In = bytes.NewReader(in)
	r.stdout.Reset()
	r.stderr.Reset()
	return r.m.Run(t.Context(), args)
}

// transcript renders a run for a golden file: exit code, streams, the
// daemon calls since mark, and the outputs written.
func (r *run) transcript(t *testing.T, code int, d *composetest.Docker, mark int) string {
	t.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, "exit: %d\n--- stdout\n%s--- stderr\n%s", code, r.stdout, r.stderr)
	if d != nil {
		calls := compact(t, d.Calls[mark:])
		fmt.Fprintf(&sb, "--- docker calls\n%s\n", calls)
	}
	dir := filepath.Join(r.root, "porter", "outputs")
	entries, _ := os.ReadDir(dir)
	if len(entries) > 0 {
		sb.WriteString("--- outputs\n")
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		fmt.Fprintf(&sb, "%s=%s\n", e.Name(), b)
	}
	require.NoError(t, os.RemoveAll(dir))
	return strings.ReplaceAll(sb.String(), r.root, "$ROOT")
}

func TestMetaCommands(t *testing.T) {
	oldV, oldC := Version, Commit
	Version, Commit = "v1.2.3", "abc1234"
	t.Cleanup(func() { Version, Commit = oldV, oldC })
	tests := []struct {
		name   string
		args   []string
		stdin  string
		golden string
	}{
		{"version", []string{"version"}, "", "version.golden"},
		{"version json", []string{"version", "-o", "json"}, "", "version-json.golden"},
		{"version bad format", []string{"version", "-o", "xml"}, "", "version-bad.golden"},
		{"schema", []string{"schema"}, "", "schema.golden"},
		{"build", []string{"build"}, "build-input.yaml", "build.golden"},
		{"build from file", []string{"build", "-f", "testdata/build-input.yaml"}, "", "build.golden"},
		{"lint clean", []string{"lint"}, "lint-input.yaml", "lint.golden"},
		{"lint findings", []string{"lint"}, "lint-bad-input.yaml", "lint-bad.golden"},
		{"unknown command", []string{"frobnicate"}, "", "unknown-command.golden"},
		{"invoke without action", []string{"invoke"}, "start-input.yaml", "invoke-no-action.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(t, nil, "hello")
			r.m.Docker = nil
			stdin := tt.stdin
			if stdin == "" {
				stdin = "build-input.yaml" // ignored
			}
			code := r.exec(t, stdin, tt.args...)
			golden(t, tt.golden, r.transcript(t, code, nil, 0))
		})
	}
}

func TestSchemaIsValidJSON(t *testing.T) {
	r := newRun(t, nil, "hello")
	require.Equal(t, 0, r.exec(t, "build-input.yaml", "schema"))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(r.stdout.Bytes(), &doc))
	defs, ok := doc["definitions"].(map[string]any)
	require.True(t, ok)
	for _, d := range []string{"installStep", "upgradeStep", "uninstallStep", "invokeStep"} {
		assert.Contains(t, defs, d)
	}
	assert.NotContains(t, r.stdout.String(), `"$id"`)
}

// TestLifecycleGolden runs every verb against the fake daemon, in order,
// and compares what each did with a golden transcript.
func TestLifecycleGolden(t *testing.T) {
	d := newFakeDocker()
	r := newRun(t, d, "hello-db")
	steps := []struct {
		golden string
		stdin  string
		args   []string
	}{
		{"install.golden", "install-input.yaml", []string{"install"}},
		{"install-again.golden", "install-input.yaml", []string{"install"}},
		{"upgrade.golden", "upgrade-input.yaml", []string{"upgrade"}},
		{"status.golden", "status-input.yaml", []string{"invoke", "--action", "status"}},
		{"stop.golden", "stop-input.yaml", []string{"invoke", "--action", "stop"}},
		{"start.golden", "start-input.yaml", []string{"invoke", "--action", "start"}},
		{"restart.golden", "restart-input.yaml", []string{"invoke", "--action", "restart"}},
		{"logs.golden", "logs-input.yaml", []string{"invoke", "--action", "logs"}},
		{"uninstall.golden", "uninstall-input.yaml", []string{"uninstall"}},
		{"reinstall.golden", "install-input.yaml", []string{"install"}},
		{"uninstall-purge.golden", "uninstall-purge-input.yaml", []string{"uninstall"}},
		{"uninstall-nothing.golden", "uninstall-input.yaml", []string{"uninstall"}},
	}
	for _, s := range steps {
		mark := len(d.Calls)
		code := r.exec(t, s.stdin, s.args...)
		golden(t, s.golden, r.transcript(t, code, d, mark))
	}
	assert.Empty(t, d.Containers, "everything removed")
	assert.Empty(t, d.Volumes, "purge removed the volumes")
}

func TestInstallCases(t *testing.T) {
	tests := []struct {
		name   string
		bundle string
		stdin  string
		env    map[string]string
		busy   []int
		setup  func(d *composetest.Docker)
		golden string
	}{
		{
			name: "context ports are used exactly", bundle: "hello", stdin: "install-context-input.yaml",
			env:    map[string]string{contract.ContextEnv: `{"ports":{"port":9123},"prefix":"acme","hostNetwork":true}`},
			golden: "install-context.golden",
		},
		{
			name: "busy host ports are skipped", bundle: "hello", stdin: "install-context-input.yaml",
			busy: []int{9001, 9002}, golden: "install-skip-busy.golden",
		},
		{
			name: "ports of other containers are skipped", bundle: "hello", stdin: "install-context-input.yaml",
			setup: func(d *composetest.Docker) {
				d.Containers = append(d.Containers, &composetest.Container{ID: "x1", Name: "other", Exited: true,
					Config: &container.Config{Image: "x", Labels: map[string]string{}},
					Host:   &container.HostConfig{PortBindings: mustPortMap("8080/tcp", "9001")}})
			},
			golden: "install-skip-container.golden",
		},
		{
			name: "pinned port held by a host process", bundle: "hello", stdin: "install-pinned-input.yaml",
			busy: []int{9050}, golden: "install-pinned-taken.golden",
		},
		{
			name: "pinned port held by another installation", bundle: "hello", stdin: "install-pinned-input.yaml",
			setup: func(d *composetest.Docker) {
				d.Containers = append(d.Containers, &composetest.Container{ID: "x1", Name: "stackhub-wiki", Running: true,
					Config: &container.Config{Image: "x", Labels: map[string]string{contract.LabelInstallation: "wiki", contract.LabelPortPrefix + "port": "9050"}},
					Host:   &container.HostConfig{PortBindings: mustPortMap("80/tcp", "9050")}})
			},
			golden: "install-pinned-other.golden",
		},
		{
			name: "leased port taken on the host", bundle: "hello", stdin: "install-context-input.yaml",
			env:  map[string]string{contract.ContextEnv: `{"ports":{"port":9123}}`},
			busy: []int{9123}, golden: "install-leased-taken.golden",
		},
		{
			name: "missing image", bundle: "hello", stdin: "install-context-input.yaml",
			setup:  func(d *composetest.Docker) { delete(d.Images, "stackhub-test/hello:1") },
			golden: "install-missing-image.golden",
		},
		{
			name: "unhealthy companion rolls back", bundle: "hello-db", stdin: "install-input.yaml",
			setup: func(d *composetest.Docker) {
				d.HealthOf = func(c *composetest.Container) container.HealthStatus {
					if strings.HasSuffix(c.Name, "-db") {
						c.Logs = "db listening on :5432\nfatal: disk full\n"
						return container.Unhealthy
					}
					return container.Healthy
				}
			},
			golden: "install-unhealthy.golden",
		},
		{
			name: "port taken at start is replaced", bundle: "hello", stdin: "install-context-input.yaml",
			setup: func(d *composetest.Docker) {
				// The bind probe cannot see the host listener (as under
				// plain Porter); the daemon refuses the first start.
				d.StartErr = map[string]error{"stackhub-demo": errors.New("driver failed programming external connectivity on endpoint stackhub-demo: Error starting userland proxy: listen tcp4 0.0.0.0:9001: bind: address already in use")}
			},
			golden: "install-port-retry.golden",
		},
		{
			name: "no installation name", bundle: "hello", stdin: "install-context-input.yaml",
			env: map[string]string{"PORTER_INSTALLATION_NAME": ""}, golden: "install-no-name.golden",
		},
		{
			name: "CNAB installation name", bundle: "hello", stdin: "install-context-input.yaml",
			env:    map[string]string{"PORTER_INSTALLATION_NAME": "", "CNAB_INSTALLATION_NAME": "/team/My.App"},
			golden: "install-cnab-name.golden",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDocker()
			if tt.setup != nil {
				tt.setup(d)
			}
			r := newRun(t, d, tt.bundle, tt.busy...)
			for k, v := range tt.env {
				r.env[k] = v
			}
			code := r.exec(t, tt.stdin, "install")
			golden(t, tt.golden, r.transcript(t, code, d, 0))
		})
	}
}

func mustPortMap(port, host string) network.PortMap {
	p := network.MustParsePort(port)
	return network.PortMap{p: []network.PortBinding{{HostPort: host}}}
}

// compact renders v as indented JSON without zero values, so that goldens
// show what a request sets and nothing else.
func compact(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var doc any
	require.NoError(t, json.Unmarshal(b, &doc))
	doc = prune(doc)
	if doc == nil {
		return "[]"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(doc))
	return strings.TrimSuffix(buf.String(), "\n")
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if p := prune(e); p == nil {
				delete(x, k)
			} else {
				x[k] = p
			}
		}
		if len(x) == 0 {
			return nil
		}
	case []any:
		out := x[:0]
		for _, e := range x {
			if p := prune(e); p != nil {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil
		}
		allZero := true
		for _, e := range out {
			if f, ok := e.(float64); !ok || f != 0 {
				allZero = false
			}
		}
		if allZero {
			return nil
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	}
	return v
}
