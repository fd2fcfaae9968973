package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stackhub/stackhub/engine/manifest"
)

// What an uninstall must produce, and how its failures are told.
//
// CNAB makes an output that applies to an action required of it: if the
// action ends without it and its definition has no default, the run fails
// ("required output X is missing and has no default"). An output without
// applyTo applies to every action, so a bundle that declares port or
// containerName for its install would, by the letter, fail every uninstall
// that removed the app and so could not report them. StackHub reads it the
// way bundle authors mean it:
//   - an uninstall must produce only the outputs whose applyTo names
//     uninstall explicitly;
//   - the uninstall of an installation that never finished installing must
//     produce none: it cannot report what the failed action never made.
//
// The other outputs do not apply to that uninstall run; a missing one can
// never fail it.

// uninstallRequires reports whether output o must be produced by an
// uninstall; installed says whether the installation ever finished
// installing.
func uninstallRequires(o manifest.Output, installed bool) bool {
	return installed && slices.Contains(o.ApplyTo, manifest.ActionUninstall)
}

// uninstallBundle returns bundleJSON with every declared output that the
// uninstall need not produce (see uninstallRequires) moved off the
// uninstall action, for the runtime to run that uninstall with.
func uninstallBundle(bundleJSON []byte, m *manifest.Manifest, installed bool) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(bundleJSON, &doc); err != nil {
		return nil, fmt.Errorf("read bundle.json: %w", err)
	}
	var outputs map[string]map[string]json.RawMessage
	if raw, ok := doc["outputs"]; ok {
		if err := json.Unmarshal(raw, &outputs); err != nil {
			return nil, fmt.Errorf("read bundle.json outputs: %w", err)
		}
	}
	others := otherActions(m)
	changed := false
	for _, o := range m.Outputs {
		out, ok := outputs[o.Name]
		if !ok || !manifest.AppliesTo(o.ApplyTo, manifest.ActionUninstall) || uninstallRequires(o, installed) {
			continue
		}
		out["applyTo"], _ = json.Marshal(others)
		changed = true
	}
	if !changed {
		return bundleJSON, nil
	}
	raw, err := json.Marshal(outputs)
	if err != nil {
		return nil, fmt.Errorf("write bundle.json outputs: %w", err)
	}
	doc["outputs"] = raw
	return json.Marshal(doc)
}

// otherActions lists the bundle's actions but uninstall (never empty: an
// empty applyTo would mean every action).
func otherActions(m *manifest.Manifest) []string {
	var out []string
	for name := range m.Actions {
		if name != manifest.ActionUninstall {
			out = append(out, name)
		}
	}
	if !slices.Contains(out, manifest.ActionInstall) {
		out = append(out, manifest.ActionInstall)
	}
	slices.Sort(out)
	return out
}

// prepareError marks a failure to get a bundle's invocation image ready:
// the action never ran.
type prepareError struct{ err error }

func (p *prepareError) Error() string { return p.err.Error() }
func (p *prepareError) Unwrap() error { return p.err }

// notRun reports whether err says the bundle could not run at all.
func notRun(err error) bool {
	var p *prepareError
	return errors.As(err, &p)
}

// uninstallFailure is the error of an uninstall whose action failed.
// running lists the project's containers that still run; only then does
// the message say that the app is still running.
func (e *Engine) uninstallFailure(inst *Installation, running []ContainerState, runErr error) error {
	reason := runErr.Error()
	var ue *UserError
	if errors.As(runErr, &ue) && ue.Msg != "" {
		reason = ue.Msg
	}
	if len(running) == 0 {
		hint := fmt.Sprintf("nothing of it is running; see why with `stackhub show %s` (the run's log), fix the cause and uninstall again", inst.Name)
		if h := HintOf(runErr); h != "" {
			hint = h + "; then uninstall again"
		}
		return &UserError{Msg: fmt.Sprintf("uninstall %s failed: %s", inst.Name, reason), Hint: hint, Err: runErr}
	}
	names := make([]string, 0, len(running))
	for _, c := range running {
		names = append(names, c.Name)
	}
	return &UserError{
		Msg: fmt.Sprintf("uninstall %s failed; it is still running (%s): %s", inst.Name, describePorts(inst.Ports), reason),
		Hint: fmt.Sprintf("look with `docker ps --filter label=com.docker.compose.project=%s` and stop it by hand with `docker rm -f %s`",
			e.Project(inst.Name), strings.Join(names, " ")),
		Err: errors.Join(ErrStillRunning, runErr),
	}
}

// stillRunning returns the project's containers that run (or restart).
func stillRunning(cs []ContainerState) []ContainerState {
	var out []ContainerState
	for _, c := range cs {
		if c.State == "running" || c.State == "restarting" {
			out = append(out, c)
		}
	}
	return out
}

// dropBundleImage removes the locally built bundle image of inst's app
// (its sh- and porter- tags) after an install that failed, or the
// uninstall of one, unless another installation of the app still needs
// it: a failed install leaves nothing behind, and the next install builds
// the image again in a moment. Pulled bundles keep their image (it may be
// the only copy); an image a container uses stays (Docker refuses).
func (e *Engine) dropBundleImage(ctx context.Context, inst *Installation, m *manifest.Manifest) {
	if inst.Reference != "" || inst.LastRunID == "" {
		return
	}
	run, err := e.deps.Store.GetRun(ctx, inst.LastRunID)
	digest := ""
	if err == nil {
		digest = strings.TrimPrefix(run.BundleDigest, "sha256:")
	}
	if len(digest) < 16 {
		return
	}
	ref := BundleReference(m)
	image := Repository(ref) + ":sh-" + digest[:16]
	// Under the image's lock, an install that needs it is either listed
	// already or builds it again after this.
	l := e.images.lock(image)
	l.Lock()
	defer l.Unlock()
	list, err := e.deps.Store.ListInstallations(ctx, e.cfg.Namespace)
	if err != nil {
		return
	}
	for _, o := range list {
		if o.Name != inst.Name && o.App == inst.App && o.Reference == "" && o.Status != StatusUninstalled {
			return
		}
	}
	for _, tag := range []string{image, InvocationImageFor(ref)} {
		if err := e.deps.Docker.RemoveImageTag(ctx, tag); err != nil && !errors.Is(err, ErrNotFound) {
			e.log.Debug("bundle image kept", "image", tag, "err", err)
			continue
		}
		e.log.Debug("removed bundle image of a failed install", "installation", inst.Name, "image", tag)
	}
}
