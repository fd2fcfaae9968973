package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/engine/template"
)

// executeStep renders the index-th step, runs its mixin and collects its
// outputs (even when the mixin failed).
func (r *run) executeStep(ctx context.Context, index int, step manifest.Step) error {
	data, err := r.buildData()
	if err != nil {
		return fmt.Errorf("unable to resolve step: unable to build step template data: %w", err)
	}
	r.rt.secrets = data.secrets

	tmpl, err := r.m.StepYAML(r.action, index)
	if err != nil {
		return fmt.Errorf("unable to resolve step: unable to retrieve original yaml for step %s[%d]: %w", r.action, index, err)
	}
	if r.debug {
		fmt.Fprintf(r.rt.Err, "=== Step Template ===\n%s\n", tmpl)
	}
	rendered, err := template.Render(string(tmpl), data.data, r.m.UsesDollarDelimiters())
	if err != nil {
		return fmt.Errorf("unable to resolve step: unable to render step template %s[%d]: %w", r.action, index, err)
	}
	stepNode, parsed, err := parseRenderedStep(rendered)
	if err != nil {
		return fmt.Errorf("unable to resolve step: invalid step yaml after rendering template of %s[%d]: %w", r.action, index, err)
	}
	if parsed.Mixin != step.Mixin {
		return fmt.Errorf("unable to resolve step: step %s[%d] changed mixin from %s to %s while rendering", r.action, index, step.Mixin, parsed.Mixin)
	}

	out := template.NewMasker(r.rt.Out, data.secrets)
	errOut := template.NewMasker(r.rt.Err, data.secrets)
	defer func() {
		_ = out.Flush()
		_ = errOut.Flush()
	}()
	if parsed.Description != "" {
		fmt.Fprintln(out, parsed.Description)
	}

	runErr := r.runMixin(ctx, parsed.Mixin, stepNode, out, errOut)

	if err := r.collectStepOutputs(); err != nil {
		return errors.Join(wrapMixinErr(runErr), fmt.Errorf("could not read step outputs: %w", err))
	}
	return wrapMixinErr(runErr)
}

func wrapMixinErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("mixin execution failed: %w", err)
}

// parseRenderedStep parses a rendered step: a single-key map of mixin name
// to its settings.
func parseRenderedStep(rendered string) (*yaml.Node, manifest.Step, error) {
	step, err := manifest.ParseStep([]byte(rendered))
	if err != nil {
		return nil, manifest.Step{}, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(rendered), &doc); err != nil {
		return nil, manifest.Step{}, err
	}
	return doc.Content[0], step, nil
}

// commandError is a failed mixin command, with the stderr it printed.
type commandError struct {
	cmdline string
	stderr  string
	err     error
}

func (e *commandError) Error() string {
	msg := fmt.Sprintf("package command failed %s", e.cmdline)
	if e.stderr != "" {
		msg += "\n" + strings.TrimRight(e.stderr, "\n")
	}
	return msg
}

func (e *commandError) Unwrap() error { return e.err }

// runMixin runs /cnab/app/mixins/<m>/runtimes/<m>-runtime with the step
// wrapped under the action key on stdin (porter-compat.md 5.3).
func (r *run) runMixin(ctx context.Context, mixin string, stepNode *yaml.Node, out, errOut io.Writer) error {
	input := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: r.action},
		{Kind: yaml.SequenceNode, Content: []*yaml.Node{stepNode}},
	}}
	var stdin bytes.Buffer
	enc := yaml.NewEncoder(&stdin)
	enc.SetIndent(2)
	if err := enc.Encode(input); err != nil {
		return fmt.Errorf("encode step input: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode step input: %w", err)
	}

	bin := r.paths.MixinRuntime(mixin)
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("mixin %s is not installed in the bundle: %w", mixin, err)
	}
	var args []string
	switch r.action {
	case manifest.ActionInstall, manifest.ActionUpgrade, manifest.ActionUninstall:
		args = []string{r.action}
	default:
		args = []string{"invoke", "--action", r.action}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = r.paths.AppDir()
	cmd.Env = r.rt.environ()
	cmd.Stdin = &stdin
	var stderr bytes.Buffer
	cmd.Stdout = out
	cmd.Stderr = io.MultiWriter(errOut, &stderr)
	cmdline := strings.Join(append([]string{bin}, args...), " ")
	if err := cmd.Run(); err != nil {
		return &commandError{cmdline: cmdline, stderr: stderr.String(), err: err}
	}
	return nil
}

// collectStepOutputs reads and deletes every file of the step outputs
// directory, records them as step outputs, and writes those that are bundle
// outputs of this action to /cnab/app/outputs.
func (r *run) collectStepOutputs() error {
	dir := r.paths.StepOutputs()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("could not list %s: %w", StepOutputsDir, err)
	}
	collected := map[string]string{}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("could not read output file %s: %w", p, err))
			continue
		}
		if err := os.Remove(p); err != nil {
			errs = append(errs, fmt.Errorf("could not remove output file %s: %w", p, err))
		}
		collected[e.Name()] = string(b)
		r.stepOutputs[e.Name()] = string(b)
	}
	for name, value := range collected {
		o, ok := r.output(name)
		if !ok || !manifest.AppliesTo(o.ApplyTo, r.action) {
			continue
		}
		if err := os.MkdirAll(r.paths.Outputs(), 0o755); err != nil {
			errs = append(errs, fmt.Errorf("create outputs directory: %w", err))
			continue
		}
		dst := filepath.Join(r.paths.Outputs(), name)
		if err := os.WriteFile(dst, []byte(value), 0o600); err != nil {
			errs = append(errs, fmt.Errorf("unable to write output file %s: %w", dst, err))
		}
	}
	return errors.Join(errs...)
}
