package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/manifest"
)

// Install validates, reserves ports, records the installation and queues
// the install job. It returns at once with the installation, its container
// name and its ports; the job does the rest.
func (e *Engine) Install(ctx context.Context, opts InstallOptions) (*Installation, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	fsys, err := e.openSource(ctx, &opts)
	if err != nil {
		return nil, err
	}
	m, deps, err := e.appBundle(fsys, opts.App, &opts.Parameters, manifest.ActionInstall)
	if err != nil {
		return nil, err
	}
	deps.insecure = opts.Insecure
	if err := checkConsent(opts.App, BundlePermissions(fsys, m), opts.AllowPrivileged); err != nil {
		return nil, err
	}

	target := e.target(opts.Target)
	if err := e.checkTarget(ctx, target); err != nil {
		return nil, err
	}

	// Ask Docker before taking the lease lock, which serialises installs.
	projectContainers, err := e.deps.Docker.ProjectContainers(ctx, e.Project(opts.Name))
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", opts.Name, err)
	}
	var published []PublishedPort
	if specs := PortSpecs(m); len(specs) > 0 {
		if published, err = e.publishedPorts(ctx); err != nil {
			return nil, fmt.Errorf("install %s: list published ports: %w", opts.Name, err)
		}
	}
	// Refuse with every reason at once before anything is pulled; the name
	// and ports are checked again under the lease lock.
	if !opts.SkipPreflight {
		report, err := e.preflight(ctx, opts, m, projectContainers, published)
		if err != nil {
			return nil, err
		}
		if err := report.Err(); err != nil {
			return nil, err
		}
	}

	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	existing, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, opts.Name)
	switch {
	case err == nil && existing.Status != StatusFailed && existing.Status != StatusUninstalled:
		return nil, NewUserError(ErrConflict, fmt.Sprintf("%s is already installed (status %s)", opts.Name, existing.Status),
			fmt.Sprintf("uninstall it first, or install under another name (stackhub install %s --name %s-2)", opts.App, opts.Name))
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("install %s: %w", opts.Name, err)
	}
	// A live container of that name that StackHub does not know is the
	// user's: never replace it.
	if existing == nil && len(projectContainers) > 0 {
		return nil, NewUserError(ErrConflict, fmt.Sprintf("containers of project %s already exist (%s)", e.Project(opts.Name), projectContainers[0].Name),
			"remove them with docker rm -f, or install under another name")
	}
	if existing != nil && existing.Status == StatusFailed {
		if err := e.clearFailedInstall(ctx, existing); err != nil {
			return nil, err
		}
	}
	ports, err := e.leasePortsWith(ctx, opts.Name, PortSpecs(m), nil, published)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	inst := &Installation{
		ID:            NewID(),
		Name:          opts.Name,
		Namespace:     e.cfg.Namespace,
		App:           opts.App,
		BundleVersion: m.Version,
		Reference:     opts.Reference,
		Status:        StatusInstalling,
		ContainerName: e.ContainerName(opts.Name),
		Ports:         ports,
		Parameters:    opts.Parameters,
		Labels:        targetLabels(target),
		LastAction:    manifest.ActionInstall,
		Created:       now,
		Modified:      now,
	}
	job := &Job{ID: NewID(), Installation: opts.Name, Action: manifest.ActionInstall, Status: JobQueued, Created: now}
	inst.JobID = job.ID
	if existing != nil {
		inst.ID = existing.ID
		inst.Created = existing.Created
		err = e.deps.Store.UpdateInstallation(ctx, inst)
	} else {
		err = e.deps.Store.CreateInstallation(ctx, inst)
	}
	if err != nil {
		_ = e.deps.Store.ReleasePorts(ctx, opts.Name)
		return nil, fmt.Errorf("record installation %s: %w", opts.Name, err)
	}
	if err := e.deps.Store.CreateJob(ctx, job); err != nil {
		return nil, fmt.Errorf("record job: %w", err)
	}
	e.log.Info("install queued", "installation", opts.Name, "app", opts.App, "ports", ports, "job", job.ID)
	e.startJob(job, func(ctx context.Context) error {
		return e.runInstall(ctx, inst.Name, fsys, m, deps)
	})
	cp := *inst
	return &cp, nil
}

// loadManifest reads and validates a bundle's porter.yaml, with the
// experimental features the engine was configured with (none for the
// service; the bundle commands' --experimental).
func (e *Engine) loadManifest(fsys fs.FS, app string) (*manifest.Manifest, error) {
	return readManifest(fsys, app, e.cfg.Experimental)
}

func readManifest(fsys fs.FS, app string, experimental []string) (*manifest.Manifest, error) {
	data, err := fs.ReadFile(fsys, "porter.yaml")
	if err != nil {
		return nil, fmt.Errorf("read %s/porter.yaml: %w", app, err)
	}
	m, err := manifest.Parse(data, app+"/porter.yaml")
	if err == nil {
		// Refuse at once what the job would fail on (no install action, an
		// undeclared mixin ...), before ports are leased.
		err = m.Validate(manifest.ValidateOptions{Experimental: experimental})
	}
	if err != nil {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("bundle %s is broken: %v", app, err), "run stackhub bundle lint on it")
	}
	return m, nil
}

// checkParameters refuses parameters the bundle does not define.
func checkParameters(m *manifest.Manifest, params map[string]string, action string) error {
	for k := range params {
		found := false
		for _, p := range m.Parameters {
			if p.Name == k {
				found = true
				break
			}
		}
		if !found {
			names := make([]string, 0, len(m.Parameters))
			for _, p := range m.Parameters {
				names = append(names, p.Name)
			}
			hint := "this bundle takes no parameters"
			if len(names) > 0 {
				hint = "its parameters are: " + strings.Join(names, ", ")
			}
			return NewUserError(ErrInvalid, fmt.Sprintf("bundle %s has no parameter %q", m.Name, k), hint)
		}
	}
	return nil
}

// runInstall is the install job: build the image if needed, run the install
// action, record the outcome. On failure, whatever the action created is
// removed and the ports are freed.
func (e *Engine) runInstall(ctx context.Context, name string, fsys fs.FS, m *manifest.Manifest, deps appDependencies) error {
	lock := e.lockInstallation(name)
	lock.Lock()
	defer lock.Unlock()
	inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, name)
	if err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	// An earlier run cut off from Docker may have left its invocation
	// container behind.
	e.removeInvocations(ctx, name)
	files, runErr := e.runAppDependencies(ctx, inst, m, manifest.ActionInstall, deps)
	if runErr == nil {
		e.step(ctx, "prepare bundle "+inst.App+" "+m.Version, 10)
		runErr = e.runAction(ctx, inst, fsys, m, manifest.ActionInstall, actionOptions{files: files})
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	now := time.Now().UTC()
	inst.Modified = now
	if runErr != nil {
		inst.Status = StatusFailed
		inst.Reason = runErr.Error()
		if h := HintOf(runErr); h != "" {
			inst.Reason += " (hint: " + h + ")"
		}
		e.removeInvocations(wctx, name)
		if err := e.removeProject(wctx, e.Project(name), false); err != nil {
			e.log.Warn("clean up failed install", "installation", name, "err", err)
		}
		e.dropBundleImage(wctx, inst, m)
		if err := e.deps.Store.ReleasePorts(wctx, name); err != nil {
			e.log.Warn("release ports", "installation", name, "err", err)
		} else {
			// Freed: they are no longer the app's to show.
			inst.Ports = nil
		}
		e.log.Error("install failed", "installation", name, "err", runErr)
	} else {
		inst.Status = StatusRunning
		inst.Reason = ""
		inst.Installed = &now
		inst.Uninstalled = nil
		e.noteContainerless(wctx, inst)
		e.log.Info("installed", "installation", name, "ports", inst.Ports)
	}
	// Read the containers first: a status "running" next to a stale live
	// state (a container still "created", or none yet) shows as failed.
	e.refreshLive(wctx, name)
	if err := e.deps.Store.UpdateInstallation(wctx, inst); err != nil {
		return fmt.Errorf("record install of %s: %w", name, err)
	}
	return runErr
}

// Uninstall removes an installation's containers and networks (and volumes
// with Purge) and frees its ports. It waits for the work to finish.
func (e *Engine) Uninstall(ctx context.Context, opts UninstallOptions) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, opts.Name)
	if errors.Is(err, ErrNotFound) || (err == nil && inst.Status == StatusUninstalled) {
		return NewUserError(ErrNotFound, fmt.Sprintf("%s is not installed", opts.Name), "see what is installed with `stackhub list` (or GET /api/v1/installations)")
	}
	if err != nil {
		return fmt.Errorf("uninstall %s: %w", opts.Name, err)
	}
	lock := e.lockInstallation(opts.Name)
	switch inst.Status {
	case StatusInstalling, StatusUpgrading, StatusUninstalling:
		if !lock.TryLock() {
			return NewUserError(ErrConflict, fmt.Sprintf("%s is busy (%s)", opts.Name, inst.Status), "wait for the running job to finish, then retry")
		}
	default:
		// A job that just recorded a settled status may still hold the
		// lock for a moment: wait for it rather than answer busy.
		if err := lockContext(ctx, lock); err != nil {
			return fmt.Errorf("uninstall %s: %w", opts.Name, err)
		}
	}
	defer lock.Unlock()
	inst, err = e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, opts.Name)
	if err != nil {
		return fmt.Errorf("uninstall %s: %w", opts.Name, err)
	}
	prev := inst.Status
	inst.Status = StatusUninstalling
	inst.LastAction = manifest.ActionUninstall
	inst.Modified = time.Now().UTC()
	if err := e.deps.Store.UpdateInstallation(ctx, inst); err != nil {
		return fmt.Errorf("uninstall %s: %w", opts.Name, err)
	}
	// The work must finish even if the caller goes away.
	wctx := context.WithoutCancel(ctx)
	runErr := e.uninstallAction(wctx, inst, opts.Purge)
	now := time.Now().UTC()
	inst.Modified = now
	if runErr != nil {
		inst.Status = prev
		if prev == StatusRunning {
			inst.Status = StatusFailed
		}
		inst.Reason = runErr.Error()
		if !strings.HasPrefix(inst.Reason, manifest.ActionUninstall+" failed") {
			inst.Reason = "uninstall failed: " + inst.Reason
		}
		_ = e.deps.Store.UpdateInstallation(wctx, inst)
		e.refreshLive(wctx, opts.Name)
		cs, err := e.deps.Docker.ProjectContainers(wctx, e.Project(opts.Name))
		if err != nil {
			return fmt.Errorf("uninstall %s failed (%w), and its containers could not be listed: %w", opts.Name, runErr, err)
		}
		return e.uninstallFailure(inst, stillRunning(cs), runErr)
	}
	if err := e.deps.Store.ReleasePorts(wctx, opts.Name); err != nil {
		return fmt.Errorf("release ports of %s: %w", opts.Name, err)
	}
	e.dropDomains(wctx, opts.Name)
	inst.Status = StatusUninstalled
	inst.Reason = ""
	inst.Uninstalled = &now
	if err := e.deps.Store.UpdateInstallation(wctx, inst); err != nil {
		return fmt.Errorf("record uninstall of %s: %w", opts.Name, err)
	}
	e.live.forget(e.Project(opts.Name))
	e.log.Info("uninstalled", "installation", opts.Name)
	return e.uninstallAppDependencies(wctx, opts.Name, opts.Purge)
}

// uninstallAction runs the bundle's uninstall action; if the bundle cannot
// run at all (for example it was removed from the catalog), StackHub removes
// the project's containers and networks itself.
func (e *Engine) uninstallAction(ctx context.Context, inst *Installation, purge bool) (err error) {
	fsys, err := e.openInstalled(ctx, inst)
	if err != nil {
		e.log.Warn("bundle gone; removing the project directly", "installation", inst.Name, "err", err)
		return e.removeProject(ctx, e.Project(inst.Name), purge)
	}
	m, err := e.loadManifest(fsys, inst.App)
	if err != nil {
		return err
	}
	err = e.runAction(ctx, inst, fsys, m, manifest.ActionUninstall, actionOptions{purge: purge})
	if inst.Installed == nil {
		// Its uninstall built the bundle image again: it goes too.
		defer func() {
			if err == nil {
				e.dropBundleImage(ctx, inst, m)
			}
		}()
	}
	switch {
	case err != nil && notRun(err):
		// Its image cannot be made ready (the reason a first install often
		// fails): remove what the project has, as for a bundle gone.
		e.log.Warn("bundle cannot run; removing the project directly", "installation", inst.Name, "err", err)
		return e.removeProject(ctx, e.Project(inst.Name), purge)
	case err != nil && inst.Installed == nil:
		// A failed install's uninstall must not leave it stuck: remove
		// what the project has; the action's failure only counts if that
		// fails too.
		e.log.Warn("uninstall action of a failed install failed; removing the project directly", "installation", inst.Name, "err", err)
		if rerr := e.removeProject(ctx, e.Project(inst.Name), purge); rerr != nil {
			return errors.Join(err, rerr)
		}
		return nil
	case err != nil:
		return err
	}
	// The action removed what it knows of; make sure no container of the
	// project survives (a half-created container of a failed install).
	cs, err := e.deps.Docker.ProjectContainers(ctx, e.Project(inst.Name))
	if err != nil {
		return err
	}
	if len(cs) > 0 || purge {
		return e.removeProject(ctx, e.Project(inst.Name), purge)
	}
	return nil
}

func describePorts(ports map[string]int) string {
	if len(ports) == 0 {
		return "no ports"
	}
	var parts []string
	for _, k := range sortedKeys(ports) {
		parts = append(parts, fmt.Sprintf("%s %d", k, ports[k]))
	}
	return "ports " + strings.Join(parts, ", ")
}

// UninstallAll uninstalls every installation, as many at once as the
// engine runs jobs; the outcomes keep the list's order.
func (e *Engine) UninstallAll(ctx context.Context) ([]UninstallOutcome, error) {
	list, err := e.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UninstallOutcome, len(list))
	failures := make([]error, len(list))
	sem := make(chan struct{}, max(e.cfg.JobConcurrency, 1))
	var wg sync.WaitGroup
	for i, inst := range list {
		out[i].Name = inst.Name
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := e.Uninstall(ctx, UninstallOptions{Name: inst.Name}); err != nil {
				out[i].Error = err.Error()
				failures[i] = err
			}
		}()
	}
	wg.Wait()
	var errs []error
	for _, err := range failures {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%d of %d uninstalls failed: %w", len(errs), len(list), errors.Join(errs...))
	}
	return out, nil
}

// Get returns one installation with its live status.
func (e *Engine) Get(ctx context.Context, name string) (*Installation, error) {
	if err := ValidateName("appName", name); err != nil {
		return nil, err
	}
	inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, name)
	if errors.Is(err, ErrNotFound) || (err == nil && inst.Status == StatusUninstalled) {
		return nil, NewUserError(ErrNotFound, fmt.Sprintf("%s is not installed", name), "install it first, or see what is installed with `stackhub list` (or GET /api/v1/installations)")
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	e.applyLive(inst)
	e.applySwarm(ctx, inst)
	return inst, nil
}

// List returns every installation (uninstalled ones excluded), with live
// status.
func (e *Engine) List(ctx context.Context) ([]*Installation, error) {
	all, err := e.deps.Store.ListInstallations(ctx, e.cfg.Namespace)
	if err != nil {
		return nil, fmt.Errorf("list installations: %w", err)
	}
	out := all[:0]
	for _, inst := range all {
		if inst.Status == StatusUninstalled {
			continue
		}
		e.applyLive(inst)
		out = append(out, inst)
	}
	return out, nil
}

// clearFailedInstall removes what a failed install left before it is
// installed again. The failed run's invocation container goes first: cut
// off from Docker, the engine may have given up on a run that is still
// creating containers, so the project is read only once it has stopped.
// Containers StackHub did not make are the user's and stop the install.
// Volumes stay.
func (e *Engine) clearFailedInstall(ctx context.Context, inst *Installation) error {
	runs, err := e.deps.Store.ListRuns(ctx, inst.Namespace, inst.Name)
	if err != nil {
		return fmt.Errorf("clear the failed install of %s: %w", inst.Name, err)
	}
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if err := e.deps.Docker.RemoveInvocations(ctx, ids); err != nil {
		return fmt.Errorf("clear the failed install of %s: %w", inst.Name, err)
	}
	containers, err := e.deps.Docker.ProjectContainers(ctx, e.Project(inst.Name))
	if err != nil {
		return fmt.Errorf("clear the failed install of %s: %w", inst.Name, err)
	}
	for _, c := range containers {
		if c.Labels[contract.LabelManaged] != "true" {
			return NewUserError(ErrConflict, fmt.Sprintf("container %s of project %s was not made by StackHub", c.Name, e.Project(inst.Name)),
				"remove it with docker rm -f, or install under another name")
		}
	}
	// A swarm install leaves services, not containers, on the manager:
	// the project is removed either way.
	if err := e.removeProject(ctx, e.Project(inst.Name), false); err != nil {
		return fmt.Errorf("clear the failed install of %s: %w", inst.Name, err)
	}
	e.log.Info("removed what a failed install left before installing again", "installation", inst.Name, "containers", len(containers))
	return nil
}
