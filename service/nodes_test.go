package service

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/service/apitype"
	"github.com/stackhub/stackhub/service/servicetest"
)

func TestNodeRoutes(t *testing.T) {
	eng := servicetest.NewEngine()
	s, _ := newTestServer(t, eng)

	res := do(t, s, request{method: http.MethodGet, target: "/api/v1/nodes"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	var list apitype.NodeList
	require.NoError(t, json.Unmarshal(res.body, &list))
	require.Len(t, list.Nodes, 2)
	assert.Equal(t, apitype.Node{ID: "n2worker000000000000000000", Hostname: "worker-1", Role: "worker", Availability: "active",
		State: "ready", Addr: "192.0.2.11", Labels: map[string]string{"ssd": "true"}, CPUs: 2, MemoryBytes: 4 << 30,
		Architecture: "aarch64", OS: "linux", EngineVersion: "28.0.0"}, list.Nodes[1])

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/nodes/worker-1/availability", body: `{"availability":"drain"}`, ctype: "application/json"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Contains(t, string(res.body), `"availability":"drain"`)
	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/nodes/worker-1/availability", body: `{"availability":"asleep"}`, ctype: "application/json"})
	assert.Equal(t, http.StatusBadRequest, res.status)

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/nodes/join", body: `{"manager":true}`, ctype: "application/json"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	var j apitype.JoinCommand
	require.NoError(t, json.Unmarshal(res.body, &j))
	assert.Equal(t, "manager", j.Role)
	assert.Equal(t, "docker swarm join --token SWMTKN-1-fake-manager 192.0.2.10:2377", j.Command)

	res = do(t, s, request{method: http.MethodDelete, target: "/api/v1/nodes/box"})
	assert.Equal(t, http.StatusConflict, res.status, "the leading manager stays")
	res = do(t, s, request{method: http.MethodDelete, target: "/api/v1/nodes/worker-1?force=true"})
	assert.Equal(t, http.StatusNoContent, res.status)
	res = do(t, s, request{method: http.MethodDelete, target: "/api/v1/nodes/worker-1"})
	assert.Equal(t, http.StatusNotFound, res.status)
}

func TestSwarmInstallationShowsItsServices(t *testing.T) {
	inst := redmine(engine.StatusRunning, "")
	inst.Labels = map[string]string{contract.LabelTarget: contract.TargetSwarm}
	eng := &servicetest.Engine{
		GetFunc: func(context.Context, string) (*engine.Installation, error) { return inst, nil },
		SwarmServicesFunc: func(context.Context, string) ([]engine.SwarmService, error) {
			return []engine.SwarmService{{Name: "stackhub-redmine", Service: "web", Replicas: 1, Running: 1, Nodes: []string{"worker-1"}}}, nil
		},
	}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodGet, target: "/api/v1/installations/redmine"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	var got apitype.Installation
	require.NoError(t, json.Unmarshal(res.body, &got))
	assert.Equal(t, "swarm", got.Target)
	assert.Equal(t, []apitype.SwarmService{{Name: "stackhub-redmine", Service: "web", Replicas: 1, Running: 1, Nodes: []string{"worker-1"}}}, got.Swarm)

	// Without the manager's answer the installation still shows.
	eng.SwarmServicesFunc = func(context.Context, string) ([]engine.SwarmService, error) {
		return nil, engine.ErrSwarmInactive
	}
	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/installations/redmine"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.NotContains(t, string(res.body), `"swarm":[`)
}
