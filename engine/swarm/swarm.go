// Package swarm is the engine's adapter to Docker Swarm mode, through the
// Engine API of the manager StackHub runs on: the cluster's nodes (labels,
// resources, state), their availability and removal, join tokens, the
// ports swarm services publish across the cluster, a service's logs from
// every node, and the removal of a project's stack. It is the only engine package that speaks the swarm
// endpoints; it imports neither the store nor cnab-go.
package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
)

// API is the part of the Engine API the adapter uses; *client.Client
// implements it.
type API interface {
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	SwarmInspect(ctx context.Context, options client.SwarmInspectOptions) (client.SwarmInspectResult, error)
	NodeList(ctx context.Context, options client.NodeListOptions) (client.NodeListResult, error)
	NodeInspect(ctx context.Context, nodeID string, options client.NodeInspectOptions) (client.NodeInspectResult, error)
	NodeUpdate(ctx context.Context, nodeID string, options client.NodeUpdateOptions) (client.NodeUpdateResult, error)
	NodeRemove(ctx context.Context, nodeID string, options client.NodeRemoveOptions) (client.NodeRemoveResult, error)
	ServiceList(ctx context.Context, options client.ServiceListOptions) (client.ServiceListResult, error)
	ServiceRemove(ctx context.Context, serviceID string, options client.ServiceRemoveOptions) (client.ServiceRemoveResult, error)
	TaskList(ctx context.Context, options client.TaskListOptions) (client.TaskListResult, error)
	NetworkList(ctx context.Context, options client.NetworkListOptions) (client.NetworkListResult, error)
	NetworkRemove(ctx context.Context, networkID string, options client.NetworkRemoveOptions) (client.NetworkRemoveResult, error)
	SecretList(ctx context.Context, options client.SecretListOptions) (client.SecretListResult, error)
	SecretRemove(ctx context.Context, id string, options client.SecretRemoveOptions) (client.SecretRemoveResult, error)
	ServiceLogs(ctx context.Context, serviceID string, options client.ServiceLogsOptions) (client.ServiceLogsResult, error)
}

var _ API = (*client.Client)(nil)

// Cluster is the engine.Swarm implementation over the Engine API.
type Cluster struct {
	api API
}

var _ engine.Swarm = (*Cluster)(nil)

// New returns the adapter over api (engine/docker's client).
func New(api API) *Cluster { return &Cluster{api: api} }

// State says whether the host is in a swarm and manages it.
func (c *Cluster) State(ctx context.Context) (engine.SwarmState, error) {
	info, err := c.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return engine.SwarmState{}, wrap(err, "docker info")
	}
	s := info.Info.Swarm
	st := engine.SwarmState{
		Active:  s.LocalNodeState == swarm.LocalNodeStateActive,
		Manager: s.LocalNodeState == swarm.LocalNodeStateActive && s.ControlAvailable,
		NodeID:  s.NodeID,
	}
	if s.Cluster != nil {
		st.ClusterID = s.Cluster.ID
	}
	return st, nil
}

// Nodes lists the cluster's nodes with how many tasks run on each.
func (c *Cluster) Nodes(ctx context.Context) ([]engine.Node, error) {
	list, err := c.api.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, wrap(err, "list nodes")
	}
	tasks := map[string]int{}
	running := make(client.Filters).Add("desired-state", "running")
	if tl, err := c.api.TaskList(ctx, client.TaskListOptions{Filters: running}); err == nil {
		for _, t := range tl.Items {
			if t.Status.State == swarm.TaskStateRunning {
				tasks[t.NodeID]++
			}
		}
	}
	out := make([]engine.Node, 0, len(list.Items))
	for _, n := range list.Items {
		node := convertNode(n)
		node.Tasks = tasks[n.ID]
		out = append(out, node)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hostname+out[i].ID < out[j].Hostname+out[j].ID })
	return out, nil
}

func convertNode(n swarm.Node) engine.Node {
	out := engine.Node{
		ID: n.ID, Hostname: n.Description.Hostname, Role: string(n.Spec.Role),
		Availability: string(n.Spec.Availability), State: string(n.Status.State), Message: n.Status.Message,
		Addr: n.Status.Addr, Labels: n.Spec.Labels,
		NanoCPUs: n.Description.Resources.NanoCPUs, MemoryBytes: n.Description.Resources.MemoryBytes,
		Architecture: n.Description.Platform.Architecture, OS: n.Description.Platform.OS,
		EngineVersion: n.Description.Engine.EngineVersion,
	}
	if n.ManagerStatus != nil {
		out.Leader = n.ManagerStatus.Leader
	}
	return out
}

// SetAvailability sets a node's availability, keeping the rest of its spec.
func (c *Cluster) SetAvailability(ctx context.Context, node, availability string) error {
	res, err := c.api.NodeInspect(ctx, node, client.NodeInspectOptions{})
	if err != nil {
		return wrap(err, "inspect node "+node)
	}
	spec := res.Node.Spec
	spec.Availability = swarm.NodeAvailability(availability)
	if _, err := c.api.NodeUpdate(ctx, node, client.NodeUpdateOptions{Version: res.Node.Version, Spec: spec}); err != nil {
		return wrap(err, "update node "+node)
	}
	return nil
}

// RemoveNode removes a node from the cluster.
func (c *Cluster) RemoveNode(ctx context.Context, node string, force bool) error {
	if _, err := c.api.NodeRemove(ctx, node, client.NodeRemoveOptions{Force: force}); err != nil {
		// The daemon answers 400 (not 409) for a node that is still up.
		if cerrdefs.IsInvalidArgument(err) || cerrdefs.IsFailedPrecondition(err) {
			return fmt.Errorf("remove node %s: %w: %w", node, engine.ErrConflict, err)
		}
		return wrap(err, "remove node "+node)
	}
	return nil
}

// Join returns the join command of a worker, or of a manager.
func (c *Cluster) Join(ctx context.Context, manager bool) (engine.JoinInfo, error) {
	sw, err := c.api.SwarmInspect(ctx, client.SwarmInspectOptions{})
	if err != nil {
		return engine.JoinInfo{}, wrap(err, "inspect swarm")
	}
	info, err := c.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return engine.JoinInfo{}, wrap(err, "docker info")
	}
	addr := info.Info.Swarm.NodeAddr
	for _, p := range info.Info.Swarm.RemoteManagers {
		if p.NodeID == info.Info.Swarm.NodeID && p.Addr != "" {
			addr = p.Addr
		}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil && addr != "" {
		addr = net.JoinHostPort(addr, "2377")
	}
	j := engine.JoinInfo{Role: "worker", Token: sw.Swarm.JoinTokens.Worker, Manager: addr}
	if manager {
		j.Role, j.Token = "manager", sw.Swarm.JoinTokens.Manager
	}
	j.Command = fmt.Sprintf("docker swarm join --token %s %s", j.Token, addr)
	return j, nil
}

// PublishedPorts lists the ports swarm services publish: every endpoint
// port (an ingress port holds on every node), and the host-mode ports the
// tasks actually bound on their nodes (PortStatus), named by node.
func (c *Cluster) PublishedPorts(ctx context.Context) ([]engine.PublishedPort, error) {
	services, err := c.api.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, wrap(err, "list services")
	}
	var out []engine.PublishedPort
	names := map[string]string{}
	for _, s := range services.Items {
		names[s.ID] = s.Spec.Name
		ports := s.Endpoint.Ports
		if len(ports) == 0 && s.Spec.EndpointSpec != nil {
			ports = s.Spec.EndpointSpec.Ports
		}
		for _, p := range ports {
			if p.PublishedPort == 0 {
				continue
			}
			out = append(out, engine.PublishedPort{Port: int(p.PublishedPort), Protocol: protocol(p),
				Container: "swarm service " + s.Spec.Name})
		}
	}
	running := make(client.Filters).Add("desired-state", "running")
	tasks, err := c.api.TaskList(ctx, client.TaskListOptions{Filters: running})
	if err != nil {
		return nil, wrap(err, "list tasks")
	}
	for _, t := range tasks.Items {
		for _, p := range t.Status.PortStatus.Ports {
			if p.PublishedPort == 0 || p.PublishMode != swarm.PortConfigPublishModeHost {
				continue
			}
			out = append(out, engine.PublishedPort{Port: int(p.PublishedPort), Protocol: protocol(p),
				Container: fmt.Sprintf("swarm service %s on node %s", names[t.ServiceID], t.NodeID)})
		}
	}
	return out, nil
}

func protocol(p swarm.PortConfig) string {
	if p.Protocol == "" {
		return "tcp"
	}
	return string(p.Protocol)
}

// RemoveStack removes the services, then the networks and secrets, of a
// project.
func (c *Cluster) RemoveStack(ctx context.Context, project string) error {
	f := make(client.Filters).Add("label", contract.LabelStack+"="+project)
	services, err := c.api.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	if err != nil {
		return wrap(err, "list services of "+project)
	}
	var errs []error
	for _, s := range services.Items {
		if _, err := c.api.ServiceRemove(ctx, s.ID, client.ServiceRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, wrap(err, "remove service "+s.Spec.Name))
		}
	}
	nets, err := c.api.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		errs = append(errs, wrap(err, "list networks of "+project))
	}
	for _, n := range nets.Items {
		if _, err := c.api.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, wrap(err, "remove network "+n.Name))
		}
	}
	// Secrets are made from the bundle and its parameters: they go with
	// the stack, whether its data is kept or not.
	secrets, err := c.api.SecretList(ctx, client.SecretListOptions{Filters: f})
	if err != nil {
		errs = append(errs, wrap(err, "list secrets of "+project))
	}
	for _, sec := range secrets.Items {
		if _, err := c.api.SecretRemove(ctx, sec.ID, client.SecretRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, wrap(err, "remove secret "+sec.Spec.Name))
		}
	}
	return errors.Join(errs...)
}

// wrap classifies a Docker error: a host outside swarm mode is
// engine.ErrSwarmInactive.
func wrap(err error, op string) error {
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsUnavailable(err) || cerrdefs.IsFailedPrecondition(err) && isNotManager(err):
		return fmt.Errorf("%s: %w: %w", op, engine.ErrSwarmInactive, err)
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%s: %w: %w", op, engine.ErrNotFound, err)
	case cerrdefs.IsConflict(err):
		return fmt.Errorf("%s: %w: %w", op, engine.ErrConflict, err)
	}
	if isNotManager(err) {
		return fmt.Errorf("%s: %w: %w", op, engine.ErrSwarmInactive, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// ServiceLogs returns a service's log as plain text: the lines of all its
// tasks, on whichever node they ran (swarm gathers them on the manager),
// the last tail of them (0: all), following new ones with follow.
func (c *Cluster) ServiceLogs(ctx context.Context, service string, tail int, follow bool) (io.ReadCloser, error) {
	opts := client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow}
	if tail > 0 {
		opts.Tail = fmt.Sprint(tail)
	}
	rc, err := c.api.ServiceLogs(ctx, service, opts)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("logs of service %s: %w: %w", service, engine.ErrNotFound, err)
		}
		return nil, wrap(err, "logs of service "+service)
	}
	pr, pw := io.Pipe()
	go func() {
		defer rc.Close()
		_, err := stdcopy.StdCopy(pw, pw, rc)
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// dataNodeProblem says why a service pinned to the node holding its data
// cannot run there, or "" when the node is ready and active (the tasks
// are then merely starting).
func dataNodeProblem(host string, n swarm.Node) string {
	switch {
	case n.ID == "":
		return fmt.Sprintf("node %s holding its data has left the cluster", host)
	case n.Status.State != swarm.NodeStateReady:
		return fmt.Sprintf("node %s holding its data is %s", host, n.Status.State)
	case n.Spec.Availability != swarm.NodeAvailabilityActive:
		return fmt.Sprintf("node %s holding its data is unavailable (%s)", host, n.Spec.Availability)
	}
	return ""
}

// isNotManager recognises the daemon's answer outside swarm mode ("This
// node is not a swarm manager"), which is a 503.
func isNotManager(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "not a swarm manager") || strings.Contains(err.Error(), "not part of a swarm"))
}

// StackServices lists a project's services, their replicas and the
// hostnames of the nodes their running tasks are on.
func (c *Cluster) StackServices(ctx context.Context, project string) ([]engine.SwarmService, error) {
	f := make(client.Filters).Add("label", contract.LabelStack+"="+project)
	services, err := c.api.ServiceList(ctx, client.ServiceListOptions{Filters: f, Status: true})
	if err != nil {
		return nil, wrap(err, "list services of "+project)
	}
	if len(services.Items) == 0 {
		return []engine.SwarmService{}, nil
	}
	nodes, err := c.api.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, wrap(err, "list nodes")
	}
	hostname := map[string]string{}
	byID := map[string]swarm.Node{}
	for _, n := range nodes.Items {
		hostname[n.ID] = n.Description.Hostname
		byID[n.ID] = n
	}
	tasks, err := c.api.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("desired-state", "running")})
	if err != nil {
		return nil, wrap(err, "list tasks")
	}
	out := make([]engine.SwarmService, 0, len(services.Items))
	for _, s := range services.Items {
		ss := engine.SwarmService{Name: s.Spec.Name, Service: s.Spec.Labels[contract.LabelService], Nodes: []string{}}
		if r := s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
			ss.Replicas = *r.Replicas
		}
		if s.UpdateStatus != nil {
			ss.Update = string(s.UpdateStatus.State)
		}
		for _, t := range tasks.Items {
			if t.ServiceID != s.ID || t.Status.State != swarm.TaskStateRunning {
				continue
			}
			ss.Running++
			h := hostname[t.NodeID]
			if h == "" {
				h = t.NodeID
			}
			if !slices.Contains(ss.Nodes, h) {
				ss.Nodes = append(ss.Nodes, h)
			}
		}
		sort.Strings(ss.Nodes)
		if id := s.Spec.Labels[contract.LabelNode]; id != "" {
			ss.DataNode = hostname[id]
			if ss.DataNode == "" {
				ss.DataNode = id
			}
			if ss.Running < ss.Replicas {
				ss.Problem = dataNodeProblem(ss.DataNode, byID[id])
			}
		}
		out = append(out, ss)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
