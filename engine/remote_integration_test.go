//go:build integration

package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/registry"
)

// testRegistry is a docker-registry serving on a free loopback port.
type testRegistry struct {
	Host string
	cmd  *exec.Cmd
}

// startRegistry starts /usr/bin/docker-registry (Debian's distribution
// 2.8) on 127.0.0.1 with storage in a temp folder and stops it in
// t.Cleanup. Without the binary the test fails under CI=true and skips
// otherwise.
func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	bin := "/usr/bin/docker-registry"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: apt-get install docker-registry (the registry tests need it)", bin)
		}
		t.Skipf("%s is missing: apt-get install docker-registry to run the registry tests", bin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	dir := t.TempDir()
	tmpl, err := os.ReadFile("../testdata/registry/config.yml.tmpl")
	require.NoError(t, err)
	cfg := strings.NewReplacer("@ROOT@", filepath.Join(dir, "data"), "@PORT@", fmt.Sprint(port)).Replace(string(tmpl))
	cfgPath := filepath.Join(dir, "config.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	cmd := exec.Command(bin, "serve", cfgPath)
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	require.NoError(t, cmd.Start())
	r := &testRegistry{Host: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(r.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r
		}
		require.True(t, time.Now().Before(deadline), "docker-registry did not start: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the registry; it is safe to call twice.
func (r *testRegistry) Stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

func withRegistry(t *testing.T, e *realEngine) *client.Client {
	t.Helper()
	dk, err := docker.New()
	require.NoError(t, err)
	t.Cleanup(func() { dk.Close() })
	e.UseRegistry(registry.New(dk.API(), slog.New(slog.DiscardHandler)))
	return dk.API()
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

func getHello(t *testing.T, port int) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestRegistryPublishInstallArchive publishes testdata/bundles/hello to a
// real registry, installs it by reference on a fresh engine, refuses to
// overwrite the tag, archives it twice (byte-identical), then installs
// from the archive with the registry stopped and the images deleted.
func TestRegistryPublishInstallArchive(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Host + "/hello:v0.1.0"
	ctx := t.Context()

	// Publish from the bundle folder.
	pub := newRealEngine(t)
	api := withRegistry(t, pub)
	res, err := pub.Publish(ctx, engine.PublishOptions{Dir: os.DirFS("../testdata/bundles/hello"), Reference: ref})
	require.NoError(t, err)
	require.Equal(t, ref, res.Reference)
	require.True(t, strings.HasPrefix(res.Digest, "sha256:"), res.Digest)

	// Again without --force: Porter's refusal, word for word.
	_, err = pub.Publish(ctx, engine.PublishOptions{Dir: os.DirFS("../testdata/bundles/hello"), Reference: ref})
	require.ErrorIs(t, err, engine.ErrConflict)
	require.EqualError(t, err, "Publish stopped because "+ref+" already exists in the destination registry. To overwrite it, repeat the command with --force specified.")

	// A plain image is not a bundle.
	plain := reg.Host + "/plain:1"
	_, err = registry.New(api, nil).PushImage(ctx, "stackhub-test/hello:1", plain)
	require.NoError(t, err)
	_, err = pub.Install(ctx, engine.InstallOptions{Reference: plain, Name: "plain"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the provided reference must be a Porter bundle")

	// Install by reference on a fresh engine (fresh store).
	e := newRealEngine(t)
	withRegistry(t, e)
	inst, err := e.Install(ctx, engine.InstallOptions{Reference: reg.Host + "/hello:0.1.0"}) // rewritten to v0.1.0
	require.NoError(t, err)
	require.Equal(t, "hello", inst.Name)
	require.Equal(t, ref, inst.Reference)
	inst = e.wait(t, "hello")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	assert.Contains(t, getHello(t, inst.Ports["port"]), "hello")
	require.NoError(t, e.Uninstall(ctx, engine.UninstallOptions{Name: "hello"}))

	// Archive twice: byte-identical.
	dir := t.TempDir()
	var sums []string
	for _, name := range []string{"a.tgz", "b.tgz"} {
		f, err := os.Create(filepath.Join(dir, name))
		require.NoError(t, err)
		_, err = e.Archive(ctx, f, engine.ArchiveOptions{Reference: ref})
		require.NoError(t, f.Close())
		require.NoError(t, err)
		sums = append(sums, fileSHA256(t, filepath.Join(dir, name)))
	}
	assert.Equal(t, sums[0], sums[1], "two archives of one bundle differ")

	// Offline: registry gone, invocation image deleted (every tag of it),
	// install from the archive.
	runs, err := e.store.ListRuns(ctx, "", "hello")
	require.NoError(t, err)
	require.NotEmpty(t, runs)
	var doc struct {
		InvocationImages []struct {
			ContentDigest string `json:"contentDigest"`
		} `json:"invocationImages"`
	}
	require.NoError(t, json.Unmarshal(runs[0].Bundle, &doc))
	pinned := reg.Host + "/hello@" + doc.InvocationImages[0].ContentDigest
	reg.Stop()
	img, err := api.ImageInspect(ctx, pinned)
	require.NoError(t, err)
	_, err = api.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true})
	require.NoError(t, err)
	off := newRealEngine(t)
	withRegistry(t, off)
	_, err = off.Install(ctx, engine.InstallOptions{Archive: filepath.Join(dir, "a.tgz")})
	require.NoError(t, err)
	inst = off.wait(t, "hello")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	assert.Contains(t, getHello(t, inst.Ports["port"]), "hello")
	require.NoError(t, off.Uninstall(ctx, engine.UninstallOptions{Name: "hello"}))
}

// TestRegistryAppWithDependencies installs, through the app lifecycle the
// service uses, a published bundle that requires another: the dependency
// is installed first as <name>-<alias> with the --param <alias>#<name>
// value, its output reaches the app, and uninstalling the app uninstalls
// the dependency after it.
func TestRegistryAppWithDependencies(t *testing.T) {
	reg := startRegistry(t)
	ctx := t.Context()
	e := newRealEngine(t)
	withRegistry(t, e)

	dbRef := reg.Host + "/compat-mydb:v0.1.0"
	_, err := e.Publish(ctx, engine.PublishOptions{Dir: os.DirFS("../testdata/compat/deps/mydb"), Reference: dbRef})
	require.NoError(t, err)
	app := filepath.Join(t.TempDir(), "app")
	require.NoError(t, os.CopyFS(app, os.DirFS("../testdata/compat/deps/app")))
	yaml, err := os.ReadFile(filepath.Join(app, "porter.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(app, "porter.yaml"), []byte(strings.ReplaceAll(string(yaml), "localhost:5000", reg.Host)), 0o644))
	appRef := reg.Host + "/compat-deps:v0.1.0"
	_, err = e.Publish(ctx, engine.PublishOptions{Dir: os.DirFS(app), Reference: appRef})
	require.NoError(t, err)

	_, err = e.Install(ctx, engine.InstallOptions{Reference: appRef, Name: "withdeps", Parameters: map[string]string{"cache#size": "1"}})
	require.ErrorIs(t, err, engine.ErrInvalid, "an alias the bundle does not require")
	_, err = e.Install(ctx, engine.InstallOptions{Reference: appRef, Name: "withdeps", Parameters: map[string]string{"db#database": "svcdb"}})
	require.NoError(t, err)
	// These exec bundles run no container: that is no failure.
	inst := e.wait(t, "withdeps")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	dep, err := e.Get(ctx, "withdeps-db")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusRunning, dep.Status, dep.Reason)
	assert.Equal(t, "/withdeps", dep.Labels[engine.LabelParentInstallation])
	outs, err := e.store.ListOutputs(ctx, "", "withdeps")
	require.NoError(t, err)
	got := map[string]string{}
	for _, o := range outs {
		got[o.Name] = string(o.Value)
	}
	assert.Equal(t, "param=db://svcdb@mydb template=db://svcdb@mydb dep=compat-mydb", got["summary"])

	require.NoError(t, e.Uninstall(ctx, engine.UninstallOptions{Name: "withdeps"}))
	dep, err = e.store.GetInstallation(ctx, "", "withdeps-db")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusUninstalled, dep.Status, "the dependency goes after the app")
}
