package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine/manifest"
)

// Porter's refusals (porter-compat.md 7.1), worded for StackHub's commands.
const (
	msgAlreadyInstalled = "The installation has already been successfully installed and as a protection against accidentally " +
		"overwriting existing installations, stackhub bundle install cannot be repeated. Verify the installation name and " +
		"namespace, and if correct, use stackhub bundle upgrade. You can skip this check by using the --force flag."
	msgNotInstalled = "The installation cannot be upgraded, because it is not installed. Verify the installation name and " +
		"namespace, and if correct, use stackhub bundle install."
	msgUnsafeDelete = "it is unsafe to delete an installation when the last action wasn't a successful uninstall"
)

// ErrUnsafeDelete is returned when deleting an installation whose last
// action was not a successful uninstall.
var ErrUnsafeDelete = errors.New(msgUnsafeDelete)

// BundleRunOptions describe one lifecycle action on a local bundle folder
// (the authoring path: `stackhub bundle install|upgrade|invoke|uninstall`).
type BundleRunOptions struct {
	// Dir is the bundle folder (porter.yaml and its files).
	Dir fs.FS
	// Manifest is the parsed manifest (overrides applied); read from Dir
	// when nil.
	Manifest *manifest.Manifest
	// Name is the installation name; default the bundle's name.
	Name string
	// Action is the custom action to invoke (InvokeBundle only).
	Action string
	// Params are this invocation's --param values.
	Params map[string]string
	// ParamSets are the resolved values of each --param-set, in order
	// (later sets win); ParamSetNames are their names.
	ParamSets     []map[string]string
	ParamSetNames []string
	// Creds are this invocation's --cred NAME=VALUE values.
	Creds map[string]string
	// CredSets are the resolved values of each --cred-set, in order.
	CredSets     []map[string]string
	CredSetNames []string
	// Force re-installs a succeeded installation, or deletes one whose last
	// action failed.
	Force bool
	// ForceUpgrade upgrades an installation that is not installed (its
	// install failed, or it was uninstalled), as porter upgrade
	// --force-upgrade does.
	ForceUpgrade bool
	// Debug runs this one action with porter-debug=true (PORTER_DEBUG in
	// the container); it is not remembered on the installation.
	Debug bool
	// AllowDockerHost lets bundles that declare `required: [docker]` reach
	// the host's Docker.
	AllowDockerHost bool
	// Insecure allows plain HTTP and unverified TLS when dependencies are
	// pulled; VersionStrategy picks their versions (StrategyExact when
	// empty).
	Insecure        bool
	VersionStrategy string
	// Delete removes the installation's records (and its dependencies')
	// after a successful uninstall; ForceDelete removes them even when the
	// uninstall failed.
	Delete, ForceDelete bool
	// Out receives the invocation container's output as it runs.
	Out io.Writer

	// Reference is where the bundle was pulled from (a dependency's, or
	// an applied installation's); Labels are set on an installation it
	// creates.
	Reference string
	Labels    map[string]string
	// ReplaceParams makes Params the installation's remembered values
	// instead of adding to them (installation apply).
	ReplaceParams bool
	// purge removes the volumes on uninstall (an app's dependencies).
	purge bool
}

// BundleRunResult is what a lifecycle action did.
type BundleRunResult struct {
	// Installation is the record after the action (nil for an ephemeral
	// stateless invocation).
	Installation *Installation
	// Run is the recorded run (nil when the action is not recorded).
	Run *Run
	// Outputs are the bundle outputs the action produced.
	Outputs map[string][]byte
}

// localRun carries what runAction needs for the authoring lifecycle.
type localRun struct {
	m         *manifest.Manifest
	params    map[string]string
	setParams map[string]string
	creds     map[string]string
	allowHost bool
	out       io.Writer
	record    bool
	modifies  bool
	result    *BundleRunResult
	setNames  []string
	credNames []string
	// files are written into the invocation container (dependency
	// bundle.json files).
	files map[string]string
	// started is set once the parameters were accepted and the action ran.
	started bool
	// debug sets porter-debug for this invocation only.
	debug bool
}

// debugParameter is Porter's internal parameter behind --debug.
const debugParameter = "porter-debug"

// parameter returns a user value for name with Porter's precedence: this
// invocation's --param, then parameter sets, then the values persisted on
// the installation by earlier --param. File parameters naming an existing
// file are read and base64-encoded.
func (l *localRun) parameter(name string, inst *Installation) (string, bool) {
	if name == debugParameter {
		if l.debug {
			return "true", true
		}
		return "", false // never remembered: the bundle's default (false)
	}
	v, ok := l.params[name]
	if !ok {
		v, ok = l.setParams[name]
	}
	if !ok && inst != nil {
		v, ok = inst.Parameters[name]
	}
	if !ok {
		return "", false
	}
	if p, found := l.m.Parameter(name); found && p.IsFile() {
		if data, err := os.ReadFile(v); err == nil {
			return base64.StdEncoding.EncodeToString(data), true
		}
	}
	return v, true
}

func notFound(ns, name string) error {
	return NewUserError(ErrNotFound, fmt.Sprintf("could not find installation %s/%s: Installation not found", ns, name),
		"list installations with stackhub bundle list")
}

func (e *Engine) prepareLocal(opts *BundleRunOptions) (*manifest.Manifest, error) {
	m := opts.Manifest
	if m == nil {
		var err error
		if m, err = e.loadManifest(opts.Dir, "."); err != nil {
			return nil, err
		}
	}
	if opts.Name == "" {
		opts.Name = m.Name
	}
	if err := ValidateName("installation", opts.Name); err != nil {
		return nil, err
	}
	return m, nil
}

// checkExtensions applies Porter's rules for required extensions (1.12).
func checkExtensions(m *manifest.Manifest, allowHost bool) error {
	for _, r := range m.Required {
		switch r.Name {
		case "docker", "io.cnab.docker":
			if !allowHost {
				return NewUserError(ErrInvalid, `extension "io.cnab.docker" is required but allow-docker-host-access was not enabled`,
					"pass --allow-docker-host-access if you trust this bundle with the host's Docker")
			}
		default:
			return NewUserError(ErrInvalid, "unsupported required extension: "+r.Name, "only docker is supported")
		}
	}
	return nil
}

// requiresDocker tells whether the manifest declares the docker extension.
func requiresDocker(m *manifest.Manifest) bool {
	for _, r := range m.Required {
		if r.Name == "docker" || r.Name == "io.cnab.docker" {
			return true
		}
	}
	return false
}

// requiresPrivileged tells whether the docker extension asks for a
// privileged container (required: [{docker: {privileged: true}}]).
func requiresPrivileged(m *manifest.Manifest) bool {
	for _, r := range m.Required {
		if (r.Name == "docker" || r.Name == "io.cnab.docker") && r.Config["privileged"] == true {
			return true
		}
	}
	return false
}

// resolveCredentials merges credential sets (later wins) and --cred values,
// drops what the bundle does not define or what does not apply to action,
// and refuses a missing required credential.
func resolveCredentials(m *manifest.Manifest, action string, sets []map[string]string, flags map[string]string) (map[string]string, error) {
	merged := map[string]string{}
	for _, s := range sets {
		for k, v := range s {
			merged[k] = v
		}
	}
	for k, v := range flags {
		if _, ok := m.Credential(k); !ok {
			return nil, NewUserError(ErrInvalid, fmt.Sprintf("bundle %s has no credential %q", m.Name, k), "")
		}
		merged[k] = v
	}
	out := map[string]string{}
	for _, c := range m.CredentialsFor(action) {
		v, ok := merged[c.Name]
		if !ok {
			if c.Required {
				return nil, NewUserError(ErrInvalid, "bundle requires credential for "+c.Name,
					fmt.Sprintf("pass --cred %s=VALUE or a credential set with --cred-set FILE", c.Name))
			}
			continue
		}
		out[c.Name] = v
	}
	return out, nil
}

// IsInstalled is Porter's IsInstalled: a successful install not followed
// by a successful uninstall.
func (inst *Installation) IsInstalled() bool {
	return inst.Installed != nil && inst.Status != StatusUninstalled
}

// SetLabels replaces an installation's labels; they never trigger a run.
func (e *Engine) SetLabels(ctx context.Context, name string, labels map[string]string) error {
	l := e.lockInstallation(name)
	l.Lock()
	defer l.Unlock()
	inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, name)
	if errors.Is(err, ErrNotFound) {
		return notFound(e.cfg.Namespace, name)
	}
	if err != nil {
		return fmt.Errorf("get installation %s: %w", name, err)
	}
	inst.Labels = labels
	if err := e.deps.Store.UpdateInstallation(ctx, inst); err != nil {
		return fmt.Errorf("save labels of %s: %w", name, err)
	}
	return nil
}

// InstallBundle runs install on a local bundle folder, refusing to repeat a
// succeeded install unless Force is set.
func (e *Engine) InstallBundle(ctx context.Context, opts BundleRunOptions) (*BundleRunResult, error) {
	return e.runBundle(ctx, opts, manifest.ActionInstall)
}

// UpgradeBundle runs upgrade on an installed installation.
func (e *Engine) UpgradeBundle(ctx context.Context, opts BundleRunOptions) (*BundleRunResult, error) {
	return e.runBundle(ctx, opts, manifest.ActionUpgrade)
}

// UninstallBundle runs uninstall on an existing installation, then on its
// dependencies. With Delete it then removes the records of the
// installation and of its dependencies; ForceDelete removes them even when
// the uninstall failed.
func (e *Engine) UninstallBundle(ctx context.Context, opts BundleRunOptions) (*BundleRunResult, error) {
	res, err := e.runBundle(ctx, opts, manifest.ActionUninstall)
	if !opts.Delete && !opts.ForceDelete {
		return res, err
	}
	if err != nil {
		var ue *UserError
		if errors.As(err, &ue) && errors.Is(err, ErrNotFound) {
			return res, err
		}
		if !opts.ForceDelete {
			return res, fmt.Errorf("%w\n%s; if you are sure it should be deleted, retry the last command with the --force-delete flag", err, msgUnsafeDelete)
		}
		if opts.Out != nil {
			fmt.Fprintf(opts.Out, "ignoring the following errors as --force-delete is true: %v\n", err)
		}
	}
	name := opts.Name
	if name == "" && res != nil && res.Installation != nil {
		name = res.Installation.Name
	}
	if name == "" {
		m, perr := e.prepareLocal(&opts)
		if perr != nil {
			return res, perr
		}
		name = m.Name
	}
	dependents, derr := e.dependentsOf(ctx, name)
	if derr != nil {
		return res, derr
	}
	if derr := e.DeleteInstallation(ctx, name, opts.ForceDelete); derr != nil {
		return res, derr
	}
	for _, d := range dependents {
		if derr := e.DeleteInstallation(ctx, d.Name, opts.ForceDelete); derr != nil && !errors.Is(derr, ErrNotFound) {
			return res, derr
		}
	}
	return res, nil
}

// InvokeBundle runs a custom action. A missing installation is allowed only
// for actions that neither modify nor keep state (they run ephemerally and
// nothing is recorded).
func (e *Engine) InvokeBundle(ctx context.Context, opts BundleRunOptions) (*BundleRunResult, error) {
	if opts.Action == "" {
		return nil, NewUserError(ErrInvalid, "--action is required", "name the custom action, for example --action status")
	}
	return e.runBundle(ctx, opts, opts.Action)
}

func (e *Engine) runBundle(ctx context.Context, opts BundleRunOptions, action string) (*BundleRunResult, error) {
	m, err := e.prepareLocal(&opts)
	if err != nil {
		return nil, err
	}
	if !m.HasAction(action) {
		names := m.ActionNames()
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("unsupported action %q, the bundle defines: %s", action, strings.Join(names, ", ")), "")
	}
	if err := checkExtensions(m, opts.AllowDockerHost); err != nil {
		return nil, err
	}
	if opts.Reference == "" && m.Dockerfile != "" {
		// Build a template bundle first, as porter does before running it,
		// so that what the build rewrote is said to the user.
		if _, _, _, _, err := e.ensureImageWith(ctx, m.Name, opts.Dir, m, imageOptions{Out: opts.Out}); err != nil {
			return nil, err
		}
	}
	rootParams, depFlags, err := dependencyParams(m, opts.Params)
	if err != nil {
		return nil, err
	}
	opts.Params = rootParams
	if err := checkParameters(m, opts.Params, action); err != nil {
		return nil, err
	}
	ca := m.CustomAction(action)
	modifies := action == manifest.ActionInstall || action == manifest.ActionUpgrade || action == manifest.ActionUninstall || ca.Modifies
	stateless := !modifies && ca.Stateless
	record := modifies || !stateless
	if !record {
		for _, o := range m.OutputsFor(action) {
			if !strings.HasPrefix(o.Name, "porter-") {
				record = true
			}
		}
	}

	l := e.lockInstallation(opts.Name)
	l.Lock()
	defer l.Unlock()
	ns := e.cfg.Namespace
	inst, err := e.deps.Store.GetInstallation(ctx, ns, opts.Name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get installation %s: %w", opts.Name, err)
	}
	if errors.Is(err, ErrNotFound) {
		inst = nil
	}
	switch action {
	case manifest.ActionInstall:
		if inst != nil && inst.IsInstalled() && !opts.Force {
			return nil, NewUserError(ErrConflict, msgAlreadyInstalled, "")
		}
	case manifest.ActionUpgrade:
		if inst == nil {
			return nil, notFound(ns, opts.Name)
		}
		if !inst.IsInstalled() && !opts.ForceUpgrade {
			return nil, NewUserError(ErrConflict, msgNotInstalled, "to upgrade it anyway (for example after a failed install), pass --force-upgrade")
		}
	default:
		if inst == nil && !stateless {
			return nil, notFound(ns, opts.Name)
		}
	}

	creds, err := resolveCredentials(m, action, opts.CredSets, opts.Creds)
	if err != nil {
		return nil, err
	}
	setParams := map[string]string{}
	for _, s := range opts.ParamSets {
		for k, v := range s {
			if _, ok := m.Parameter(k); ok {
				setParams[k] = v
			}
		}
	}

	deps, err := e.resolveDependencies(ctx, m, opts.Name, action, &opts, depFlags)
	if err != nil {
		return nil, err
	}
	// Dependencies run before the root, except for uninstall (after it).
	if action != manifest.ActionUninstall {
		for _, d := range deps {
			if err := e.runDependency(ctx, ns, opts.Name, d, action, opts); err != nil {
				return nil, err
			}
		}
	}

	now := time.Now().UTC()
	ephemeral := inst == nil && action != manifest.ActionInstall
	if ephemeral {
		inst = &Installation{ID: NewID(), Name: opts.Name, Namespace: ns, App: m.Name, BundleVersion: m.Version, Created: now, Modified: now}
		record = false
	}
	if action == manifest.ActionInstall {
		if inst == nil {
			inst = &Installation{ID: NewID(), Name: opts.Name, Namespace: ns, App: m.Name, Created: now,
				Reference: opts.Reference, Labels: opts.Labels}
			inst.ContainerName = e.ContainerName(opts.Name)
			if specs := PortSpecs(m); len(specs) > 0 {
				e.leaseMu.Lock()
				ports, err := e.leasePorts(ctx, opts.Name, specs, nil)
				e.leaseMu.Unlock()
				if err != nil {
					return nil, err
				}
				inst.Ports = ports
			}
			inst.Status, inst.LastAction, inst.Modified, inst.BundleVersion = StatusInstalling, action, now, m.Version
			if err := e.deps.Store.CreateInstallation(ctx, inst); err != nil {
				_ = e.deps.Store.ReleasePorts(ctx, opts.Name)
				return nil, fmt.Errorf("record installation %s: %w", opts.Name, err)
			}
		}
	}
	lr := &localRun{m: m, params: opts.Params, setParams: setParams, creds: creds, allowHost: opts.AllowDockerHost,
		out: opts.Out, record: record, modifies: modifies, result: &BundleRunResult{}, setNames: opts.ParamSetNames, credNames: opts.CredSetNames,
		files: dependencyFiles(deps), debug: opts.Debug}
	if modifies && !ephemeral {
		inst.Status = map[string]Status{manifest.ActionInstall: StatusInstalling, manifest.ActionUpgrade: StatusUpgrading,
			manifest.ActionUninstall: StatusUninstalling}[action]
		if inst.Status == "" {
			inst.Status = StatusRunning
		}
		inst.LastAction, inst.Modified, inst.Reason = action, now, ""
		if err := e.deps.Store.UpdateInstallation(ctx, inst); err != nil {
			return nil, fmt.Errorf("record installation %s: %w", opts.Name, err)
		}
	}
	if opts.Reference != "" {
		inst.Reference = opts.Reference // the pulled bundle's image is what runs
	}
	runErr := e.runAction(ctx, inst, opts.Dir, m, action, actionOptions{local: lr, purge: opts.purge, files: lr.files})
	res := lr.result
	if !ephemeral {
		res.Installation = inst
	}
	if modifies && !ephemeral {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		done := time.Now().UTC()
		inst.Modified = done
		switch {
		case runErr != nil:
			inst.Status, inst.Reason = StatusFailed, runErr.Error()
		case action == manifest.ActionUninstall:
			inst.Status, inst.Uninstalled = StatusUninstalled, &done
			_ = e.deps.Store.ReleasePorts(wctx, inst.Name)
		default:
			inst.Status = StatusRunning
			if action == manifest.ActionInstall {
				inst.Installed, inst.Uninstalled = &done, nil
			}
			if action == manifest.ActionInstall || action == manifest.ActionUpgrade {
				e.noteContainerless(wctx, inst)
			}
		}
		inst.BundleVersion = m.Version
		if opts.Reference != "" {
			inst.Reference = opts.Reference
		}
		// Sets named on this command replace the installation's list.
		if len(opts.ParamSetNames) > 0 {
			inst.ParameterSets = opts.ParamSetNames
		}
		if len(opts.CredSetNames) > 0 {
			inst.CredentialSets = opts.CredSetNames
		}
		// Remember this invocation's --param values once they were accepted
		// (they win over earlier ones on later runs).
		if opts.ReplaceParams && lr.started && action != manifest.ActionUninstall {
			inst.Parameters = opts.Params
		} else if len(opts.Params) > 0 && lr.started {
			merged := map[string]string{}
			for k, v := range inst.Parameters {
				merged[k] = v
			}
			for k, v := range opts.Params {
				merged[k] = v
			}
			inst.Parameters = merged
		}
		if err := e.deps.Store.UpdateInstallation(wctx, inst); err != nil {
			return res, fmt.Errorf("record installation %s: %w", inst.Name, err)
		}
	}
	if runErr == nil && action == manifest.ActionUninstall {
		for _, d := range deps {
			if err := e.runDependency(ctx, ns, opts.Name, d, action, opts); err != nil {
				return res, err
			}
		}
	}
	return res, runErr
}

// BuildLocalBundle builds a local bundle's image unless it is up to date, and
// returns its bundle.json, digest and whether an image was built. out (may
// be nil) receives what the build says: the builder used, and what was
// rewritten in a dockerfile template.
func (e *Engine) BuildLocalBundle(ctx context.Context, dir fs.FS, m *manifest.Manifest, buildArgs map[string]string, out io.Writer) (bundleJSON []byte, digest string, built bool, err error) {
	_, bundleJSON, digest, built, err = e.ensureImageWith(ctx, m.Name, dir, m, imageOptions{BuildArgs: buildArgs, Out: out})
	return bundleJSON, digest, built, err
}

// DeleteInstallation removes an installation's records. It refuses unless
// the last action was a successful uninstall, or force is set.
func (e *Engine) DeleteInstallation(ctx context.Context, name string, force bool) error {
	l := e.lockInstallation(name)
	l.Lock()
	defer l.Unlock()
	inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, name)
	if errors.Is(err, ErrNotFound) {
		return notFound(e.cfg.Namespace, name)
	}
	if err != nil {
		return fmt.Errorf("get installation %s: %w", name, err)
	}
	if !force && !(inst.LastAction == manifest.ActionUninstall && inst.Status == StatusUninstalled) {
		return NewUserError(ErrConflict, msgUnsafeDelete+"; if you are sure it should be deleted, retry the last command with the --force flag", "")
	}
	_ = e.deps.Store.ReleasePorts(ctx, name)
	if err := e.deps.Store.DeleteInstallation(ctx, e.cfg.Namespace, name); err != nil {
		return fmt.Errorf("delete installation %s: %w", name, err)
	}
	e.dropSchedule(ctx, name)
	return nil
}

// Records is the read-only part of the store that the authoring CLI's
// views (show, list, outputs, logs, runs) and its stored sets read.
type Records interface {
	GetInstallation(ctx context.Context, namespace, name string) (*Installation, error)
	ListInstallations(ctx context.Context, namespace string) ([]*Installation, error)
	GetRun(ctx context.Context, id string) (*Run, error)
	ListRuns(ctx context.Context, namespace, installation string) ([]*Run, error)
	ListOutputs(ctx context.Context, namespace, installation string) ([]*Output, error)
	ListRunOutputs(ctx context.Context, runID string) ([]*Output, error)
	ListResults(ctx context.Context, runID string) ([]*Result, error)
	GetSet(ctx context.Context, kind, namespace, name string) (*SetRecord, error)
}

var _ Records = Store(nil)

// Records returns the read-only view of the engine's records: changes go
// through the engine's verbs.
func (e *Engine) Records() Records { return e.deps.Store }
