package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/distribution/reference"

	"github.com/stackhub/stackhub/engine/manifest"
)

// LabelParentInstallation marks a dependency installation with the
// installation that required it, as <namespace>/<name> (porter-compat.md 1.10).
const LabelParentInstallation = "sh.porter.parentInstallation"

// LabelSharingGroup marks a shared dependency installation (dependencies
// v2, sharing.mode: true) with its sharing group.
const LabelSharingGroup = "sh.porter.SharingGroup"

// dependency is one required bundle of a root action, resolved: its bundle
// folder, manifest and the parameters it gets.
type dependency struct {
	alias      string
	name       string // installation name: <parent>-<alias>
	reference  string
	fsys       fs.FS
	m          *manifest.Manifest
	bundleJSON []byte
	params     map[string]string
	existing   *Installation
	// group is the sharing group of a shared dependency (installation
	// name: <alias>), else "".
	group string
}

// dependencyParams separates `<alias>#<param>` values from the root's own
// parameters. An alias the manifest does not require is an error.
func dependencyParams(m *manifest.Manifest, params map[string]string) (root map[string]string, deps map[string]map[string]string, err error) {
	root, deps = map[string]string{}, map[string]map[string]string{}
	for k, v := range params {
		alias, name, ok := strings.Cut(k, "#")
		if !ok {
			root[k] = v
			continue
		}
		if _, found := m.Dependency(alias); !found {
			return nil, nil, NewUserError(ErrInvalid, fmt.Sprintf("parameter %q names dependency %q, which bundle %s does not require", k, alias, m.Name),
				"dependencies: "+strings.Join(m.DependencyNames(), ", "))
		}
		if deps[alias] == nil {
			deps[alias] = map[string]string{}
		}
		deps[alias][name] = v
	}
	return root, deps, nil
}

// resolveDependencies finds the bundle of each dependency of m for action
// and the parameters it gets, lowest precedence first: the manifest's
// static values, parameter-set entries named <alias>#<param>, then --param
// <alias>#<param>. Install and upgrade pull the dependency from its
// reference; the other actions run the bundle its installation recorded.
func (e *Engine) resolveDependencies(ctx context.Context, m *manifest.Manifest, parent, action string, opts *BundleRunOptions, flags map[string]map[string]string) ([]*dependency, error) {
	if m.Dependencies == nil || len(m.Dependencies.Requires) == 0 {
		return nil, nil
	}
	var deps []*dependency
	for _, d := range m.Dependencies.Requires {
		dep := &dependency{alias: d.Name, name: parent + "-" + d.Name, params: map[string]string{}}
		if d.Shared() {
			dep.name, dep.group = d.Name, d.Sharing.Group.Name
		}
		existing, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, dep.name)
		switch {
		case err == nil:
			dep.existing = existing
		case !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("dependency %s: %w", d.Name, err)
		}
		if dep.group != "" && dep.existing != nil && dep.existing.Labels[LabelSharingGroup] != dep.group {
			return nil, NewUserError(ErrConflict, fmt.Sprintf("dependency %s is shared in group %s, but installation %s exists outside that group", d.Name, dep.group, dep.name),
				fmt.Sprintf("rename or remove installation %s, or put the dependency in its group", dep.name))
		}
		if action == manifest.ActionInstall || action == manifest.ActionUpgrade || dep.existing == nil {
			ref, err := e.dependencyReference(ctx, d, opts.VersionStrategy, opts.Insecure)
			if err != nil {
				return nil, err
			}
			fsys, b, err := e.fetchRemote(ctx, ref, opts.Insecure)
			if err != nil {
				return nil, fmt.Errorf("dependency %s: %w", d.Name, err)
			}
			dep.fsys, dep.reference, dep.bundleJSON = fsys, b.Reference, b.BundleJSON
		} else {
			if dep.fsys, err = e.openInstalled(ctx, dep.existing); err != nil {
				return nil, fmt.Errorf("dependency %s: %w", d.Name, err)
			}
			dep.reference = dep.existing.Reference
			if dep.bundleJSON, err = fs.ReadFile(dep.fsys, remoteBundleFile); err != nil {
				return nil, fmt.Errorf("dependency %s: read bundle.json: %w", d.Name, err)
			}
		}
		if dep.m, err = e.loadManifest(dep.fsys, d.Name); err != nil {
			return nil, fmt.Errorf("dependency %s: %w", d.Name, err)
		}
		if err := checkDependencyVersion(d, dep.m); err != nil {
			return nil, err
		}
		if d.Bundle.Interface != nil {
			if err := e.checkInterface(ctx, d, dep, opts.Insecure); err != nil {
				return nil, err
			}
		}
		set := func(name, value, from string) error {
			if _, ok := dep.m.Parameter(name); !ok {
				return NewUserError(ErrInvalid, fmt.Sprintf("%s sets parameter %q of dependency %s, but bundle %s has no such parameter", from, name, d.Name, dep.m.Name),
					"its parameters: "+strings.Join(parameterNames(dep.m), ", "))
			}
			dep.params[name] = value
			return nil
		}
		for _, k := range sortedKeys(d.Parameters) {
			if err := set(k, d.Parameters[k], "porter.yaml"); err != nil {
				return nil, err
			}
		}
		for _, s := range opts.ParamSets {
			for _, k := range sortedKeys(s) {
				if name, ok := strings.CutPrefix(k, d.Name+"#"); ok {
					if err := set(name, s[k], "a parameter set"); err != nil {
						return nil, err
					}
				}
			}
		}
		for _, k := range sortedKeys(flags[d.Name]) {
			if err := set(k, flags[d.Name][k], "--param"); err != nil {
				return nil, err
			}
		}
		deps = append(deps, dep)
	}
	return deps, nil
}

// checkInterface applies a v2 dependency's bundle.interface to what fills
// it (porter-compat.md 1.10): the bundle about to run and, for a shared
// dependency, the installation of its group that is reused. An id must be
// the one the bundle declares in dependencies.provides.interface.id; a
// document, or the bundle a reference names, lists the parameters,
// credentials and outputs the bundle must have.
func (e *Engine) checkInterface(ctx context.Context, d manifest.Dependency, dep *dependency, insecure bool) error {
	iface := d.Bundle.Interface
	var want *manifest.Manifest
	if iface.Reference != "" {
		fsys, _, err := e.fetchRemote(ctx, iface.Reference, insecure)
		if err != nil {
			return fmt.Errorf("dependency %s: interface bundle: %w", d.Name, err)
		}
		if want, err = e.loadManifest(fsys, iface.Reference); err != nil {
			return fmt.Errorf("dependency %s: interface bundle: %w", d.Name, err)
		}
	}
	check := func(m *manifest.Manifest, what string) error {
		if err := satisfiesInterface(m, iface, want); err != nil {
			return NewUserError(ErrInvalid, fmt.Sprintf("dependency %s: %s does not provide the interface it requires: %v", d.Name, what, err),
				"point bundle.reference at a bundle that provides it, or change bundle.interface")
		}
		return nil
	}
	if err := check(dep.m, "bundle "+dep.m.Name); err != nil {
		return err
	}
	if dep.group != "" && dep.existing != nil && dep.existing.IsInstalled() {
		fsys, err := e.openInstalled(ctx, dep.existing)
		if err != nil {
			return fmt.Errorf("dependency %s: %w", d.Name, err)
		}
		m, err := e.loadManifest(fsys, dep.existing.Name)
		if err != nil {
			return fmt.Errorf("dependency %s: %w", d.Name, err)
		}
		return check(m, "the shared installation "+dep.existing.Name)
	}
	return nil
}

// satisfiesInterface checks m against a bundle.interface: its id, and the
// parameters, credentials and outputs of want (the referenced bundle) or of
// the inline document ({parameters, credentials, outputs}, each a list of
// {name} or a map keyed by name).
func satisfiesInterface(m *manifest.Manifest, iface *manifest.DependencyInterface, want *manifest.Manifest) error {
	if iface.ID != "" && m.ProvidedInterface() != iface.ID {
		if m.ProvidedInterface() == "" {
			return fmt.Errorf("it declares no dependencies.provides.interface.id, %q is required", iface.ID)
		}
		return fmt.Errorf("it provides %q, %q is required", m.ProvidedInterface(), iface.ID)
	}
	need := map[string][]string{}
	if want != nil {
		for _, p := range want.Parameters {
			need["parameter"] = append(need["parameter"], p.Name)
		}
		for _, c := range want.Credentials {
			need["credential"] = append(need["credential"], c.Name)
		}
		for _, o := range want.Outputs {
			need["output"] = append(need["output"], o.Name)
		}
	}
	if doc, ok := iface.Document.(map[string]any); ok {
		for key, kind := range map[string]string{"parameters": "parameter", "credentials": "credential", "outputs": "output"} {
			need[kind] = append(need[kind], interfaceNames(doc[key])...)
		}
	}
	var missing []string
	for _, kind := range []string{"parameter", "credential", "output"} {
		for _, name := range need[kind] {
			var ok bool
			switch kind {
			case "parameter":
				_, ok = m.Parameter(name)
			case "credential":
				_, ok = m.Credential(name)
			default:
				_, ok = m.Output(name)
			}
			if !ok {
				missing = append(missing, kind+" "+name)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("it has no %s", strings.Join(missing, ", "))
	}
	return nil
}

// interfaceNames reads the names of an interface document's list ([{name:
// x}]) or map ({x: {...}}).
func interfaceNames(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, item := range x {
			if m, ok := item.(map[string]any); ok {
				if n, ok := m["name"].(string); ok && n != "" {
					out = append(out, n)
				}
			}
		}
	case map[string]any:
		out = sortedKeys(x)
	}
	return out
}

// Version strategies of dependencies (porter-compat.md 1.10): exact uses
// the reference as written; the others pick a tag from the repository.
const (
	StrategyExact    = "exact"
	StrategyMaxPatch = "max-patch"
	StrategyMaxMinor = "max-minor"
	StrategyMin      = "min"
)

// dependencyReference is the reference a dependency is pulled from under
// strategy: exact needs a tag or digest in bundle.reference; max-patch and
// max-minor take the highest version tag with the reference tag's
// major.minor or major (any, without a tag), min the lowest; all within
// bundle.version when set. A digest always pins.
func (e *Engine) dependencyReference(ctx context.Context, d manifest.Dependency, strategy string, insecure bool) (string, error) {
	ref, err := reference.ParseNormalizedNamed(d.Bundle.Reference)
	if err != nil {
		return "", NewUserError(ErrInvalid, fmt.Sprintf("invalid reference %q for dependency %s: %v", d.Bundle.Reference, d.Name, err), "")
	}
	tagged, isTagged := ref.(reference.Tagged)
	_, digested := ref.(reference.Digested)
	switch strategy {
	case "", StrategyExact:
		if !isTagged && !digested {
			return "", NewUserError(ErrInvalid, fmt.Sprintf("dependency %s: reference %s has no tag or digest and the version strategy is exact", d.Name, d.Bundle.Reference),
				"pin the version in bundle.reference, for example "+d.Bundle.Reference+":v1.0.0, or pass --dependencies-version-strategy max-minor, max-patch or min")
		}
		return d.Bundle.Reference, nil
	case StrategyMaxPatch, StrategyMaxMinor, StrategyMin:
	default:
		return "", NewUserError(ErrInvalid, fmt.Sprintf("unknown dependencies version strategy %q", strategy), "use exact, max-patch, max-minor or min")
	}
	if digested {
		return d.Bundle.Reference, nil
	}
	var rng *semver.Constraints
	if d.Bundle.Version != "" {
		if rng, err = semver.NewConstraint(d.Bundle.Version); err != nil {
			return "", NewUserError(ErrInvalid, fmt.Sprintf("invalid version range %q for dependency %s: %v", d.Bundle.Version, d.Name, err), "")
		}
	}
	var base *semver.Version
	if isTagged {
		base, _ = semver.NewVersion(tagged.Tag())
	}
	reg, err := e.registry()
	if err != nil {
		return "", err
	}
	repo := reference.TrimNamed(ref).String()
	if err := e.checkRegistry("dependency "+d.Name, repo); err != nil {
		return "", err
	}
	tags, err := reg.Tags(ctx, repo, insecure)
	if err != nil {
		return "", fmt.Errorf("dependency %s: list the tags of %s: %w", d.Name, repo, err)
	}
	bestTag := pickTag(tags, base, rng, strategy)
	if bestTag == "" {
		return "", NewUserError(ErrNotFound, fmt.Sprintf("dependency %s: no tag of %s matches version strategy %s%s", d.Name, repo, strategy, rangeText(d.Bundle.Version)),
			"publish a matching version, or change bundle.version or the strategy")
	}
	return repo + ":" + bestTag, nil
}

// pickTag is the tag a version strategy picks among tags: the version
// tags within rng (prereleases only when rng or base is one); for
// max-patch and max-minor with the major.minor or major of base, when
// known, the highest; for min the lowest. "" when none fits.
func pickTag(tags []string, base *semver.Version, rng *semver.Constraints, strategy string) string {
	var best *semver.Version
	bestTag := ""
	for _, tag := range tags {
		v, err := semver.NewVersion(tag)
		if err != nil || (rng != nil && !rng.Check(v)) {
			continue
		}
		if rng == nil && v.Prerelease() != "" && (base == nil || base.Prerelease() == "") {
			continue
		}
		if strategy != StrategyMin && base != nil &&
			(v.Major() != base.Major() || strategy == StrategyMaxPatch && v.Minor() != base.Minor()) {
			continue
		}
		if best == nil || (strategy == StrategyMin) == v.LessThan(best) {
			best, bestTag = v, tag
		}
	}
	return bestTag
}

func rangeText(r string) string {
	if r == "" {
		return ""
	}
	return " within " + r
}

// checkDependencyVersion refuses a dependency bundle whose version is
// outside the manifest's bundle.version range.
func checkDependencyVersion(d manifest.Dependency, dm *manifest.Manifest) error {
	if d.Bundle.Version == "" {
		return nil
	}
	c, err := semver.NewConstraint(d.Bundle.Version)
	if err != nil {
		return NewUserError(ErrInvalid, fmt.Sprintf("invalid version range %q for dependency %s: %v", d.Bundle.Version, d.Name, err), "")
	}
	v, err := semver.NewVersion(dm.Version)
	if err != nil {
		return NewUserError(ErrInvalid, fmt.Sprintf("dependency %s: bundle %s has version %q, which is not a semantic version", d.Name, dm.Name, dm.Version), "")
	}
	if !c.Check(v) {
		return NewUserError(ErrInvalid, fmt.Sprintf("dependency %s: %s is version %s, outside the required range %s", d.Name, d.Bundle.Reference, dm.Version, d.Bundle.Version),
			"point bundle.reference at a version in the range, or widen bundle.version")
	}
	return nil
}

func parameterNames(m *manifest.Manifest) []string {
	names := make([]string, 0, len(m.Parameters))
	for _, p := range m.Parameters {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// dependencyFiles are the dependency bundle.json files the root's runtime
// reads from /cnab/app/dependencies/<alias>/bundle.json.
func dependencyFiles(deps []*dependency) map[string]string {
	if len(deps) == 0 {
		return nil
	}
	files := make(map[string]string, len(deps))
	for _, d := range deps {
		files["/cnab/app/dependencies/"+d.alias+"/bundle.json"] = string(d.bundleJSON)
	}
	return files
}

// runDependency runs action on one dependency installation with the root's
// credential sets and options. An install of a dependency that is already
// installed is skipped; a custom action the dependency does not define is
// skipped.
func (e *Engine) runDependency(ctx context.Context, ns, parent string, dep *dependency, action string, opts BundleRunOptions) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	switch {
	case dep.group != "" && action == manifest.ActionInstall && dep.existing != nil && dep.existing.IsInstalled():
		fmt.Fprintf(out, "dependency %s: shared installation %s (group %s) is already installed, using it\n", dep.alias, dep.name, dep.group)
		return nil
	case dep.group != "" && action != manifest.ActionInstall:
		fmt.Fprintf(out, "dependency %s: installation %s is shared (group %s), skipping %s; run it on %s itself\n", dep.alias, dep.name, dep.group, action, dep.name)
		return nil
	case action == manifest.ActionInstall && dep.existing != nil && dep.existing.IsInstalled():
		fmt.Fprintf(out, "dependency %s: installation %s is already installed, skipping its install\n", dep.alias, dep.name)
		return nil
	case action != manifest.ActionInstall && dep.existing == nil:
		fmt.Fprintf(out, "dependency %s: installation %s does not exist, skipping %s\n", dep.alias, dep.name, action)
		return nil
	case !dep.m.HasAction(action):
		fmt.Fprintf(out, "dependency %s: bundle %s has no %s action, skipping it\n", dep.alias, dep.m.Name, action)
		return nil
	}
	fmt.Fprintf(out, "dependency %s: running %s on installation %s (%s)\n", dep.alias, action, dep.name, dep.reference)
	dopts := BundleRunOptions{
		Dir: dep.fsys, Manifest: dep.m, Name: dep.name, Action: opts.Action, Params: dep.params,
		CredSets: opts.CredSets, CredSetNames: opts.CredSetNames, AllowDockerHost: opts.AllowDockerHost,
		Insecure: opts.Insecure, VersionStrategy: opts.VersionStrategy, Out: opts.Out, Reference: dep.reference,
		Labels: map[string]string{LabelParentInstallation: ns + "/" + parent},
	}
	if dep.group != "" {
		// A shared dependency belongs to its group, not to one root: it is
		// not removed with the root's records.
		dopts.Labels = map[string]string{LabelSharingGroup: dep.group}
	}
	if action == manifest.ActionInstall {
		dopts.Force = true // a failed earlier install is retried
	}
	if _, err := e.runBundle(ctx, dopts, action); err != nil {
		return fmt.Errorf("dependency %s (installation %s): %w", dep.alias, dep.name, err)
	}
	return nil
}

// dependentsOf returns the installations whose parent label names
// ns/name, sorted by name.
func (e *Engine) dependentsOf(ctx context.Context, name string) ([]*Installation, error) {
	all, err := e.deps.Store.ListInstallations(ctx, e.cfg.Namespace)
	if err != nil {
		return nil, fmt.Errorf("list installations: %w", err)
	}
	want := e.cfg.Namespace + "/" + name
	var out []*Installation
	for _, inst := range all {
		if inst.Labels[LabelParentInstallation] == want {
			out = append(out, inst)
		}
	}
	return out, nil
}

// appDependencies are the dependency inputs of an app install or upgrade
// through the service: --param <alias>#<name> values and whether their
// registry may be plain HTTP.
type appDependencies struct {
	flags    map[string]map[string]string
	insecure bool
}

// appBundle loads an app's manifest for an install or upgrade through the
// service and splits its parameters: params keeps the app's own (checked
// against the manifest), the <alias>#<name> values go to the dependencies.
func (e *Engine) appBundle(fsys fs.FS, app string, params *map[string]string, action string) (*manifest.Manifest, appDependencies, error) {
	m, err := e.loadManifest(fsys, app)
	if err != nil {
		return nil, appDependencies{}, err
	}
	root, flags, err := dependencyParams(m, *params)
	if err != nil {
		return nil, appDependencies{}, err
	}
	*params = root
	if err := checkParameters(m, root, action); err != nil {
		return nil, appDependencies{}, err
	}
	return m, appDependencies{flags: flags}, nil
}

// runAppDependencies runs action (install or upgrade) on the dependencies
// of an app's bundle before the app itself, as the bundle lifecycle does,
// and returns the dependency files the app's own run needs.
func (e *Engine) runAppDependencies(ctx context.Context, inst *Installation, m *manifest.Manifest, action string, d appDependencies) (map[string]string, error) {
	if len(m.DependencyNames()) == 0 {
		return nil, nil
	}
	opts := BundleRunOptions{AllowDockerHost: true, Insecure: d.insecure}
	deps, err := e.resolveDependencies(ctx, m, inst.Name, action, &opts, d.flags)
	if err != nil {
		return nil, err
	}
	for _, dep := range deps {
		e.step(ctx, fmt.Sprintf("dependency %s: %s %s", dep.alias, action, dep.name), 5)
		if err := e.runDependency(ctx, inst.Namespace, inst.Name, dep, action, opts); err != nil {
			return nil, err
		}
	}
	return dependencyFiles(deps), nil
}

// uninstallAppDependencies uninstalls, after an app, the dependency
// installations it brought, with the bundle each recorded.
func (e *Engine) uninstallAppDependencies(ctx context.Context, name string, purge bool) error {
	dependents, err := e.dependentsOf(ctx, name)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dependents {
		if !d.IsInstalled() {
			continue
		}
		fsys, err := e.openInstalled(ctx, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("dependency %s: %w", d.Name, err))
			continue
		}
		m, err := e.loadManifest(fsys, d.App)
		if err != nil {
			errs = append(errs, fmt.Errorf("dependency %s: %w", d.Name, err))
			continue
		}
		e.log.Info("uninstalling dependency", "installation", name, "dependency", d.Name)
		if _, err := e.runBundle(ctx, BundleRunOptions{Dir: fsys, Manifest: m, Name: d.Name, AllowDockerHost: true, purge: purge}, manifest.ActionUninstall); err != nil {
			errs = append(errs, fmt.Errorf("uninstall dependency %s: %w", d.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s was uninstalled, but not all of its dependencies: %w", name, err)
	}
	return nil
}

// recordedDependencyFiles are the dependency bundle.json files for an
// action that does not run the dependencies (uninstall, custom actions):
// the bundle each dependency installation recorded, or a stand-in naming
// the alias when there is none, since the runtime reads one per alias.
func (e *Engine) recordedDependencyFiles(ctx context.Context, inst *Installation, m *manifest.Manifest) map[string]string {
	names := m.DependencyNames()
	if len(names) == 0 {
		return nil
	}
	files := make(map[string]string, len(names))
	for _, alias := range names {
		doc := fmt.Sprintf(`{"schemaVersion":"v1.2.0","name":%q,"version":"0.0.0"}`, alias)
		if dep, err := e.deps.Store.GetInstallation(ctx, inst.Namespace, inst.Name+"-"+alias); err == nil {
			if fsys, err := e.openInstalled(ctx, dep); err == nil {
				if b, err := fs.ReadFile(fsys, remoteBundleFile); err == nil {
					doc = string(b)
				}
			}
		}
		files["/cnab/app/dependencies/"+alias+"/bundle.json"] = doc
	}
	return files
}
