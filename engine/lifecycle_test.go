package engine_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/enginetest"
	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/engine/sqlite"
)

const lifecycleManifest = `schemaVersion: 1.0.1
name: hello
version: %s
mixins: [stackhub]
parameters:
  - {name: title, type: string, default: Hello}
install:
  - stackhub: {compose: docker-compose.yml, ports: [{name: port, service: web, target: 8080}]}
upgrade:
  - stackhub: {compose: docker-compose.yml, ports: [{name: port, service: web, target: 8080}]}
uninstall:
  - stackhub: {compose: docker-compose.yml}
customActions:
  start: {description: "Start", modifies: true}
  stop: {description: "Stop", modifies: true}
start:
  - stackhub: {compose: docker-compose.yml}
stop:
  - stackhub: {compose: docker-compose.yml}
`

// newLifecycleEngine is an engine whose catalog's hello is at *version
// (read at every Open), and whose runtime prints two lines per action and
// fails the actions listed in fail.
func newLifecycleEngine(t *testing.T, version *string, fail map[string]error) (*engine.Engine, engine.Store, *enginetest.DockerFunc) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	bin := filepath.Join(t.TempDir(), "stackhub")
	require.NoError(t, os.WriteFile(bin, []byte("binary"), 0o755))
	d := &enginetest.DockerFunc{
		ImageExistsFunc: func(context.Context, string) (bool, error) { return true, nil },
		ContainerLogsFunc: func(_ context.Context, name string, tail int, follow bool) (io.ReadCloser, error) {
			if name != "stackhub-hello" {
				return nil, errors.Join(engine.ErrNotFound, errors.New("no such container "+name))
			}
			return io.NopCloser(strings.NewReader("log of " + name + "\n")), nil
		},
	}
	rt := &enginetest.BundleRuntimeFunc{RunFunc: func(ctx context.Context, op *engine.Operation) (*engine.OperationResult, error) {
		_, _ = io.WriteString(op.Out, "step one of "+op.Action+"\nstep two")
		_, _ = io.WriteString(op.Out, "\n")
		if err := fail[op.Action]; err != nil {
			return &engine.OperationResult{}, err
		}
		return &engine.OperationResult{}, nil
	}}
	cat := &enginetest.CatalogFunc{
		OpenFunc: func(_ context.Context, name string) (fs.FS, error) {
			return fstest.MapFS{
				"porter.yaml":        {Data: []byte(strings.Replace(lifecycleManifest, "%s", *version, 1))},
				"docker-compose.yml": {Data: []byte("services: {}\n")},
			}, nil
		},
	}
	conv := converterFunc(func(m *manifest.Manifest, req engine.ConvertRequest) ([]byte, error) {
		return []byte(`{"name":"hello","parameters":{"stackhub-context":{"definition":"c"}},"definitions":{"c":{"type":"string","default":""}}}`), nil
	})
	eng, err := engine.New(engine.Config{PortMin: 9001, PortMax: 9010, RuntimeBinary: bin}, engine.Deps{
		Store: store, Docker: d, Runtime: rt, Converter: conv, Catalog: cat,
		Ports: proberFunc(func(int, string) bool { return true }),
	})
	require.NoError(t, err)
	t.Cleanup(eng.Close)
	return eng, store, d
}

// waitJob waits for the job to end and returns its events.
func waitJob(t *testing.T, e *engine.Engine, id string) (*engine.Job, []engine.JobEvent) {
	t.Helper()
	past, next, stop, err := e.JobEvents(t.Context(), id)
	require.NoError(t, err)
	defer stop()
	if next != nil {
		timeout := time.After(5 * time.Second)
	loop:
		for {
			select {
			case ev, ok := <-next:
				if !ok {
					break loop
				}
				past = append(past, ev)
			case <-timeout:
				t.Fatal("job did not end")
			}
		}
	}
	// The job's record is written just before its final event.
	job, err := e.Job(t.Context(), id)
	require.NoError(t, err)
	return job, past
}

func TestLifecycle(t *testing.T) {
	version := "0.1.0"
	e, store, _ := newLifecycleEngine(t, &version, nil)
	ctx := t.Context()

	inst, err := e.Install(ctx, engine.InstallOptions{App: "hello", Parameters: map[string]string{"title": "Hi"}})
	require.NoError(t, err)
	job, events := waitJob(t, e, inst.JobID)
	require.Equal(t, engine.JobSucceeded, job.Status, job.Message)

	// The job's events: queued, running, steps, the bundle's log lines, the end.
	require.NotEmpty(t, events)
	assert.Equal(t, engine.JobQueued, events[0].Status)
	last := events[len(events)-1]
	assert.True(t, last.Final())
	assert.Equal(t, 100, last.Progress)
	var lines []string
	for i, ev := range events {
		assert.Equal(t, i+1, ev.Seq)
		if i > 0 {
			assert.GreaterOrEqual(t, ev.Progress, events[i-1].Progress, "progress never goes back")
		}
		if ev.Type == engine.JobEventLog {
			lines = append(lines, ev.Line)
		}
	}
	assert.Equal(t, []string{"step one of install", "step two"}, lines)
	// They are persisted: a late reader gets them all.
	again, next, _, err := e.JobEvents(ctx, inst.JobID)
	require.NoError(t, err)
	assert.Nil(t, next, "a finished job has no live stream")
	assert.Equal(t, events, again)

	// Stop and start are the bundle's custom actions.
	job0, err := e.Action(ctx, engine.ActionOptions{Name: "hello", Action: "stop"})
	require.NoError(t, err)
	job, _ = waitJob(t, e, job0.ID)
	require.Equal(t, engine.JobSucceeded, job.Status, job.Message)
	got, err := store.GetInstallation(ctx, "", "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusStopped, got.Status)
	job0, err = e.Action(ctx, engine.ActionOptions{Name: "hello", Action: "start"})
	require.NoError(t, err)
	waitJob(t, e, job0.ID)
	got, err = store.GetInstallation(ctx, "", "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusRunning, got.Status)

	// Upgrade keeps the ports and parameters and records the new version.
	version = "0.2.0"
	up, err := e.Upgrade(ctx, engine.UpgradeOptions{Name: "hello"})
	require.NoError(t, err)
	assert.Equal(t, engine.StatusUpgrading, up.Status)
	job, _ = waitJob(t, e, up.JobID)
	require.Equal(t, engine.JobSucceeded, job.Status, job.Message)
	got, err = store.GetInstallation(ctx, "", "hello")
	require.NoError(t, err)
	assert.Equal(t, "0.2.0", got.BundleVersion)
	assert.Equal(t, inst.Ports, got.Ports)
	assert.Equal(t, "Hi", got.Parameters["title"])

	// Logs of the main container.
	rc, err := e.Logs(ctx, engine.LogsOptions{Name: "hello", Tail: 10})
	require.NoError(t, err)
	data, _ := io.ReadAll(rc)
	assert.Equal(t, "log of stackhub-hello\n", string(data))

	// Uninstall as a job.
	job0, err = e.UninstallJob(ctx, engine.UninstallOptions{Name: "hello"})
	require.NoError(t, err)
	job, _ = waitJob(t, e, job0.ID)
	require.Equal(t, engine.JobSucceeded, job.Status, job.Message)
	_, err = e.Get(ctx, "hello")
	require.ErrorIs(t, err, engine.ErrNotFound)

	jobs, err := e.Jobs(ctx, 2)
	require.NoError(t, err)
	assert.Len(t, jobs, 2)
}

func TestLifecycleRefusals(t *testing.T) {
	version := "0.1.0"
	e, _, _ := newLifecycleEngine(t, &version, map[string]error{"upgrade": errors.New("boom")})
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"upgrade missing", func() error { _, err := e.Upgrade(ctx, engine.UpgradeOptions{Name: "nope"}); return err }, engine.ErrNotFound},
		{"upgrade bad name", func() error { _, err := e.Upgrade(ctx, engine.UpgradeOptions{Name: "../x"}); return err }, engine.ErrInvalid},
		{"action missing", func() error { _, err := e.Action(ctx, engine.ActionOptions{Name: "nope", Action: "stop"}); return err }, engine.ErrNotFound},
		{"action install", func() error {
			_, err := e.Action(ctx, engine.ActionOptions{Name: "hello", Action: "install"})
			return err
		}, engine.ErrInvalid},
		{"logs negative tail", func() error { _, err := e.Logs(ctx, engine.LogsOptions{Name: "hello", Tail: -1}); return err }, engine.ErrInvalid},
		{"uninstall missing", func() error { _, err := e.UninstallJob(ctx, engine.UninstallOptions{Name: "nope"}); return err }, engine.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.call(), tt.want)
		})
	}

	inst, err := e.Install(ctx, engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	waitJob(t, e, inst.JobID)
	_, err = e.Action(ctx, engine.ActionOptions{Name: "hello", Action: "dance"})
	require.ErrorIs(t, err, engine.ErrInvalid)
	assert.Contains(t, engine.HintOf(err), "start, stop")

	// A failed upgrade leaves an installation that can be upgraded again
	// or uninstalled.
	up, err := e.Upgrade(ctx, engine.UpgradeOptions{Name: "hello"})
	require.NoError(t, err)
	job, events := waitJob(t, e, up.JobID)
	assert.Equal(t, engine.JobFailed, job.Status)
	assert.Contains(t, events[len(events)-2].Line, "boom")
	got, err := e.Get(ctx, "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusFailed, got.Status)
	assert.Contains(t, got.Reason, "upgrade to 0.1.0 failed")
	up, err = e.Upgrade(ctx, engine.UpgradeOptions{Name: "hello"})
	require.NoError(t, err, "a failed upgrade can be retried")
	waitJob(t, e, up.JobID)
	require.NoError(t, e.Uninstall(ctx, engine.UninstallOptions{Name: "hello"}))
}

// TestLifecycleFromReference checks that an installation made from a
// registry reference is upgraded, stopped and started with its stored
// bundle, not with the catalog's app of the same name.
func TestLifecycleFromReference(t *testing.T) {
	catalogVersion := "0.1.0"
	e, store, _ := newLifecycleEngine(t, &catalogVersion, nil)
	ctx := t.Context()
	porter := strings.Replace(lifecycleManifest, "%s", "9.9.9", 1)
	bundleJSON := []byte(`{"name":"hello","version":"9.9.9","invocationImages":[{"image":"localhost:5000/hello:v9.9.9",` +
		`"imageType":"docker","contentDigest":"sha256:` + strings.Repeat("a", 64) + `"}],` +
		`"custom":{"sh.porter":{"manifest":"` + base64.StdEncoding.EncodeToString([]byte(porter)) + `"}}}`)
	var pulled []string
	e.UseRegistry(&enginetest.RegistryFunc{
		PullBundleFunc: func(_ context.Context, ref string, _ bool) (*engine.RemoteBundle, error) {
			return &engine.RemoteBundle{Reference: ref, Digest: "sha256:" + strings.Repeat("b", 64), BundleJSON: bundleJSON}, nil
		},
		PullImageFunc: func(_ context.Context, ref, tag string) error { pulled = append(pulled, ref+" as "+tag); return nil },
	})

	inst, err := e.Install(ctx, engine.InstallOptions{Reference: "localhost:5000/hello:v9.9.9"})
	require.NoError(t, err)
	assert.Equal(t, "hello", inst.Name, "the name defaults to the bundle's")
	job, _ := waitJob(t, e, inst.JobID)
	require.Equal(t, engine.JobSucceeded, job.Status, job.Message)
	require.Len(t, pulled, 1)

	tests := []struct {
		name   string
		run    func() (string, error)
		status engine.Status
	}{
		{"stop", func() (string, error) {
			j, err := e.Action(ctx, engine.ActionOptions{Name: "hello", Action: "stop"})
			if err != nil {
				return "", err
			}
			return j.ID, nil
		}, engine.StatusStopped},
		{"start", func() (string, error) {
			j, err := e.Action(ctx, engine.ActionOptions{Name: "hello", Action: "start"})
			if err != nil {
				return "", err
			}
			return j.ID, nil
		}, engine.StatusRunning},
		{"upgrade", func() (string, error) {
			up, err := e.Upgrade(ctx, engine.UpgradeOptions{Name: "hello"})
			if err != nil {
				return "", err
			}
			return up.JobID, nil
		}, engine.StatusRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.run()
			require.NoError(t, err)
			job, _ := waitJob(t, e, id)
			require.Equal(t, engine.JobSucceeded, job.Status, job.Message)
			got, err := store.GetInstallation(ctx, "", "hello")
			require.NoError(t, err)
			assert.Equal(t, tt.status, got.Status)
			assert.Equal(t, "9.9.9", got.BundleVersion, "the stored bundle, not the catalog's 0.1.0")
			runs, err := store.ListRuns(ctx, "", "hello")
			require.NoError(t, err)
			require.NotEmpty(t, runs)
			assert.Equal(t, "localhost:5000/hello:v9.9.9", runs[0].BundleRef)
			assert.JSONEq(t, string(bundleJSON), string(runs[0].Bundle))
		})
	}
}

// TestUndoneUpgradeKeepsRunning: when the bundle says it brought the
// previous version back, the installation keeps running that version and
// says why the upgrade failed; the job still fails.
func TestUndoneUpgradeKeepsRunning(t *testing.T) {
	version := "0.1.0"
	e, store, _ := newLifecycleEngine(t, &version, map[string]error{
		"upgrade": fmt.Errorf("upgrade action failed: %w: container hello-db is unhealthy", engine.ErrUpgradeUndone)})
	ctx := t.Context()
	inst, err := e.Install(ctx, engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	waitJob(t, e, inst.JobID)

	version = "0.2.0"
	up, err := e.Upgrade(ctx, engine.UpgradeOptions{Name: "hello"})
	require.NoError(t, err)
	job, _ := waitJob(t, e, up.JobID)
	assert.Equal(t, engine.JobFailed, job.Status)
	got, err := store.GetInstallation(ctx, "", "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusRunning, got.Status)
	assert.Equal(t, "0.1.0", got.BundleVersion, "the previous version runs")
	assert.Contains(t, got.Reason, "upgrade to 0.2.0 failed and was undone")
}
