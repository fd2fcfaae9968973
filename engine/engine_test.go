package engine_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/enginetest"
	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/engine/sqlite"
)

const helloManifest = `schemaVersion: 1.0.1
name: hello
version: 0.1.0
mixins: [stackhub]
required: [docker]
install:
  - stackhub:
      compose: docker-compose.yml
      ports:
        - {name: port, service: web, target: 8080}
        - {name: db_port, service: db, target: 5432}
uninstall:
  - stackhub:
      compose: docker-compose.yml
`

const credsManifest = `schemaVersion: 1.0.1
name: creds
version: 0.1.0
mixins: [stackhub]
parameters:
  - {name: admin_password, type: string, sensitive: true, default: admin}
  - {name: db_password, type: string, sensitive: true, default: ""}
  - {name: title, type: string, default: Hi}
install:
  - stackhub: {compose: docker-compose.yml}
uninstall:
  - stackhub: {compose: docker-compose.yml}
`

type converterFunc func(m *manifest.Manifest, req engine.ConvertRequest) ([]byte, error)

func (f converterFunc) Convert(m *manifest.Manifest, req engine.ConvertRequest) ([]byte, error) {
	return f(m, req)
}

type proberFunc func(port int, proto string) bool

func (f proberFunc) Free(port int, proto string) bool { return f(port, proto) }

type testEngine struct {
	*engine.Engine
	store  engine.Store
	docker *enginetest.DockerFunc
	runs   chan *engine.Operation
}

// newTestEngine builds an engine over a real SQLite file and fakes for
// Docker and the bundle runtime. runErr decides each run's outcome.
func newTestEngine(t *testing.T, runErr func(op *engine.Operation) error, published ...int) *testEngine {
	t.Helper()
	return newTestEngineWith(t, nil, runErr, published...)
}

// newTestEngineWith is newTestEngine with tweak changing the config and
// adapters before the engine is built.
func newTestEngineWith(t testing.TB, tweak func(*engine.Config, *engine.Deps), runErr func(op *engine.Operation) error, published ...int) *testEngine {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	bin := filepath.Join(t.TempDir(), "stackhub")
	require.NoError(t, os.WriteFile(bin, []byte("binary"), 0o755))
	var mu sync.Mutex
	images := map[string]bool{}
	var pub []engine.PublishedPort
	for _, p := range published {
		pub = append(pub, engine.PublishedPort{Port: p, Protocol: "tcp", Container: "someone-else"})
	}
	d := &enginetest.DockerFunc{
		ImageExistsFunc: func(ctx context.Context, ref string) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return images[ref], nil
		},
		BuildImageFunc: func(ctx context.Context, _ io.Reader, tags []string, labels map[string]string) error {
			mu.Lock()
			defer mu.Unlock()
			for _, tag := range tags {
				images[tag] = true
			}
			return nil
		},
		PublishedPortsFunc: func(ctx context.Context) ([]engine.PublishedPort, error) { return pub, nil },
	}
	runs := make(chan *engine.Operation, 100)
	rt := &enginetest.BundleRuntimeFunc{RunFunc: func(ctx context.Context, op *engine.Operation) (*engine.OperationResult, error) {
		runs <- op
		if runErr != nil {
			if err := runErr(op); err != nil {
				return &engine.OperationResult{}, err
			}
		}
		return &engine.OperationResult{Outputs: map[string][]byte{"port": []byte("x")}}, nil
	}}
	cat := engine.NewDirCatalog(fstest.MapFS{
		"hello/porter.yaml":        {Data: []byte(helloManifest)},
		"hello/docker-compose.yml": {Data: []byte("services: {}\n")},
		"creds/porter.yaml":        {Data: []byte(credsManifest)},
	})
	conv := converterFunc(func(m *manifest.Manifest, req engine.ConvertRequest) ([]byte, error) {
		return []byte(`{"name":"hello","parameters":{"stackhub-context":{"definition":"c"}},"definitions":{"c":{"type":"string","default":""}}}`), nil
	})
	cfg := engine.Config{PortMin: 9001, PortMax: 9010, RuntimeBinary: bin}
	deps := engine.Deps{
		Store: store, Docker: d, Runtime: rt, Converter: conv, Catalog: cat,
		Host: &enginetest.HostProbeFunc{SampleFunc: func(ctx context.Context) (*engine.ServerStatus, error) {
			return &engine.ServerStatus{}, nil
		}},
		Ports: proberFunc(func(port int, proto string) bool { return port != 9002 }),
	}
	if tweak != nil {
		tweak(&cfg, &deps)
	}
	eng, err := engine.New(cfg, deps)
	require.NoError(t, err)
	t.Cleanup(eng.Close)
	return &testEngine{Engine: eng, store: store, docker: d, runs: runs}
}

func waitStatus(t *testing.T, e *testEngine, name string, want engine.Status) *engine.Installation {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		inst, err := e.store.GetInstallation(t.Context(), "", name)
		require.NoError(t, err)
		if inst.Status == want {
			return inst
		}
		require.True(t, time.Now().Before(deadline), "status stayed %s (%s)", inst.Status, inst.Reason)
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInstallLeasesFreePortsAndRuns(t *testing.T) {
	e := newTestEngine(t, nil, 9001)
	inst, err := e.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	assert.Equal(t, "stackhub-hello", inst.ContainerName)
	// 9001 is published by a container, 9002 has a host listener.
	assert.Equal(t, map[string]int{"db_port": 9004, "port": 9003}, inst.Ports)
	assert.Equal(t, engine.StatusInstalling, inst.Status)

	op := <-e.runs
	assert.Equal(t, "install", op.Action)
	assert.True(t, op.AllowDockerHost)
	assert.Contains(t, op.Parameters["stackhub-context"], `"port":9003`)
	waitStatus(t, e, "hello", engine.StatusRunning)

	_, err = e.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.ErrorIs(t, err, engine.ErrConflict)
	assert.Contains(t, err.Error(), "already installed")

	// A second installation of the same app gets other ports.
	inst2, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Name: "hello2"})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"db_port": 9006, "port": 9005}, inst2.Ports)
	waitStatus(t, e, "hello2", engine.StatusRunning)

	require.NoError(t, e.Uninstall(t.Context(), engine.UninstallOptions{Name: "hello"}))
	leases, err := e.store.ListPortLeases(t.Context())
	require.NoError(t, err)
	assert.Len(t, leases, 2, "only hello2's leases remain")
	_, err = e.Get(t.Context(), "hello")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func TestFailedInstallFreesPortsAndCanBeRetried(t *testing.T) {
	fail := true
	var mu sync.Mutex
	e := newTestEngine(t, func(op *engine.Operation) error {
		mu.Lock()
		defer mu.Unlock()
		if fail && op.Action == "install" {
			return errors.New("container exit code: 1")
		}
		return nil
	})
	_, err := e.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	inst := waitStatus(t, e, "hello", engine.StatusFailed)
	assert.Contains(t, inst.Reason, "exit code: 1")
	assert.Equal(t, "2", inst.Status.PRDStatus())
	leases, err := e.store.ListPortLeases(t.Context())
	require.NoError(t, err)
	assert.Empty(t, leases)
	got, err := e.Get(t.Context(), "hello")
	require.NoError(t, err)
	assert.Empty(t, got.Ports, "freed ports are not shown as the app's")

	mu.Lock()
	fail = false
	mu.Unlock()
	_, err = e.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err, "a failed install can be retried")
	waitStatus(t, e, "hello", engine.StatusRunning)
}

func TestInstallRefusesBadInput(t *testing.T) {
	e := newTestEngine(t, nil)
	tests := []struct {
		name string
		opts engine.InstallOptions
		kind error
	}{
		{"empty", engine.InstallOptions{}, engine.ErrInvalid},
		{"traversal", engine.InstallOptions{App: "../etc"}, engine.ErrInvalid},
		{"shell", engine.InstallOptions{App: "a;b"}, engine.ErrInvalid},
		{"unknown", engine.InstallOptions{App: "nope"}, engine.ErrNotFound},
		{"bad installation name", engine.InstallOptions{App: "hello", Name: "Blog 2"}, engine.ErrInvalid},
		{"unknown parameter", engine.InstallOptions{App: "hello", Parameters: map[string]string{"x": "1"}}, engine.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Install(t.Context(), tt.opts)
			require.ErrorIs(t, err, tt.kind)
			assert.NotEmpty(t, engine.HintOf(err), "every refusal says how to fix it")
		})
	}
	list, err := e.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestConcurrentInstallsGetDisjointPorts(t *testing.T) {
	e := newTestEngine(t, nil)
	var wg sync.WaitGroup
	results := make([]*engine.Installation, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.Install(t.Context(), engine.InstallOptions{App: "hello", Name: "h" + string(rune('a'+i))})
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for i := range 4 {
		require.NoError(t, errs[i])
		for _, p := range results[i].Ports {
			assert.False(t, seen[p], "port %d handed out twice", p)
			seen[p] = true
		}
	}
	// The range 9001-9010 minus 9002 holds 9 ports: a fifth install of two
	// ports does not fit.
	_, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Name: "he"})
	require.ErrorIs(t, err, engine.ErrUnavailable)
}

func TestServerFlagsDefaultCredentials(t *testing.T) {
	e := newTestEngine(t, nil)
	_, err := e.Install(t.Context(), engine.InstallOptions{App: "creds"})
	require.NoError(t, err)
	_, err = e.Install(t.Context(), engine.InstallOptions{App: "creds", Name: "creds2", Parameters: map[string]string{"admin_password": "s3cret-Pw"}})
	require.NoError(t, err)
	waitStatus(t, e, "creds", engine.StatusRunning)
	waitStatus(t, e, "creds2", engine.StatusRunning)

	st, err := e.Server(t.Context())
	require.NoError(t, err)
	var ids []string
	for _, r := range st.Risks {
		ids = append(ids, r.ID)
		if r.ID == "default-credentials:creds" {
			assert.Contains(t, r.What, "admin_password")
			assert.NotContains(t, r.What, "db_password", "an empty default is generated, not shared")
			assert.NotEmpty(t, r.Fix)
		}
	}
	assert.Equal(t, []string{"default-credentials:creds"}, ids, "creds2 set its own password")
}

// TestUninstallAllRunsAtOnceAndReportsEach uninstalls several apps, one of
// which fails: the others are removed, each outcome keeps the list's order,
// and the uninstalls overlap.
func TestUninstallAllRunsAtOnceAndReportsEach(t *testing.T) {
	var mu sync.Mutex
	running, most := 0, 0
	e := newTestEngine(t, func(op *engine.Operation) error {
		if op.Action != "uninstall" {
			return nil
		}
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		if op.Installation == "b" {
			return errors.New("boom")
		}
		return nil
	})
	for _, name := range []string{"a", "b", "c"} {
		_, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Name: name})
		require.NoError(t, err)
		waitStatus(t, e, name, engine.StatusRunning)
	}
	out, err := e.UninstallAll(t.Context())
	require.ErrorContains(t, err, "1 of 3 uninstalls failed")
	require.Len(t, out, 3)
	assert.Equal(t, []string{"a", "b", "c"}, []string{out[0].Name, out[1].Name, out[2].Name})
	assert.Empty(t, out[0].Error)
	assert.Contains(t, out[1].Error, "boom")
	assert.Empty(t, out[2].Error)
	assert.Greater(t, most, 1, "uninstalls ran one after the other")
	list, err := e.List(t.Context())
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "b", list[0].Name)
}

// TestUninstallOfFailedInstall: whatever the bundle's uninstall action
// says, a failed install can be uninstalled as long as nothing of it is
// left; a failed uninstall of an installed app with nothing running does
// not claim that it still runs.
func TestUninstallOfFailedInstall(t *testing.T) {
	var mu sync.Mutex
	failUninstall := true
	e := newTestEngine(t, func(op *engine.Operation) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case op.Action == "install" && op.Installation == "hello":
			_, _ = io.WriteString(op.Out, "Error: image mysql:8.0 is not available\nHint: load it on this host first (docker load -i image.tar)\n")
			return errors.New("container exit code: 1, message: <nil>")
		case op.Action == "uninstall" && failUninstall:
			return errors.New("required output containerName is missing and has no default")
		}
		return nil
	})
	inst, err := e.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	failed := waitStatus(t, e, "hello", engine.StatusFailed)
	assert.Equal(t, "install failed: image mysql:8.0 is not available (hint: load it on this host first (docker load -i image.tar))", failed.Reason)
	// The job's events carry the hint too, for the CLI to show.
	var lines []string
	require.Eventually(t, func() bool {
		past, _, stop, err := e.JobEvents(t.Context(), inst.JobID)
		require.NoError(t, err)
		stop()
		lines = lines[:0]
		for _, ev := range past {
			lines = append(lines, ev.Line)
		}
		return slices.Contains(lines, "hint: load it on this host first (docker load -i image.tar)")
	}, 5*time.Second, 10*time.Millisecond, "events: %q", lines)
	removed := 0
	e.docker.RemoveProjectFunc = func(ctx context.Context, project string, purge bool) error {
		mu.Lock()
		defer mu.Unlock()
		removed++
		return nil
	}
	require.NoError(t, e.Uninstall(t.Context(), engine.UninstallOptions{Name: "hello"}))
	assert.Positive(t, removed, "the project was removed directly")
	_, err = e.Get(t.Context(), "hello")
	require.ErrorIs(t, err, engine.ErrNotFound)

	// An installed app whose uninstall fails with nothing running: the
	// error says what failed, has a kind, and does not say "still running".
	_, err = e.Install(t.Context(), engine.InstallOptions{App: "hello", Name: "hello2"})
	require.NoError(t, err)
	waitStatus(t, e, "hello2", engine.StatusRunning)
	err = e.Uninstall(t.Context(), engine.UninstallOptions{Name: "hello2"})
	require.Error(t, err)
	require.ErrorIs(t, err, engine.ErrActionFailed)
	require.NotErrorIs(t, err, engine.ErrStillRunning)
	assert.Contains(t, err.Error(), "uninstall hello2 failed: ")
	assert.NotContains(t, err.Error(), "still running")

	// With its main container still running, it says so.
	e.docker.ProjectContainersFunc = func(ctx context.Context, project string) ([]engine.ContainerState, error) {
		return []engine.ContainerState{{Name: "stackhub-hello2", Project: project, State: "running"}}, nil
	}
	err = e.Uninstall(t.Context(), engine.UninstallOptions{Name: "hello2"})
	require.ErrorIs(t, err, engine.ErrStillRunning)
	assert.Contains(t, err.Error(), "still running")
	assert.Contains(t, engine.HintOf(err), "docker rm -f stackhub-hello2")
}

// TestReinstallClearsWhatAFailedInstallLeft: an install that failed while
// Docker was out of reach may leave the app's containers behind (its
// invocation container went on). Installing again removes them (keeping
// the volumes) instead of failing on them; a container StackHub did not
// make stops the install.
func TestReinstallClearsWhatAFailedInstallLeft(t *testing.T) {
	for _, tt := range []struct {
		name    string
		labels  map[string]string
		wantErr bool
	}{
		{"managed leftovers are cleared", map[string]string{contract.LabelManaged: "true"}, false},
		{"a container of the user's stops it", map[string]string{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			first := true
			e := newTestEngine(t, func(op *engine.Operation) error {
				mu.Lock()
				defer mu.Unlock()
				if op.Action == "install" && first {
					first = false
					return errors.New("docker went away")
				}
				return nil
			})
			_, err := e.Install(t.Context(), engine.InstallOptions{App: "hello"})
			require.NoError(t, err)
			waitStatus(t, e, "hello", engine.StatusFailed)

			var removed []string
			var purged, invocations bool
			leftover := []engine.ContainerState{{Name: "stackhub-hello", Project: "stackhub-hello", Labels: tt.labels}}
			mu.Lock()
			e.docker.ProjectContainersFunc = func(context.Context, string) ([]engine.ContainerState, error) {
				mu.Lock()
				defer mu.Unlock()
				return leftover, nil
			}
			e.docker.RemoveProjectFunc = func(_ context.Context, project string, purge bool) error {
				mu.Lock()
				defer mu.Unlock()
				removed, purged, leftover = append(removed, project), purge, nil
				return nil
			}
			e.docker.RemoveInvocationsFunc = func(context.Context, []string) error {
				mu.Lock()
				defer mu.Unlock()
				invocations = true
				return nil
			}
			mu.Unlock()

			_, err = e.Install(t.Context(), engine.InstallOptions{App: "hello"})
			if tt.wantErr {
				require.ErrorIs(t, err, engine.ErrConflict)
				return
			}
			require.NoError(t, err)
			waitStatus(t, e, "hello", engine.StatusRunning)
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, removed)
			assert.Equal(t, "stackhub-hello", removed[0])
			assert.False(t, purged, "the data stays")
			assert.True(t, invocations, "invocation containers of its runs are removed first")
		})
	}
}
