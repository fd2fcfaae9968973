package mixin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/mixin/compose"
	"github.com/stackhub/stackhub/mixin/stack"
)

// The swarm target (contract.Context.Target == "swarm"): the same step
// deploys the compose file as a swarm stack (package mixin/stack) from the
// swarm manager the invocation container runs on.

func (t *target) swarm() bool { return t.cfg.Target == contract.TargetSwarm }

func (t *target) stackDocker(ctx context.Context) (stack.Docker, error) {
	d, ok := t.d.(stack.Docker)
	if !ok {
		return nil, errors.New("the Docker client cannot manage swarm services")
	}
	if err := stack.CheckManager(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

func (m *Mixin) deploySwarm(ctx context.Context, action string, step *Step, t *target, timeout time.Duration) error {
	d, err := t.stackDocker(ctx)
	if err != nil {
		return err
	}
	fresh := action == "install"
	existing, err := stack.Services(ctx, d, t.project)
	if err != nil {
		return err
	}
	if fresh && len(existing) > 0 {
		return &compose.UserError{
			Msg:     fmt.Sprintf("installation %q is already installed: swarm service %s exists", t.installation, existing[0].Spec.Name),
			HintMsg: "upgrade it, or uninstall it first", Err: compose.ErrExists,
		}
	}
	current := stack.Ports(existing)
	recorded, err := compose.LoadSecrets(ctx, d, t.project)
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
	// The images must be on the manager; other nodes pull them from the
	// registry the reference names (or use their own copy).
	if _, err := compose.EnsureImagesVia(ctx, d, p, m.Out, opts.Mirror); err != nil {
		return err
	}
	assigned, err := m.swarmPorts(ctx, d, t, step, current)
	if err != nil {
		return err
	}
	opts.Env = m.interpolation(t, step, assigned, secrets)
	opts.Ports = portSpecs(step, opts.Main, assigned)
	if p, err = compose.Load(ctx, &opts); err != nil {
		return err
	}
	plan, err := stack.Convert(opts, p, stack.ConvertOptions{HostPorts: t.cfg.SwarmPublishMode == contract.PublishHost})
	if err != nil {
		return err
	}
	createdState, err := compose.SaveSecrets(ctx, d, t.project, t.installation, secrets)
	if err != nil {
		return err
	}
	dep := stack.NewDeployment(d, plan, m.Out)
	err = dep.Apply(ctx)
	if err == nil {
		err = dep.Wait(ctx, timeout)
	}
	if err != nil {
		if fresh {
			if rerr := dep.Undo(context.WithoutCancel(ctx)); rerr != nil {
				err = errors.Join(err, fmt.Errorf("clean up: %w", rerr))
			}
			if createdState {
				if rerr := compose.RemoveState(context.WithoutCancel(ctx), d, t.project); rerr != nil {
					err = errors.Join(err, rerr)
				}
			}
			return err
		}
		if errors.Is(err, stack.ErrRolledBack) {
			// Swarm brought the previous spec back; say so only once its
			// tasks run (and are healthy) again.
			if werr := dep.WaitSettled(ctx, timeout); werr != nil {
				return errors.Join(err, fmt.Errorf("the previous version did not come back: %w", werr))
			}
			return &restoredError{err: err}
		}
		return err
	}
	if err := stack.RecordNodes(ctx, d, t.project, m.Out); err != nil {
		return err
	}
	if err := dep.Prune(ctx); err != nil {
		// The app runs; an earlier version of a secret is left behind
		// and goes with the next deployment or the uninstall.
		fmt.Fprintf(m.Err, "Warning: %v\n", err)
	}
	fmt.Fprintf(m.Out, "%s %s is running on swarm", t.installation, t.project)
	for _, name := range slices.Sorted(maps.Keys(assigned)) {
		fmt.Fprintf(m.Out, ", %s=%d", name, assigned[name])
	}
	fmt.Fprintln(m.Out)
	return m.writeOutputs(step, func(svc string) string {
		if svc == "" {
			svc = opts.Main
		}
		return opts.ContainerName(svc)
	}, assigned, secrets, m.outputEnv(t, step, assigned, secrets))
}

// swarmPorts gives every declared port a published port. Precedence: the
// port StackHub leased (its lease table is cluster-wide), a pinned port,
// the port the stack already publishes (upgrade), then a free port: not
// published by any swarm service nor by a container of this host, and
// free on this host. Without StackHub's lease two concurrent installs may
// pick the same port; swarm then refuses the second service.
func (m *Mixin) swarmPorts(ctx context.Context, d stack.Docker, t *target, step *Step, current map[string]int) (map[string]int, error) {
	assigned := map[string]int{}
	reqs, checks := planPorts(t, step, current, assigned)
	// Under host networking the probe sees this node's listeners; the
	// routing mesh's own listeners are dockerd's, for services the lease
	// check already counted.
	if t.cfg.HostNetwork {
		if err := m.checkLeased(checks, assigned); err != nil {
			return nil, err
		}
	}
	if len(reqs) == 0 {
		return assigned, nil
	}
	used, err := stack.PublishedPorts(ctx, d, t.project)
	if err != nil {
		return nil, err
	}
	local, err := compose.PublishedPorts(ctx, d, t.project)
	if err != nil {
		return nil, err
	}
	for p, h := range local {
		if _, ok := used[p]; !ok {
			used[p] = h
		}
	}
	for name, port := range assigned {
		used[port] = fmt.Sprintf("port %q of this installation", name)
	}
	got, err := m.finder(t.cfg, step).Find(ctx, reqs, used)
	if err != nil {
		return nil, err
	}
	maps.Copy(assigned, got)
	return assigned, nil
}

func (m *Mixin) uninstallSwarm(ctx context.Context, t *target, purge bool) error {
	d, ok := t.d.(stack.Docker)
	if !ok {
		return errors.New("the Docker client cannot manage swarm services")
	}
	// A host that left the swarm has no services left to remove; what
	// remains of the project on this host still goes.
	services := 0
	if stack.CheckManager(ctx, d) == nil {
		list, err := stack.Services(ctx, d, t.project)
		if err != nil {
			return err
		}
		services = len(list)
		if err := stack.Remove(ctx, d, t.project, purge, m.Out); err != nil {
			return err
		}
	} else if _, err := compose.Down(ctx, d, t.project, compose.DownOptions{Purge: purge}, m.Out); err != nil {
		return err
	}
	if services == 0 {
		fmt.Fprintf(m.Out, "No swarm services left for installation %s\n", t.installation)
	}
	fmt.Fprintf(m.Out, "Uninstalled %s\n", t.installation)
	return nil
}

func (m *Mixin) invokeSwarm(ctx context.Context, t *target, op string, step *Step, timeout time.Duration) error {
	d, err := t.stackDocker(ctx)
	if err != nil {
		return err
	}
	switch op {
	case "start":
		if err = stack.Scale(ctx, d, t.project, true, timeout, m.Out); err == nil {
			err = stack.RecordNodes(ctx, d, t.project, m.Out)
		}
	case "stop":
		err = stack.Scale(ctx, d, t.project, false, timeout, m.Out)
	case "restart":
		if err = stack.Scale(ctx, d, t.project, false, timeout, m.Out); err == nil {
			err = stack.Scale(ctx, d, t.project, true, timeout, m.Out)
		}
	case "logs":
		tail := step.Tail.N
		if tail == 0 {
			tail = 100
		}
		// The services' logs, from their tasks on every node.
		err = stack.Logs(ctx, d, t.project, step.Service, tail, m.Out)
	case "status":
		var st []stack.ServiceState
		if st, err = stack.Status(ctx, d, t.project); err == nil {
			var b []byte
			if b, err = json.MarshalIndent(st, "", "  "); err == nil {
				fmt.Fprintln(m.Out, string(b))
			}
		}
	case "exec":
		return &compose.UserError{Msg: "the exec operation runs only on apps installed on this host, not on swarm",
			HintMsg: "install the app without --target swarm to use actions that run commands in its containers"}
	default:
		return usageError{fmt.Errorf("unknown operation %q", op)}
	}
	if err != nil {
		return err
	}
	if len(step.Outputs) == 0 {
		return nil
	}
	services, err := stack.Services(ctx, d, t.project)
	if err != nil {
		return err
	}
	assigned := stack.Ports(services)
	secrets, err := compose.LoadSecrets(ctx, d, t.project)
	if err != nil {
		return err
	}
	return m.writeOutputs(step, func(svc string) string {
		for _, s := range services {
			if s.Spec.Labels[contract.LabelService] == svc || svc == "" && s.Spec.Labels[contract.LabelMain] == "true" {
				return s.Spec.Name
			}
		}
		return t.project
	}, assigned, secrets, m.outputEnv(t, step, assigned, secrets))
}
