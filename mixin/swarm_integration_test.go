//go:build integration

package mixin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/mixin/ports"
	"github.com/stackhub/stackhub/mixin/stack"
)

// The swarm target against a real single-node swarm on loopback. The test
// turns swarm mode on only if it was off, for as short as it runs, and
// leaves the daemon as it found it: it leaves the swarm and removes the
// docker_gwbridge network its init created. Its objects are named shsw-*,
// its ports come from 33001-33999.

const swRangeMin, swRangeMax = 33001, 33999

// swPublishMode: this machine's kernel has no IPVS (no /proc/net/ip_vs;
// dockerd logs "Failed add IP alias ... LB endpoint"), so the routing
// mesh cannot forward ingress ports nor virtual IPs here. The tests
// publish in host mode with DNS round robin; set STACKHUB_TEST_SWARM_INGRESS=1
// on a host with IPVS to run them over the routing mesh.
var swPublishMode = func() string {
	if os.Getenv("STACKHUB_TEST_SWARM_INGRESS") == "1" {
		return contract.PublishIngress
	}
	return contract.PublishHost
}()

// withSwarm makes the daemon a swarm manager for the test's duration.
func withSwarm(t *testing.T, d *client.Client) {
	t.Helper()
	info, err := d.Info(t.Context(), client.InfoOptions{})
	require.NoError(t, err)
	switch s := info.Info.Swarm; {
	case s.LocalNodeState == swarm.LocalNodeStateActive && s.ControlAvailable:
		return // already a manager: use it, change nothing
	case s.LocalNodeState != swarm.LocalNodeStateInactive:
		t.Fatalf("the daemon is in swarm state %q (not a manager): the swarm tests need an inactive or manager node", s.LocalNodeState)
	}
	nets, err := d.NetworkList(t.Context(), client.NetworkListOptions{})
	require.NoError(t, err)
	hadBridge := false
	for _, n := range nets.Items {
		hadBridge = hadBridge || n.Name == "docker_gwbridge"
	}
	_, err = d.SwarmInit(t.Context(), client.SwarmInitOptions{
		ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1",
		// Out of the way of the bridge networks other tests create.
		DefaultAddrPool: []netip.Prefix{netip.MustParsePrefix("10.231.0.0/16")}, SubnetSize: 24,
	})
	require.NoError(t, err, "docker swarm init")
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		_, err := d.SwarmLeave(ctx, client.SwarmLeaveOptions{Force: true})
		assert.NoError(t, err, "docker swarm leave --force")
		if hadBridge {
			return
		}
		// The ingress network goes with the swarm; docker_gwbridge stays
		// until removed, once its sandbox endpoints are gone.
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := d.NetworkRemove(ctx, "docker_gwbridge", client.NetworkRemoveOptions{})
			if err == nil || time.Now().After(deadline) {
				assert.NoError(t, err, "remove docker_gwbridge")
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

const swHelloStep = `compose: docker-compose.yml
main: web
ports:
  - {name: port, service: web, target: 8080}
env: {APP_TITLE: "%s"}
wait: {timeout: 90s}
outputs:
  - {name: port, port: port}
`

// swInstall is an installation on the swarm target, with the leased ports
// StackHub would pass.
type swInstall struct {
	*itInstall
	env map[string]string
}

func newSwInstall(t *testing.T, d *client.Client, bundle string, leased map[string]int) *swInstall {
	t.Helper()
	name := "sw" + itName(t)[len("shtest-"):]
	in := &itInstall{name: name, project: "shsw-" + name, root: testBundle(t, bundle),
		stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	ctxJSON, err := contract.Context{Ports: leased, Prefix: "shsw", PortMin: swRangeMin, PortMax: swRangeMax,
		Target: contract.TargetSwarm, SwarmPublishMode: swPublishMode, HostNetwork: true, WaitTimeout: "90s"}.Encode()
	require.NoError(t, err)
	env := map[string]string{"PORTER_INSTALLATION_NAME": name, contract.ContextEnv: ctxJSON}
	in.m = &Mixin{Out: in.stdout, Err: in.stderr, Root: in.root, Docker: d, Getenv: func(k string) string { return env[k] }}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		start := time.Now()
		assert.NoError(t, stack.Remove(ctx, d, in.project, true, io.Discard))
		t.Logf("remove %s: %s", in.project, time.Since(start).Round(time.Millisecond))
	})
	return &swInstall{itInstall: in, env: env}
}

func (in *swInstall) setPurge(t *testing.T, purge bool) {
	t.Helper()
	c, err := contract.ParseContext(in.env[contract.ContextEnv])
	require.NoError(t, err)
	c.Purge = purge
	in.env[contract.ContextEnv], err = c.Encode()
	require.NoError(t, err)
}

// lease hands out n free ports of the test range, as the engine's lease
// would: distinct, free on the host, not published by a service.
var leaseMu sync.Mutex
var leaseNext = swRangeMin

func lease(t *testing.T, n int) []int {
	t.Helper()
	leaseMu.Lock()
	defer leaseMu.Unlock()
	var out []int
	for ; len(out) < n && leaseNext <= swRangeMax; leaseNext++ {
		if ports.Probe(leaseNext, "tcp") == nil {
			out = append(out, leaseNext)
		}
	}
	require.Len(t, out, n, "free ports in %d-%d", swRangeMin, swRangeMax)
	return out
}

func swServices(t *testing.T, d *client.Client, project string) map[string]swarm.Service {
	t.Helper()
	list, err := stack.Services(t.Context(), d, project)
	require.NoError(t, err)
	out := map[string]swarm.Service{}
	for _, s := range list {
		out[s.Spec.Labels[contract.LabelService]] = s
	}
	return out
}

// swSecrets maps a project's swarm secrets' compose names to their names.
func swSecrets(t *testing.T, d *client.Client, project string) map[string]string {
	t.Helper()
	list, err := stack.Secrets(t.Context(), d, project)
	require.NoError(t, err)
	out := map[string]string{}
	for _, s := range list {
		out[s.Spec.Labels[stack.LabelSecret]] = s.Spec.Name
	}
	return out
}

func TestSwarmTarget(t *testing.T) {
	d := itDocker(t)
	withSwarm(t, d)

	t.Run("install stop start upgrade-rolled-back uninstall keep and purge", func(t *testing.T) {
		p := lease(t, 2)
		in := newSwInstall(t, d, "hello-db", map[string]int{"port": p[0], "db_port": p[1]})
		// Compose secrets become swarm secrets: a file of the bundle and
		// the generated db_password (through its variable).
		file := filepath.Join(in.root, "docker-compose.yml")
		withSecrets, err := os.ReadFile(file)
		require.NoError(t, err)
		withSecrets = bytes.Replace(withSecrets, []byte("      - data:/data\n"), []byte("      - data:/data\n    secrets: [db_password, api_key]\n"), 1)
		withSecrets = append(withSecrets, "secrets:\n  db_password: {environment: DB_PASSWORD}\n  api_key: {file: ./api.key}\n"...)
		require.NoError(t, os.WriteFile(file, withSecrets, 0o644))
		keyFile := filepath.Join(in.root, "api.key")
		require.NoError(t, os.WriteFile(keyFile, []byte("key-1"), 0o600))
		start := time.Now()
		require.Equal(t, 0, in.run(t, "install", fmt.Sprintf(helloDBStep, "one")), "%s\n%s", in.stdout, in.stderr)
		t.Logf("swarm install of hello-db: %s", time.Since(start).Round(time.Millisecond))
		assert.Equal(t, p[0], in.port(t, "port"))
		assert.Equal(t, in.project, in.output(t, "containerName"), "the main service is named like the compose main container")
		pw := in.output(t, "db_password")
		assert.Contains(t, httpGet(t, p[0]), "(one)")
		assert.Equal(t, "OK", dbCall(t, p[1], pw, "PUT greeting kept"))

		secrets := swSecrets(t, d, in.project)
		require.Len(t, secrets, 2)
		assert.NotContains(t, in.stdout.String()+in.stderr.String(), pw, "no secret value in the output")

		svcs := swServices(t, d, in.project)
		require.Len(t, svcs, 2)
		var refs []string
		for _, r := range svcs["db"].Spec.TaskTemplate.ContainerSpec.Secrets {
			refs = append(refs, r.SecretName)
		}
		assert.ElementsMatch(t, slices.Collect(maps.Values(secrets)), refs)
		// The db's data lives on the node its task ran on first: recorded
		// now, pinned from the next start or upgrade on.
		node := svcs["db"].Spec.Labels[stack.LabelNode]
		assert.NotEmpty(t, node, "the node holding db's volume is recorded")
		assert.Empty(t, svcs["web"].Spec.Labels[stack.LabelNode], "web holds no data")
		web := svcs["web"]
		assert.Equal(t, in.project, web.Spec.Name)
		assert.Equal(t, swarm.UpdateFailureActionRollback, web.Spec.UpdateConfig.FailureAction)
		assert.NotNil(t, web.Spec.TaskTemplate.ContainerSpec.Healthcheck)
		assert.Equal(t, in.project, web.Spec.Labels[contract.LabelStack])
		assert.Equal(t, []swarm.PortConfig{{Name: "port", Protocol: "tcp", TargetPort: 8080, PublishedPort: uint32(p[0]),
			PublishMode: swarm.PortConfigPublishMode(swPublishMode)}}, web.Spec.EndpointSpec.Ports)

		// status prints the services and the nodes they run on.
		require.Equal(t, 0, in.run(t, "status", "compose: docker-compose.yml\n"), "%s\n%s", in.stdout, in.stderr)
		var st []stack.ServiceState
		require.NoError(t, json.Unmarshal(in.stdout.Bytes(), &st), in.stdout.String())
		require.Len(t, st, 2)
		assert.Equal(t, uint64(1), st[0].Replicas)
		assert.Len(t, st[0].Nodes, 1)

		// logs reads the services' logs through the manager.
		require.Equal(t, 0, in.run(t, "logs", "compose: docker-compose.yml\n"), "%s\n%s", in.stdout, in.stderr)
		assert.Contains(t, in.stdout.String(), "web | hello listening on")
		assert.Contains(t, in.stdout.String(), "db | db listening on")

		// stop scales to 0, start back to 1; the data stays.
		require.Equal(t, 0, in.run(t, "stop", "compose: docker-compose.yml\n"), "%s\n%s", in.stdout, in.stderr)
		for _, s := range swServices(t, d, in.project) {
			assert.Equal(t, uint64(0), *s.Spec.Mode.Replicated.Replicas)
		}
		require.Equal(t, 0, in.run(t, "start", "compose: docker-compose.yml\n"), "%s\n%s", in.stdout, in.stderr)
		assert.Contains(t, swServices(t, d, in.project)["db"].Spec.TaskTemplate.Placement.Constraints, "node.id=="+node)
		assert.Contains(t, httpGet(t, p[0]), "(one)")
		assert.Equal(t, "VALUE kept", dbCall(t, p[1], pw, "GET greeting"))

		// An upgrade whose new web never turns healthy: swarm rolls it
		// back and the mixin says the upgrade was undone (exit status 3).
		orig, err := os.ReadFile(file)
		require.NoError(t, err)
		broken := bytes.Replace(orig, []byte(`test: ["CMD", "/app", "healthcheck", "http", "http://127.0.0.1:8080/healthz"]`),
			[]byte(`test: ["CMD", "/app", "healthcheck", "fail"]`), 1)
		broken = bytes.Replace(broken, []byte("      retries: 10\n  db:"), []byte("      retries: 2\n  db:"), 1)
		require.NotEqual(t, orig, broken)
		require.NoError(t, os.WriteFile(file, broken, 0o644))
		start = time.Now()
		code := in.run(t, "upgrade", fmt.Sprintf(helloDBStep, "two"))
		t.Logf("failed upgrade rolled back in %s", time.Since(start).Round(time.Millisecond))
		assert.Equal(t, contract.ExitUpgradeUndone, code, "%s\n%s", in.stdout, in.stderr)
		assert.Contains(t, in.stderr.String(), "rolled it back")
		web = swServices(t, d, in.project)["web"]
		assert.Equal(t, swarm.UpdateStateRollbackCompleted, web.UpdateStatus.State)
		assert.Contains(t, httpGet(t, p[0]), "(one)", "the previous version answers")

		// A working upgrade rolls forward; the changed secret file is a new
		// version of its swarm secret, and the old version goes.
		require.NoError(t, os.WriteFile(file, orig, 0o644))
		require.NoError(t, os.WriteFile(keyFile, []byte("key-2"), 0o600))
		require.Equal(t, 0, in.run(t, "upgrade", fmt.Sprintf(helloDBStep, "three")), "%s\n%s", in.stdout, in.stderr)
		assert.Contains(t, httpGet(t, p[0]), "(three)")
		assert.Equal(t, pw, in.output(t, "db_password"), "the generated secret is kept")
		assert.Contains(t, swServices(t, d, in.project)["db"].Spec.TaskTemplate.Placement.Constraints, "node.id=="+node, "still pinned")
		upgraded := swSecrets(t, d, in.project)
		require.Len(t, upgraded, 2, "the old version of api_key is removed")
		assert.Equal(t, secrets["db_password"], upgraded["db_password"])
		assert.NotEqual(t, secrets["api_key"], upgraded["api_key"])

		// Uninstall keeps the data; purge deletes it.
		require.Equal(t, 0, in.run(t, "uninstall", "compose: docker-compose.yml\n"), "%s\n%s", in.stdout, in.stderr)
		assert.Empty(t, swServices(t, d, in.project))
		cs, ns, vs := projectResources(t, d, in.project)
		assert.Empty(t, cs, "task containers gone")
		assert.Empty(t, ns, "overlay network removed")
		assert.ElementsMatch(t, []string{in.project + "_data", in.project + "_stackhub-state"}, vs, "volumes kept")
		assert.Empty(t, swSecrets(t, d, in.project), "secrets go with the app, kept data or not")
		in.setPurge(t, true)
		require.Equal(t, 0, in.run(t, "uninstall", "compose: docker-compose.yml\n"), "%s\n%s", in.stdout, in.stderr)
		_, _, vs = projectResources(t, d, in.project)
		assert.Empty(t, vs, "volumes purged")
	})

	t.Run("concurrent installs on leased ports", func(t *testing.T) {
		const n = 4
		ps := lease(t, n)
		ins := make([]*swInstall, n)
		for i := range n {
			ins[i] = newSwInstall(t, d, "hello", map[string]int{"port": ps[i]})
		}
		var wg sync.WaitGroup
		codes := make([]int, n)
		start := time.Now()
		for i := range n {
			wg.Go(func() { codes[i] = ins[i].run(t, "install", fmt.Sprintf(swHelloStep, fmt.Sprint(i))) })
		}
		wg.Wait()
		t.Logf("%d concurrent swarm installs of hello: %s", n, time.Since(start).Round(time.Millisecond))
		seen := map[int]bool{}
		for i, in := range ins {
			require.Equal(t, 0, codes[i], "%s\n%s", in.stdout, in.stderr)
			port := in.port(t, "port")
			assert.False(t, seen[port], "port %d handed out twice", port)
			seen[port] = true
			assert.Contains(t, httpGet(t, port), fmt.Sprintf("(%d)", i))
		}
		// A port another service publishes is refused by swarm itself.
		clash := newSwInstall(t, d, "hello", map[string]int{"port": ps[0]})
		assert.Equal(t, 1, clash.run(t, "install", fmt.Sprintf(swHelloStep, "clash")))
		assert.Contains(t, clash.stderr.String(), "already in use")
		assert.Empty(t, swServices(t, d, clash.project), "the failed install left no service")
	})
}
