// Package runtime is the in-image bundle runtime, StackHub's counterpart of
// Porter's "porter-runtime run" (porter-compat.md section 5): inside the
// invocation image it loads porter.yaml, prepares parameters and state,
// renders each step of the action, hands it to the mixin's runtime binary
// and collects step and bundle outputs. It runs in static images FROM
// scratch, so it must not import Docker, cnab-go, SQL or the engine core;
// it only imports engine/manifest and engine/template.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/engine/template"
)

// Runtime executes one action of the bundle in the image.
type Runtime struct {
	Paths Paths
	Out   io.Writer
	Err   io.Writer
	// Environ is the environment (also handed to mixins); nil means
	// os.Environ().
	Environ []string

	// secrets are the values masked during the last step, also used to
	// mask the final error message.
	secrets []string
}

// New returns a runtime on the given streams with DefaultPaths.
func New(out, errOut io.Writer) *Runtime {
	return &Runtime{Paths: DefaultPaths(), Out: out, Err: errOut}
}

// RunOptions selects the manifest and the action.
type RunOptions struct {
	// File is the manifest; empty means /cnab/app/porter.yaml.
	File string
	// Action defaults to $CNAB_ACTION.
	Action string
	// Debug prints each step's template; $PORTER_DEBUG=true also sets it.
	Debug bool
}

// Secrets returns the values masked while the last step ran.
func (rt *Runtime) Secrets() []string { return rt.secrets }

// run is the state of one execution.
type run struct {
	rt     *Runtime
	paths  Paths
	action string
	debug  bool
	env    map[string]string
	m      *manifest.Manifest
	bundle *bundleFile
	deps   map[string]*bundleFile

	installerImage string
	images         map[string]any

	// stepOutputs are all outputs the steps produced so far.
	stepOutputs map[string]string
}

func (rt *Runtime) environ() []string {
	if rt.Environ != nil {
		return rt.Environ
	}
	return os.Environ()
}

// Run executes the action's steps (porter-compat.md 5.2).
func (rt *Runtime) Run(ctx context.Context, opts RunOptions) error {
	r := &run{rt: rt, paths: rt.Paths, env: envMap(rt.environ()), stepOutputs: map[string]string{}}

	r.action = opts.Action
	if r.action == "" {
		r.action = r.env["CNAB_ACTION"]
	}
	if r.action == "" {
		return errors.New("no action specified: set --action or CNAB_ACTION")
	}
	r.debug = opts.Debug
	if v := r.env["PORTER_DEBUG"]; v != "" && v != "null" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid PORTER_DEBUG value %q: %w", v, err)
		}
		r.debug = r.debug || b
	}

	file := opts.File
	if file == "" {
		file = rt.Paths.Manifest()
	}
	m, err := manifest.Load(file)
	if err != nil {
		return fmt.Errorf("load manifest: %w", err)
	}
	// As in Porter's runtime: no schema version check, persistent
	// parameters always allowed.
	if err := m.Validate(manifest.ValidateOptions{
		SchemaCheck:  manifest.SchemaCheckNone,
		Experimental: []string{manifest.FlagPersistentParameters},
	}); err != nil {
		return fmt.Errorf("validate manifest: %w", err)
	}
	r.m = m

	fmt.Fprintf(rt.Out, "executing %s action from %s (installation: %s)\n", r.action, r.env["CNAB_BUNDLE_NAME"], r.env["CNAB_INSTALLATION_NAME"])

	if r.bundle, err = loadBundle(rt.Paths.Bundle()); err != nil {
		return err
	}
	if err := r.loadDependencies(); err != nil {
		return err
	}
	steps, err := r.steps()
	if err != nil {
		return err
	}
	if err := r.initialize(); err != nil {
		return err
	}
	relocation, err := loadRelocationMap(rt.Paths.RelocationMap())
	if err != nil {
		return err
	}
	r.installerImage = installerImage(r.bundle, relocation)
	if r.images, err = resolveImages(m, r.bundle, relocation); err != nil {
		return fmt.Errorf("unable to resolve bundle images: %w", err)
	}
	if err := os.MkdirAll(rt.Paths.StepOutputs(), 0o755); err != nil {
		return fmt.Errorf("could not create outputs directory %s: %w", StepOutputsDir, err)
	}

	var runErr error
	for i, step := range steps {
		if err := r.executeStep(ctx, i, step); err != nil {
			runErr = err
			break
		}
	}
	if err := r.finalize(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if runErr != nil {
		return runErr
	}
	fmt.Fprintln(rt.Out, "execution completed successfully!")
	return nil
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			m[k] = v
		}
	}
	return m
}

func (r *run) loadDependencies() error {
	r.deps = map[string]*bundleFile{}
	if r.m.Dependencies == nil {
		return nil
	}
	for _, d := range r.m.Dependencies.Requires {
		b, err := loadBundle(r.paths.Dependency(d.Name))
		if err != nil {
			return fmt.Errorf("dependency %s: %w", d.Name, err)
		}
		r.deps[d.Name] = b
	}
	return nil
}

// steps returns the action's steps: install, upgrade and uninstall may be
// empty; any other action must be defined.
func (r *run) steps() ([]manifest.Step, error) {
	switch r.action {
	case manifest.ActionInstall, manifest.ActionUpgrade, manifest.ActionUninstall:
		return r.m.Actions[r.action], nil
	}
	steps, ok := r.m.Actions[r.action]
	if !ok {
		return nil, fmt.Errorf("unsupported action %q, custom actions are defined for: %s", r.action, strings.Join(r.m.CustomActionNames(), ", "))
	}
	return steps, nil
}

// modifies reports whether the action changes the installation; state is
// only persisted for those.
func (r *run) modifies() bool {
	switch r.action {
	case manifest.ActionInstall, manifest.ActionUpgrade, manifest.ActionUninstall:
		return true
	}
	if ca, ok := r.m.CustomActions[r.action]; ok {
		return ca.Modifies
	}
	return manifest.DefaultCustomAction(r.action).Modifies
}

// maskError masks the secrets of the last step in an error message.
func (rt *Runtime) maskError(err error) string {
	return template.MaskString(err.Error(), rt.secrets)
}
