package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine/contract"
)

// Nodes of a Docker Swarm cluster. StackHub runs on a swarm manager and
// uses swarm mode as the cluster manager: it lists, drains, activates and
// removes nodes and prints the command that joins a new one; it never
// schedules containers itself.

// Swarm is the cluster the engine's Docker host manages; engine/swarm
// implements it over the Engine API. Every method but State fails with
// ErrSwarmInactive when the host is not a swarm manager.
type Swarm interface {
	// State says whether the host is in a swarm and manages it.
	State(ctx context.Context) (SwarmState, error)
	// Nodes lists the cluster's nodes, sorted by hostname.
	Nodes(ctx context.Context) ([]Node, error)
	// SetAvailability sets a node's availability (active, pause, drain).
	SetAvailability(ctx context.Context, node, availability string) error
	// RemoveNode removes a node from the cluster; force removes one that
	// still answers.
	RemoveNode(ctx context.Context, node string, force bool) error
	// Join returns what a new node runs to join the cluster.
	Join(ctx context.Context, manager bool) (JoinInfo, error)
	// PublishedPorts lists every port a swarm service publishes: ingress
	// ports on every node, host-mode ports on the nodes their tasks run on.
	PublishedPorts(ctx context.Context) ([]PublishedPort, error)
	// RemoveStack removes the services, networks and secrets of a
	// project's swarm stack (volumes are the Docker adapter's
	// RemoveProject's).
	RemoveStack(ctx context.Context, project string) error
	// StackServices lists a project's swarm services with their replicas
	// and the nodes their running tasks are on.
	StackServices(ctx context.Context, project string) ([]SwarmService, error)
	// ServiceLogs returns a swarm service's log, from all its tasks on
	// every node, as plain text.
	ServiceLogs(ctx context.Context, service string, tail int, follow bool) (io.ReadCloser, error)
}

// SwarmService is one swarm service of an installation, as the manager
// sees it.
type SwarmService struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	// Replicas is what the service asks for (0: stopped); Running how many
	// of its tasks run.
	Replicas uint64 `json:"replicas"`
	Running  uint64 `json:"running"`
	// Nodes are the hostnames of the nodes its running tasks are on.
	Nodes []string `json:"nodes"`
	// Update is the state of its last rolling update, if any (completed,
	// rollback_completed, ...).
	Update string `json:"update,omitempty"`
	// DataNode is the hostname of the node holding the service's named
	// volumes, where it is pinned (empty: it holds no data, and swarm
	// places it anywhere).
	DataNode string `json:"dataNode,omitempty"`
	// Problem says why the service cannot run as asked, when the cause is
	// known: the node holding its data is down, or drained.
	Problem string `json:"problem,omitempty"`
}

// SwarmState is the host's place in a swarm.
type SwarmState struct {
	// Active: the host is a swarm node; Manager: it manages the cluster.
	Active, Manager bool
	NodeID          string
	ClusterID       string
}

// Node is one swarm node as the manager sees it.
type Node struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	// Role is manager or worker; Leader marks the leading manager.
	Role   string `json:"role"`
	Leader bool   `json:"leader,omitempty"`
	// Availability is active, pause or drain (what the scheduler may do).
	Availability string `json:"availability"`
	// State is ready, down, disconnected or unknown (what the node is).
	State   string            `json:"state"`
	Message string            `json:"message,omitempty"`
	Addr    string            `json:"addr,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// NanoCPUs and MemoryBytes are what the node offers the scheduler.
	NanoCPUs      int64  `json:"nanoCpus"`
	MemoryBytes   int64  `json:"memoryBytes"`
	Architecture  string `json:"architecture,omitempty"`
	OS            string `json:"os,omitempty"`
	EngineVersion string `json:"engineVersion,omitempty"`
	// Tasks is how many tasks run on the node (0 when not known).
	Tasks int `json:"tasks"`
}

// JoinInfo is what a new node runs to join the cluster. Token is a
// secret: whoever holds it can join a node and receive the apps' tasks.
type JoinInfo struct {
	Role    string `json:"role"`
	Token   string `json:"token"`
	Manager string `json:"manager"`
	Command string `json:"command"`
}

// ErrSwarmInactive reports a Docker host that is not a swarm manager.
var ErrSwarmInactive = errors.New("this Docker host is not a swarm manager")

// Node availabilities.
const (
	AvailabilityActive = "active"
	AvailabilityPause  = "pause"
	AvailabilityDrain  = "drain"
)

// swarmUnavailable is the user's error when swarm mode is off or absent.
func swarmUnavailable(err error) error {
	return &UserError{Msg: "this server does not manage a swarm cluster", Kind: ErrConflict,
		Hint: "run `docker swarm init` on the StackHub host (it becomes the manager), then add nodes with `stackhub node add`",
		Err:  fmt.Errorf("%w: %w", ErrSwarmInactive, err)}
}

// swarm returns the Swarm adapter, or the user's error when there is none.
func (e *Engine) swarm() (Swarm, error) {
	if e.deps.Swarm == nil {
		return nil, swarmUnavailable(errors.New("no swarm adapter"))
	}
	return e.deps.Swarm, nil
}

// Nodes lists the swarm cluster's nodes.
func (e *Engine) Nodes(ctx context.Context) ([]Node, error) {
	sw, err := e.swarm()
	if err != nil {
		return nil, err
	}
	nodes, err := sw.Nodes(ctx)
	if errors.Is(err, ErrSwarmInactive) {
		return nil, swarmUnavailable(err)
	}
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Hostname+nodes[i].ID < nodes[j].Hostname+nodes[j].ID })
	return nodes, nil
}

// node finds a node by ID, ID prefix or hostname.
func (e *Engine) node(ctx context.Context, ref string) (Node, error) {
	if strings.TrimSpace(ref) == "" {
		return Node{}, NewUserError(ErrInvalid, "a node is required", "name it by hostname or ID (stackhub node list)")
	}
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return Node{}, err
	}
	var hits []Node
	for _, n := range nodes {
		if n.ID == ref || n.Hostname == ref {
			return n, nil
		}
		if len(ref) >= 4 && strings.HasPrefix(n.ID, ref) {
			hits = append(hits, n)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return Node{}, NewUserError(ErrNotFound, fmt.Sprintf("no node %q in the cluster", ref), "list nodes with `stackhub node list`")
	}
	return Node{}, NewUserError(ErrInvalid, fmt.Sprintf("node %q is ambiguous: %d nodes match", ref, len(hits)), "give more of its ID, or its hostname")
}

// SetNodeAvailability drains, pauses or activates a node; draining moves
// its tasks to the other nodes (swarm reschedules them where their
// placement allows).
func (e *Engine) SetNodeAvailability(ctx context.Context, ref, availability string) (*Node, error) {
	switch availability {
	case AvailabilityActive, AvailabilityPause, AvailabilityDrain:
	default:
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("availability %q is not one of active, pause, drain", availability), "")
	}
	n, err := e.node(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := e.deps.Swarm.SetAvailability(ctx, n.ID, availability); err != nil {
		return nil, fmt.Errorf("set node %s %s: %w", n.Hostname, availability, err)
	}
	e.log.Info("node availability changed", "node", n.Hostname, "id", n.ID, "availability", availability)
	n.Availability = availability
	return &n, nil
}

// RemoveNode removes a node from the cluster. A node that still answers
// must be drained and have left (docker swarm leave) first, unless force.
func (e *Engine) RemoveNode(ctx context.Context, ref string, force bool) error {
	n, err := e.node(ctx, ref)
	if err != nil {
		return err
	}
	if n.Leader {
		return NewUserError(ErrConflict, fmt.Sprintf("node %s is the leading manager, where StackHub runs", n.Hostname), "demote it or move StackHub first")
	}
	if err := e.deps.Swarm.RemoveNode(ctx, n.ID, force); err != nil {
		if errors.Is(err, ErrConflict) {
			return &UserError{Msg: fmt.Sprintf("node %s is still part of the cluster", n.Hostname),
				Hint: fmt.Sprintf("drain it (stackhub node drain %s), run `docker swarm leave` on it, then remove it; or pass --force", n.Hostname), Err: err}
		}
		return fmt.Errorf("remove node %s: %w", n.Hostname, err)
	}
	e.log.Info("node removed", "node", n.Hostname, "id", n.ID)
	return nil
}

// NodeJoin returns the command that joins a new worker (or manager) node.
// The token in it is a secret; it is never logged.
func (e *Engine) NodeJoin(ctx context.Context, manager bool) (*JoinInfo, error) {
	sw, err := e.swarm()
	if err != nil {
		return nil, err
	}
	j, err := sw.Join(ctx, manager)
	if errors.Is(err, ErrSwarmInactive) {
		return nil, swarmUnavailable(err)
	}
	if err != nil {
		return nil, fmt.Errorf("join command: %w", err)
	}
	e.log.Info("join command handed out", "role", j.Role)
	return &j, nil
}

// target is the deploy target of an install: the option, else the
// server's default, else compose.
func (e *Engine) target(opt string) string {
	switch {
	case opt != "":
		return opt
	case e.cfg.DefaultTarget != "":
		return e.cfg.DefaultTarget
	}
	return contract.TargetCompose
}

// checkTarget refuses a swarm install on a host that manages no swarm.
func (e *Engine) checkTarget(ctx context.Context, target string) error {
	if target != contract.TargetSwarm {
		return nil
	}
	sw, err := e.swarm()
	if err != nil {
		return err
	}
	st, err := sw.State(ctx)
	if err != nil {
		return fmt.Errorf("swarm state: %w", err)
	}
	if !st.Manager {
		return swarmUnavailable(errors.New("swarm inactive"))
	}
	return nil
}

// TargetOf is an installation's deploy target.
func TargetOf(inst *Installation) string {
	if t := inst.Labels[contract.LabelTarget]; t != "" {
		return t
	}
	return contract.TargetCompose
}

// publishedPorts lists the host ports containers publish on this host
// and, when the host manages a swarm, every port a swarm service
// publishes anywhere in the cluster: the lease table is cluster-wide.
func (e *Engine) publishedPorts(ctx context.Context) ([]PublishedPort, error) {
	out, err := e.deps.Docker.PublishedPorts(ctx)
	if err != nil {
		return nil, err
	}
	if e.deps.Swarm == nil {
		return out, nil
	}
	sp, err := e.deps.Swarm.PublishedPorts(ctx)
	if errors.Is(err, ErrSwarmInactive) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list swarm services' ports: %w", err)
	}
	return append(out, sp...), nil
}

// removeProject removes what a project left behind: its swarm services
// first (a task container removed under a live service comes back), then
// its containers, networks and, with purge, volumes.
func (e *Engine) removeProject(ctx context.Context, project string, purge bool) error {
	if e.deps.Swarm != nil {
		if err := e.deps.Swarm.RemoveStack(ctx, project); err != nil && !errors.Is(err, ErrSwarmInactive) {
			return fmt.Errorf("remove swarm stack %s: %w", project, err)
		}
	}
	return e.deps.Docker.RemoveProject(ctx, project, purge)
}

// targetLabels are the installation labels that record a deploy target
// (none for compose, the default).
func targetLabels(target string) map[string]string {
	if target != contract.TargetSwarm {
		return nil
	}
	return map[string]string{contract.LabelTarget: target}
}

// SwarmTarget is "swarm" for an installation that runs on swarm, else
// empty (the default target, compose).
func SwarmTarget(inst *Installation) string { return targetOfContext(inst) }

// targetOfContext is the Target the mixin is told: empty for compose, so
// that the context of compose installs stays as it was.
func targetOfContext(inst *Installation) string {
	if t := TargetOf(inst); t == contract.TargetSwarm {
		return t
	}
	return ""
}

// swarmPublishMode is the publish mode the mixin is told for a swarm
// installation (empty otherwise, and for the default, ingress).
func (e *Engine) swarmPublishMode(inst *Installation) string {
	if TargetOf(inst) != contract.TargetSwarm || e.cfg.SwarmPublishMode == contract.PublishIngress {
		return ""
	}
	return e.cfg.SwarmPublishMode
}

// applySwarm reports a running swarm installation whose tasks cannot run
// because the node holding their data is down or drained as failed, with
// that reason. It asks the manager, briefly; without an answer the status
// stands. Nothing is written: the records stay as they are, and the app
// comes back when its node does.
func (e *Engine) applySwarm(ctx context.Context, inst *Installation) {
	if inst.Status != StatusRunning || TargetOf(inst) != contract.TargetSwarm || e.deps.Swarm == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, swarmStatusTimeout)
	defer cancel()
	svcs, err := e.deps.Swarm.StackServices(ctx, e.Project(inst.Name))
	if err != nil {
		e.log.Debug("swarm services for status", "installation", inst.Name, "err", err)
		return
	}
	for _, s := range svcs {
		if s.Problem != "" {
			inst.Status = StatusFailed
			inst.Reason = fmt.Sprintf("service %s: %s", s.Service, s.Problem)
			return
		}
	}
}

// swarmStatusTimeout bounds the manager's answer to a status question.
const swarmStatusTimeout = 2 * time.Second

// SwarmServices lists the swarm services of a swarm installation, with
// their replicas and nodes (none for a compose installation). It asks the
// swarm manager, unlike Get.
func (e *Engine) SwarmServices(ctx context.Context, name string) ([]SwarmService, error) {
	inst, err := e.installed(ctx, name)
	if err != nil {
		return nil, err
	}
	if TargetOf(inst) != contract.TargetSwarm {
		return nil, nil
	}
	sw, err := e.swarm()
	if err != nil {
		return nil, err
	}
	out, err := sw.StackServices(ctx, e.Project(name))
	if errors.Is(err, ErrSwarmInactive) {
		return nil, swarmUnavailable(err)
	}
	if err != nil {
		return nil, fmt.Errorf("swarm services of %s: %w", name, err)
	}
	return out, nil
}

// swarmLogs returns the log of a swarm installation's main service (or of
// opts.Service) through the manager: the lines of its tasks on every
// node, not only this host's containers.
func (e *Engine) swarmLogs(ctx context.Context, inst *Installation, opts LogsOptions) (io.ReadCloser, error) {
	svcs, err := e.deps.Swarm.StackServices(ctx, e.Project(inst.Name))
	if errors.Is(err, ErrSwarmInactive) {
		return nil, swarmUnavailable(err)
	}
	if err != nil {
		return nil, fmt.Errorf("swarm services of %s: %w", inst.Name, err)
	}
	name := ""
	var services []string
	for _, s := range svcs {
		services = append(services, s.Service)
		if opts.Service == s.Service || opts.Service == "" && s.Name == inst.ContainerName {
			name = s.Name
		}
	}
	if name == "" && opts.Service == "" && len(svcs) > 0 {
		name = svcs[0].Name
	}
	if name == "" {
		sort.Strings(services)
		hint := "it has no swarm services; see `stackhub show " + inst.Name + "`"
		if len(services) > 0 {
			hint = "its services are: " + strings.Join(services, ", ")
		}
		if opts.Service == "" {
			return nil, NewUserError(ErrNotFound, fmt.Sprintf("%s has no swarm services", inst.Name), hint)
		}
		return nil, NewUserError(ErrNotFound, fmt.Sprintf("%s has no service %q", inst.Name, opts.Service), hint)
	}
	rc, err := e.deps.Swarm.ServiceLogs(ctx, name, opts.Tail, opts.Follow)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", inst.Name, err)
	}
	return rc, nil
}
