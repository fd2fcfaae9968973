package runtime_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/mixin/exec"
	"github.com/stackhub/stackhub/runtime"
)

// TestMain lets the test binary double as the exec mixin's runtime: the
// fake bundle trees link mixins/exec/runtimes/exec-runtime to it.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "exec-runtime" {
		os.Exit(exec.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// bundleTree is a fake invocation image filesystem in a temp dir.
type bundleTree struct {
	t    *testing.T
	root string
	env  []string
}

func newBundleTree(t *testing.T) *bundleTree {
	t.Helper()
	b := &bundleTree{t: t, root: t.TempDir()}
	b.copy("porter.yaml", "/cnab/app/porter.yaml")
	b.copy("bundle.json", "/cnab/bundle.json")
	b.copy("relocation-mapping.json", "/cnab/app/relocation-mapping.json")
	b.write("/cnab/app/config.txt", base64.StdEncoding.EncodeToString([]byte("config file content\n")))
	b.write("/cnab/app/optional.txt", "null")

	self, err := os.Executable()
	require.NoError(t, err)
	mixin := b.host("/cnab/app/mixins/exec/runtimes/exec-runtime")
	require.NoError(t, os.MkdirAll(filepath.Dir(mixin), 0o755))
	require.NoError(t, os.Symlink(self, mixin))

	b.env = []string{
		"PATH=" + os.Getenv("PATH"),
		runtime.EnvRoot + "=" + b.root,
		"CNAB_BUNDLE_NAME=mybuns",
		"CNAB_INSTALLATION_NAME=/mybuns",
		"CNAB_REVISION=01REV",
		"PORTER_INSTALLATION_NAME=mybuns",
		"PORTER_INSTALLATION_NAMESPACE=",
		"PORTER_INSTALLATION_ID=01ID",
		"NAME=world",
		"PASSWORD=s3cret",
		`CFG={"color":"blue"}`,
		"API_TOKEN=tok-123",
	}
	return b
}

func (b *bundleTree) host(p string) string { return filepath.Join(b.root, p) }

func (b *bundleTree) copy(testdata, imagePath string) {
	data, err := os.ReadFile(filepath.Join("testdata", testdata))
	require.NoError(b.t, err)
	b.write(imagePath, string(data))
}

func (b *bundleTree) write(imagePath, content string) {
	p := b.host(imagePath)
	require.NoError(b.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(b.t, os.WriteFile(p, []byte(content), 0o644))
}

func (b *bundleTree) read(imagePath string) string {
	data, err := os.ReadFile(b.host(imagePath))
	require.NoError(b.t, err)
	return string(data)
}

func (b *bundleTree) run(opts runtime.RunOptions, extraEnv ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	rt := &runtime.Runtime{
		Paths:   runtime.Paths{Root: b.root},
		Out:     &stdout,
		Err:     &stderr,
		Environ: append(append([]string{}, b.env...), extraEnv...),
	}
	err := rt.Run(b.t.Context(), opts)
	return stdout.String(), stderr.String(), err
}

func TestRun_Install(t *testing.T) {
	b := newBundleTree(t)
	stdout, stderr, err := b.run(runtime.RunOptions{Action: "install"})
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)

	want := []string{
		"executing install action from mybuns (installation: /mybuns)\n",
		"Say hello to world\n",
		`hello world pw=******* token=******* cfg={"color":"blue"} color=blue` + "\n",
		"Use outputs and files\n",
		"config file content\n",
		"hello world from mybuns 0.1.0 mybuns 01REV blue true\n",
		"image reg.local/mybuns 1.0 sha256:3333 installer reg.local/mybuns@sha256:4444\n",
		"Emit JSON\n",
		`{"secret": "*******-derived"}` + "\n",
		"execution completed successfully!\n",
	}
	assert.Equal(t, strings.Join(want, ""), stdout)
	assert.Empty(t, stderr)

	// File parameters are decoded in place; a null one is removed.
	assert.Equal(t, "config file content\n", b.read("/cnab/app/config.txt"))
	assert.NoFileExists(t, b.host("/cnab/app/optional.txt"))

	// Bundle outputs: step outputs that are bundle outputs, plus path
	// outputs no step produced. Step-only outputs stay internal.
	assert.Equal(t, "hello world", b.read("/cnab/app/outputs/greeting"))
	assert.Equal(t, "s3cret-derived", b.read("/cnab/app/outputs/secret-out"))
	assert.Equal(t, "a report\n", b.read("/cnab/app/outputs/report"))
	assert.NoFileExists(t, b.host("/cnab/app/outputs/step-only"))
	assert.NoFileExists(t, b.host("/cnab/app/outputs/upgraded"))
	entries, err := os.ReadDir(b.host("/cnab/app/porter/outputs"))
	require.NoError(t, err)
	assert.Empty(t, entries, "step outputs are consumed")

	// State is packed.
	assert.Equal(t, map[string]string{"porter-state/counter": "1\n"}, readState(t, b.host("/cnab/app/outputs/porter-state")))
}

func TestRun_StateRoundTrip(t *testing.T) {
	b := newBundleTree(t)
	_, _, err := b.run(runtime.RunOptions{Action: "install"})
	require.NoError(t, err)

	// The host feeds porter-state back as the base64 file parameter.
	next := newBundleTree(t)
	state, err := os.ReadFile(b.host("/cnab/app/outputs/porter-state"))
	require.NoError(t, err)
	next.write("/porter/state.tgz", base64.StdEncoding.EncodeToString(state))

	stdout, stderr, err := next.run(runtime.RunOptions{Action: "upgrade"}, "PORTER_GREETING_OUTPUT=hello again")
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "Upgrade from hello again\n")
	assert.Contains(t, stdout, "counter was 1\n")
	assert.Equal(t, "done", next.read("/cnab/app/outputs/upgraded"))
	assert.Equal(t, map[string]string{"porter-state/counter": "2\n"}, readState(t, next.host("/cnab/app/outputs/porter-state")))
	assert.NoFileExists(t, next.host("/cnab/app/outputs/greeting"), "injected outputs are not step outputs")
}

func TestRun_NullStateIsIgnored(t *testing.T) {
	b := newBundleTree(t)
	b.write("/porter/state.tgz", "null")
	b.write("/cnab/app/state/counter.txt", "7\n")
	_, _, err := b.run(runtime.RunOptions{Action: "upgrade"}, "PORTER_GREETING_OUTPUT=hi")
	require.NoError(t, err)
	assert.NoFileExists(t, b.host("/porter/state.tgz"))
	assert.Equal(t, map[string]string{"porter-state/counter": "2\n"}, readState(t, b.host("/cnab/app/outputs/porter-state")))
}

func TestRun_CustomAction(t *testing.T) {
	b := newBundleTree(t)
	stdout, stderr, err := b.run(runtime.RunOptions{Action: "status"})
	require.NoError(t, err, stderr)
	assert.Equal(t, "executing status action from mybuns (installation: /mybuns)\nStatus of mybuns\nall good\nexecution completed successfully!\n", stdout)
	// bundle.json requires porter-state of every action: the runtime always
	// writes it and the host drops it for modifies: false actions.
	assert.FileExists(t, b.host("/cnab/app/outputs/porter-state"))
}

func TestRun_Errors(t *testing.T) {
	tests := []struct {
		name    string
		opts    runtime.RunOptions
		env     []string
		edit    func(b *bundleTree)
		wantErr string
	}{
		{
			name:    "unknown action",
			opts:    runtime.RunOptions{Action: "explode"},
			wantErr: `unsupported action "explode", custom actions are defined for: status`,
		},
		{
			name:    "no action",
			wantErr: "no action specified",
		},
		{
			name:    "missing variable",
			opts:    runtime.RunOptions{Action: "upgrade"},
			wantErr: "missing variable",
		},
		{
			name:    "invalid PORTER_DEBUG",
			opts:    runtime.RunOptions{Action: "install"},
			env:     []string{"PORTER_DEBUG=maybe"},
			wantErr: `invalid PORTER_DEBUG value "maybe"`,
		},
		{
			name:    "bad file parameter",
			opts:    runtime.RunOptions{Action: "install"},
			edit:    func(b *bundleTree) { b.write("/cnab/app/config.txt", "not base64!") },
			wantErr: "unable to decode parameter config-file",
		},
		{
			name: "invalid manifest",
			opts: runtime.RunOptions{Action: "install"},
			edit: func(b *bundleTree) {
				b.write("/cnab/app/porter.yaml", "schemaVersion: 1.0.1\nname: x\nversion: 0.1.0\nmixins: [exec]\ninstall: []\n")
			},
			wantErr: "no uninstall action defined",
		},
		{
			name:    "missing bundle.json",
			opts:    runtime.RunOptions{Action: "install"},
			edit:    func(b *bundleTree) { require.NoError(t, os.Remove(b.host("/cnab/bundle.json"))) },
			wantErr: "read bundle definition",
		},
		{
			name: "missing mixin",
			opts: runtime.RunOptions{Action: "install"},
			edit: func(b *bundleTree) {
				require.NoError(t, os.Remove(b.host("/cnab/app/mixins/exec/runtimes/exec-runtime")))
			},
			wantErr: "mixin execution failed: mixin exec is not installed in the bundle",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBundleTree(t)
			if tt.edit != nil {
				tt.edit(b)
			}
			_, _, err := b.run(tt.opts, tt.env...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestRun_FailedStep(t *testing.T) {
	b := newBundleTree(t)
	b.write("/cnab/app/state/counter.txt", "9\n")
	stdout, stderr, err := b.run(runtime.RunOptions{Action: "uninstall"}, "PORTER_GREETING_OUTPUT=hi")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mixin execution failed: package command failed "+b.host("/cnab/app/mixins/exec/runtimes/exec-runtime")+" uninstall\n")
	assert.Contains(t, err.Error(), "error running command "+b.host("/cnab/app")+" false: exit status 1")
	assert.Contains(t, stderr, "error running command")
	assert.NotContains(t, stdout, "execution completed successfully!")
	// Finalize still runs after a failure.
	assert.Equal(t, map[string]string{"porter-state/counter": "9\n"}, readState(t, b.host("/cnab/app/outputs/porter-state")))
}

func TestRun_OutputsCollectedOnFailure(t *testing.T) {
	b := newBundleTree(t)
	b.write("/cnab/bundle.json", "{}")
	b.write("/cnab/app/porter.yaml", `schemaVersion: 1.0.1
name: fail
version: 0.1.0
mixins: [exec]
outputs:
  - name: partial
install:
  - exec:
      command: sh
      arguments: [-c, 'mkdir -p porter/outputs; printf half > porter/outputs/partial; exit 3']
uninstall:
  - exec:
      command: 'true'
`)
	_, _, err := b.run(runtime.RunOptions{Action: "install"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exit status 3")
	assert.Equal(t, "half", b.read("/cnab/app/outputs/partial"))
}

func TestRun_Debug(t *testing.T) {
	b := newBundleTree(t)
	_, stderr, err := b.run(runtime.RunOptions{Action: "status"}, "PORTER_DEBUG=true")
	require.NoError(t, err)
	assert.Contains(t, stderr, "=== Step Template ===\nexec:\n  description: Status of ${ installation.name }\n")
}

func TestRun_MasksSecretsInErrors(t *testing.T) {
	b := newBundleTree(t)
	b.write("/cnab/bundle.json", "{}")
	b.write("/cnab/app/porter.yaml", `schemaVersion: 1.0.1
name: leak
version: 0.1.0
mixins: [exec]
parameters:
  - name: password
    sensitive: true
install:
  - exec:
      command: sh
      arguments: [-c, 'echo "bad password ${ bundle.parameters.password }" >&2; exit 1']
uninstall:
  - exec:
      command: 'true'
`)
	var stdout, stderr bytes.Buffer
	t.Setenv(runtime.EnvRoot, b.root)
	for _, kv := range b.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("CNAB_ACTION", "install")
	code := runtime.Main(nil, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.NotContains(t, stderr.String(), "s3cret")
	assert.Contains(t, stderr.String(), "bad password *******")
	assert.Contains(t, stderr.String(), "Error: mixin execution failed: package command failed")
}

func TestMain_NoArgsRunsTheManifest(t *testing.T) {
	b := newBundleTree(t)
	for _, kv := range b.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("CNAB_ACTION", "status")
	var stdout, stderr bytes.Buffer
	code := runtime.Main(nil, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), "all good\n")

	b.write("/cnab/app/config.txt", base64.StdEncoding.EncodeToString([]byte("again\n")))
	code = runtime.Main([]string{"run", "--action", "status", "-f", b.host("/cnab/app/porter.yaml"), "--debug"}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stderr.String(), "=== Step Template ===")

	code = runtime.Main([]string{"run", "--bogus"}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, 2, code)
}

// readState returns the entries of a porter-state archive.
func readState(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		out[h.Name] = string(b)
	}
}

func TestRun_DependenciesAndCredentialPaths(t *testing.T) {
	b := newBundleTree(t)
	b.write("/cnab/bundle.json", "{}")
	b.write("/cnab/app/dependencies/db/bundle.json", `{
  "name": "mydb", "version": "1.2.3", "description": "A database",
  "definitions": {"conn-output": {"type": "string", "writeOnly": true}},
  "outputs": {"conn": {"definition": "conn-output", "path": "/cnab/app/outputs/conn"}}
}`)
	b.write("/cnab/app/porter.yaml", `schemaVersion: 1.0.1
name: deps
version: 0.1.0
mixins: [exec]
credentials:
  - name: kubeconfig
    path: /home/nonroot/.kube/config
dependencies:
  requires:
    - name: db
      bundle:
        reference: localhost:5000/mydb:v1.2.3
install:
  - exec:
      command: echo
      arguments:
        - 'dep ${ bundle.dependencies.db.name } ${ bundle.dependencies.db.version } ${ bundle.dependencies.db.description } conn=${ bundle.dependencies.db.outputs.conn } kube=${ bundle.credentials.kubeconfig }'
uninstall:
  - exec:
      command: 'true'
`)
	stdout, stderr, err := b.run(runtime.RunOptions{Action: "install"}, "PORTER_DB_CONN_DEP_OUTPUT=postgres://secret")
	require.NoError(t, err, stderr)
	// Write-only dependency outputs and every credential are masked.
	assert.Contains(t, stdout, "dep mydb 1.2.3 A database conn=******* kube=*******\n")
}
