package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine/manifest"
)

// Backups: an installation's data (its named volumes and bind-mounted
// folders) and its record (bundle, version, parameter values, outputs
// with the generated secrets), copied by a backup engine (engine/restic)
// into an encrypted, deduplicated repository, and restored in place or as
// a new installation.
//
// The volumes are read and written at their mountpoints on this host, so
// StackHub must run on the Docker host as root (as `serve` does); the
// engine never copies data through a container.

// BackupAction is the custom action a bundle declares to quiesce its app
// for a backup (a database dump into a volume, say). Without it StackHub
// stops the app's containers for the copy and starts them again.
const BackupAction = "backup"

// RecordFile is the name, inside a backup, of the installation's record.
const RecordFile = "installation.json"

// BackupEngine stores and restores snapshots of folders in a repository;
// engine/restic implements it over restic.
type BackupEngine interface {
	// Backup snapshots paths plus files (written by the engine into a
	// folder of its own and included by base name) and returns the
	// snapshot; tags become the backup's Tags.
	Backup(ctx context.Context, req BackupRequest) (*Backup, error)
	// List returns the snapshots of an installation, oldest first.
	List(ctx context.Context, installation string) ([]Backup, error)
	// ReadFile returns a file given to Backup in req.Files, by name.
	ReadFile(ctx context.Context, id, name string) ([]byte, error)
	// Restore writes the snapshot's path (and what is under it) below
	// target: the folder path ends up at target+path.
	Restore(ctx context.Context, id, path, target string) error
	// Delete removes a snapshot and the data no other snapshot uses.
	Delete(ctx context.Context, id string) error
	// Forget removes the installation's snapshots that keep does not
	// keep, and the data only they used; it returns the removed ids.
	Forget(ctx context.Context, installation string, keep KeepPolicy) ([]string, error)
	// Target describes the repository (never with credentials).
	Target() string
}

// BackupRequest is what one snapshot holds.
type BackupRequest struct {
	Installation string
	Paths        []string
	Files        map[string][]byte
	Tags         map[string]string
}

// Backup is one snapshot of an installation.
type Backup struct {
	ID           string            `json:"id"`
	Installation string            `json:"installation"`
	Created      time.Time         `json:"created"`
	Paths        []string          `json:"paths,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	// Size is the bytes the backup holds; Added what it added to the
	// repository (after deduplication and compression); both are known
	// for backups StackHub made.
	Size  int64 `json:"size"`
	Added int64 `json:"added"`
	Files int64 `json:"files"`
	// Target is the repository the backup is in.
	Target string `json:"target,omitempty"`
	// Verified is the last verification of the backup (nil: never
	// verified).
	Verified *BackupVerification `json:"verified,omitempty"`
}

// Backup tags StackHub sets.
const (
	TagApp     = "app"
	TagVersion = "version"
	TagQuiesce = "quiesce"
)

// DataMount is one place an installation keeps data.
type DataMount struct {
	// Key is the compose volume key ("data"), or the host path of a bind
	// mount.
	Key string `json:"key"`
	// Name is the Docker volume's name ("" for a bind mount).
	Name string `json:"name,omitempty"`
	// Path is the folder on the host.
	Path string `json:"path"`
	Bind bool   `json:"bind,omitempty"`
}

// VolumeDocker is what backups need of Docker beyond Docker; engine/docker
// implements it.
type VolumeDocker interface {
	// ProjectMounts lists the named volumes of a compose project (but the
	// mixin's state volume) and the folders its containers bind-mount.
	ProjectMounts(ctx context.Context, project string) ([]DataMount, error)
	// StopContainers stops the containers (by id), StartContainers starts them.
	StopContainers(ctx context.Context, ids []string) error
	StartContainers(ctx context.Context, ids []string) error
}

// BackupRecord is the installation's record kept inside a backup: enough
// to install it again, here or on another host.
type BackupRecord struct {
	Installation  string            `json:"installation"`
	App           string            `json:"app"`
	BundleVersion string            `json:"bundleVersion"`
	BundleDigest  string            `json:"bundleDigest,omitempty"`
	Reference     string            `json:"reference,omitempty"`
	Parameters    map[string]string `json:"parameters,omitempty"`
	Ports         map[string]int    `json:"ports,omitempty"`
	// Outputs hold the last value of every output, generated secrets
	// among them: the backup repository encrypts them with everything
	// else.
	Outputs map[string]string `json:"outputs,omitempty"`
	Mounts  []DataMount       `json:"mounts"`
	Created time.Time         `json:"created"`
}

// BackupResult is a finished backup and what was done for it.
type BackupResult struct {
	Backup Backup `json:"backup"`
	// Notes say how the app was quiesced ("stopped 2 containers for the
	// copy and started them again").
	Notes []string `json:"notes,omitempty"`
}

// RestoreOptions asks for a backup to be restored.
type RestoreOptions struct {
	// Name is the installation the backup was taken of.
	Name string
	// ID is the backup (snapshot) id; "latest" or empty is the newest.
	ID string
	// As restores into a new installation of that name (a clone with its
	// own ports) instead of over Name.
	As string
}

// Validate checks the options.
func (o *RestoreOptions) Validate() error {
	if err := ValidateName("installation name", o.Name); err != nil {
		return err
	}
	if o.As != "" {
		if err := ValidateName("new installation name", o.As); err != nil {
			return err
		}
		if o.As == o.Name {
			return NewUserError(ErrInvalid, "--as names the installation itself", "leave --as out to restore in place")
		}
	}
	return validBackupID(o.ID)
}

func validBackupID(id string) error {
	if id == "" || id == "latest" {
		return nil
	}
	for _, r := range id {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return NewUserError(ErrInvalid, fmt.Sprintf("backup id %q is not valid", id),
				"use an id from `stackhub backup list`, or latest")
		}
	}
	return nil
}

func (e *Engine) backupDeps() (BackupEngine, VolumeDocker, error) {
	vd, ok := e.deps.Docker.(VolumeDocker)
	if e.deps.Backups == nil || !ok {
		return nil, nil, NewUserError(ErrUnavailable, "backups are not set up on this server",
			"start StackHub with a backup target (--backup-target, default a folder in the data directory)")
	}
	return e.deps.Backups, vd, nil
}

// CreateBackup queues a backup of an installation as a job.
func (e *Engine) CreateBackup(ctx context.Context, name string) (*Job, error) {
	if err := ValidateName("installation name", name); err != nil {
		return nil, err
	}
	if _, _, err := e.backupDeps(); err != nil {
		return nil, err
	}
	inst, err := e.installed(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := settled(inst, "back up"); err != nil {
		return nil, err
	}
	return e.backupJob(ctx, name, KeepPolicy{})
}

// backupJob queues a backup of name, then prunes its backups by keep
// (when keep keeps something).
func (e *Engine) backupJob(ctx context.Context, name string, keep KeepPolicy) (*Job, error) {
	return e.queueJob(ctx, name, "backup", func(ctx context.Context) error {
		return e.backupAndPrune(ctx, name, keep)
	})
}

// backupAndPrune is a backup job's work: back name up, then prune its
// backups by keep (when keep keeps something).
func (e *Engine) backupAndPrune(ctx context.Context, name string, keep KeepPolicy) error {
	res, err := e.BackupNow(ctx, name)
	if err != nil {
		return err
	}
	for _, n := range res.Notes {
		e.step(ctx, n, 95)
	}
	e.step(ctx, fmt.Sprintf("backup %s of %s: %d bytes, %d new", res.Backup.ID, name, res.Backup.Size, res.Backup.Added), 96)
	if keep.Validate() == nil {
		removed, err := e.PruneBackups(ctx, name, keep)
		if err != nil {
			return err
		}
		e.step(ctx, fmt.Sprintf("%d older backup(s) of %s pruned", len(removed), name), 99)
	}
	return nil
}

// BackupNow backs an installation up and returns when done. Without a
// bundle-declared backup action the app's containers are stopped for the
// copy and always started again, failure or not; the result's notes say
// so (and so does the error, when starting them failed).
func (e *Engine) BackupNow(ctx context.Context, name string) (*BackupResult, error) {
	be, vd, err := e.backupDeps()
	if err != nil {
		return nil, err
	}
	lock := e.lockInstallation(name)
	if err := lockContext(ctx, lock); err != nil {
		return nil, err
	}
	defer lock.Unlock()
	inst, err := e.installed(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := settled(inst, "back up"); err != nil {
		return nil, err
	}
	return e.backupLocked(ctx, be, vd, inst)
}

// backupLocked backs inst up; the caller holds the installation's lock.
func (e *Engine) backupLocked(ctx context.Context, be BackupEngine, vd VolumeDocker, inst *Installation) (*BackupResult, error) {
	name := inst.Name
	project := e.Project(name)
	mounts, err := vd.ProjectMounts(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("back up %s: %w", name, err)
	}
	rec, err := e.backupRecord(ctx, inst, mounts)
	if err != nil {
		return nil, err
	}
	recJSON, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("back up %s: %w", name, err)
	}
	// The target is checked before the app is touched: an unreachable
	// one, or a wrong key, fails here with the app running on.
	e.step(ctx, "check the backup target "+be.Target(), 10)
	if _, err := be.List(ctx, name); err != nil {
		return nil, &UserError{Msg: fmt.Sprintf("back up %s to %s: %v (the app was not stopped)", name, be.Target(), err), Hint: HintOf(err), Err: err}
	}
	res := &BackupResult{}
	quiesce := "stop"
	var stopped []string
	if custom, err := e.runBackupAction(ctx, inst); err != nil {
		return nil, fmt.Errorf("back up %s: the bundle's %s action failed: %w", name, BackupAction, err)
	} else if custom {
		quiesce = BackupAction
		res.Notes = append(res.Notes, "ran the bundle's backup action; the app kept running")
	} else {
		e.step(ctx, "stop "+name+" for the copy", 20)
		stopped, err = e.stopRunning(ctx, vd, project)
		e.noteStopped(ctx, stopped)
		if err != nil {
			restartErr := vd.StartContainers(context.WithoutCancel(ctx), stopped)
			return nil, errors.Join(fmt.Errorf("back up %s: stop its containers: %w", name, err), restartErr)
		}
	}
	paths := make([]string, 0, len(mounts))
	for _, m := range mounts {
		paths = append(paths, m.Path)
	}
	e.step(ctx, "copy "+strings.Join(paths, ", "), 40)
	b, backupErr := be.Backup(ctx, BackupRequest{
		Installation: name, Paths: paths, Files: map[string][]byte{RecordFile: recJSON},
		Tags: map[string]string{TagApp: inst.App, TagVersion: inst.BundleVersion, TagQuiesce: quiesce},
	})
	if len(stopped) > 0 {
		// Started again whatever happened, on a context the caller's
		// cancelling does not end.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		startErr := vd.StartContainers(sctx, stopped)
		cancel()
		if startErr == nil {
			e.step(ctx, startedStep, 45)
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.WaitTimeout)
			if err := e.waitHealthy(wctx, project); err != nil {
				e.log.Warn("not healthy after its backup", "installation", name, "err", err)
			}
			cancel()
		}
		e.refreshLive(context.WithoutCancel(ctx), name)
		if startErr != nil {
			return nil, errors.Join(backupErr, NewUserError(ErrUnavailable,
				fmt.Sprintf("%s was stopped for its backup and could not be started again: %v", name, startErr),
				"start it with `stackhub start "+name+"`").WithCause(startErr))
		}
		res.Notes = append(res.Notes, fmt.Sprintf("stopped %d container(s) of %s for the copy and started them again", len(stopped), name))
	}
	if backupErr != nil {
		msg := fmt.Sprintf("back up %s to %s: %v", name, be.Target(), backupErr)
		if len(stopped) > 0 {
			msg += " (its containers were started again)"
		}
		return nil, &UserError{Msg: msg, Hint: HintOf(backupErr), Err: backupErr}
	}
	res.Backup = *b
	e.log.Info("backed up", "installation", name, "backup", b.ID, "size", b.Size, "added", b.Added)
	return res, nil
}

// backupBeforeUpgrade backs inst up when Config.BackupBeforeUpgrade (and
// not skip: upgrade --no-backup) or force (upgrade --restore-on-failure)
// asks for it, and returns the backup (nil when none was taken: not asked
// for, or the app keeps no data, which the job's steps say). If the backup
// fails the upgrade does not start and the installation is put back as it
// was, with the reason.
func (e *Engine) backupBeforeUpgrade(ctx context.Context, inst, prev *Installation, force, skip bool) (*Backup, error) {
	if !force && skip && e.cfg.BackupBeforeUpgrade && e.deps.Backups != nil {
		e.step(ctx, "no backup before the upgrade: it was not wanted (--no-backup)", 5)
		return nil, nil
	}
	if !force && (skip || !e.cfg.BackupBeforeUpgrade || e.deps.Backups == nil) {
		return nil, nil
	}
	be, vd, err := e.backupDeps()
	if err == nil {
		var mounts []DataMount
		mounts, err = vd.ProjectMounts(ctx, e.Project(inst.Name))
		if err == nil && len(mounts) == 0 {
			e.step(ctx, "no backup before the upgrade: "+inst.Name+" keeps no data (no volumes or bind mounts)", 5)
			return nil, nil
		}
	}
	if err == nil {
		e.step(ctx, "back up "+inst.Name+" before the upgrade", 5)
		var res *BackupResult
		res, err = e.backupLocked(ctx, be, vd, inst)
		if err == nil {
			e.step(ctx, fmt.Sprintf("backup %s taken before the upgrade", res.Backup.ID), 8)
			return &res.Backup, nil
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	inst.Status, inst.Ports, inst.Parameters = prev.Status, prev.Ports, prev.Parameters
	inst.Reason = fmt.Sprintf("upgrade not started: the backup before it failed: %v", err)
	inst.Modified = time.Now().UTC()
	if uerr := e.deps.Store.UpdateInstallation(wctx, inst); uerr != nil {
		return nil, errors.Join(err, uerr)
	}
	hint := "fix the backup target, or upgrade without a backup: `stackhub upgrade " + inst.Name + " --no-backup` (or start StackHub with --backup-before-upgrade=false)"
	if force {
		hint = "fix the backup target (stackhub backup create " + inst.Name + " shows the reason), or upgrade without --restore-on-failure"
	}
	return nil, &UserError{Msg: inst.Reason, Hint: hint, Err: err}
}

// runBackupAction runs the bundle's backup action if it declares one.
func (e *Engine) runBackupAction(ctx context.Context, inst *Installation) (bool, error) {
	fsys, err := e.openInstalled(ctx, inst)
	if err != nil {
		return false, err
	}
	m, err := e.loadManifest(fsys, inst.App)
	if err != nil {
		return false, err
	}
	if !slices.Contains(m.CustomActionNames(), BackupAction) {
		return false, nil
	}
	e.step(ctx, "run the bundle's backup action", 20)
	return true, e.runAction(ctx, inst, fsys, m, BackupAction, actionOptions{})
}

// stopRunning stops the project's running containers and returns their
// ids (those it stopped, when it fails half way).
func (e *Engine) stopRunning(ctx context.Context, vd VolumeDocker, project string) ([]string, error) {
	cs, err := e.deps.Docker.ProjectContainers(ctx, project)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range cs {
		if c.State == "running" || c.State == "restarting" {
			ids = append(ids, c.ID)
		}
	}
	if err := vd.StopContainers(ctx, ids); err != nil {
		return ids, err
	}
	return ids, nil
}

func (e *Engine) backupRecord(ctx context.Context, inst *Installation, mounts []DataMount) (*BackupRecord, error) {
	outs, err := e.deps.Store.ListOutputs(ctx, inst.Namespace, inst.Name)
	if err != nil {
		return nil, fmt.Errorf("back up %s: read its outputs: %w", inst.Name, err)
	}
	rec := &BackupRecord{
		Installation: inst.Name, App: inst.App, BundleVersion: inst.BundleVersion, BundleDigest: inst.BundleDigest,
		Reference: inst.Reference, Parameters: inst.Parameters, Ports: inst.Ports, Outputs: map[string]string{},
		Mounts: mounts, Created: time.Now().UTC(),
	}
	for _, o := range outs {
		if o.Name == LogsOutput {
			continue
		}
		rec.Outputs[o.Name] = string(o.Value)
	}
	return rec, nil
}

// Backups lists an installation's backups, newest first. The installation
// need not exist any more.
func (e *Engine) Backups(ctx context.Context, name string) ([]Backup, error) {
	if err := ValidateName("installation name", name); err != nil {
		return nil, err
	}
	be, _, err := e.backupDeps()
	if err != nil {
		return nil, err
	}
	list, err := be.List(ctx, name)
	if err != nil {
		return nil, &UserError{Msg: fmt.Sprintf("list backups of %s in %s: %v", name, be.Target(), err), Hint: HintOf(err), Err: err}
	}
	slices.Reverse(list)
	if vs := e.verifications(ctx); len(vs) > 0 {
		for i := range list {
			list[i].Verified = vs[list[i].ID]
		}
	}
	return list, nil
}

// GetBackup returns one backup of an installation and its record; id
// "latest" (or empty) is the newest.
func (e *Engine) GetBackup(ctx context.Context, name, id string) (*Backup, *BackupRecord, error) {
	if err := validBackupID(id); err != nil {
		return nil, nil, err
	}
	list, err := e.Backups(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	var b *Backup
	for i := range list {
		if id == "" || id == "latest" || strings.HasPrefix(list[i].ID, id) {
			b = &list[i]
			break
		}
	}
	if b == nil {
		return nil, nil, NewUserError(ErrNotFound, fmt.Sprintf("%s has no backup %q", name, id),
			"list its backups with `stackhub backup list "+name+"`")
	}
	raw, err := e.deps.Backups.ReadFile(ctx, b.ID, RecordFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read the record of backup %s: %w", b.ID, err)
	}
	var rec BackupRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, nil, fmt.Errorf("read the record of backup %s: %w", b.ID, err)
	}
	return b, &rec, nil
}

// DeleteBackup removes one backup of an installation.
func (e *Engine) DeleteBackup(ctx context.Context, name, id string) error {
	if id == "" || id == "latest" {
		return NewUserError(ErrInvalid, "name the backup to delete", "pass an id from `stackhub backup list "+name+"`")
	}
	b, _, err := e.GetBackup(ctx, name, id)
	if err != nil {
		return err
	}
	if err := e.deps.Backups.Delete(ctx, b.ID); err != nil {
		return fmt.Errorf("delete backup %s of %s: %w", b.ID, name, err)
	}
	e.dropVerifications(ctx, b.ID)
	return nil
}

// KeepPolicy says which backups of an installation to keep: the newest
// Last, and the newest of each of the last Daily days, Weekly weeks and
// Monthly months (restic's forget policy).
type KeepPolicy struct {
	Last    int `json:"last,omitempty"`
	Daily   int `json:"daily,omitempty"`
	Weekly  int `json:"weekly,omitempty"`
	Monthly int `json:"monthly,omitempty"`
}

// Validate checks that the policy keeps something.
func (k KeepPolicy) Validate() error {
	if k.Last < 0 || k.Daily < 0 || k.Weekly < 0 || k.Monthly < 0 {
		return NewUserError(ErrInvalid, "a keep count is negative", "use counts >= 0")
	}
	if k.Last+k.Daily+k.Weekly+k.Monthly == 0 {
		return NewUserError(ErrInvalid, "the retention policy keeps nothing",
			"say what to keep, for example --keep-last 3 --keep-daily 7; delete backups one by one with `stackhub backup delete`")
	}
	return nil
}

// PruneBackups deletes the installation's backups that keep does not keep
// and returns their ids.
func (e *Engine) PruneBackups(ctx context.Context, name string, keep KeepPolicy) ([]string, error) {
	if err := ValidateName("installation name", name); err != nil {
		return nil, err
	}
	if err := keep.Validate(); err != nil {
		return nil, err
	}
	be, _, err := e.backupDeps()
	if err != nil {
		return nil, err
	}
	removed, err := be.Forget(ctx, name, keep)
	if err != nil {
		return nil, &UserError{Msg: fmt.Sprintf("prune backups of %s in %s: %v", name, be.Target(), err), Hint: HintOf(err), Err: err}
	}
	e.dropVerifications(ctx, removed...)
	e.log.Info("pruned backups", "installation", name, "removed", len(removed))
	return removed, nil
}

// RestoreJob queues Restore as a job.
func (e *Engine) RestoreJob(ctx context.Context, opts RestoreOptions) (*Job, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if _, _, err := e.backupDeps(); err != nil {
		return nil, err
	}
	target := opts.Name
	if opts.As != "" {
		target = opts.As
		if _, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, opts.As); err == nil {
			return nil, NewUserError(ErrConflict, fmt.Sprintf("%s already exists", opts.As), "choose another name for --as")
		}
	} else {
		inst, err := e.installed(ctx, opts.Name)
		if err != nil {
			return nil, err
		}
		if err := settled(inst, "restore"); err != nil {
			return nil, err
		}
	}
	return e.queueJob(ctx, target, "restore", func(ctx context.Context) error {
		return e.Restore(ctx, opts)
	})
}

// Restore puts a backup's data back: over the installation it was taken
// of (stopped, data replaced, started, waited for), or into a new
// installation opts.As installed first with the backup's parameters and
// its own ports. The backup is restored next to the current data first,
// so a restore that fails before the swap leaves the data as it was.
func (e *Engine) Restore(ctx context.Context, opts RestoreOptions) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	return e.restore(ctx, opts)
}

// restore is Restore with options already checked; opts.As may name the
// backup's own installation (a server import reinstalls it so).
func (e *Engine) restore(ctx context.Context, opts RestoreOptions) error {
	_, vd, err := e.backupDeps()
	if err != nil {
		return err
	}
	b, rec, err := e.GetBackup(ctx, opts.Name, opts.ID)
	if err != nil {
		return err
	}
	target := opts.Name
	if opts.As != "" {
		target = opts.As
		if err := e.installClone(ctx, rec, opts.As); err != nil {
			return err
		}
	}
	lock := e.lockInstallation(target)
	if err := lockContext(ctx, lock); err != nil {
		return err
	}
	defer lock.Unlock()
	inst, err := e.installed(ctx, target)
	if err != nil {
		return err
	}
	if opts.As == "" {
		if err := settled(inst, "restore"); err != nil {
			return err
		}
	}
	return e.restoreLocked(ctx, vd, b, rec, inst, opts.As != "")
}

// restoreLocked restores backup b (whose record is rec) into inst: the
// data is staged beside each volume's, the app stopped, the data swapped
// in, the app started and waited for. clone: inst is a new installation
// made from the backup (its bind mounts are left out). The caller holds
// inst's lock.
func (e *Engine) restoreLocked(ctx context.Context, vd VolumeDocker, b *Backup, rec *BackupRecord, inst *Installation, clone bool) error {
	target := inst.Name
	if inst.App != rec.App {
		return NewUserError(ErrInvalid, fmt.Sprintf("backup %s is of app %s, %s runs %s", b.ID, rec.App, target, inst.App),
			"restore it with --as NEW_NAME instead")
	}
	project := e.Project(target)
	mounts, err := vd.ProjectMounts(ctx, project)
	if err != nil {
		return fmt.Errorf("restore %s: %w", target, err)
	}
	pairs, err := restorePairs(rec, mounts, clone)
	if err != nil {
		return err
	}
	e.step(ctx, fmt.Sprintf("restore backup %s beside the data of %s", b.ID, target), 30)
	staged, err := e.stageRestore(ctx, b.ID, pairs)
	defer func() {
		for _, s := range staged {
			_ = os.RemoveAll(s.dir)
		}
	}()
	if err != nil {
		return fmt.Errorf("restore %s: %w (its data was not changed)", target, err)
	}
	e.step(ctx, "stop "+target, 60)
	stopped, err := e.stopRunning(ctx, vd, project)
	e.noteStopped(ctx, stopped)
	if err == nil {
		e.step(ctx, "swap in the restored data", 70)
		err = swapIn(staged)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.WaitTimeout+time.Minute)
	defer cancel()
	startErr := vd.StartContainers(sctx, stopped)
	if startErr == nil {
		e.step(ctx, startedStep, 80)
	}
	e.refreshLive(sctx, target)
	if err != nil {
		return errors.Join(fmt.Errorf("restore %s: %w (its data was left as it was)", target, err), startErr)
	}
	if startErr != nil {
		return NewUserError(ErrUnavailable, fmt.Sprintf("restore %s: data restored, but starting it failed: %v", target, startErr),
			"see `stackhub logs "+target+"`, then `stackhub start "+target+"`").WithCause(startErr)
	}
	e.step(ctx, "wait for "+target+" to be healthy", 85)
	if err := e.waitHealthy(sctx, project); err != nil {
		return NewUserError(ErrUnavailable, fmt.Sprintf("restore %s: data restored, but the app is not healthy: %v", target, err),
			"see `stackhub logs "+target+"`").WithCause(err)
	}
	e.log.Info("restored", "installation", target, "backup", b.ID, "from", rec.Installation)
	return nil
}

// restoreAfterFailedUpgrade puts the data of backup before (taken at the
// start of the upgrade) back into inst after the upgrade failed with
// runErr, when the bundle rolled the containers back to the previous
// version; it returns what it did, for the installation's reason. The
// caller holds inst's lock.
func (e *Engine) restoreAfterFailedUpgrade(ctx context.Context, inst *Installation, before *Backup, runErr error) string {
	restoreCmd := fmt.Sprintf("stackhub backup restore %s %s --yes", inst.Name, before.ID)
	if !errors.Is(runErr, ErrUpgradeUndone) {
		return fmt.Sprintf("its data was not restored from backup %s: the containers were not rolled back to the previous version (put it back with `%s` once the app runs its previous version)",
			before.ID, restoreCmd)
	}
	_, vd, err := e.backupDeps()
	var rec *BackupRecord
	if err == nil {
		e.step(ctx, fmt.Sprintf("put back the data of backup %s taken before the upgrade", before.ID), 90)
		_, rec, err = e.GetBackup(ctx, inst.Name, before.ID)
	}
	if err == nil {
		err = e.restoreLocked(ctx, vd, before, rec, inst, false)
	}
	if err != nil {
		e.log.Error("restore after a failed upgrade", "installation", inst.Name, "backup", before.ID, "err", err)
		return fmt.Sprintf("restoring its data from backup %s failed: %v (retry with `%s`)", before.ID, err, restoreCmd)
	}
	e.log.Info("restored after a failed upgrade", "installation", inst.Name, "backup", before.ID)
	return fmt.Sprintf("its data was restored from backup %s taken before the upgrade and it was started again", before.ID)
}

// restorePair is one folder of a backup and the mount it goes to.
type restorePair struct {
	from string // the path in the backup
	to   DataMount
}

// restorePairs matches the backup's mounts to the target's by volume key.
// A clone gets no bind mounts: they are host folders it would share.
func restorePairs(rec *BackupRecord, mounts []DataMount, clone bool) ([]restorePair, error) {
	var pairs []restorePair
	for _, m := range rec.Mounts {
		if m.Bind && clone {
			continue
		}
		i := slices.IndexFunc(mounts, func(t DataMount) bool { return t.Key == m.Key && t.Bind == m.Bind })
		if i < 0 {
			return nil, NewUserError(ErrConflict, fmt.Sprintf("the backup holds volume %q, which the installation does not have", m.Key),
				"restore it with --as NEW_NAME into a fresh installation of the backed-up version")
		}
		pairs = append(pairs, restorePair{from: m.Path, to: mounts[i]})
	}
	return pairs, nil
}

// staged is one restored folder waiting beside the mount it replaces.
type staged struct {
	dir      string // the staging folder (removed afterwards)
	restored string // dir + the backed-up path
	to       string // the mount's folder
}

// stageRestore restores every pair into a folder beside its mount (on the
// same filesystem, so that swapping is a rename).
func (e *Engine) stageRestore(ctx context.Context, id string, pairs []restorePair) ([]staged, error) {
	var out []staged
	for _, p := range pairs {
		dir := stagingPrefix(p.to) + id
		_ = os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return out, fmt.Errorf("make a staging folder: %w", err)
		}
		s := staged{dir: dir, restored: filepath.Join(dir, p.from), to: p.to.Path}
		out = append(out, s)
		if err := e.deps.Backups.Restore(ctx, id, p.from, dir); err != nil {
			return out, fmt.Errorf("restore %s: %w", p.from, err)
		}
		if _, err := os.Stat(s.restored); err != nil {
			return out, fmt.Errorf("restore %s: it is not in the backup: %w", p.from, err)
		}
	}
	return out, nil
}

// swapIn renames each restored folder into its mount's place, keeping the
// old one until every swap succeeded; on a failure the swapped ones are
// put back.
func swapIn(list []staged) error {
	var done []staged
	undo := func() {
		for _, s := range slices.Backward(done) {
			_ = os.Rename(s.to, s.restored)
			_ = os.Rename(s.dir+".old", s.to)
		}
	}
	for _, s := range list {
		if err := os.Rename(s.to, s.dir+".old"); err != nil {
			undo()
			return fmt.Errorf("move %s aside: %w", s.to, err)
		}
		if err := os.Rename(s.restored, s.to); err != nil {
			_ = os.Rename(s.dir+".old", s.to)
			undo()
			return fmt.Errorf("move the restored data into %s: %w", s.to, err)
		}
		done = append(done, s)
	}
	// Committed: the old data becomes trash. Recovery after a crash rolls
	// a restore back unless some of its old data is trash already.
	for _, s := range done {
		_ = os.Rename(s.dir+".old", s.dir+".trash")
	}
	for _, s := range done {
		_ = os.RemoveAll(s.dir + ".trash")
	}
	return nil
}

// stagingPrefix is where a restore stages a mount's data: beside a
// volume's _data folder, or beside a bind-mounted folder; the backup's id
// follows.
func stagingPrefix(m DataMount) string {
	if m.Bind {
		return m.Path + ".restore-"
	}
	return filepath.Join(filepath.Dir(m.Path), ".restore-")
}

// Steps a backup or restore job records, so that recovery after a crash
// knows which containers it stopped and whether it started them again.
const (
	stoppedStep = "stopped containers: "
	startedStep = "started the stopped containers again"
)

func (e *Engine) noteStopped(ctx context.Context, ids []string) {
	if len(ids) > 0 {
		e.step(ctx, stoppedStep+strings.Join(ids, ","), 25)
	}
}

// recoverBackups repairs what a crash in the middle of a backup or restore
// left: a restore's half-done swap is rolled back (or, if it had
// committed, its old data removed), staging folders are removed, and the
// containers the job had stopped are started again. jobs are the jobs the
// crash interrupted.
func (e *Engine) recoverBackups(ctx context.Context, jobs []*Job) {
	vd, ok := e.deps.Docker.(VolumeDocker)
	if e.deps.Backups == nil || !ok {
		return
	}
	for _, j := range jobs {
		if j.Action != "restore" {
			continue
		}
		mounts, err := vd.ProjectMounts(ctx, e.Project(j.Installation))
		if err != nil {
			e.log.Warn("recover an interrupted restore: list mounts", "installation", j.Installation, "err", err)
			continue
		}
		if err := repairRestores(mounts); err != nil {
			e.log.Error("recover an interrupted restore", "installation", j.Installation, "err", err)
		} else {
			e.log.Warn("interrupted restore repaired", "installation", j.Installation, "job", j.ID)
		}
	}
	for _, j := range jobs {
		if j.Action != "backup" && j.Action != "restore" && j.Action != manifest.ActionUpgrade {
			continue
		}
		evs, err := e.deps.Store.ListJobEvents(ctx, j.ID)
		if err != nil {
			continue
		}
		var stopped []string
		for _, ev := range evs {
			if ev.Type != JobEventStep {
				continue
			}
			if rest, ok := strings.CutPrefix(ev.Step, stoppedStep); ok {
				stopped = strings.Split(rest, ",")
			} else if ev.Step == startedStep {
				stopped = nil
			}
		}
		if len(stopped) == 0 {
			continue
		}
		e.log.Warn("starting the containers an interrupted job stopped", "installation", j.Installation, "job", j.ID, "containers", len(stopped))
		if err := vd.StartContainers(ctx, stopped); err != nil {
			e.log.Error("start the containers an interrupted job stopped", "installation", j.Installation, "err", err)
		}
	}
}

// repairRestores finds the folders interrupted restores left beside the
// mounts and puts the mounts back in a consistent state: all of a
// restore's new data if it had committed, else all of the old.
func repairRestores(mounts []DataMount) error {
	committed := map[string]bool{}
	ids := map[string]bool{}
	for _, m := range mounts {
		prefix := stagingPrefix(m)
		found, _ := filepath.Glob(prefix + "*")
		for _, f := range found {
			rest := strings.TrimPrefix(f, prefix)
			id, suffix, _ := strings.Cut(rest, ".")
			ids[id] = true
			if suffix == "trash" {
				committed[id] = true
			}
		}
	}
	var errs []error
	for id := range ids {
		for _, m := range mounts {
			base := stagingPrefix(m) + id
			old := base + ".old"
			if _, err := os.Stat(old); err == nil && !committed[id] {
				if _, err := os.Stat(m.Path); err == nil {
					if err := os.Rename(m.Path, base+".undone"); err != nil {
						errs = append(errs, fmt.Errorf("move restored data of %s aside: %w", m.Path, err))
						continue
					}
				}
				if err := os.Rename(old, m.Path); err != nil {
					errs = append(errs, fmt.Errorf("put back the data of %s: %w", m.Path, err))
					continue
				}
			}
			for _, leftover := range []string{base, old, base + ".trash", base + ".undone"} {
				_ = os.RemoveAll(leftover)
			}
		}
	}
	return errors.Join(errs...)
}

// waitHealthy waits until every container of the project runs and none
// is unhealthy or still starting.
func (e *Engine) waitHealthy(ctx context.Context, project string) error {
	for {
		cs, err := e.deps.Docker.ProjectContainers(ctx, project)
		if err != nil {
			return err
		}
		ok := len(cs) > 0
		var bad string
		for _, c := range cs {
			if c.State != "running" || c.Health == "starting" || c.Health == "unhealthy" {
				ok = false
				bad = fmt.Sprintf("%s is %s %s", c.Name, c.State, c.Health)
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", bad, context.Cause(ctx))
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// installClone installs the backup's app as a new installation with the
// backup's parameter values (and the generated secrets the bundle takes
// back as parameters), on ports of its own, and waits for it.
func (e *Engine) installClone(ctx context.Context, rec *BackupRecord, name string) error {
	params := map[string]string{}
	for k, v := range rec.Parameters {
		params[k] = v
	}
	opts := InstallOptions{App: rec.App, Name: name, Parameters: params, Reference: rec.Reference}
	if rec.Reference != "" {
		opts.App = ""
	}
	if d, err := e.AppDetail(ctx, rec.App, ""); err == nil {
		for _, p := range d.Parameters {
			if v, ok := rec.Outputs[p.Name]; ok {
				if _, set := params[p.Name]; !set {
					params[p.Name] = v
				}
			}
		}
	}
	e.step(ctx, "install "+name+" from "+rec.App+" "+rec.BundleVersion, 10)
	if _, err := e.Install(ctx, opts); err != nil {
		return fmt.Errorf("restore as %s: %w", name, err)
	}
	for {
		inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, name)
		if err != nil {
			return fmt.Errorf("restore as %s: %w", name, err)
		}
		switch inst.Status {
		case StatusInstalling:
		case StatusRunning:
			return nil
		default:
			return fmt.Errorf("restore as %s: installing it failed: %s", name, inst.Reason)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("restore as %s: %w", name, context.Cause(ctx))
		case <-time.After(300 * time.Millisecond):
		}
	}
}
