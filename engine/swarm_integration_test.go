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
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mswarm "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/cnab"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/engine/swarm"
)

// StackHub on a single-node swarm made on loopback for the test (left as
// found: the test leaves the swarm and removes the docker_gwbridge network
// its init created, unless the daemon was a manager already). Objects are
// named shsw*, ports come from 33001-33999. The kernel of the machine the
// suite was written on has no IPVS, so ports are published in host mode
// (set STACKHUB_TEST_SWARM_INGRESS=1 where the routing mesh works).

func swarmManager(t *testing.T, d *client.Client) {
	t.Helper()
	info, err := d.Info(t.Context(), client.InfoOptions{})
	require.NoError(t, err)
	switch s := info.Info.Swarm; {
	case s.LocalNodeState == mswarm.LocalNodeStateActive && s.ControlAvailable:
		return
	case s.LocalNodeState != mswarm.LocalNodeStateInactive:
		t.Fatalf("the daemon is in swarm state %q (not a manager): the swarm tests need an inactive or manager node", s.LocalNodeState)
	}
	nets, err := d.NetworkList(t.Context(), client.NetworkListOptions{})
	require.NoError(t, err)
	hadBridge := false
	for _, n := range nets.Items {
		hadBridge = hadBridge || n.Name == "docker_gwbridge"
	}
	_, err = d.SwarmInit(t.Context(), client.SwarmInitOptions{ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1",
		DefaultAddrPool: []netip.Prefix{netip.MustParsePrefix("10.231.0.0/16")}, SubnetSize: 24})
	require.NoError(t, err, "docker swarm init")
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		_, err := d.SwarmLeave(ctx, client.SwarmLeaveOptions{Force: true})
		assert.NoError(t, err, "docker swarm leave --force")
		if hadBridge {
			return
		}
		// The tasks of twenty services can take a while to let go of it.
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, err := d.NetworkRemove(ctx, "docker_gwbridge", client.NetworkRemoveOptions{})
			switch {
			case err == nil:
				return
			case time.Now().After(deadline) && strings.Contains(err.Error(), "has active endpoints"):
				// Docker 20.10 can keep an endpoint of a task it removed in
				// memory (none is listed, and `docker network rm` refuses
				// until the daemon restarts). The swarm is gone; the next
				// run finds the bridge and leaves it as it found it.
				t.Logf("docker_gwbridge stays: %v", err)
				return
			case time.Now().After(deadline):
				assert.NoError(t, err, "remove docker_gwbridge")
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// concurrentInstalls is how many installs TestEngineOnSwarm starts at once.
const concurrentInstalls = 20

func newSwarmRealEngine(t *testing.T) (*realEngine, *docker.Client) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	dk, err := docker.New()
	require.NoError(t, err)
	require.NoError(t, dk.Ping(t.Context()), "these tests need a running Docker Engine")
	t.Cleanup(func() { _ = dk.Close() })
	swarmManager(t, dk.API())
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "stackhub.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	prefix := "shsw" + hex.EncodeToString(b)
	mode := "host"
	if os.Getenv("STACKHUB_TEST_SWARM_INGRESS") == "1" {
		mode = "ingress"
	}
	cfg := engine.Config{Prefix: prefix, PortMin: 33001, PortMax: 33999, RuntimeBinary: stackhubBinary(t),
		WaitTimeout: 90 * time.Second, SwarmPublishMode: mode, JobConcurrency: 6}
	sw := swarm.New(dk.API())
	eng, err := engine.New(cfg, engine.Deps{Store: store, Docker: dk, Runtime: cnab.NewRuntime(dk.SocketPath()),
		Converter: cnab.Converter{}, Catalog: engine.NewDirCatalog(os.DirFS("../testdata/bundles")),
		Ports: engine.BindProber{}, Logger: log, Swarm: sw})
	require.NoError(t, err)
	require.NoError(t, eng.Start(t.Context()))
	t.Cleanup(func() {
		eng.Close()
		ctx := context.WithoutCancel(t.Context())
		// Whatever a failed assertion left: the stacks, then containers
		// and volumes of every project of this prefix.
		list, _ := dk.API().ServiceList(ctx, client.ServiceListOptions{})
		for _, s := range list.Items {
			if strings.HasPrefix(s.Spec.Name, prefix+"-") {
				_, _ = dk.API().ServiceRemove(ctx, s.ID, client.ServiceRemoveOptions{})
			}
		}
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name="+prefix).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
		names := []string{"hello", "hello-db", "hello-c"}
		for i := range concurrentInstalls {
			names = append(names, fmt.Sprintf("hello-%d", i))
		}
		for _, name := range names {
			_ = sw.RemoveStack(ctx, prefix+"-"+name)
			_ = dk.RemoveProject(ctx, prefix+"-"+name, true)
		}
	})
	return &realEngine{Engine: eng, store: store, prefix: prefix}, dk
}

func (e *realEngine) waitJob(t *testing.T, id string) *engine.Job {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := e.Job(t.Context(), id)
		require.NoError(t, err)
		if j.Status == engine.JobSucceeded || j.Status == engine.JobFailed {
			return j
		}
		require.True(t, time.Now().Before(deadline), "job %s still %s", id, j.Status)
		time.Sleep(200 * time.Millisecond)
	}
}

func getOK(t *testing.T, port int) string {
	t.Helper()
	var last error
	for range 40 {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	require.NoError(t, last, "GET on port %d", port)
	return ""
}

func TestEngineOnSwarm(t *testing.T) {
	e, dk := newSwarmRealEngine(t)
	ctx := t.Context()

	nodes, err := e.Nodes(ctx)
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	assert.True(t, nodes[0].Leader)
	assert.Positive(t, nodes[0].NanoCPUs)

	// The same app on both targets, same run: the first install of each
	// builds nothing more (the bundle image is shared).
	start := time.Now()
	_, err = e.Install(ctx, engine.InstallOptions{App: "hello", Name: "hello-c", Target: "compose"})
	require.NoError(t, err)
	require.Equal(t, engine.StatusRunning, e.wait(t, "hello-c").Status)
	warm := time.Since(start)
	start = time.Now()
	_, err = e.Install(ctx, engine.InstallOptions{App: "hello", Target: "swarm"})
	require.NoError(t, err)
	inst := e.wait(t, "hello")
	onSwarm := time.Since(start)
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	require.NoError(t, e.Uninstall(ctx, engine.UninstallOptions{Name: "hello-c"}))
	start = time.Now()
	_, err = e.Install(ctx, engine.InstallOptions{App: "hello", Name: "hello-c", Target: "compose"})
	require.NoError(t, err)
	require.Equal(t, engine.StatusRunning, e.wait(t, "hello-c").Status)
	t.Logf("install of hello with the bundle image built: swarm %s, compose %s (the first compose install, image build included: %s)",
		onSwarm.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), warm.Round(time.Millisecond))
	assert.Equal(t, "swarm", engine.TargetOf(inst))
	port := inst.Ports["port"]
	assert.Contains(t, getOK(t, port), "hello")
	svcs, err := dk.API().ServiceList(ctx, client.ServiceListOptions{})
	require.NoError(t, err)
	found := false
	for _, s := range svcs.Items {
		found = found || s.Spec.Name == e.prefix+"-hello"
	}
	assert.True(t, found, "hello runs as the swarm service %s-hello", e.prefix)
	services, err := e.SwarmServices(ctx, "hello")
	require.NoError(t, err)
	require.Len(t, services, 1)
	assert.Equal(t, engine.SwarmService{Name: e.prefix + "-hello", Service: "web", Replicas: 1, Running: 1, Nodes: []string{nodes[0].Hostname}}, services[0])

	// Stop scales to 0, start back; the status follows.
	job, err := e.Action(ctx, engine.ActionOptions{Name: "hello", Action: "stop"})
	require.NoError(t, err)
	require.Equal(t, engine.JobSucceeded, e.waitJob(t, job.ID).Status)
	got, err := e.Get(ctx, "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusStopped, got.Status, got.Reason)
	job, err = e.Action(ctx, engine.ActionOptions{Name: "hello", Action: "start"})
	require.NoError(t, err)
	require.Equal(t, engine.JobSucceeded, e.waitJob(t, job.ID).Status)
	assert.Contains(t, getOK(t, port), "hello")
	require.Eventually(t, func() bool {
		got, err := e.Get(ctx, "hello")
		return err == nil && got.Status == engine.StatusRunning
	}, 10*time.Second, 200*time.Millisecond)

	// Uninstall keeps the data and purge deletes it: the mixin's swarm
	// test checks volumes (mixin/swarm_integration_test.go); here the
	// engine's side, with a job.
	job, err = e.UninstallJob(ctx, engine.UninstallOptions{Name: "hello"})
	require.NoError(t, err)
	require.Equal(t, engine.JobSucceeded, e.waitJob(t, job.ID).Status)
	_, err = e.Get(ctx, "hello")
	require.ErrorIs(t, err, engine.ErrNotFound)
	list, err := dk.API().ServiceList(ctx, client.ServiceListOptions{})
	require.NoError(t, err)
	for _, s := range list.Items {
		assert.NotEqual(t, e.prefix+"-hello", s.Spec.Name, "the service is gone")
	}

	// Twenty installs at once: twenty distinct ports, all answering. The
	// test cleanup removes them. Their healthchecks run every 3 s, not
	// every second: each check is a process the daemon starts in the
	// container, and twenty of them a second compete with the installs
	// still deploying on a small machine.
	const n = concurrentInstalls
	var wg sync.WaitGroup
	ports := make([]int, n)
	errs := make([]error, n)
	start = time.Now()
	for i := range n {
		wg.Go(func() {
			inst, err := e.Install(ctx, engine.InstallOptions{App: "hello", Name: fmt.Sprintf("hello-%d", i), Target: "swarm",
				Parameters: map[string]string{"healthInterval": "3s"}})
			errs[i] = err
			if err == nil {
				ports[i] = inst.Ports["port"]
			}
		})
	}
	wg.Wait()
	seen := map[int]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		assert.False(t, seen[ports[i]], "port %d leased twice", ports[i])
		seen[ports[i]] = true
	}
	for i := range n {
		inst := e.wait(t, fmt.Sprintf("hello-%d", i))
		require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
		assert.Contains(t, getOK(t, ports[i]), "hello")
	}
	t.Logf("%d concurrent swarm installs: %s", n, time.Since(start).Round(time.Millisecond))
}
