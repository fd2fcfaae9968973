package swarm_test

import (
	"testing"

	"github.com/moby/moby/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	adapter "github.com/stackhub/stackhub/engine/swarm"
	"github.com/stackhub/stackhub/engine/swarm/swarmtest"
)

func TestNodes(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 3, AppsPerNode: 2, FirstPort: 20000})
	nodes, err := adapter.New(c).Nodes(t.Context())
	require.NoError(t, err)
	require.Len(t, nodes, 3)
	assert.Equal(t, engine.Node{ID: c.Nodes[0].ID, Hostname: "node-000", Role: "manager", Leader: true, Availability: "active",
		State: "ready", Addr: "10.1.0.1", Labels: map[string]string{"ssd": "true"}, NanoCPUs: 4e9, MemoryBytes: 8 << 30,
		Architecture: "x86_64", OS: "linux", EngineVersion: "28.0.0", Tasks: 2}, nodes[0])
	assert.Equal(t, "worker", nodes[1].Role)
	assert.False(t, nodes[1].Leader)
}

func TestPublishedPorts(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 2, AppsPerNode: 2, FirstPort: 20000})
	got, err := adapter.New(c).PublishedPorts(t.Context())
	require.NoError(t, err)
	var ports []int
	for _, p := range got {
		ports = append(ports, p.Port)
		assert.Equal(t, "tcp", p.Protocol)
	}
	// Four ingress ports (one per service), two host-mode ports (every
	// second service's task, on its node).
	assert.ElementsMatch(t, []int{20000, 20001, 20002, 20003, 20004, 20005}, ports)
	assert.Contains(t, got, engine.PublishedPort{Port: 20004, Protocol: "tcp", Container: "swarm service stackhub-app-0-1 on node " + c.Nodes[0].ID})
	assert.Equal(t, 2, c.Calls, "one service listing, one task listing, whatever the cluster's size")
}

func TestSetAvailabilityKeepsTheSpec(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 2})
	a := adapter.New(c)
	require.NoError(t, a.SetAvailability(t.Context(), c.Nodes[1].ID, "drain"))
	assert.Equal(t, swarm.NodeAvailabilityDrain, c.Nodes[1].Spec.Availability)
	assert.Equal(t, map[string]string{"ssd": "false"}, c.Nodes[1].Spec.Labels)
	assert.Equal(t, swarm.NodeRoleWorker, c.Nodes[1].Spec.Role)
}

func TestRemoveNodeStillUp(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 2})
	a := adapter.New(c)
	err := a.RemoveNode(t.Context(), c.Nodes[1].ID, false)
	require.ErrorIs(t, err, engine.ErrConflict)
	require.NoError(t, a.RemoveNode(t.Context(), c.Nodes[1].ID, true))
	assert.Len(t, c.Nodes, 1)
}

func TestJoin(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 1})
	tests := []struct {
		name    string
		manager bool
		want    engine.JoinInfo
	}{
		{"worker", false, engine.JoinInfo{Role: "worker", Token: "SWMTKN-1-worker-fake", Manager: "10.1.0.1:2377",
			Command: "docker swarm join --token SWMTKN-1-worker-fake 10.1.0.1:2377"}},
		{"manager", true, engine.JoinInfo{Role: "manager", Token: "SWMTKN-1-manager-fake", Manager: "10.1.0.1:2377",
			Command: "docker swarm join --token SWMTKN-1-manager-fake 10.1.0.1:2377"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := adapter.New(c).Join(t.Context(), tt.manager)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNotAManager(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 1})
	c.Manager = false
	a := adapter.New(c)
	st, err := a.State(t.Context())
	require.NoError(t, err)
	assert.False(t, st.Manager)
	_, err = a.Nodes(t.Context())
	require.ErrorIs(t, err, engine.ErrSwarmInactive)
	_, err = a.PublishedPorts(t.Context())
	require.ErrorIs(t, err, engine.ErrSwarmInactive)
}

func TestStackServices(t *testing.T) {
	c := swarmtest.NewCluster(swarmtest.Options{Nodes: 2, AppsPerNode: 2, FirstPort: 20000})
	got, err := adapter.New(c).StackServices(t.Context(), "stackhub-app-1-0")
	require.NoError(t, err)
	assert.Equal(t, []engine.SwarmService{{Name: "stackhub-app-1-0", Running: 1, Nodes: []string{"node-001"}}}, got)
	got, err = adapter.New(c).StackServices(t.Context(), "nothing")
	require.NoError(t, err)
	assert.Empty(t, got)
}
