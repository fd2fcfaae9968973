package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/manifest"
)

// The lifecycle of an installed app beyond install and uninstall: upgrade,
// the bundles' custom actions (start, stop, restart), logs, and uninstall
// as a job.

// UpgradeOptions asks for an installation to be moved to the catalog's
// current version of its bundle.
type UpgradeOptions struct {
	Name string
	// Parameters change parameter values; the others keep theirs.
	Parameters map[string]string
	// AllowPrivileged is an admin's consent to the privileged requests of
	// the catalog's version of the bundle (see InstallOptions).
	AllowPrivileged bool
	// RestoreOnFailure backs the installation up before the upgrade
	// (whatever Config.BackupBeforeUpgrade says) and, if the upgrade fails
	// and its containers were rolled back to the previous version, puts
	// that backup's data back and starts the app again.
	RestoreOnFailure bool
	// NoBackup skips the backup Config.BackupBeforeUpgrade asks for.
	NoBackup bool
}

// Validate checks the options.
func (o *UpgradeOptions) Validate() error {
	if o.NoBackup && o.RestoreOnFailure {
		return NewUserError(ErrInvalid, "no backup and restore on failure go against each other: restoring needs the backup",
			"leave out one of --no-backup and --restore-on-failure")
	}
	return ValidateName("installation name", o.Name)
}

// ActionOptions asks for a custom action of an installation's bundle.
type ActionOptions struct {
	Name   string
	Action string
}

// Validate checks the options.
func (o *ActionOptions) Validate() error {
	if err := ValidateName("installation name", o.Name); err != nil {
		return err
	}
	if o.Action == "" || !nameRE.MatchString(o.Action) || o.Action == manifest.ActionInstall ||
		o.Action == manifest.ActionUpgrade || o.Action == manifest.ActionUninstall {
		return NewUserError(ErrInvalid, fmt.Sprintf("action %q is not a custom action", o.Action),
			"use start, stop, restart or another action the bundle defines; install, upgrade and uninstall have their own commands")
	}
	return nil
}

// LogsOptions asks for an installation's container logs.
type LogsOptions struct {
	Name string
	// Service picks a compose service; empty means the main container.
	Service string
	// Tail is how many last lines to show (0: all).
	Tail   int
	Follow bool
}

// Validate checks the options.
func (o *LogsOptions) Validate() error {
	if err := ValidateName("installation name", o.Name); err != nil {
		return err
	}
	if o.Tail < 0 {
		return NewUserError(ErrInvalid, fmt.Sprintf("tail %d is negative", o.Tail), "pass a number of lines, or 0 for all")
	}
	return nil
}

// installed returns the installation, or a not-found error naming it.
func (e *Engine) installed(ctx context.Context, name string) (*Installation, error) {
	inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, name)
	if errors.Is(err, ErrNotFound) || (err == nil && inst.Status == StatusUninstalled) {
		return nil, NewUserError(ErrNotFound, fmt.Sprintf("%s is not installed", name), "list installations with `stackhub list`")
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	return inst, nil
}

// settled refuses installations a job is working on, and ones that never
// finished installing.
func settled(inst *Installation, verb string) error {
	switch inst.Status {
	case StatusInstalling, StatusUpgrading, StatusUninstalling:
		return NewUserError(ErrConflict, fmt.Sprintf("cannot %s %s: it is %s", verb, inst.Name, inst.Status),
			"wait for the running job to finish (stackhub show "+inst.Name+"), then retry")
	}
	if inst.Installed == nil {
		return NewUserError(ErrConflict, fmt.Sprintf("cannot %s %s: it never finished installing", verb, inst.Name),
			fmt.Sprintf("install it again (stackhub install %s --name %s), or uninstall it", inst.App, inst.Name))
	}
	return nil
}

// Upgrade moves an installation to the catalog's version of its bundle,
// keeping its ports, data and generated secrets (earlier outputs feed the
// bundle's parameter sources). It queues the job and returns at once.
func (e *Engine) Upgrade(ctx context.Context, opts UpgradeOptions) (*Installation, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	inst, err := e.installed(ctx, opts.Name)
	if err != nil {
		return nil, err
	}
	if err := settled(inst, "upgrade"); err != nil {
		return nil, err
	}
	if opts.RestoreOnFailure {
		if _, _, err := e.backupDeps(); err != nil {
			return nil, fmt.Errorf("upgrade %s --restore-on-failure: %w", opts.Name, err)
		}
	}
	fsys, err := e.openInstalled(ctx, inst)
	if err != nil {
		return nil, err
	}
	m, deps, err := e.appBundle(fsys, inst.App, &opts.Parameters, manifest.ActionUpgrade)
	if err != nil {
		return nil, err
	}
	if _, ok := m.Actions[manifest.ActionUpgrade]; !ok {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("bundle %s has no upgrade action", inst.App),
			"uninstall (data is kept) and install again")
	}
	// The catalog's version may ask for more than the installed one did; a
	// bundle installed by reference or archive runs what was consented to.
	if inst.Reference == "" {
		if err := checkConsent(inst.App, BundlePermissions(fsys, m), opts.AllowPrivileged); err != nil {
			return nil, err
		}
	}
	ports, err := e.leasePorts(ctx, inst.Name, PortSpecs(m), inst.Ports)
	if err != nil {
		return nil, err
	}
	params := map[string]string{}
	for k, v := range inst.Parameters {
		params[k] = v
	}
	for k, v := range opts.Parameters {
		params[k] = v
	}
	prev := *inst
	inst.Ports = ports
	inst.Parameters = params
	inst.Status = StatusUpgrading
	inst.Reason = fmt.Sprintf("upgrading from %s to %s", prev.BundleVersion, m.Version)
	inst.LastAction = manifest.ActionUpgrade
	inst.Modified = time.Now().UTC()
	job, err := e.queueJobWith(ctx, inst, manifest.ActionUpgrade, func(ctx context.Context) error {
		return e.runUpgrade(ctx, inst.Name, &prev, fsys, m, deps, opts.RestoreOnFailure, opts.NoBackup)
	})
	if err != nil {
		return nil, err
	}
	cp := *inst
	cp.JobID = job.ID
	return &cp, nil
}

// queueJobWith records inst (with the job's id) and the job, then starts
// the job. If either write fails nothing runs and inst is left as it was
// stored.
func (e *Engine) queueJobWith(ctx context.Context, inst *Installation, action string, fn func(ctx context.Context) error) (*Job, error) {
	job := &Job{ID: NewID(), Installation: inst.Name, Action: action, Status: JobQueued, Created: time.Now().UTC()}
	if err := e.deps.Store.CreateJob(ctx, job); err != nil {
		return nil, fmt.Errorf("record %s job of %s: %w", action, inst.Name, err)
	}
	inst.JobID = job.ID
	if err := e.deps.Store.UpdateInstallation(ctx, inst); err != nil {
		now := time.Now().UTC()
		job.Status, job.Message, job.Finished = JobFailed, err.Error(), &now
		_ = e.deps.Store.UpdateJob(context.WithoutCancel(ctx), job)
		return nil, fmt.Errorf("record %s of %s: %w", action, inst.Name, err)
	}
	cp := *job
	e.startJob(job, fn)
	return &cp, nil
}

func (e *Engine) runUpgrade(ctx context.Context, name string, prev *Installation, fsys fs.FS, m *manifest.Manifest, deps appDependencies, restoreOnFailure, noBackup bool) error {
	lock := e.lockInstallation(name)
	lock.Lock()
	defer lock.Unlock()
	inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, name)
	if err != nil {
		return fmt.Errorf("upgrade %s: %w", name, err)
	}
	before, err := e.backupBeforeUpgrade(ctx, inst, prev, restoreOnFailure, noBackup)
	if err != nil {
		return err
	}
	files, runErr := e.runAppDependencies(ctx, inst, m, manifest.ActionUpgrade, deps)
	if runErr == nil {
		e.step(ctx, "prepare bundle "+inst.App+" "+m.Version, 10)
		runErr = e.runAction(ctx, inst, fsys, m, manifest.ActionUpgrade, actionOptions{files: files})
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	inst.Modified = time.Now().UTC()
	switch {
	case errors.Is(runErr, ErrUpgradeUndone):
		// The bundle brought the previous version back: it runs as before.
		inst.Status = prev.Status
		if inst.Status == StatusUpgrading || inst.Status == StatusFailed || inst.Status == "" {
			inst.Status = StatusRunning
		}
		inst.Reason = fmt.Sprintf("upgrade to %s failed and was undone: %v", m.Version, runErr)
		e.log.Error("upgrade failed and was undone", "installation", name, "err", runErr)
	case runErr != nil:
		// The old containers may still run; the installation can be
		// upgraded again or uninstalled.
		inst.Status = StatusFailed
		inst.Reason = fmt.Sprintf("upgrade to %s failed: %v", m.Version, runErr)
		e.log.Error("upgrade failed", "installation", name, "err", runErr)
	default:
		inst.Status = StatusRunning
		inst.Reason = ""
		inst.BundleVersion = m.Version
		e.noteContainerless(wctx, inst)
		e.log.Info("upgraded", "installation", name, "from", prev.BundleVersion, "to", m.Version)
	}
	if runErr != nil && restoreOnFailure && before != nil {
		note := e.restoreAfterFailedUpgrade(ctx, inst, before, runErr)
		inst.Reason += "; " + note
		runErr = fmt.Errorf("%w; %s", runErr, note)
		inst.Modified = time.Now().UTC()
	}
	if err := e.deps.Store.UpdateInstallation(wctx, inst); err != nil {
		return fmt.Errorf("record upgrade of %s: %w", name, err)
	}
	e.refreshLive(wctx, name)
	return runErr
}

// Action queues a custom action of an installation's bundle as a job. The
// stop action leaves the installation stopped; start and restart leave it
// running.
func (e *Engine) Action(ctx context.Context, opts ActionOptions) (*Job, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	inst, err := e.installed(ctx, opts.Name)
	if err != nil {
		return nil, err
	}
	if err := settled(inst, opts.Action); err != nil {
		return nil, err
	}
	fsys, err := e.openInstalled(ctx, inst)
	if err != nil {
		return nil, err
	}
	m, err := e.loadManifest(fsys, inst.App)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(m.CustomActionNames(), opts.Action) {
		hint := "this bundle has no custom actions"
		if names := m.CustomActionNames(); len(names) > 0 {
			hint = "its actions are: " + strings.Join(names, ", ")
		}
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("bundle %s has no action %q", inst.App, opts.Action), hint)
	}
	inst.LastAction = opts.Action
	inst.Modified = time.Now().UTC()
	return e.queueJobWith(ctx, inst, opts.Action, func(ctx context.Context) error {
		return e.runCustom(ctx, inst.Name, opts.Action, fsys, m)
	})
}

func (e *Engine) runCustom(ctx context.Context, name, action string, fsys fs.FS, m *manifest.Manifest) error {
	lock := e.lockInstallation(name)
	lock.Lock()
	defer lock.Unlock()
	inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, name)
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, name, err)
	}
	e.step(ctx, "prepare bundle "+inst.App, 10)
	runErr := e.runAction(ctx, inst, fsys, m, action, actionOptions{})
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	inst.Modified = time.Now().UTC()
	if runErr != nil {
		inst.Reason = fmt.Sprintf("%s failed: %v", action, runErr)
	} else {
		inst.Reason = ""
		switch action {
		case "stop":
			inst.Status = StatusStopped
		case "start", "restart":
			inst.Status = StatusRunning
		}
	}
	if err := e.deps.Store.UpdateInstallation(wctx, inst); err != nil {
		return fmt.Errorf("record %s of %s: %w", action, name, err)
	}
	e.refreshLive(wctx, name)
	return runErr
}

// UninstallJob queues Uninstall as a job and returns at once.
func (e *Engine) UninstallJob(ctx context.Context, opts UninstallOptions) (*Job, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	inst, err := e.installed(ctx, opts.Name)
	if err != nil {
		return nil, err
	}
	switch inst.Status {
	case StatusInstalling, StatusUpgrading, StatusUninstalling:
		return nil, NewUserError(ErrConflict, fmt.Sprintf("%s is busy (%s)", opts.Name, inst.Status),
			"wait for the running job to finish, then retry")
	}
	return e.queueJob(ctx, opts.Name, manifest.ActionUninstall, func(ctx context.Context) error {
		e.step(ctx, "uninstall "+opts.Name, 10)
		return e.Uninstall(ctx, opts)
	})
}

// Logs returns the log of an installation's main container (or of the
// container of opts.Service), the last opts.Tail lines, following new ones
// with opts.Follow until ctx ends.
func (e *Engine) Logs(ctx context.Context, opts LogsOptions) (io.ReadCloser, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	inst, err := e.installed(ctx, opts.Name)
	if err != nil {
		return nil, err
	}
	if TargetOf(inst) == contract.TargetSwarm && e.deps.Swarm != nil {
		return e.swarmLogs(ctx, inst, opts)
	}
	container := inst.ContainerName
	cs, _ := e.live.get(e.Project(inst.Name))
	if opts.Service != "" {
		container = ""
		var services []string
		for _, c := range cs {
			services = append(services, c.Service)
			if c.Service == opts.Service {
				container = c.Name
			}
		}
		if container == "" {
			sort.Strings(services)
			hint := "it has no running containers; see `stackhub show " + inst.Name + "`"
			if len(services) > 0 {
				hint = "its services are: " + strings.Join(services, ", ")
			}
			return nil, NewUserError(ErrNotFound, fmt.Sprintf("%s has no service %q", inst.Name, opts.Service), hint)
		}
	} else if len(cs) > 0 && !slices.ContainsFunc(cs, func(c ContainerState) bool { return c.Name == container }) {
		container = cs[0].Name
	}
	rc, err := e.deps.Docker.ContainerLogs(ctx, container, opts.Tail, opts.Follow)
	if errors.Is(err, ErrNotFound) {
		return nil, NewUserError(ErrNotFound, fmt.Sprintf("container %s of %s does not exist", container, inst.Name),
			"its containers are gone; uninstall it and install it again")
	}
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", inst.Name, err)
	}
	return rc, nil
}
