// Package swarmtest fakes the swarm part of the Engine API (swarm.API) with
// a simulated cluster of any size: nodes, services publishing ingress
// ports, tasks publishing host-mode ports on their nodes. Tests and
// benchmarks of the lease check use it where a real multi-node cluster
// cannot run. It imports the Docker API types only.
package swarmtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	adapter "github.com/stackhub/stackhub/engine/swarm"
)

// Cluster is a simulated swarm as its manager's Engine API shows it.
type Cluster struct {
	mu       sync.Mutex
	Manager  bool
	Nodes    []swarm.Node
	Services []swarm.Service
	Tasks    []swarm.Task
	Tokens   swarm.JoinTokens
	// Logs holds each service's log (by service name), as gathered from
	// all its tasks.
	Logs map[string]string
	// Calls counts the API calls made.
	Calls int
}

// Options size a simulated cluster.
type Options struct {
	// Nodes is how many nodes (the first is the leading manager).
	Nodes int
	// AppsPerNode is how many single-task services run on each node; each
	// publishes one ingress port, and every second one also a host-mode
	// port on its node.
	AppsPerNode int
	// FirstPort is the first published port; ingress ports come first,
	// then host-mode ports, all distinct.
	FirstPort int
}

// NewCluster builds a simulated cluster.
func NewCluster(o Options) *Cluster {
	c := &Cluster{Manager: true, Tokens: swarm.JoinTokens{Worker: "SWMTKN-1-worker-fake", Manager: "SWMTKN-1-manager-fake"}}
	for i := range o.Nodes {
		n := swarm.Node{ID: fmt.Sprintf("node%022d", i)}
		n.Version = swarm.Version{Index: uint64(10 + i)}
		n.Spec.Role, n.Spec.Availability = swarm.NodeRoleWorker, swarm.NodeAvailabilityActive
		n.Spec.Labels = map[string]string{"ssd": fmt.Sprint(i%2 == 0)}
		n.Description.Hostname = fmt.Sprintf("node-%03d", i)
		n.Description.Platform = swarm.Platform{Architecture: "x86_64", OS: "linux"}
		n.Description.Resources = swarm.Resources{NanoCPUs: 4e9, MemoryBytes: 8 << 30}
		n.Description.Engine.EngineVersion = "28.0.0"
		n.Status = swarm.NodeStatus{State: swarm.NodeStateReady, Addr: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)}
		if i == 0 {
			n.Spec.Role = swarm.NodeRoleManager
			n.ManagerStatus = &swarm.ManagerStatus{Leader: true, Reachability: swarm.ReachabilityReachable, Addr: n.Status.Addr + ":2377"}
		}
		c.Nodes = append(c.Nodes, n)
	}
	ingress := o.FirstPort
	host := o.FirstPort + o.Nodes*o.AppsPerNode
	for i, n := range c.Nodes {
		for j := range o.AppsPerNode {
			id := fmt.Sprintf("svc%03d%03d", i, j)
			s := swarm.Service{ID: id}
			s.Spec.Name = fmt.Sprintf("stackhub-app-%d-%d", i, j)
			s.Spec.Labels = map[string]string{"com.docker.stack.namespace": s.Spec.Name}
			s.Endpoint.Ports = []swarm.PortConfig{{Protocol: network.TCP, TargetPort: 8080, PublishedPort: uint32(ingress), PublishMode: swarm.PortConfigPublishModeIngress}}
			ingress++
			t := swarm.Task{ID: "task-" + id, ServiceID: id, NodeID: n.ID, DesiredState: swarm.TaskStateRunning}
			t.Status.State = swarm.TaskStateRunning
			if j%2 == 1 {
				t.Status.PortStatus.Ports = []swarm.PortConfig{{Protocol: network.TCP, TargetPort: 9090, PublishedPort: uint32(host), PublishMode: swarm.PortConfigPublishModeHost}}
				host++
			}
			c.Services = append(c.Services, s)
			c.Tasks = append(c.Tasks, t)
		}
	}
	return c
}

func (c *Cluster) call() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Calls++
	if !c.Manager {
		return cerrdefs.ErrUnavailable.WithMessage("This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.")
	}
	return nil
}

// Info reports the manager's swarm state.
func (c *Cluster) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Calls++
	var info system.Info
	if c.Manager && len(c.Nodes) > 0 {
		info.Swarm = swarm.Info{NodeID: c.Nodes[0].ID, NodeAddr: c.Nodes[0].Status.Addr,
			LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true,
			RemoteManagers: []swarm.Peer{{NodeID: c.Nodes[0].ID, Addr: c.Nodes[0].Status.Addr + ":2377"}},
			Cluster:        &swarm.ClusterInfo{ID: "cluster-fake"}}
	} else {
		info.Swarm = swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive}
	}
	return client.SystemInfoResult{Info: info}, nil
}

// SwarmInspect reports the join tokens.
func (c *Cluster) SwarmInspect(context.Context, client.SwarmInspectOptions) (client.SwarmInspectResult, error) {
	if err := c.call(); err != nil {
		return client.SwarmInspectResult{}, err
	}
	return client.SwarmInspectResult{Swarm: swarm.Swarm{JoinTokens: c.Tokens}}, nil
}

// NodeList lists the nodes.
func (c *Cluster) NodeList(context.Context, client.NodeListOptions) (client.NodeListResult, error) {
	if err := c.call(); err != nil {
		return client.NodeListResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return client.NodeListResult{Items: append([]swarm.Node(nil), c.Nodes...)}, nil
}

func (c *Cluster) find(id string) int {
	for i, n := range c.Nodes {
		if n.ID == id {
			return i
		}
	}
	return -1
}

// NodeInspect returns one node.
func (c *Cluster) NodeInspect(_ context.Context, id string, _ client.NodeInspectOptions) (client.NodeInspectResult, error) {
	if err := c.call(); err != nil {
		return client.NodeInspectResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.find(id)
	if i < 0 {
		return client.NodeInspectResult{}, cerrdefs.ErrNotFound.WithMessage("node " + id + " not found")
	}
	return client.NodeInspectResult{Node: c.Nodes[i]}, nil
}

// NodeUpdate replaces a node's spec; the version must match.
func (c *Cluster) NodeUpdate(_ context.Context, id string, o client.NodeUpdateOptions) (client.NodeUpdateResult, error) {
	if err := c.call(); err != nil {
		return client.NodeUpdateResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.find(id)
	if i < 0 {
		return client.NodeUpdateResult{}, cerrdefs.ErrNotFound.WithMessage("node " + id + " not found")
	}
	if o.Version.Index != c.Nodes[i].Version.Index {
		return client.NodeUpdateResult{}, cerrdefs.ErrInvalidArgument.WithMessage("update out of sequence")
	}
	c.Nodes[i].Spec = o.Spec
	c.Nodes[i].Version.Index++
	return client.NodeUpdateResult{}, nil
}

// NodeRemove removes a node that is down, or any with force.
func (c *Cluster) NodeRemove(_ context.Context, id string, o client.NodeRemoveOptions) (client.NodeRemoveResult, error) {
	if err := c.call(); err != nil {
		return client.NodeRemoveResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.find(id)
	if i < 0 {
		return client.NodeRemoveResult{}, cerrdefs.ErrNotFound.WithMessage("node " + id + " not found")
	}
	if c.Nodes[i].Status.State != swarm.NodeStateDown && !o.Force {
		return client.NodeRemoveResult{}, cerrdefs.ErrFailedPrecondition.WithMessage("node " + id + " is not down and can't be removed")
	}
	c.Nodes = append(c.Nodes[:i], c.Nodes[i+1:]...)
	return client.NodeRemoveResult{}, nil
}

// ServiceList lists the services, filtered by label key=value.
func (c *Cluster) ServiceList(_ context.Context, o client.ServiceListOptions) (client.ServiceListResult, error) {
	if err := c.call(); err != nil {
		return client.ServiceListResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []swarm.Service
	for _, s := range c.Services {
		if matches(o.Filters, s.Spec.Labels) {
			out = append(out, s)
		}
	}
	return client.ServiceListResult{Items: out}, nil
}

// matches applies label=k=v filters (the only ones the adapter uses).
func matches(f client.Filters, labels map[string]string) bool {
	for kv := range f["label"] {
		k, v, _ := strings.Cut(kv, "=")
		if labels[k] != v {
			return false
		}
	}
	return true
}

// ServiceRemove removes a service and its tasks.
func (c *Cluster) ServiceRemove(_ context.Context, id string, _ client.ServiceRemoveOptions) (client.ServiceRemoveResult, error) {
	if err := c.call(); err != nil {
		return client.ServiceRemoveResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.Services {
		if s.ID == id {
			c.Services = append(c.Services[:i], c.Services[i+1:]...)
			var tasks []swarm.Task
			for _, t := range c.Tasks {
				if t.ServiceID != id {
					tasks = append(tasks, t)
				}
			}
			c.Tasks = tasks
			return client.ServiceRemoveResult{}, nil
		}
	}
	return client.ServiceRemoveResult{}, cerrdefs.ErrNotFound.WithMessage("service " + id + " not found")
}

// TaskList lists the tasks (filters are ignored: every task is running).
func (c *Cluster) TaskList(context.Context, client.TaskListOptions) (client.TaskListResult, error) {
	if err := c.call(); err != nil {
		return client.TaskListResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return client.TaskListResult{Items: append([]swarm.Task(nil), c.Tasks...)}, nil
}

// NetworkList lists no networks.
func (c *Cluster) NetworkList(context.Context, client.NetworkListOptions) (client.NetworkListResult, error) {
	return client.NetworkListResult{}, c.call()
}

// NetworkRemove removes nothing.
func (c *Cluster) NetworkRemove(context.Context, string, client.NetworkRemoveOptions) (client.NetworkRemoveResult, error) {
	return client.NetworkRemoveResult{}, c.call()
}

// SecretList lists no secrets.
func (c *Cluster) SecretList(context.Context, client.SecretListOptions) (client.SecretListResult, error) {
	return client.SecretListResult{}, c.call()
}

// SecretRemove removes nothing.
func (c *Cluster) SecretRemove(context.Context, string, client.SecretRemoveOptions) (client.SecretRemoveResult, error) {
	return client.SecretRemoveResult{}, c.call()
}

// ServiceLogs returns the service's Logs entry as the daemon sends it
// (stdout frames of the multiplexed stream); tail and follow are ignored.
func (c *Cluster) ServiceLogs(_ context.Context, id string, _ client.ServiceLogsOptions) (client.ServiceLogsResult, error) {
	if err := c.call(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.Services {
		if s.ID == id || s.Spec.Name == id {
			// One stdout frame: stream 1, three zero bytes, the length.
			msg := c.Logs[s.Spec.Name]
			frame := []byte{1, 0, 0, 0, 0, 0, 0, 0}
			binary.BigEndian.PutUint32(frame[4:], uint32(len(msg)))
			return io.NopCloser(bytes.NewReader(append(frame, msg...))), nil
		}
	}
	return nil, cerrdefs.ErrNotFound.WithMessage("service " + id + " not found")
}

var _ adapter.API = (*Cluster)(nil)
