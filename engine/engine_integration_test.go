//go:build integration

package engine_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/cnab"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/sqlite"
)

// stackhubBinary is the static binary put into bundle images: $STACKHUB_BIN,
// or one built now.
func stackhubBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("STACKHUB_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "stackhub")
	cmd := exec.Command("go", "build", "-o", out, "../cmd/stackhub")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

type realEngine struct {
	*engine.Engine
	store  *sqlite.Store
	prefix string
}

func newRealEngine(t *testing.T) *realEngine {
	t.Helper()
	return newRealEngineWith(t, nil)
}

// newRealEngineWith is newRealEngine with tweak changing the config.
func newRealEngineWith(t *testing.T, tweak func(*engine.Config)) *realEngine {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dk, err := docker.New()
	require.NoError(t, err)
	require.NoError(t, dk.Ping(t.Context()), "these tests need a running Docker Engine")
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "stackhub.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	prefix := "eng" + hex.EncodeToString(b)
	cfg := engine.Config{Prefix: prefix, PortMin: 18001, PortMax: 18999, RuntimeBinary: stackhubBinary(t), WaitTimeout: time.Minute}
	if tweak != nil {
		tweak(&cfg)
	}
	eng, err := engine.New(cfg,
		engine.Deps{Store: store, Docker: dk, Runtime: cnab.NewRuntime(dk.SocketPath()), Converter: cnab.Converter{},
			Catalog: engine.NewDirCatalog(os.DirFS("../testdata/bundles")), Ports: engine.BindProber{}, Logger: log})
	require.NoError(t, err)
	require.NoError(t, eng.Start(t.Context()))
	t.Cleanup(func() {
		eng.Close()
		for _, name := range []string{"hello", "hello-db"} {
			_ = dk.RemoveProject(context.WithoutCancel(t.Context()), prefix+"-"+name, true) // t.Context() ends before cleanups
		}
	})
	return &realEngine{Engine: eng, store: store, prefix: prefix}
}

func (e *realEngine) wait(t *testing.T, name string) *engine.Installation {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		inst, err := e.Get(t.Context(), name)
		require.NoError(t, err)
		if inst.Status != engine.StatusInstalling {
			return inst
		}
		require.True(t, time.Now().Before(deadline), "%s still installing", name)
		time.Sleep(200 * time.Millisecond)
	}
}

func TestEngineInstallsAndUninstallsOnRealDocker(t *testing.T) {
	e := newRealEngine(t)
	inst, err := e.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	port := inst.Ports["port"]
	require.NotZero(t, port)

	inst = e.wait(t, "hello")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "hello")

	outs, err := e.store.ListOutputs(t.Context(), "", "hello")
	require.NoError(t, err)
	got := map[string]string{}
	for _, o := range outs {
		got[o.Name] = string(o.Value)
	}
	assert.Equal(t, fmt.Sprint(port), got["port"])
	assert.Equal(t, e.prefix+"-hello", got["containerName"])
	assert.Contains(t, got[engine.LogsOutput], "execution completed successfully")

	images := func() string {
		out, err := exec.Command("docker", "images", "-q", "--no-trunc", "--filter", "label="+engine.LabelBundleDigest).Output()
		require.NoError(t, err)
		ids := strings.Fields(string(out))
		sort.Strings(ids)
		return strings.Join(slices.Compact(ids), " ")
	}
	before := images()

	require.NoError(t, e.Uninstall(t.Context(), engine.UninstallOptions{Name: "hello"}))
	_, err = e.Get(t.Context(), "hello")
	require.ErrorIs(t, err, engine.ErrNotFound)

	// Installing the unchanged bundle again reuses its image.
	_, err = e.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	inst = e.wait(t, "hello")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	assert.Equal(t, before, images(), "no bundle image was built again")
	require.NoError(t, e.Uninstall(t.Context(), engine.UninstallOptions{Name: "hello"}))
}
