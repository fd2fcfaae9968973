package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// ErrPortInUse reports that the daemon could not publish a host port
// because something already holds it.
var ErrPortInUse = errors.New("host port already in use")

// PortInUseError is returned by Start when the daemon refuses to publish a
// host port that is taken; Port is 0 when the message did not say which.
type PortInUseError struct {
	Container string
	Port      int
	Err       error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("start container %s: host port %d is already in use: %v", e.Container, e.Port, e.Err)
}

// Unwrap lets errors.Is match ErrPortInUse.
func (e *PortInUseError) Unwrap() []error { return []error{ErrPortInUse, e.Err} }

var portInUseRE = regexp.MustCompile(`(?:[:\]])(\d+)(?::? failed: port is already allocated|: bind: address already in use)`)

// Deployment applies a Plan to the daemon. Create makes what is missing or
// changed, Start starts the containers in dependency order and waits for
// them, and Rollback removes exactly what this deployment created.
type Deployment struct {
	d    Docker
	plan *Plan
	out  io.Writer

	ids       map[string]string // service -> container ID
	newNets   []string
	newVols   []string
	newCtrs   []string
	aside     []asideContainer
	Recreated []string // services whose containers were (re)created
	Unchanged []string // services whose containers were kept
}

// asideSuffix names a container an upgrade set aside: stopped and renamed,
// kept until the new containers are up, so that a failed upgrade can bring
// the previous version back.
const asideSuffix = "-stackhub-prev"

// asideContainer is a container an upgrade replaced, kept until Commit.
type asideContainer struct {
	id, name   string
	wasRunning bool
}

// NewDeployment prepares to apply plan; progress goes to out.
func NewDeployment(d Docker, plan *Plan, out io.Writer) *Deployment {
	return &Deployment{d: d, plan: plan, out: out, ids: map[string]string{}}
}

// Create creates the project's networks, volumes and containers. With
// fresh set (install) it fails if the project already has containers;
// otherwise (upgrade) it keeps containers whose config hash is unchanged,
// recreates the others and removes containers of services that are gone.
// Named volumes are never removed.
func (dep *Deployment) Create(ctx context.Context, fresh bool) error {
	p := dep.plan
	existing, err := Containers(ctx, dep.d, p.Options.Project)
	if err != nil {
		return err
	}
	if fresh && len(existing) > 0 {
		return &UserError{
			Msg:     fmt.Sprintf("installation %q is already installed: container %s exists", p.Options.Installation, existing[0].Name),
			HintMsg: "upgrade it, or uninstall it first",
			Err:     ErrExists,
		}
	}
	if existing, err = dep.settleLeftovers(ctx, existing); err != nil {
		return err
	}
	if err := dep.createNetworks(ctx); err != nil {
		return err
	}
	if err := dep.createVolumes(ctx); err != nil {
		return err
	}
	byService := map[string]ContainerState{}
	for _, c := range existing {
		if _, ok := p.Services[c.Service]; !ok {
			fmt.Fprintf(dep.out, "Setting aside orphan container %s\n", c.Name)
			if err := dep.setAside(ctx, c); err != nil {
				return err
			}
			continue
		}
		byService[c.Service] = c
	}
	for _, name := range p.Order {
		spec := p.Services[name]
		if old, ok := byService[name]; ok {
			if old.Hash == spec.Hash && old.Name == spec.Name {
				dep.ids[name] = old.ID
				dep.Unchanged = append(dep.Unchanged, name)
				continue
			}
			fmt.Fprintf(dep.out, "Recreating container %s\n", spec.Name)
			if err := dep.setAside(ctx, old); err != nil {
				return err
			}
		}
		if err := dep.createContainer(ctx, spec); err != nil {
			return err
		}
		dep.Recreated = append(dep.Recreated, name)
	}
	return nil
}

func (dep *Deployment) createNetworks(ctx context.Context) error {
	for _, n := range dep.plan.Networks {
		found, err := networkExists(ctx, dep.d, n.Name)
		if err != nil {
			return err
		}
		switch {
		case found:
			continue
		case n.External:
			return &UserError{Msg: fmt.Sprintf("external network %s does not exist", n.Name),
				HintMsg: "create it first: docker network create " + n.Name, Err: cerrdefs.ErrNotFound}
		}
		fmt.Fprintf(dep.out, "Creating network %s\n", n.Name)
		res, err := dep.d.NetworkCreate(ctx, n.Name, n.Create)
		if poolExhausted(err) && (n.Create.IPAM == nil || len(n.Create.IPAM.Config) == 0) {
			res, err = createWithFallbackSubnet(ctx, dep.d, n.Name, n.Create)
		}
		if err != nil {
			return fmt.Errorf("create network %s: %w", n.Name, err)
		}
		dep.newNets = append(dep.newNets, res.ID)
	}
	return nil
}

func networkExists(ctx context.Context, d Docker, name string) (bool, error) {
	res, err := d.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("name", name)})
	if err != nil {
		return false, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range res.Items {
		if n.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func (dep *Deployment) createVolumes(ctx context.Context) error {
	for _, v := range dep.plan.Volumes {
		found, err := volumeExists(ctx, dep.d, v.Name)
		if err != nil {
			return err
		}
		switch {
		case found:
			continue
		case v.External:
			return &UserError{Msg: fmt.Sprintf("external volume %s does not exist", v.Name),
				HintMsg: "create it first: docker volume create " + v.Name, Err: cerrdefs.ErrNotFound}
		}
		fmt.Fprintf(dep.out, "Creating volume %s\n", v.Name)
		if _, err := dep.d.VolumeCreate(ctx, v.Create); err != nil {
			return fmt.Errorf("create volume %s: %w", v.Name, err)
		}
		dep.newVols = append(dep.newVols, v.Name)
	}
	return nil
}

func volumeExists(ctx context.Context, d Docker, name string) (bool, error) {
	res, err := d.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("name", name)})
	if err != nil {
		return false, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range res.Items {
		if v.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func (dep *Deployment) createContainer(ctx context.Context, spec *ServiceSpec) error {
	fmt.Fprintf(dep.out, "Creating container %s\n", spec.Name)
	res, err := dep.d.ContainerCreate(ctx, spec.Create)
	if err != nil {
		if cerrdefs.IsConflict(err) {
			return &UserError{Msg: fmt.Sprintf("create container %s: the name is already in use by a container outside this installation", spec.Name),
				HintMsg: "remove or rename that container (docker rm " + spec.Name + "), or install under another name", Err: err}
		}
		return fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	dep.newCtrs = append(dep.newCtrs, res.ID)
	dep.ids[spec.Service] = res.ID
	for _, a := range spec.Attach {
		if _, err := dep.d.NetworkConnect(ctx, a.Network, client.NetworkConnectOptions{Container: res.ID, EndpointConfig: a.Endpoint}); err != nil {
			return fmt.Errorf("connect container %s to network %s: %w", spec.Name, a.Network, err)
		}
	}
	return nil
}

// Start starts the containers in dependency order, honouring depends_on
// conditions, and waits until every one is running and, where it has a
// healthcheck, healthy. It gives up after timeout.
func (dep *Deployment) Start(ctx context.Context, timeout time.Duration) error {
	items := make([]startItem, 0, len(dep.plan.Order))
	for _, name := range dep.plan.Order {
		spec := dep.plan.Services[name]
		items = append(items, startItem{service: name, name: spec.Name, id: dep.ids[name], deps: spec.DependsOn})
	}
	return startAndWait(ctx, dep.d, items, timeout, dep.out)
}

// Rollback removes the containers, networks and volumes this deployment
// created (volumes that existed before, e.g. kept by an earlier uninstall,
// stay). It uses its own time budget so that it also runs after ctx ended.
func (dep *Deployment) Rollback(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, id := range slices.Backward(dep.newCtrs) {
		if err := removeContainer(ctx, dep.d, id, true); err != nil {
			errs = append(errs, err)
		}
	}
	for _, id := range dep.newNets {
		if _, err := dep.d.NetworkRemove(ctx, id, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", id, err))
		}
	}
	for _, name := range dep.newVols {
		if _, err := dep.d.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", name, err))
		}
	}
	if len(errs) == 0 {
		fmt.Fprintln(dep.out, "Removed what this install created")
	}
	return errors.Join(errs...)
}

// settleLeftovers deals with containers an interrupted upgrade left set
// aside: one whose service has no container any more is brought back under
// its name, the others are removed. It returns the project's containers
// after that.
func (dep *Deployment) settleLeftovers(ctx context.Context, existing []ContainerState) ([]ContainerState, error) {
	names := map[string]bool{}
	for _, c := range existing {
		names[c.Name] = true
	}
	var out []ContainerState
	for _, c := range existing {
		orig, ok := strings.CutSuffix(c.Name, asideSuffix)
		switch {
		case !ok:
			out = append(out, c)
		case names[orig]:
			fmt.Fprintf(dep.out, "Removing container %s, left by an interrupted upgrade\n", c.Name)
			if err := removeContainer(ctx, dep.d, c.ID, false); err != nil {
				return nil, err
			}
		default:
			fmt.Fprintf(dep.out, "Restoring container %s, left by an interrupted upgrade\n", orig)
			if _, err := dep.d.ContainerRename(ctx, c.ID, client.ContainerRenameOptions{NewName: orig}); err != nil {
				return nil, fmt.Errorf("rename container %s to %s: %w", c.Name, orig, err)
			}
			c.Name = orig
			out = append(out, c)
		}
	}
	return out, nil
}

// setAside stops c and renames it out of the way of its replacement.
func (dep *Deployment) setAside(ctx context.Context, c ContainerState) error {
	if _, err := dep.d.ContainerStop(ctx, c.ID, client.ContainerStopOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", c.Name, err)
	}
	if _, err := dep.d.ContainerRename(ctx, c.ID, client.ContainerRenameOptions{NewName: c.Name + asideSuffix}); err != nil {
		return fmt.Errorf("set aside container %s: %w", c.Name, err)
	}
	dep.aside = append(dep.aside, asideContainer{id: c.ID, name: c.Name, wasRunning: c.State == "running"})
	return nil
}

// Restore undoes a failed upgrade: it removes what this deployment created
// and brings back the containers it set aside, started again if they were
// running. It uses its own time budget, like Rollback.
func (dep *Deployment) Restore(ctx context.Context) error {
	errs := []error{dep.Rollback(ctx)}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for _, a := range dep.aside {
		if _, err := dep.d.ContainerRename(ctx, a.id, client.ContainerRenameOptions{NewName: a.name}); err != nil {
			errs = append(errs, fmt.Errorf("rename container %s back: %w", a.name, err))
			continue
		}
		if a.wasRunning {
			if _, err := dep.d.ContainerStart(ctx, a.id, client.ContainerStartOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("start container %s again: %w", a.name, err))
			}
		}
	}
	err := errors.Join(errs...)
	if err == nil && len(dep.aside) > 0 {
		fmt.Fprintln(dep.out, "Restored the previous containers")
	}
	return err
}

// Commit removes the containers an upgrade set aside, once their
// replacements are up.
func (dep *Deployment) Commit(ctx context.Context) error {
	var errs []error
	for _, a := range dep.aside {
		if err := removeContainer(ctx, dep.d, a.id, false); err != nil {
			errs = append(errs, err)
		}
	}
	dep.aside = nil
	return errors.Join(errs...)
}

func removeContainer(ctx context.Context, d Docker, id string, anonVolumes bool) error {
	if _, err := d.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: anonVolumes}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

type startItem struct {
	service, name, id string
	deps              map[string]string
}

func startAndWait(ctx context.Context, d Docker, items []startItem, timeout time.Duration, out io.Writer) error {
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	seen := map[string]bool{}
	byService := map[string]startItem{}
	for _, it := range items {
		byService[it.service] = it
	}
	for _, it := range items {
		for _, dep := range sortedKeys(it.deps) {
			di, ok := byService[dep]
			if !ok {
				continue
			}
			if err := waitFor(ctx, d, di, it.deps[dep], timeout, out, seen); err != nil {
				return err
			}
		}
		if err := start(ctx, d, it, out); err != nil {
			return err
		}
	}
	for _, it := range items {
		if err := waitFor(ctx, d, it, types.ServiceConditionHealthy, timeout, out, seen); err != nil {
			return err
		}
	}
	return nil
}

func start(ctx context.Context, d Docker, it startItem, out io.Writer) error {
	res, err := d.ContainerInspect(ctx, it.id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", it.name, err)
	}
	if st := res.Container.State; st != nil && st.Running {
		return nil
	}
	fmt.Fprintf(out, "Starting container %s\n", it.name)
	if _, err := d.ContainerStart(ctx, it.id, client.ContainerStartOptions{}); err != nil {
		if m := portInUseRE.FindStringSubmatch(err.Error()); m != nil {
			port, _ := strconv.Atoi(m[1])
			return &PortInUseError{Container: it.name, Port: port, Err: err}
		}
		return fmt.Errorf("start container %s: %w", it.name, err)
	}
	return nil
}

// waitFor polls a container until cond holds: service_started (running),
// service_healthy (running and healthy, or running without a healthcheck)
// or service_completed_successfully (exited 0).
func waitFor(ctx context.Context, d Docker, it startItem, cond string, timeout time.Duration, out io.Writer, seen map[string]bool) error {
	// Poll finely at first and back off gently. Healthchecks usually pass
	// within their first interval (hello-db: 1s); the old 200 ms tick that
	// grew by 100 ms per poll noticed that up to 500 ms late, once per
	// depends_on step, which made an install ~1.5x the Engine API floor.
	// Growing by a quarter per poll, the first second costs a dozen
	// inspects per container and a check passing at 1s is seen ~80 ms late.
	// The cap stays the old 1s so that many installs waiting at once (the
	// 20 and 50 concurrent installs of the bench, on a loaded daemon) do
	// not add to the daemon's load once the first seconds are over.
	//
	// With a daemon that streams events, a health change, start or exit of
	// the container wakes the wait at once, so the poll is only a backstop.
	tick := minPollTick
	last := ""
	var wake <-chan events.Message
	if ev, ok := d.(eventStreamer); ok {
		ectx, cancel := context.WithCancel(ctx)
		defer cancel()
		wake = ev.Events(ectx, client.EventsListOptions{Filters: make(client.Filters).
			Add("type", "container").Add("container", it.id)}).Messages
	}
	for {
		res, err := d.ContainerInspect(ctx, it.id, client.ContainerInspectOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return failure(ctx, d, it, fmt.Sprintf("did not become %s within %s (last state: %s)", want(cond), timeout, last))
			}
			return fmt.Errorf("inspect container %s: %w", it.name, err)
		}
		st := res.Container.State
		if st == nil {
			st = &container.State{}
		}
		last = string(st.Status)
		if st.Health != nil {
			last += ", " + string(st.Health.Status)
		}
		switch {
		case cond == types.ServiceConditionCompletedSuccessfully:
			if !st.Running && st.Status == container.StateExited {
				if st.ExitCode == 0 {
					return nil
				}
				return failure(ctx, d, it, fmt.Sprintf("exited with code %d", st.ExitCode))
			}
		case st.Restarting || st.Status == container.StateExited || st.Status == container.StateDead:
			return failure(ctx, d, it, fmt.Sprintf("exited with code %d", st.ExitCode))
		case !st.Running:
		case cond == types.ServiceConditionStarted:
			return nil
		case st.Health == nil || st.Health.Status == container.Healthy || st.Health.Status == container.NoHealthcheck:
			if st.Health != nil && st.Health.Status == container.Healthy && cond == types.ServiceConditionHealthy {
				if !seen[it.name] {
					seen[it.name] = true
					fmt.Fprintf(out, "Container %s is healthy\n", it.name)
				}
			}
			return nil
		case st.Health.Status == container.Unhealthy:
			msg := "is unhealthy"
			if n := len(st.Health.Log); n > 0 {
				msg += fmt.Sprintf(" (healthcheck exit code %d: %s)", st.Health.Log[n-1].ExitCode, strings.TrimSpace(st.Health.Log[n-1].Output))
			}
			return failure(ctx, d, it, msg)
		}
		select {
		case <-ctx.Done():
			return failure(ctx, d, it, fmt.Sprintf("did not become %s within %s (last state: %s)", want(cond), timeout, last))
		case <-time.After(tick):
		case _, ok := <-wake:
			if !ok {
				wake = nil // the stream ended: poll only
			}
		}
		tick = min(tick*5/4, maxPollTick)
	}
}

// eventStreamer is the part of the Docker client that streams events; the
// real client has it, test fakes need not.
type eventStreamer interface {
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
}

// The bounds of waitFor's poll interval.
const (
	minPollTick = 20 * time.Millisecond
	maxPollTick = time.Second
)

func want(cond string) string {
	switch cond {
	case types.ServiceConditionStarted:
		return "running"
	case types.ServiceConditionCompletedSuccessfully:
		return "complete"
	}
	return "running and healthy"
}

// failure builds the error for a container that failed, with its last log lines.
func failure(ctx context.Context, d Docker, it startItem, what string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	msg := fmt.Sprintf("container %s (service %s) %s", it.name, it.service, what)
	if lines, err := Tail(ctx, d, it.id, 20); err == nil && strings.TrimSpace(lines) != "" {
		msg += "\nlast log lines of " + it.name + ":\n" + strings.TrimRight(lines, "\n")
	}
	return &UserError{Msg: msg, HintMsg: "check the service's configuration and healthcheck; the log lines above usually tell why", Err: ErrUnhealthy}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
