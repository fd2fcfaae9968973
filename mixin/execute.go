package mixin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/mirror"
	"github.com/stackhub/stackhub/mixin/compose"
	"github.com/stackhub/stackhub/mixin/ports"
)

// maxPortRetries bounds how often an install picks new ports after the
// daemon refused one that a host process held unseen (bind probes cannot
// see host listeners when the invocation container has its own network
// namespace, as under plain Porter).
const maxPortRetries = 3

// Execute runs one action (install, upgrade, uninstall or a custom action)
// with the step read from in.
func (m *Mixin) Execute(ctx context.Context, action string, in io.Reader) error {
	stdinAction, step, err := readStep(in)
	if err != nil {
		return usageError{err}
	}
	if stdinAction != action && (action == "install" || action == "upgrade" || action == "uninstall") {
		return usageError{fmt.Errorf("the step is for action %q, not %q", stdinAction, action)}
	}
	if err := firstError(action, Validate(action, step)); err != nil {
		return usageError{err}
	}
	switch action {
	case "install", "upgrade":
		return m.deploy(ctx, action, step)
	case "uninstall":
		return m.uninstall(ctx, step)
	}
	return m.invoke(ctx, action, step)
}

// target is what every action needs to know about the installation.
type target struct {
	cfg          contract.Context
	installation string
	project      string
	d            compose.Docker
	// mirror rewrites app image references to the registry mirror (nil
	// without one).
	mirror func(string) (string, bool)
}

func (m *Mixin) target() (*target, error) {
	cfg, err := m.context()
	if err != nil {
		return nil, err
	}
	inst, err := m.installation()
	if err != nil {
		return nil, err
	}
	d, err := m.docker()
	if err != nil {
		return nil, err
	}
	t := &target{cfg: cfg, installation: inst, project: cfg.Prefix + "-" + inst, d: d}
	if cfg.RegistryMirror != "" {
		mirrors, err := mirror.Parse(cfg.RegistryMirror)
		if err != nil {
			return nil, &compose.UserError{Msg: fmt.Sprintf("%s registryMirror: %v", contract.ContextEnv, err), HintMsg: mirror.Hint, Err: err}
		}
		t.mirror = mirrors.Rewrite
	}
	return t, nil
}

func (m *Mixin) waitTimeout(t *target, s *Step) (time.Duration, error) {
	d, err := s.WaitTimeout()
	if err != nil || d > 0 {
		return d, err
	}
	if t.cfg.WaitTimeout != "" {
		d, err := time.ParseDuration(t.cfg.WaitTimeout)
		if err != nil {
			return 0, fmt.Errorf("%s waitTimeout %q: %w", contract.ContextEnv, t.cfg.WaitTimeout, err)
		}
		return d, nil
	}
	return DefaultWaitTimeout, nil
}

func (m *Mixin) deploy(ctx context.Context, action string, step *Step) error {
	t, err := m.target()
	if err != nil {
		return err
	}
	timeout, err := m.waitTimeout(t, step)
	if err != nil {
		return err
	}
	if t.swarm() {
		return m.deploySwarm(ctx, action, step, t, timeout)
	}
	fresh := action == "install"
	existing, err := compose.Containers(ctx, t.d, t.project)
	if err != nil {
		return err
	}
	if fresh && len(existing) > 0 {
		return &compose.UserError{
			Msg:     fmt.Sprintf("installation %q is already installed: container %s exists", t.installation, existing[0].Name),
			HintMsg: "upgrade it, or uninstall it first", Err: compose.ErrExists,
		}
	}
	current := map[string]int{}
	for _, c := range existing {
		maps.Copy(current, c.Ports)
	}
	recorded, err := compose.LoadSecrets(ctx, t.d, t.project)
	if err != nil {
		return err
	}
	secrets, err := resolveSecrets(step.Secrets, recorded, m.rand())
	if err != nil {
		return err
	}

	opts := compose.Options{
		Project: t.project, Installation: t.installation, WorkingDir: m.root(),
		Files: step.Compose, Main: step.Main, Mirror: t.mirror,
	}
	// First pass with placeholder ports: validates the compose files,
	// settles the main service and finds the images before any lock.
	placeholder := map[string]int{}
	for _, p := range step.Ports {
		placeholder[p.Name] = 1
	}
	opts.Env = m.interpolation(t, step, placeholder, secrets)
	opts.Ports = portSpecs(step, "", placeholder)
	p, err := compose.Load(ctx, &opts)
	if err != nil {
		return err
	}
	if _, err := compose.EnsureImagesVia(ctx, t.d, p, m.Out, opts.Mirror); err != nil {
		return err
	}
	lockImage := compose.Images(p)[0]

	excluded := map[int]bool{}
	for attempt := 0; ; attempt++ {
		assigned, auto, err := m.deployOnce(ctx, t, step, opts, current, secrets, excluded, lockImage, fresh, timeout)
		var inUse *compose.PortInUseError
		if err != nil && fresh && errors.As(err, &inUse) && inUse.Port != 0 && auto[inUse.Port] && attempt < maxPortRetries {
			fmt.Fprintf(m.Out, "Host port %d turned out to be taken; choosing another\n", inUse.Port)
			excluded[inUse.Port] = true
			continue
		}
		if err != nil {
			return err
		}
		return m.writeOutputs(step, func(svc string) string {
			if svc == "" {
				svc = opts.Main
			}
			return opts.ContainerName(svc)
		}, assigned, secrets, m.outputEnv(t, step, assigned, secrets))
	}
}

// deployOnce assigns ports, creates and starts the project. On a failed
// install it removes what it created. It returns the assigned ports and
// which host ports were picked automatically.
func (m *Mixin) deployOnce(ctx context.Context, t *target, step *Step, opts compose.Options,
	current map[string]int, secrets map[string]string, excluded map[int]bool, lockImage string,
	fresh bool, timeout time.Duration,
) (map[string]int, map[int]bool, error) {
	assigned, auto, unreserve, err := m.assignPorts(ctx, t, step, current, excluded, lockImage)
	if err != nil {
		return nil, nil, err
	}
	defer unreserve()
	opts.Env = m.interpolation(t, step, assigned, secrets)
	opts.Ports = portSpecs(step, opts.Main, assigned)
	plan, err := compose.NewPlan(ctx, t.d, opts, m.Out)
	if err != nil {
		return nil, nil, err
	}
	dep := compose.NewDeployment(t.d, plan, m.Out)
	fail := func(err error) (map[string]int, map[int]bool, error) {
		if fresh {
			if rerr := dep.Rollback(ctx); rerr != nil {
				err = errors.Join(err, fmt.Errorf("clean up: %w", rerr))
			}
		} else if rerr := dep.Restore(ctx); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restore the previous version: %w", rerr))
		} else {
			err = &restoredError{err: err}
		}
		return nil, auto, err
	}
	if err := dep.Create(ctx, fresh); err != nil {
		return fail(err)
	}
	unreserve() // the containers now publish the ports: others see them
	createdState, err := compose.SaveSecrets(ctx, t.d, t.project, t.installation, secrets)
	if err != nil {
		return fail(err)
	}
	if err := dep.Start(ctx, timeout); err != nil {
		if createdState && fresh {
			if rerr := compose.RemoveState(ctx, t.d, t.project); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return fail(err)
	}
	if err := dep.Commit(ctx); err != nil {
		fmt.Fprintf(m.Out, "warning: remove the replaced containers: %v\n", err)
	}
	fmt.Fprintf(m.Out, "%s %s is running", t.installation, t.project)
	for _, name := range slices.Sorted(maps.Keys(assigned)) {
		fmt.Fprintf(m.Out, ", %s=%d", name, assigned[name])
	}
	fmt.Fprintln(m.Out)
	return assigned, auto, nil
}

// restoredError is a failed upgrade after which the previous containers
// were brought back.
type restoredError struct{ err error }

// upgradeUndone tells the user; the service learns it from the exit status
// (contract.ExitUpgradeUndone, see Run).
const upgradeUndone = "the upgrade was undone and the previous version runs again"

func (e *restoredError) Error() string {
	return e.err.Error() + "; " + upgradeUndone
}

func (e *restoredError) Unwrap() error { return e.err }

// interpolation builds the compose interpolation variables: the step's
// env, STACKHUB_PORT_<NAME> per port, <NAME> per secret, and
// STACKHUB_INSTALLATION / STACKHUB_PROJECT.
func (m *Mixin) interpolation(t *target, step *Step, assigned map[string]int, secrets map[string]string) map[string]string {
	env := map[string]string{
		"STACKHUB_INSTALLATION": t.installation,
		"STACKHUB_PROJECT":      t.project,
	}
	for k, v := range step.Env {
		env[k] = string(v)
	}
	for name, port := range assigned {
		env[portEnvName(name)] = fmt.Sprint(port)
	}
	for name, v := range secrets {
		env[secretEnvName(name)] = v
	}
	return env
}

// outputEnv is what value outputs may name: the compose interpolation
// variables plus STACKHUB_HOST.
func (m *Mixin) outputEnv(t *target, step *Step, assigned map[string]int, secrets map[string]string) map[string]string {
	env := m.interpolation(t, step, assigned, secrets)
	env["STACKHUB_HOST"] = t.cfg.Host
	if env["STACKHUB_HOST"] == "" {
		env["STACKHUB_HOST"] = "localhost"
	}
	return env
}

func portSpecs(step *Step, main string, assigned map[string]int) []compose.Port {
	out := make([]compose.Port, 0, len(step.Ports))
	for _, p := range step.Ports {
		svc := p.Service
		if svc == "" {
			svc = main
		}
		out = append(out, compose.Port{Name: p.Name, Service: svc, Target: p.Target.N,
			Protocol: p.Protocol, Host: assigned[p.Name], HostIP: p.HostIP})
	}
	return out
}

// assignPorts gives every declared port a host port, in planPorts'
// precedence. Picking
// or checking ports happens under the daemon-wide port lock and ends with
// a reservation of the picked ports, which the caller must keep until the
// containers exist; unreserve is idempotent.
func (m *Mixin) assignPorts(ctx context.Context, t *target, step *Step, current map[string]int,
	excluded map[int]bool, lockImage string,
) (map[string]int, map[int]bool, func(), error) {
	assigned := map[string]int{}
	auto := map[int]bool{}
	noop := func() {}
	reqs, checks := planPorts(t, step, current, assigned)
	if err := m.checkLeased(checks, assigned); err != nil {
		return nil, nil, noop, err
	}
	if len(reqs) == 0 {
		return assigned, auto, noop, nil
	}
	unlock, err := compose.LockPorts(ctx, t.d, lockImage, t.project, m.Out)
	if err != nil {
		return nil, nil, noop, err
	}
	once := false
	release := func() {
		if !once {
			once = true
			unlock()
		}
	}
	used, err := compose.PublishedPorts(ctx, t.d, t.project)
	if err != nil {
		release()
		return nil, nil, noop, err
	}
	for port := range excluded {
		if _, ok := used[port]; !ok {
			used[port] = "a process on the host"
		}
	}
	for name, port := range assigned {
		used[port] = fmt.Sprintf("port %q of this installation", name)
	}
	got, err := m.finder(t.cfg, step).Find(ctx, reqs, used)
	if err != nil {
		release()
		return nil, nil, noop, err
	}
	for _, r := range reqs {
		assigned[r.Name] = got[r.Name]
		if r.Pin == 0 {
			auto[got[r.Name]] = true
		}
	}
	unreserve, err := compose.Reserve(ctx, t.d, t.project, t.installation, assigned)
	release()
	if err != nil {
		return nil, nil, noop, err
	}
	done := false
	return assigned, auto, func() {
		if !done {
			done = true
			unreserve()
		}
	}, nil
}

// planPorts applies the precedence both targets share: the port StackHub
// leased (context), a pinned port, the port the installation already
// publishes (upgrade), then a free port (preferred first). It fills
// assigned with the ports already decided and returns the requests left
// for a port finder, and the leased ports that changed since the last
// deploy (which must be free on the host).
func planPorts(t *target, step *Step, current, assigned map[string]int) ([]ports.Request, []PortDecl) {
	var reqs []ports.Request
	var checks []PortDecl
	for _, p := range step.Ports {
		switch {
		case t.cfg.Ports[p.Name] > 0:
			assigned[p.Name] = t.cfg.Ports[p.Name]
			if current[p.Name] != assigned[p.Name] {
				checks = append(checks, p)
			}
		case p.Host.N > 0 && current[p.Name] == p.Host.N:
			assigned[p.Name] = p.Host.N
		case p.Host.N > 0:
			reqs = append(reqs, ports.Request{Name: p.Name, Protocol: p.Protocol, Pin: p.Host.N})
		case current[p.Name] > 0:
			assigned[p.Name] = current[p.Name]
		default:
			reqs = append(reqs, ports.Request{Name: p.Name, Protocol: p.Protocol, Preferred: p.Preferred.N})
		}
	}
	return reqs, checks
}

// checkLeased fails with a TakenError naming the holder when one of the
// given ports is not free on this host.
func (m *Mixin) checkLeased(checks []PortDecl, assigned map[string]int) error {
	probe := m.Probe
	if probe == nil {
		probe = ports.Probe
	}
	holder := m.Holder
	if holder == nil {
		holder = ports.HostHolder
	}
	for _, p := range checks {
		port := assigned[p.Name]
		if err := probe(port, p.Protocol); err != nil {
			return &ports.TakenError{Name: p.Name, Port: port, Proto: protoOf(p.Protocol), Holder: holder(port, p.Protocol)}
		}
	}
	return nil
}

func protoOf(p string) string {
	if p == "udp" {
		return "udp"
	}
	return "tcp"
}

// writeOutputs writes the step's outputs.
func (m *Mixin) writeOutputs(step *Step, containerName func(string) string, assigned map[string]int, secrets, env map[string]string) error {
	for _, o := range step.Outputs {
		var v string
		switch {
		case o.Port != "":
			port, ok := assigned[o.Port]
			if !ok {
				return fmt.Errorf("output %q: no port named %q", o.Name, o.Port)
			}
			v = fmt.Sprint(port)
		case o.Container != "":
			svc := o.Container
			if svc == "main" {
				svc = ""
			}
			v = containerName(svc)
		case o.Secret != "":
			s, ok := secrets[o.Secret]
			if !ok {
				return fmt.Errorf("output %q: no secret named %q", o.Name, o.Secret)
			}
			v = s
		case o.Value != "":
			v = os.Expand(o.Value, func(k string) string { return env[k] })
		}
		if err := m.writeOutput(o.Name, v); err != nil {
			return err
		}
	}
	return nil
}

func (m *Mixin) uninstall(ctx context.Context, step *Step) error {
	t, err := m.target()
	if err != nil {
		return err
	}
	// The data goes when the step always purges or the service was asked
	// to (stackhub uninstall --purge).
	purge := bool(step.Purge) || t.cfg.Purge
	if t.swarm() {
		return m.uninstallSwarm(ctx, t, purge)
	}
	res, err := compose.Down(ctx, t.d, t.project, compose.DownOptions{Purge: purge}, m.Out)
	if err != nil {
		return err
	}
	if len(res.Containers)+len(res.Networks)+len(res.Volumes) == 0 {
		fmt.Fprintf(m.Out, "Nothing to remove for installation %s\n", t.installation)
		return nil
	}
	fmt.Fprintf(m.Out, "Uninstalled %s\n", t.installation)
	return nil
}

func (m *Mixin) invoke(ctx context.Context, action string, step *Step) error {
	t, err := m.target()
	if err != nil {
		return err
	}
	op := step.Operation
	if op == "" {
		op = action
	}
	timeout, err := m.waitTimeout(t, step)
	if err != nil {
		return err
	}
	if t.swarm() {
		return m.invokeSwarm(ctx, t, op, step, timeout)
	}
	switch op {
	case "start":
		err = compose.Start(ctx, t.d, t.project, timeout, m.Out)
	case "stop":
		err = compose.Stop(ctx, t.d, t.project, 0, m.Out)
	case "restart":
		err = compose.Restart(ctx, t.d, t.project, timeout, m.Out)
	case "logs":
		tail := step.Tail.N
		if tail == 0 {
			tail = 100
		}
		err = compose.Logs(ctx, t.d, t.project, compose.LogsOptions{Service: step.Service, Tail: tail}, m.Out)
	case "exec":
		err = compose.Exec(ctx, t.d, t.project, step.Service, step.Command, m.Out)
	case "status":
		var cs []compose.ContainerState
		if cs, err = compose.Status(ctx, t.d, t.project); err == nil {
			var b []byte
			if b, err = json.MarshalIndent(cs, "", "  "); err == nil {
				fmt.Fprintln(m.Out, string(b))
			}
		}
	default:
		return usageError{fmt.Errorf("unknown operation %q", op)}
	}
	if err != nil {
		return err
	}
	return m.existingOutputs(ctx, t, step)
}

// existingOutputs writes a custom action's outputs from what the
// installation already has: published ports, container names, secrets.
func (m *Mixin) existingOutputs(ctx context.Context, t *target, step *Step) error {
	if len(step.Outputs) == 0 {
		return nil
	}
	cs, err := compose.Containers(ctx, t.d, t.project)
	if err != nil {
		return err
	}
	assigned := map[string]int{}
	names := map[string]string{}
	for _, c := range cs {
		maps.Copy(assigned, c.Ports)
		names[c.Service] = c.Name
		if c.Main {
			names[""] = c.Name
		}
	}
	secrets, err := compose.LoadSecrets(ctx, t.d, t.project)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return err
	}
	return m.writeOutputs(step, func(svc string) string {
		if n, ok := names[svc]; ok {
			return n
		}
		return t.project
	}, assigned, secrets, m.outputEnv(t, step, assigned, secrets))
}
