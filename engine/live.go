package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stackhub/stackhub/engine/contract"
)

// liveState is the containers of every StackHub project as Docker last
// reported them, kept current from Docker's event stream so that status
// requests never call Docker.
type liveState struct {
	mu       sync.RWMutex
	projects map[string][]ContainerState
	ready    bool
}

func newLiveState() *liveState {
	return &liveState{projects: map[string][]ContainerState{}}
}

// set stores a project's containers and reports whether the addresses
// the proxy routes to changed (addrsOf).
func (l *liveState) set(project string, cs []ContainerState) (addrsChanged bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	addrsChanged = addrsOf(l.projects[project]) != addrsOf(cs)
	if len(cs) == 0 {
		delete(l.projects, project)
		return addrsChanged
	}
	l.projects[project] = cs
	return addrsChanged
}

func (l *liveState) forget(project string) { _ = l.set(project, nil) }

func (l *liveState) get(project string) ([]ContainerState, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	cs := l.projects[project]
	return cs, l.ready
}

func (l *liveState) replace(all []ContainerState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.projects = map[string][]ContainerState{}
	for _, c := range all {
		l.projects[c.Project] = append(l.projects[c.Project], c)
	}
	l.ready = true
}

func (l *liveState) setReady(r bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ready = r
}

// Unmanaged lists the StackHub-labelled projects no installation record
// claims.
func (e *Engine) Unmanaged(ctx context.Context) ([]string, error) {
	all, err := e.deps.Store.ListInstallations(ctx, e.cfg.Namespace)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, inst := range all {
		if inst.Status != StatusUninstalled {
			known[e.Project(inst.Name)] = true
		}
	}
	e.live.mu.RLock()
	defer e.live.mu.RUnlock()
	var out []string
	for p, cs := range e.live.projects {
		if !known[p] && e.ours(p, cs) {
			out = append(out, p)
		}
	}
	return out, nil
}

// LabelInstallation is the container label that names the installation a
// compose project belongs to (the stackhub mixin sets it).
const LabelInstallation = "sh.stackhub.installation"

// ours reports whether project p belongs to this StackHub: its name is
// this prefix plus the installation its containers name. Another
// instance's projects on the same Docker (another prefix, even one that
// starts with this one, like stackhub-dev) are not ours to report.
func (e *Engine) ours(p string, cs []ContainerState) bool {
	for _, c := range cs {
		if inst := c.Labels[LabelInstallation]; inst != "" && e.Project(inst) == p {
			return true
		}
	}
	return false
}

// refreshLive re-reads one installation's containers.
func (e *Engine) refreshLive(ctx context.Context, installation string) {
	p := e.Project(installation)
	cs, err := e.deps.Docker.ProjectContainers(ctx, p)
	if err != nil {
		e.log.Warn("refresh containers", "project", p, "err", err)
		return
	}
	if e.live.set(p, cs) {
		e.notifyDomains()
	}
}

// Reconnection pauses of the Docker event stream: doubled after each
// stream that broke soon after it opened, back to the first once a stream
// has lasted watchHealthy. A daemon that is down or restarting is not
// hammered, and a one-off break is repaired at once.
const (
	watchBackoffMin = time.Second
	watchBackoffMax = time.Minute
	watchHealthy    = time.Minute
)

// nextBackoff is the pause before reconnecting after a stream that lasted
// lived, when the previous pause was prev.
func nextBackoff(prev, lived time.Duration) time.Duration {
	if lived >= watchHealthy || prev <= 0 {
		return watchBackoffMin
	}
	return min(2*prev, watchBackoffMax)
}

// watch keeps liveState current: a full listing, then one project re-read
// per container event; on a broken stream it lists again after a pause
// that grows while the stream keeps breaking.
func (e *Engine) watch(ctx context.Context) {
	var pause time.Duration
	for ctx.Err() == nil {
		opened := time.Now()
		evCtx, cancel := context.WithCancel(ctx)
		events, errs := e.deps.Docker.Events(evCtx)
		all, err := e.deps.Docker.ManagedContainers(ctx)
		if err != nil {
			e.live.setReady(false)
			e.log.Warn("list containers", "err", err)
		} else {
			e.live.replace(all)
			e.notifyDomains()
		}
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case ev, ok := <-events:
				if !ok {
					break loop
				}
				// exec_* events (healthcheck runs) change nothing shown;
				// engine/docker filters them out already.
				if ev.Project == "" || strings.HasPrefix(ev.Action, "exec_") {
					continue
				}
				cs, err := e.deps.Docker.ProjectContainers(ctx, ev.Project)
				if err == nil && e.live.set(ev.Project, cs) {
					// A container of the project started, stopped or
					// moved to another address: the proxy's routes follow.
					e.notifyDomains()
				}
			case err := <-errs:
				if ctx.Err() == nil {
					e.log.Warn("docker events stopped; retrying", "err", err)
				}
				break loop
			}
		}
		cancel()
		e.live.setReady(false)
		pause = nextBackoff(pause, time.Since(opened))
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// applyLive folds the live container state into an installation's status:
// an installation recorded as running whose containers vanished, exited or
// turned unhealthy shows as failed, with the reason.
func (e *Engine) applyLive(inst *Installation) {
	if inst.Status != StatusRunning {
		return
	}
	cs, known := e.live.get(e.Project(inst.Name))
	if !known {
		return
	}
	if TargetOf(inst) == contract.TargetSwarm {
		// Swarm restarts and moves tasks itself, and keeps the containers
		// of ended tasks as history: only the running ones tell. An app
		// whose tasks all run on other nodes has none here.
		var running []ContainerState
		for _, c := range cs {
			if c.State == "running" {
				running = append(running, c)
			}
		}
		cs = running
		if len(cs) == 0 {
			return
		}
	}
	if len(cs) == 0 {
		if inst.Containerless {
			return
		}
		inst.Status = StatusFailed
		inst.Reason = "its containers are gone (removed outside StackHub); uninstall and install it again"
		return
	}
	for _, c := range cs {
		switch {
		case c.State != "running":
			inst.Status = StatusFailed
			inst.Reason = fmt.Sprintf("container %s is %s", c.Name, c.State)
			return
		case c.Health == "unhealthy":
			inst.Status = StatusFailed
			inst.Reason = fmt.Sprintf("container %s is unhealthy", c.Name)
			return
		}
	}
}

// recover ends the jobs a crash interrupted: their installations are marked
// failed with the reason, half-created containers are removed and ports of
// failed installs freed, so that every installation can be retried or
// removed.
func (e *Engine) recover(ctx context.Context) error {
	jobs, err := e.deps.Store.ListJobs(ctx, JobQueued, JobRunning)
	if err != nil {
		return fmt.Errorf("list interrupted jobs: %w", err)
	}
	now := time.Now().UTC()
	e.recoverBackups(ctx, jobs)
	for _, j := range jobs {
		j.Status = JobFailed
		j.Message = "interrupted: StackHub stopped while this job ran"
		j.Finished = &now
		if err := e.deps.Store.UpdateJob(ctx, j); err != nil {
			return fmt.Errorf("end interrupted job %s: %w", j.ID, err)
		}
	}
	all, err := e.deps.Store.ListInstallations(ctx, e.cfg.Namespace)
	if err != nil {
		return fmt.Errorf("list installations: %w", err)
	}
	var interrupted []string
	for _, inst := range all {
		switch inst.Status {
		case StatusInstalling, StatusUpgrading, StatusUninstalling:
			// An invocation container outlives a killed StackHub and goes on
			// deploying: remove it before cleaning up after it.
			e.removeInvocations(ctx, inst.Name)
		}
		switch inst.Status {
		case StatusInstalling:
			interrupted = append(interrupted, inst.Name)
			if err := e.removeProject(ctx, e.Project(inst.Name), false); err != nil {
				e.log.Warn("clean up interrupted install", "installation", inst.Name, "err", err)
			}
			if err := e.deps.Store.ReleasePorts(ctx, inst.Name); err != nil {
				return fmt.Errorf("release ports of %s: %w", inst.Name, err)
			}
		case StatusUpgrading, StatusUninstalling:
		default:
			continue
		}
		e.log.Warn("ending interrupted job", "installation", inst.Name, "status", inst.Status)
		inst.Reason = fmt.Sprintf("interrupted while %s: StackHub stopped; retry, or uninstall", inst.Status)
		inst.Status = StatusFailed
		inst.Modified = now
		if err := e.deps.Store.UpdateInstallation(ctx, inst); err != nil {
			return fmt.Errorf("mark %s failed: %w", inst.Name, err)
		}
	}
	if len(interrupted) > 0 {
		// A request the killed process had in flight (a network or
		// container create) can still complete at the daemon after the
		// first pass: let it settle, then sweep once more. Nothing can be
		// installing these yet, as the service does not serve until now.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(recoverySettle):
		}
		for _, name := range interrupted {
			e.removeInvocations(ctx, name)
			if err := e.removeProject(ctx, e.Project(name), false); err != nil {
				e.log.Warn("clean up interrupted install", "installation", name, "err", err)
			}
		}
	}
	return nil
}

// recoverySettle is how long recovery waits before its second sweep.
var recoverySettle = 1500 * time.Millisecond

// removeInvocations removes the invocation containers of every run of an
// installation; finished runs have none left, so only interrupted ones go.
func (e *Engine) removeInvocations(ctx context.Context, installation string) {
	runs, err := e.deps.Store.ListRuns(ctx, e.cfg.Namespace, installation)
	if err != nil {
		e.log.Warn("list runs of interrupted job", "installation", installation, "err", err)
		return
	}
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if err := e.deps.Docker.RemoveInvocations(ctx, ids); err != nil {
		e.log.Warn("remove invocation containers of interrupted job", "installation", installation, "err", err)
	}
}

// noteContainerless records whether a successful install or upgrade left
// the installation without any container (an exec-only bundle).
func (e *Engine) noteContainerless(ctx context.Context, inst *Installation) {
	cs, err := e.deps.Docker.ProjectContainers(ctx, e.Project(inst.Name))
	if err == nil {
		inst.Containerless = len(cs) == 0
	}
}
