package porter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/distribution/reference"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/manifest"
)

// DesiredInstallation is an installation file of `installation apply`
// (porter-compat.md 7.4): the state an installation should be in.
type DesiredInstallation struct {
	SchemaType    string            `json:"schemaType" yaml:"schemaType"`
	SchemaVersion string            `json:"schemaVersion" yaml:"schemaVersion"`
	Name          string            `json:"name" yaml:"name"`
	Namespace     string            `json:"namespace" yaml:"namespace"`
	Uninstalled   bool              `json:"uninstalled" yaml:"uninstalled"`
	Labels        map[string]string `json:"labels" yaml:"labels"`
	Bundle        struct {
		Repository string `json:"repository" yaml:"repository"`
		Digest     string `json:"digest" yaml:"digest"`
		Version    string `json:"version" yaml:"version"`
		Tag        string `json:"tag" yaml:"tag"`
	} `json:"bundle" yaml:"bundle"`
	ParameterSets  []string       `json:"parameterSets" yaml:"parameterSets"`
	CredentialSets []string       `json:"credentialSets" yaml:"credentialSets"`
	Parameters     map[string]any `json:"parameters" yaml:"parameters"`
}

// Reference is the bundle reference the document names: digest, then
// version (tag v<version>), then tag.
func (d *DesiredInstallation) Reference() string {
	b := d.Bundle
	switch {
	case b.Digest != "":
		return b.Repository + "@" + b.Digest
	case b.Version != "":
		return b.Repository + ":v" + strings.TrimPrefix(b.Version, "v")
	case b.Tag != "":
		return b.Repository + ":" + b.Tag
	}
	return b.Repository
}

// Validate checks the document; errors start with Porter's "invalid
// installation".
func (d *DesiredInstallation) Validate(namespace string) error {
	bad := func(format string, args ...any) error {
		return engine.NewUserError(engine.ErrInvalid, "invalid installation: "+fmt.Sprintf(format, args...), "")
	}
	if d.SchemaType != "" && !strings.EqualFold(d.SchemaType, "Installation") {
		return bad("schemaType is %q, expected Installation", d.SchemaType)
	}
	if d.SchemaVersion != "" && !strings.HasPrefix(d.SchemaVersion, "1.0.") {
		return bad("schemaVersion %s is not supported, use 1.0.2", d.SchemaVersion)
	}
	if d.Name == "" {
		return bad("name is required")
	}
	if err := engine.ValidateName("installation", d.Name); err != nil {
		return err
	}
	if d.Namespace != namespace {
		return bad("namespace is %q, but this StackHub keeps installations in %q", d.Namespace, namespace)
	}
	if d.Bundle.Repository == "" {
		return bad("bundle.repository is required")
	}
	ref, err := reference.ParseNormalizedNamed(d.Reference())
	if err != nil {
		return bad("bundle %s is not a valid reference: %v", d.Reference(), err)
	}
	_, tagged := ref.(reference.Tagged)
	_, digested := ref.(reference.Digested)
	if !tagged && !digested {
		return bad("bundle needs a digest, version or tag")
	}
	return nil
}

// ApplyOptions are the inputs of Apply beyond the document.
type ApplyOptions struct {
	// ParamSets and CredSets are the resolved values of the document's
	// sets, in order.
	ParamSets []map[string]string
	CredSets  []map[string]string
	// DryRun decides but runs nothing; Force re-applies an up-to-date
	// installation.
	DryRun, Force   bool
	Insecure        bool
	AllowDockerHost bool
	Out             io.Writer
}

// ApplyResult is what Apply decided and did.
type ApplyResult struct {
	// Action is the action run ("" when none).
	Action string
	// Decision is Porter's log line for the decision.
	Decision string
	Run      *engine.BundleRunResult
}

// applyDecision decides what brings inst (nil: absent) to the desired
// state (porter-compat.md 7.4).
func applyDecision(inst *engine.Installation, d *DesiredInstallation, params map[string]string, force bool) (action, decision string) {
	outOfSync := func(a string) (string, string) {
		return a, "The installation is out-of-sync, running the " + a + " action..."
	}
	failed := inst != nil && inst.Status == engine.StatusFailed
	switch {
	case d.Uninstalled && inst == nil:
		return "", "Ignoring because installation.uninstalled is true but the installation doesn't exist yet"
	case d.Uninstalled && !inst.IsInstalled() && !failed:
		return "", "The installation is already up-to-date."
	case d.Uninstalled:
		return outOfSync(manifest.ActionUninstall)
	case inst == nil:
		return outOfSync(manifest.ActionInstall)
	case failed && !inst.IsInstalled():
		return manifest.ActionInstall, "Triggering because the installation has not completed successfully yet"
	case !inst.IsInstalled():
		return outOfSync(manifest.ActionInstall)
	case failed:
		return manifest.ActionUpgrade, "Triggering because the installation has not completed successfully yet"
	case inst.Reference != d.Reference() || !maps.Equal(inst.Parameters, params):
		return outOfSync(manifest.ActionUpgrade)
	case force:
		return manifest.ActionUpgrade, "The installation is up-to-date but will be re-applied because --force was specified"
	}
	return "", "The installation is already up-to-date."
}

// desiredParameters turns the document's parameters into the strings
// --param would give (objects and arrays as JSON).
func desiredParameters(in map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for k, v := range in {
		switch x := v.(type) {
		case string:
			out[k] = x
		case map[string]any, []any:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("invalid installation: parameter %s: %v", k, err), "")
			}
			out[k] = string(b)
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out, nil
}

// Apply brings an installation to the state d describes: install, upgrade
// or uninstall its bundle (pulled from d's reference), or nothing when it is
// up to date. Labels are saved even when nothing runs; they never trigger a
// run.
func (a *Authoring) Apply(ctx context.Context, d *DesiredInstallation, opts ApplyOptions) (*ApplyResult, error) {
	if err := d.Validate(a.eng.Config().Namespace); err != nil {
		return nil, err
	}
	params, err := desiredParameters(d.Parameters)
	if err != nil {
		return nil, err
	}
	inst, err := a.eng.Records().GetInstallation(ctx, a.eng.Config().Namespace, d.Name)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		inst = nil
	case err != nil:
		return nil, fmt.Errorf("get installation %s: %w", d.Name, err)
	}
	action, decision := applyDecision(inst, d, params, opts.Force)
	res := &ApplyResult{Action: action, Decision: decision}
	if opts.Out != nil {
		fmt.Fprintln(opts.Out, decision)
	}
	if opts.DryRun {
		return res, nil
	}
	if action == "" {
		if inst != nil && len(d.Labels) > 0 && !maps.Equal(inst.Labels, d.Labels) {
			return res, a.eng.SetLabels(ctx, d.Name, d.Labels)
		}
		return res, nil
	}
	fsys, b, m, err := a.eng.FetchBundle(ctx, d.Reference(), opts.Insecure)
	if err != nil {
		return res, err
	}
	run := engine.BundleRunOptions{
		Dir: fsys, Manifest: m, Name: d.Name, Params: params, ParamSets: opts.ParamSets, ParamSetNames: d.ParameterSets,
		CredSets: opts.CredSets, CredSetNames: d.CredentialSets, Force: action == manifest.ActionInstall,
		AllowDockerHost: opts.AllowDockerHost, Insecure: opts.Insecure, Out: opts.Out,
		Reference: b.Reference, Labels: d.Labels, ReplaceParams: true,
	}
	switch action {
	case manifest.ActionInstall:
		res.Run, err = a.eng.InstallBundle(ctx, run)
	case manifest.ActionUpgrade:
		res.Run, err = a.eng.UpgradeBundle(ctx, run)
	default:
		run.Params = nil // uninstall keeps the values the installation remembers
		res.Run, err = a.eng.UninstallBundle(ctx, run)
	}
	if err == nil && len(d.Labels) > 0 && res.Run != nil && res.Run.Installation != nil && !maps.Equal(res.Run.Installation.Labels, d.Labels) {
		if uerr := a.eng.SetLabels(ctx, d.Name, d.Labels); uerr != nil {
			return res, uerr
		}
		res.Run.Installation.Labels = d.Labels
	}
	return res, err
}
