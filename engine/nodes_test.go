package engine_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	mswarm "github.com/moby/moby/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/swarm"
	"github.com/stackhub/stackhub/engine/swarm/swarmtest"
)

// newSwarmEngine is a test engine on the manager of a simulated cluster.
func newSwarmEngine(t testing.TB, c *swarmtest.Cluster, target string) *testEngine {
	return newTestEngineWith(t, func(cfg *engine.Config, deps *engine.Deps) {
		cfg.PortMax = 9999
		cfg.DefaultTarget = target
		deps.Swarm = swarm.New(c)
	}, nil)
}

// newBenchEngine leases from 20000-30000, where the cluster's ports are.
func newBenchEngine(b *testing.B, c *swarmtest.Cluster) *testEngine {
	return newTestEngineWith(b, func(cfg *engine.Config, deps *engine.Deps) {
		cfg.PortMin, cfg.PortMax = 20000, 30000
		deps.Swarm = swarm.New(c)
	}, nil)
}

// TestLeaseCheckAcross100Nodes: the lease is checked against every port
// the cluster's services publish, ingress (every node) and host mode (on
// their node), not only this host's containers.
func TestLeaseCheckAcross100Nodes(t *testing.T) {
	// 100 nodes, 5 apps each: ingress ports 9001-9500, host-mode ports
	// 9501-9700 (the second and fourth app of each node).
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 100, AppsPerNode: 5, FirstPort: 9001})
	e := newSwarmEngine(t, c, "")
	inst, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Target: "swarm"})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"port": 9701, "db_port": 9702}, inst.Ports)
	op := <-e.runs
	assert.Contains(t, op.Parameters["stackhub-context"], `"target":"swarm"`)
	got := waitStatus(t, e, "hello", engine.StatusRunning)
	assert.Equal(t, "swarm", engine.TargetOf(got))
	svcs, err := e.SwarmServices(t.Context(), "hello")
	require.NoError(t, err)
	assert.Empty(t, svcs, "the simulated cluster has no stack of this project")

	// A second install, on whatever node swarm picks, never gets the
	// first one's ports: the lease table is cluster-wide.
	inst2, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Name: "hello2", Target: "swarm"})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"port": 9703, "db_port": 9704}, inst2.Ports)
	waitStatus(t, e, "hello2", engine.StatusRunning)
}

func TestDefaultTarget(t *testing.T) {
	tests := []struct {
		name, def, opt, want string
	}{
		{"compose by default", "", "", "compose"},
		{"server default swarm", "swarm", "", "swarm"},
		{"option wins", "swarm", "compose", "compose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := swarmtest.NewCluster(swarmtest.Options{Nodes: 1})
			e := newSwarmEngine(t, c, tt.def)
			_, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Target: tt.opt})
			require.NoError(t, err)
			op := <-e.runs
			got := waitStatus(t, e, "hello", engine.StatusRunning)
			assert.Equal(t, tt.want, engine.TargetOf(got))
			if tt.want == "compose" {
				assert.NotContains(t, op.Parameters["stackhub-context"], "target")
			}
		})
	}
}

func TestSwarmTargetNeedsAManager(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 1})
	c.Manager = false
	e := newSwarmEngine(t, c, "")
	_, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Target: "swarm"})
	require.ErrorIs(t, err, engine.ErrSwarmInactive)
	require.ErrorIs(t, err, engine.ErrConflict, "a kind, so the API answers 409 and not a bare 500")
	assert.Contains(t, engine.HintOf(err), "docker swarm init")
	// A compose install still sees this host's ports only, and works.
	_, err = e.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	_, err = e.Install(t.Context(), engine.InstallOptions{App: "hello2", Target: "kubernetes"})
	require.ErrorIs(t, err, engine.ErrInvalid)
}

func TestNodeOperations(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 3})
	e := newSwarmEngine(t, c, "")
	nodes, err := e.Nodes(t.Context())
	require.NoError(t, err)
	require.Len(t, nodes, 3)

	n, err := e.SetNodeAvailability(t.Context(), "node-002", "drain")
	require.NoError(t, err)
	assert.Equal(t, "drain", n.Availability)
	_, err = e.SetNodeAvailability(t.Context(), "node-002", "sleep")
	require.ErrorIs(t, err, engine.ErrInvalid)
	_, err = e.SetNodeAvailability(t.Context(), "nope", "drain")
	require.ErrorIs(t, err, engine.ErrNotFound)
	// A node is named by ID too; a prefix that names several is refused.
	_, err = e.SetNodeAvailability(t.Context(), c.Nodes[1].ID, "pause")
	require.NoError(t, err)
	_, err = e.SetNodeAvailability(t.Context(), "node0", "pause")
	require.ErrorIs(t, err, engine.ErrInvalid)

	err = e.RemoveNode(t.Context(), "node-000", true)
	require.ErrorIs(t, err, engine.ErrConflict, "the leading manager stays")
	err = e.RemoveNode(t.Context(), "node-002", false)
	require.ErrorIs(t, err, engine.ErrConflict)
	assert.Contains(t, engine.HintOf(err), "docker swarm leave")
	require.NoError(t, e.RemoveNode(t.Context(), "node-002", true))

	j, err := e.NodeJoin(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, "docker swarm join --token SWMTKN-1-worker-fake 10.1.0.1:2377", j.Command)

	c.Manager = false
	_, err = e.Nodes(t.Context())
	require.ErrorIs(t, err, engine.ErrSwarmInactive)
}

// BenchmarkLeaseCheck measures the lease check (listing this host's and
// the cluster's published ports, then choosing two free ports) against
// simulated clusters: `go test -run '^$' -bench LeaseCheck ./engine/`.
func BenchmarkLeaseCheck(b *testing.B) {
	specs := []engine.PortSpec{{Name: "port", Protocol: "tcp"}, {Name: "db_port", Protocol: "tcp"}}
	for _, nodes := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			c := swarmtest.NewCluster(swarmtest.Options{Nodes: nodes, AppsPerNode: 5, FirstPort: 20000})
			e := newBenchEngine(b, c)
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.LeaseCheck(b.Context(), "x", specs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSwarmLiveStatus: the live status of a swarm app counts its running
// task containers only; ended tasks stay as swarm's history, and an app
// whose tasks run on other nodes has none on the manager.
func TestSwarmLiveStatus(t *testing.T) {
	exited := engine.ContainerState{Name: "stackhub-hello.1.old", Project: "stackhub-hello", State: "exited"}
	running := engine.ContainerState{Name: "stackhub-hello.1.new", Project: "stackhub-hello", State: "running"}
	unhealthy := engine.ContainerState{Name: "stackhub-hello.1.sick", Project: "stackhub-hello", State: "running", Health: "unhealthy"}
	tests := []struct {
		name       string
		target     string
		containers []engine.ContainerState
		want       engine.Status
	}{
		{"swarm: an ended task beside the running one", "swarm", []engine.ContainerState{exited, running}, engine.StatusRunning},
		{"swarm: tasks on other nodes only", "swarm", []engine.ContainerState{exited}, engine.StatusRunning},
		{"swarm: nothing on the manager", "swarm", nil, engine.StatusRunning},
		{"swarm: unhealthy task", "swarm", []engine.ContainerState{unhealthy}, engine.StatusFailed},
		{"compose: an exited container", "compose", []engine.ContainerState{exited}, engine.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The containers appear while the install runs, as the
			// mixin's deploy makes them.
			var deployed atomic.Bool
			e := newTestEngineWith(t, func(_ *engine.Config, deps *engine.Deps) {
				deps.Swarm = swarm.New(swarmtest.NewCluster(swarmtest.Options{Nodes: 2}))
			}, func(*engine.Operation) error {
				deployed.Store(true)
				return nil
			})
			e.docker.ProjectContainersFunc = func(context.Context, string) ([]engine.ContainerState, error) {
				if !deployed.Load() {
					return nil, nil
				}
				return tt.containers, nil
			}
			e.docker.ManagedContainersFunc = func(ctx context.Context) ([]engine.ContainerState, error) {
				return e.docker.ProjectContainersFunc(ctx, "stackhub-hello")
			}
			// A quiet event stream: the live state is what the listings say.
			e.docker.EventsFunc = func(context.Context) (<-chan engine.ContainerEvent, <-chan error) {
				return make(chan engine.ContainerEvent), make(chan error)
			}
			require.NoError(t, e.Start(t.Context()))
			_, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Target: tt.target})
			require.NoError(t, err)
			<-e.runs
			waitStatus(t, e, "hello", engine.StatusRunning)
			require.Eventually(t, func() bool {
				got, err := e.Get(t.Context(), "hello")
				return err == nil && got.Status == tt.want
			}, 5*time.Second, 20*time.Millisecond)
		})
	}
}

// TestSwarmDataNodeDown: an app whose service is pinned to the node
// holding its data shows as failed, with the reason, while that node is
// down or drained; an app without node-bound data is left to swarm's
// rescheduling; the records stay as they are.
func TestSwarmDataNodeDown(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 2})
	e := newSwarmEngine(t, c, "")
	_, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Target: "swarm"})
	require.NoError(t, err)
	<-e.runs
	waitStatus(t, e, "hello", engine.StatusRunning)

	one := uint64(1)
	svc := func(name, node string) mswarm.Service {
		s := mswarm.Service{ID: "svc-" + name}
		s.Spec.Name = "stackhub-hello-" + name
		s.Spec.Labels = map[string]string{contract.LabelStack: "stackhub-hello", contract.LabelService: name}
		if node != "" {
			s.Spec.Labels[contract.LabelNode] = node
		}
		s.Spec.Mode.Replicated = &mswarm.ReplicatedService{Replicas: &one}
		return s
	}
	// web holds no data and has no task (swarm is moving it); db is
	// pinned to node 1, which is down.
	c.Services = append(c.Services, svc("web", ""), svc("db", c.Nodes[1].ID))
	c.Nodes[1].Status.State = mswarm.NodeStateDown
	got, err := e.Get(t.Context(), "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusFailed, got.Status)
	assert.Equal(t, "service db: node node-001 holding its data is down", got.Reason)
	svcs, err := e.SwarmServices(t.Context(), "hello")
	require.NoError(t, err)
	require.Len(t, svcs, 2)
	assert.Equal(t, "node-001", svcs[0].DataNode)
	assert.Empty(t, svcs[1].Problem, "web is left to swarm's rescheduling")

	c.Nodes[1].Status.State = mswarm.NodeStateReady
	c.Nodes[1].Spec.Availability = mswarm.NodeAvailabilityDrain
	got, err = e.Get(t.Context(), "hello")
	require.NoError(t, err)
	assert.Equal(t, "service db: node node-001 holding its data is unavailable (drain)", got.Reason)

	// The node is back and db runs there again: running, as recorded.
	c.Nodes[1].Spec.Availability = mswarm.NodeAvailabilityActive
	task := mswarm.Task{ID: "task-db", ServiceID: "svc-db", NodeID: c.Nodes[1].ID, DesiredState: mswarm.TaskStateRunning}
	task.Status.State = mswarm.TaskStateRunning
	c.Tasks = append(c.Tasks, task)
	got, err = e.Get(t.Context(), "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusRunning, got.Status, got.Reason)
}

// TestSwarmLogs: a swarm installation's log is its service's, gathered by
// the manager from every node its tasks ran on.
func TestSwarmLogs(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 2})
	e := newSwarmEngine(t, c, "")
	inst, err := e.Install(t.Context(), engine.InstallOptions{App: "hello", Target: "swarm"})
	require.NoError(t, err)
	<-e.runs
	waitStatus(t, e, "hello", engine.StatusRunning)
	for _, name := range []string{"web", "db"} {
		s := mswarm.Service{ID: "svc-" + name}
		s.Spec.Name = inst.ContainerName
		if name != "web" {
			s.Spec.Name += "-" + name
		}
		s.Spec.Labels = map[string]string{contract.LabelStack: "stackhub-hello", contract.LabelService: name}
		c.Services = append(c.Services, s)
	}
	c.Logs = map[string]string{inst.ContainerName: "web on node-000\nweb on node-001\n", inst.ContainerName + "-db": "db ready\n"}

	read := func(opts engine.LogsOptions) string {
		t.Helper()
		rc, err := e.Logs(t.Context(), opts)
		require.NoError(t, err)
		defer rc.Close()
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, "web on node-000\nweb on node-001\n", read(engine.LogsOptions{Name: "hello"}))
	assert.Equal(t, "db ready\n", read(engine.LogsOptions{Name: "hello", Service: "db"}))
	_, err = e.Logs(t.Context(), engine.LogsOptions{Name: "hello", Service: "cache"})
	require.ErrorIs(t, err, engine.ErrNotFound)
	assert.Contains(t, engine.HintOf(err), "db, web")
}
