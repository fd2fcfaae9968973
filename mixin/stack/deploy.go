package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/mixin/compose"
)

// Docker is the part of the Engine API the package uses: compose's
// (containers, volumes, networks, images) plus the swarm services and
// tasks. *client.Client implements it.
type Docker interface {
	compose.Docker
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	ServiceCreate(ctx context.Context, options client.ServiceCreateOptions) (client.ServiceCreateResult, error)
	ServiceInspect(ctx context.Context, serviceID string, options client.ServiceInspectOptions) (client.ServiceInspectResult, error)
	ServiceList(ctx context.Context, options client.ServiceListOptions) (client.ServiceListResult, error)
	ServiceUpdate(ctx context.Context, serviceID string, options client.ServiceUpdateOptions) (client.ServiceUpdateResult, error)
	ServiceRemove(ctx context.Context, serviceID string, options client.ServiceRemoveOptions) (client.ServiceRemoveResult, error)
	TaskList(ctx context.Context, options client.TaskListOptions) (client.TaskListResult, error)
	SecretCreate(ctx context.Context, options client.SecretCreateOptions) (client.SecretCreateResult, error)
	SecretList(ctx context.Context, options client.SecretListOptions) (client.SecretListResult, error)
	SecretRemove(ctx context.Context, id string, options client.SecretRemoveOptions) (client.SecretRemoveResult, error)
	ServiceLogs(ctx context.Context, serviceID string, options client.ServiceLogsOptions) (client.ServiceLogsResult, error)
}

var _ Docker = (*client.Client)(nil)

// Sentinel errors; wrapped with %w.
var (
	// ErrNotManager reports a Docker host that is not a swarm manager.
	ErrNotManager = errors.New("not a swarm manager")
	// ErrRolledBack reports an update that failed and that swarm rolled
	// back: the previous version runs again.
	ErrRolledBack = errors.New("update rolled back by swarm")
)

// updateGrace is how long a wait gives swarm to start a rolling update
// before it judges the service by its tasks alone.
const updateGrace = 5 * time.Second

// pollInterval is how often a wait looks at the services' tasks.
const pollInterval = 300 * time.Millisecond

// CheckManager fails unless the daemon manages a swarm.
func CheckManager(ctx context.Context, d Docker) error {
	info, err := d.Info(ctx, client.InfoOptions{})
	if err != nil {
		return fmt.Errorf("docker info: %w", err)
	}
	if info.Info.Swarm.LocalNodeState != swarm.LocalNodeStateActive || !info.Info.Swarm.ControlAvailable {
		return &compose.UserError{Msg: "the Docker host is not a swarm manager", Err: ErrNotManager,
			HintMsg: "run `docker swarm init` on the StackHub host, or install with --target compose"}
	}
	return nil
}

func stackFilter(project string) client.Filters {
	return make(client.Filters).Add("label", contract.LabelStack+"="+project)
}

// Services lists the swarm services of a project, sorted by name.
func Services(ctx context.Context, d Docker, project string) ([]swarm.Service, error) {
	res, err := d.ServiceList(ctx, client.ServiceListOptions{Filters: stackFilter(project), Status: true})
	if err != nil {
		return nil, fmt.Errorf("list services of %s: %w", project, err)
	}
	out := res.Items
	slices.SortFunc(out, func(a, b swarm.Service) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
	return out, nil
}

// Ports returns the named host ports a project's services publish, from
// their labels.
func Ports(services []swarm.Service) map[string]int {
	out := map[string]int{}
	for _, s := range services {
		maps.Copy(out, compose.LabelPorts(s.Spec.Labels))
	}
	return out
}

// PublishedPorts maps every port any swarm service publishes (ingress or
// host mode), but the services of project exclude, to its holder.
func PublishedPorts(ctx context.Context, d Docker, exclude string) (map[int]string, error) {
	res, err := d.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	out := map[int]string{}
	for _, s := range res.Items {
		if exclude != "" && s.Spec.Labels[contract.LabelStack] == exclude {
			continue
		}
		ports := s.Endpoint.Ports
		if s.Spec.EndpointSpec != nil {
			ports = append(ports, s.Spec.EndpointSpec.Ports...)
		}
		for _, p := range ports {
			if p.PublishedPort != 0 {
				out[int(p.PublishedPort)] = "swarm service " + s.Spec.Name
			}
		}
	}
	return out, nil
}

// Deployment deploys one Plan.
type Deployment struct {
	d    Docker
	plan *Plan
	out  io.Writer
	// created lists services this deployment created (removed again when
	// a fresh install fails); updated those it updated.
	created []string
	updated []string
	since   time.Time
}

// NewDeployment prepares the deployment of plan.
func NewDeployment(d Docker, plan *Plan, out io.Writer) *Deployment {
	return &Deployment{d: d, plan: plan, out: out}
}

// Apply creates the networks, then creates every service that does not
// exist and updates every one whose spec changed. Swarm starts the tasks;
// Wait waits for them.
func (dep *Deployment) Apply(ctx context.Context) error {
	dep.since = time.Now()
	for _, n := range dep.plan.Networks {
		res, err := dep.d.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("name", n.Name)})
		if err != nil {
			return fmt.Errorf("list networks: %w", err)
		}
		exists := false
		for _, x := range res.Items {
			exists = exists || x.Name == n.Name
		}
		if exists {
			continue
		}
		fmt.Fprintf(dep.out, "Creating overlay network %s\n", n.Name)
		if _, err := dep.d.NetworkCreate(ctx, n.Name, n.Create); err != nil && !cerrdefs.IsConflict(err) {
			return fmt.Errorf("create network %s: %w", n.Name, err)
		}
	}
	if err := dep.createSecrets(ctx); err != nil {
		return err
	}
	existing, err := Services(ctx, dep.d, dep.plan.Project)
	if err != nil {
		return err
	}
	byName := map[string]swarm.Service{}
	for _, s := range existing {
		byName[s.Spec.Name] = s
	}
	for _, s := range dep.plan.Services {
		cur, ok := byName[s.Spec.Name]
		if !ok {
			fmt.Fprintf(dep.out, "Creating service %s\n", s.Spec.Name)
			if _, err := dep.d.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: s.Spec}); err != nil {
				return portError(fmt.Errorf("create service %s: %w", s.Spec.Name, err))
			}
			dep.created = append(dep.created, s.Spec.Name)
			continue
		}
		spec := s.Spec
		// A stopped app stays stopped through an upgrade.
		if r := cur.Spec.Mode.Replicated; r != nil && r.Replicas != nil && *r.Replicas == 0 {
			zero := uint64(0)
			spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &zero}
		}
		if n := cur.Spec.Labels[LabelNode]; n != "" {
			spec.Labels = maps.Clone(spec.Labels)
			spec.Labels[LabelNode] = n
		}
		spec = Pinned(spec)
		if sameSpec(cur.Spec, spec) {
			continue
		}
		fmt.Fprintf(dep.out, "Updating service %s (rolling, rolled back by swarm on failure)\n", s.Spec.Name)
		if _, err := dep.d.ServiceUpdate(ctx, cur.ID, client.ServiceUpdateOptions{Version: cur.Version, Spec: spec}); err != nil {
			return portError(fmt.Errorf("update service %s: %w", s.Spec.Name, err))
		}
		dep.updated = append(dep.updated, s.Spec.Name)
	}
	return nil
}

// LabelNode labels a service that mounts a named volume with the ID of
// the node its data lives on: the node its task ran on first. Swarm
// creates a volume on whichever node a task lands on, so a task started
// elsewhere would find an empty volume; Pinned keeps it on its node.
const LabelNode = contract.LabelNode

// dataMounts reports whether a service mounts a named volume.
func dataMounts(spec swarm.ServiceSpec) bool {
	if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
		for _, m := range cs.Mounts {
			if m.Type == mount.TypeVolume && m.Source != "" {
				return true
			}
		}
	}
	return false
}

// Pinned returns spec with the placement constraint node.id==<node> when
// the service holds data on the node its LabelNode names (and spec
// unchanged otherwise). The constraint replaces an earlier node.id one.
func Pinned(spec swarm.ServiceSpec) swarm.ServiceSpec {
	node := spec.Labels[LabelNode]
	if node == "" || !dataMounts(spec) {
		return spec
	}
	p := swarm.Placement{}
	if spec.TaskTemplate.Placement != nil {
		p = *spec.TaskTemplate.Placement
	}
	want := "node.id==" + node
	constraints := []string{want}
	for _, c := range p.Constraints {
		if !strings.HasPrefix(strings.ReplaceAll(c, " ", ""), "node.id==") {
			constraints = append(constraints, c)
		}
	}
	p.Constraints = constraints
	spec.TaskTemplate.Placement = &p
	return spec
}

// RecordNodes labels every service of the project that mounts a named
// volume and has no LabelNode yet with the node its running task is on
// (a label change restarts no task). Later deployments, upgrades and
// starts pin the service there.
func RecordNodes(ctx context.Context, d Docker, project string, out io.Writer) error {
	services, err := Services(ctx, d, project)
	if err != nil {
		return err
	}
	for _, s := range services {
		if s.Spec.Labels[LabelNode] != "" || !dataMounts(s.Spec) {
			continue
		}
		f := make(client.Filters).Add("service", s.ID).Add("desired-state", "running")
		tasks, err := d.TaskList(ctx, client.TaskListOptions{Filters: f})
		if err != nil {
			return fmt.Errorf("list tasks of %s: %w", s.Spec.Name, err)
		}
		node := ""
		for _, t := range tasks.Items {
			if t.Status.State == swarm.TaskStateRunning && t.NodeID != "" {
				node = t.NodeID
				break
			}
		}
		if node == "" {
			continue
		}
		spec := s.Spec
		spec.Labels = maps.Clone(spec.Labels)
		spec.Labels[LabelNode] = node
		fmt.Fprintf(out, "Service %s keeps its data on node %s\n", s.Spec.Name, node)
		if _, err := d.ServiceUpdate(ctx, s.ID, client.ServiceUpdateOptions{Version: s.Version, Spec: spec}); err != nil {
			return fmt.Errorf("record the node of %s: %w", s.Spec.Name, err)
		}
	}
	return nil
}

// Secrets lists the swarm secrets of a project.
func Secrets(ctx context.Context, d Docker, project string) ([]swarm.Secret, error) {
	res, err := d.SecretList(ctx, client.SecretListOptions{Filters: stackFilter(project)})
	if err != nil {
		return nil, fmt.Errorf("list secrets of %s: %w", project, err)
	}
	return res.Items, nil
}

// createSecrets creates the plan's secrets that do not exist yet and
// points the services' references at their IDs. Values are never
// printed.
func (dep *Deployment) createSecrets(ctx context.Context) error {
	if len(dep.plan.Secrets) == 0 {
		return nil
	}
	existing, err := Secrets(ctx, dep.d, dep.plan.Project)
	if err != nil {
		return err
	}
	ids := map[string]string{}
	for _, s := range existing {
		ids[s.Spec.Name] = s.ID
	}
	for _, sec := range dep.plan.Secrets {
		if ids[sec.Spec.Name] != "" {
			continue
		}
		fmt.Fprintf(dep.out, "Creating secret %s\n", sec.Spec.Name)
		res, err := dep.d.SecretCreate(ctx, client.SecretCreateOptions{Spec: sec.Spec})
		if err != nil {
			return fmt.Errorf("create secret %s: %w", sec.Spec.Name, err)
		}
		ids[sec.Spec.Name] = res.ID
	}
	for i := range dep.plan.Services {
		if cs := dep.plan.Services[i].Spec.TaskTemplate.ContainerSpec; cs != nil {
			for _, ref := range cs.Secrets {
				ref.SecretID = ids[ref.SecretName]
			}
		}
	}
	return nil
}

// Prune removes the project's secrets the plan no longer uses (earlier
// versions of a changed secret), once the services run without them.
func (dep *Deployment) Prune(ctx context.Context) error {
	keep := map[string]bool{}
	for _, sec := range dep.plan.Secrets {
		keep[sec.Spec.Name] = true
	}
	return removeSecrets(ctx, dep.d, dep.plan.Project, keep, dep.out)
}

func removeSecrets(ctx context.Context, d Docker, project string, keep map[string]bool, out io.Writer) error {
	list, err := Secrets(ctx, d, project)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range list {
		if keep[s.Spec.Name] {
			continue
		}
		fmt.Fprintf(out, "Removing secret %s\n", s.Spec.Name)
		if _, err := d.SecretRemove(ctx, s.ID, client.SecretRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove secret %s: %w", s.Spec.Name, err))
		}
	}
	return errors.Join(errs...)
}

// sameSpec compares what StackHub sets of two specs (the daemon fills
// defaults into the stored one, so only the fields set are compared).
func sameSpec(a, b swarm.ServiceSpec) bool {
	strip := func(s swarm.ServiceSpec) string {
		if s.TaskTemplate.ContainerSpec != nil {
			cs := *s.TaskTemplate.ContainerSpec
			// The daemon pins the image to a digest when it can resolve one.
			cs.Image, _, _ = strings.Cut(cs.Image, "@")
			s.TaskTemplate.ContainerSpec = &cs
		}
		s.TaskTemplate.ForceUpdate = 0
		b, _ := json.Marshal(s)
		return string(b)
	}
	return strip(a) == strip(b)
}

// portError turns the daemon's refusal of a port another service
// publishes into a user's error.
func portError(err error) error {
	if err != nil && strings.Contains(err.Error(), "is already in use") {
		return &compose.UserError{Msg: err.Error(), HintMsg: "another swarm service publishes that port: choose another, or remove that service",
			Err: errors.Join(compose.ErrPortInUse, err)}
	}
	return err
}

// Wait waits until every service of the plan has its replicas running
// (and healthy, where it has a healthcheck: swarm holds a task in
// "starting" until then) and no rolling update is in progress. An update
// swarm rolled back is ErrRolledBack; a timeout names the last task error.
func (dep *Deployment) Wait(ctx context.Context, timeout time.Duration) error {
	names := make([]string, 0, len(dep.plan.Services))
	for _, s := range dep.plan.Services {
		names = append(names, s.Spec.Name)
	}
	return WaitServices(ctx, dep.d, dep.plan.Project, names, dep.updated, dep.since, timeout, dep.out)
}

// WaitSettled waits, after a rollback, until every service of the plan
// runs its replicas again.
func (dep *Deployment) WaitSettled(ctx context.Context, timeout time.Duration) error {
	names := make([]string, 0, len(dep.plan.Services))
	for _, s := range dep.plan.Services {
		names = append(names, s.Spec.Name)
	}
	return WaitServices(ctx, dep.d, dep.plan.Project, names, nil, time.Now(), timeout, dep.out)
}

// WaitServices waits for the named services of project (see Wait); updated
// lists those whose rolling update started at since.
func WaitServices(ctx context.Context, d Docker, project string, names, updated []string, since time.Time, timeout time.Duration, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pending := slices.Clone(names)
	lastErr := map[string]string{}
	for {
		services, err := Services(ctx, d, project)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		byName := map[string]swarm.Service{}
		for _, s := range services {
			byName[s.Spec.Name] = s
		}
		var still []string
		for _, name := range pending {
			s, ok := byName[name]
			if !ok {
				return fmt.Errorf("service %s disappeared while deploying", name)
			}
			done, err := converged(ctx, d, s, slices.Contains(updated, name), since, lastErr)
			if err != nil {
				return err
			}
			if !done {
				still = append(still, name)
				continue
			}
			fmt.Fprintf(out, "Service %s is running\n", name)
		}
		pending = still
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollInterval):
			continue
		}
		break
	}
	var reasons []string
	for _, name := range pending {
		r := name
		if e := lastErr[name]; e != "" {
			r += ": " + e
		}
		reasons = append(reasons, r)
	}
	return &compose.UserError{Msg: fmt.Sprintf("swarm services not running and healthy after %s: %s", timeout, strings.Join(reasons, "; ")),
		HintMsg: "see the tasks with `docker service ps --no-trunc " + pending[0] + "`", Err: compose.ErrUnhealthy}
}

// converged reports whether a service runs as asked.
func converged(ctx context.Context, d Docker, s swarm.Service, updated bool, since time.Time, lastErr map[string]string) (bool, error) {
	// Only a rolling update this deployment started counts: a service's
	// last update status stays (rollback_completed included) until the
	// next update, through scaling.
	if u := s.UpdateStatus; updated && u != nil && u.StartedAt != nil && !u.StartedAt.Before(since.Add(-time.Second)) {
		switch u.State {
		case swarm.UpdateStateRollbackCompleted:
			return false, &compose.UserError{Msg: fmt.Sprintf("the update of service %s failed and swarm rolled it back: %s", s.Spec.Name, u.Message),
				HintMsg: "see why with `docker service ps --no-trunc " + s.Spec.Name + "`", Err: ErrRolledBack}
		case swarm.UpdateStatePaused, swarm.UpdateStateRollbackPaused:
			return false, &compose.UserError{Msg: fmt.Sprintf("the update of service %s is paused: %s", s.Spec.Name, u.Message),
				HintMsg: "see why with `docker service ps --no-trunc " + s.Spec.Name + "`", Err: compose.ErrUnhealthy}
		case swarm.UpdateStateUpdating, swarm.UpdateStateRollbackStarted:
			return false, nil
		}
	} else if updated && time.Since(since) < updateGrace {
		// The updater has not picked the update up yet (a spec whose
		// tasks need no change starts none: the tasks then tell).
		return false, nil
	}
	want := uint64(1)
	if r := s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		want = *r.Replicas
	}
	f := make(client.Filters).Add("service", s.ID)
	tasks, err := d.TaskList(ctx, client.TaskListOptions{Filters: f})
	if err != nil {
		return false, fmt.Errorf("list tasks of %s: %w", s.Spec.Name, err)
	}
	running := uint64(0)
	var newest time.Time
	for _, t := range tasks.Items {
		if t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning && t.Spec.ContainerSpec != nil &&
			sameImage(t.Spec.ContainerSpec.Image, s.Spec.TaskTemplate.ContainerSpec.Image) {
			running++
		}
		if t.Status.Err != "" && t.Status.Timestamp.After(newest) {
			newest = t.Status.Timestamp
			lastErr[s.Spec.Name] = t.Status.Err
		}
	}
	return running == want, nil
}

func sameImage(a, b string) bool {
	a, _, _ = strings.Cut(a, "@")
	b, _, _ = strings.Cut(b, "@")
	return a == b
}

// Undo removes the services a failed fresh install created and the
// stack's networks.
func (dep *Deployment) Undo(ctx context.Context) error {
	return Remove(ctx, dep.d, dep.plan.Project, false, io.Discard)
}

// Remove removes a project's services, waits for their containers to go,
// then removes its networks, its secrets (made from the bundle and its
// parameters, so kept or purged alike) and, with purge, its volumes
// (those on this node: swarm creates a volume on each node a task ran on).
func Remove(ctx context.Context, d Docker, project string, purge bool, out io.Writer) error {
	services, err := Services(ctx, d, project)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range services {
		fmt.Fprintf(out, "Removing service %s\n", s.Spec.Name)
		if _, err := d.ServiceRemove(ctx, s.ID, client.ServiceRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove service %s: %w", s.Spec.Name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Swarm stops and removes the tasks' containers by itself, seconds
	// later; with their services gone they are removed here at once. The
	// overlay network goes once the last task's endpoint has left it.
	// Swarm may still be removing a task container (or start removing one
	// of the task history) meanwhile: go again until nothing is left.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = compose.Down(ctx, d, project, compose.DownOptions{Purge: purge}, out)
		if err == nil {
			left, lerr := leftovers(ctx, d, project)
			switch {
			case lerr != nil:
				err = lerr
			case left == 0:
				return removeSecrets(ctx, d, project, nil, out)
			default:
				err = fmt.Errorf("%d containers or networks of %s are left", left, project)
			}
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// leftovers counts the project's containers and networks.
func leftovers(ctx context.Context, d Docker, project string) (int, error) {
	cs, err := compose.Containers(ctx, d, project)
	if err != nil {
		return 0, err
	}
	nets, err := d.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("label", contract.LabelProject+"="+project)})
	if err != nil {
		return 0, fmt.Errorf("list networks of %s: %w", project, err)
	}
	return len(cs) + len(nets.Items), nil
}

// Scale sets every service of the project to 0 replicas (stop), or back to
// the count recorded in its labels (start), and waits for the start.
func Scale(ctx context.Context, d Docker, project string, start bool, timeout time.Duration, out io.Writer) error {
	services, err := Services(ctx, d, project)
	if err != nil {
		return err
	}
	if len(services) == 0 {
		return &compose.UserError{Msg: fmt.Sprintf("project %s has no swarm services", project), HintMsg: "install it first"}
	}
	var names []string
	for _, s := range services {
		n := uint64(0)
		if start {
			n = 1
			if v, err := strconv.ParseUint(s.Spec.Labels[contract.LabelReplicas], 10, 64); err == nil {
				n = v
			}
		}
		names = append(names, s.Spec.Name)
		if r := s.Spec.Mode.Replicated; r != nil && r.Replicas != nil && *r.Replicas == n {
			continue
		}
		spec := s.Spec
		if start {
			spec = Pinned(spec)
		}
		spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &n}
		fmt.Fprintf(out, "Scaling service %s to %d\n", s.Spec.Name, n)
		if _, err := d.ServiceUpdate(ctx, s.ID, client.ServiceUpdateOptions{Version: s.Version, Spec: spec}); err != nil {
			return fmt.Errorf("scale service %s: %w", s.Spec.Name, err)
		}
	}
	return WaitServices(ctx, d, project, names, nil, time.Now(), timeout, out)
}

// Logs writes the log of the project's services (or of the one compose
// service named), the last tail lines of each, as the manager gathers
// them from their tasks on every node. With more than one service each
// line starts with the service's compose name.
func Logs(ctx context.Context, d Docker, project, service string, tail int, w io.Writer) error {
	services, err := Services(ctx, d, project)
	if err != nil {
		return err
	}
	var sel []swarm.Service
	for _, s := range services {
		if service == "" || s.Spec.Labels[contract.LabelService] == service {
			sel = append(sel, s)
		}
	}
	if len(sel) == 0 {
		if service != "" {
			return &compose.UserError{Msg: fmt.Sprintf("project %s has no service %q", project, service), HintMsg: "name one of its services", Err: cerrdefs.ErrNotFound}
		}
		return &compose.UserError{Msg: fmt.Sprintf("project %s has no swarm services", project), HintMsg: "install it first"}
	}
	for _, s := range sel {
		opts := client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true}
		if tail > 0 {
			opts.Tail = strconv.Itoa(tail)
		}
		rc, err := d.ServiceLogs(ctx, s.ID, opts)
		if err != nil {
			return fmt.Errorf("logs of service %s: %w", s.Spec.Name, err)
		}
		var buf bytes.Buffer
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("logs of service %s: %w", s.Spec.Name, err)
		}
		if len(sel) == 1 {
			_, err = w.Write(buf.Bytes())
		} else {
			prefix := s.Spec.Labels[contract.LabelService] + " | "
			for line := range strings.Lines(buf.String()) {
				if _, err = io.WriteString(w, prefix+line); err != nil {
					break
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ServiceState is one service of a stack, as the status operation prints it.
type ServiceState struct {
	Name     string         `json:"name"`
	Service  string         `json:"service"`
	Main     bool           `json:"main"`
	Image    string         `json:"image"`
	Replicas uint64         `json:"replicas"`
	Running  uint64         `json:"running"`
	Nodes    []string       `json:"nodes,omitempty"`
	Update   string         `json:"update,omitempty"`
	Ports    map[string]int `json:"ports,omitempty"`
}

// Status reports the project's services and the nodes their tasks run on.
func Status(ctx context.Context, d Docker, project string) ([]ServiceState, error) {
	services, err := Services(ctx, d, project)
	if err != nil {
		return nil, err
	}
	out := make([]ServiceState, 0, len(services))
	for _, s := range services {
		st := ServiceState{Name: s.Spec.Name, Service: s.Spec.Labels[contract.LabelService],
			Main: s.Spec.Labels[contract.LabelMain] == "true", Ports: compose.LabelPorts(s.Spec.Labels)}
		if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
			st.Image, _, _ = strings.Cut(cs.Image, "@")
		}
		if r := s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
			st.Replicas = *r.Replicas
		}
		if s.ServiceStatus != nil {
			st.Running = s.ServiceStatus.RunningTasks
		}
		if s.UpdateStatus != nil {
			st.Update = string(s.UpdateStatus.State)
		}
		f := make(client.Filters).Add("service", s.ID).Add("desired-state", "running")
		if tasks, err := d.TaskList(ctx, client.TaskListOptions{Filters: f}); err == nil {
			for _, t := range tasks.Items {
				if !slices.Contains(st.Nodes, t.NodeID) {
					st.Nodes = append(st.Nodes, t.NodeID)
				}
			}
		}
		out = append(out, st)
	}
	return out, nil
}
