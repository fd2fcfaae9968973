//go:build integration

package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/cnab"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/registry"
	"github.com/stackhub/stackhub/engine/sqlite"
)

// newMirrorEngine is newRealEngine with a registry adapter and the
// registry-mirror setting.
func newMirrorEngine(t *testing.T, mirror string) *realEngine {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	dk, err := docker.New()
	require.NoError(t, err)
	require.NoError(t, dk.Ping(t.Context()), "these tests need a running Docker Engine")
	t.Cleanup(func() { dk.Close() })
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "stackhub.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	prefix := "off" + randHex(t, 3)
	eng, err := engine.New(engine.Config{Prefix: prefix, PortMin: 18001, PortMax: 18999, RuntimeBinary: stackhubBinary(t),
		WaitTimeout: time.Minute, RegistryMirror: mirror},
		engine.Deps{Store: store, Docker: dk, Runtime: cnab.NewRuntime(dk.SocketPath()), Converter: cnab.Converter{},
			Catalog: engine.NewDirCatalog(os.DirFS("../testdata/bundles")), Ports: engine.BindProber{},
			Registry: registry.New(dk.API(), log), Logger: log})
	require.NoError(t, err)
	require.NoError(t, eng.Start(t.Context()))
	t.Cleanup(func() {
		eng.Close()
		// t.Context() is cancelled before cleanups run.
		_ = dk.RemoveProject(context.WithoutCancel(t.Context()), prefix+"-hello", true)
	})
	return &realEngine{Engine: eng, store: store, prefix: prefix}
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// buildLabelled builds a copy of the fixture image stackhub-test/hello:1
// with a unique label (so a new image ID that can be deleted without
// touching the fixture) tagged as tag, and returns its ID.
func buildLabelled(t *testing.T, api *client.Client, tag string) string {
	t.Helper()
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	df := "FROM stackhub-test/hello:1\nLABEL sh.stackhub.test=" + tag + "\n"
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))}))
	_, err := tw.Write([]byte(df))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	res, err := api.ImageBuild(t.Context(), &ctxTar, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	require.NoError(t, err)
	out, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	require.NotContains(t, string(out), `"error"`, string(out))
	img, err := api.ImageInspect(t.Context(), tag)
	require.NoError(t, err, string(out))
	t.Cleanup(func() {
		_, _ = api.ImageRemove(context.WithoutCancel(t.Context()), img.ID, client.ImageRemoveOptions{Force: true})
	})
	return img.ID
}

// TestRegistryMirrorAndOfflineArchive: an app image that exists only in a
// loopback registry, under another name, is pulled through the
// registry-mirror setting; then `archive --with-images` packs the bundle,
// its invocation image and that app image, and the archive installs with
// the registry stopped and both images deleted from the daemon.
func TestRegistryMirrorAndOfflineArchive(t *testing.T) {
	reg := startRegistry(t)
	ctx := t.Context()
	dk, err := docker.New()
	require.NoError(t, err)
	t.Cleanup(func() { dk.Close() })
	api := dk.API()
	t.Cleanup(func() { removeImagesOf(context.WithoutCancel(t.Context()), api, reg.Host) })

	// The app image: in the mirror as <mirror>/<repo>/hello:1, nowhere else.
	repo := "stackhub-mirrortest-" + randHex(t, 4)
	app := repo + "/hello:1"
	id := buildLabelled(t, api, app)
	_, err = registry.New(api, nil).PushImage(ctx, app, reg.Host+"/"+repo+"/hello:1")
	require.NoError(t, err)
	_, err = api.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true})
	require.NoError(t, err)

	// The hello fixture bundle, deploying that image.
	dir := filepath.Join(t.TempDir(), "hello")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../testdata/bundles/hello")))
	compose, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(strings.ReplaceAll(string(compose), "stackhub-test/hello:1", app)), 0o644))
	ref := reg.Host + "/" + repo + "-bundle:v0.1.0"

	e := newMirrorEngine(t, reg.Host)
	_, err = e.Publish(ctx, engine.PublishOptions{Dir: os.DirFS(dir), Reference: ref})
	require.NoError(t, err)
	_, err = e.Install(ctx, engine.InstallOptions{Reference: ref, Name: "hello"})
	require.NoError(t, err)
	inst := e.wait(t, "hello")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	assert.Contains(t, getHello(t, inst.Ports["port"]), "hello")
	img, err := api.ImageInspect(ctx, app)
	require.NoError(t, err, "the mirror pull tags the image with its own name")
	assert.Equal(t, id, img.ID)
	require.NoError(t, e.Uninstall(ctx, engine.UninstallOptions{Name: "hello"}))

	// Archive with the app's images, twice: the same bytes.
	tmp := t.TempDir()
	var sums []string
	for _, name := range []string{"hello-offline.tgz", "again.tgz"} {
		f, err := os.Create(filepath.Join(tmp, name))
		require.NoError(t, err)
		_, err = e.Archive(ctx, f, engine.ArchiveOptions{Reference: ref, WithImages: true})
		require.NoError(t, f.Close())
		require.NoError(t, err)
		sums = append(sums, fileSHA256(t, filepath.Join(tmp, name)))
	}
	assert.Equal(t, sums[0], sums[1], "two archives of one bundle with its images differ")
	file := filepath.Join(tmp, "hello-offline.tgz")

	// No registry, no images: the app image and the invocation image go.
	runs, err := e.store.ListRuns(ctx, "", "hello")
	require.NoError(t, err)
	require.NotEmpty(t, runs)
	reg.Stop()
	_, err = api.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true})
	require.NoError(t, err)
	inv, err := api.ImageInspect(ctx, reg.Host+"/"+repo+"-bundle@"+invocationDigest(t, runs[0].Bundle))
	require.NoError(t, err)
	_, err = api.ImageRemove(ctx, inv.ID, client.ImageRemoveOptions{Force: true})
	require.NoError(t, err)
	_, err = api.ImageInspect(ctx, app)
	require.Error(t, err, "the app image is gone before the offline install")

	off := newMirrorEngine(t, "")
	_, err = off.Install(ctx, engine.InstallOptions{Archive: file, Name: "hello"})
	require.NoError(t, err)
	inst = off.wait(t, "hello")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	assert.Contains(t, getHello(t, inst.Ports["port"]), "hello")
	img, err = api.ImageInspect(ctx, app)
	require.NoError(t, err, "the archive restored the app image under its name")
	assert.Equal(t, id, img.ID, "the same image, by ID")
	require.NoError(t, off.Uninstall(ctx, engine.UninstallOptions{Name: "hello"}))
}

// removeImagesOf removes every local image tagged into registry host (the
// invocation images that publish and install tagged).
func removeImagesOf(ctx context.Context, api *client.Client, host string) {
	res, err := api.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", host+"/*"), All: false})
	if err != nil {
		return
	}
	for _, img := range res.Items {
		_, _ = api.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true})
	}
}

// invocationDigest is the content digest of bundle.json's invocation image.
func invocationDigest(t *testing.T, bundleJSON []byte) string {
	t.Helper()
	var doc struct {
		InvocationImages []struct {
			ContentDigest string `json:"contentDigest"`
		} `json:"invocationImages"`
	}
	require.NoError(t, json.Unmarshal(bundleJSON, &doc))
	require.Len(t, doc.InvocationImages, 1)
	return doc.InvocationImages[0].ContentDigest
}
