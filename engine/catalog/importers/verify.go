package importers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/mixin"
	"github.com/stackhub/stackhub/mixin/compose"
)

// Check validates a bundle folder's porter.yaml the way `stackhub bundle
// lint` does, plus the stackhub mixin's lint of its steps.
func Check(b *Bundle) error {
	m, err := manifest.Parse(b.Files["porter.yaml"], b.Name+"/porter.yaml")
	if err != nil {
		return err
	}
	if err := m.Validate(manifest.ValidateOptions{}); err != nil {
		return err
	}
	if lint := manifest.Lint(m); lint.HasErrors() {
		return errors.New(strings.TrimSpace(lint.String()))
	}
	for action, steps := range m.Actions {
		for _, st := range steps {
			if st.Mixin != mixin.Name {
				continue
			}
			decoded, err := decodeStep(st.Data)
			if err != nil {
				return fmt.Errorf("%s step: %w", action, err)
			}
			for _, p := range mixin.Validate(action, decoded) {
				if p.Level == mixin.LevelError {
					return fmt.Errorf("%s step (%s): %s", action, p.Code, p.Message)
				}
			}
		}
	}
	return nil
}

// verify checks a generated bundle: Check, then the compose file through
// the loader and planner the mixin deploys it with, with every variable
// the bundle defines set.
func verify(ctx context.Context, b *Bundle, s *Spec, c *converted) error {
	if err := Check(b); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "stackhub-import-")
	if err != nil {
		return fmt.Errorf("verify compose file: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, ComposeFile), b.Files[ComposeFile], 0o600); err != nil {
		return fmt.Errorf("verify compose file: %w", err)
	}
	env := map[string]string{}
	o := compose.Options{Project: "stackhub-" + s.Name, Installation: s.Name, WorkingDir: dir,
		Files: []string{ComposeFile}, Env: env, Main: c.main}
	for i, p := range c.ports {
		env["STACKHUB_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = fmt.Sprint(20000 + i)
		o.Ports = append(o.Ports, compose.Port{Name: p.Name, Service: p.Service, Target: p.Target.N, Protocol: p.Protocol, Host: 20000 + i, HostIP: p.HostIP})
	}
	for _, sec := range s.Secrets {
		env[strings.ToUpper(strings.ReplaceAll(sec.Name, "-", "_"))] = "secret"
	}
	for _, p := range s.Params {
		env[p.Env] = "value"
	}
	env["STACKHUB_INSTALLATION"], env["STACKHUB_PROJECT"] = s.Name, o.Project
	proj, err := compose.Load(ctx, &o)
	if err != nil {
		return err
	}
	if _, err := compose.BuildPlan(o, proj, map[string]string{}); err != nil {
		return err
	}
	return nil
}

// decodeStep decodes a step strictly, as the mixin does: unknown fields
// are errors.
func decodeStep(data map[string]any) (*mixin.Step, error) {
	b, err := yaml.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("parse step: %w", err)
	}
	var st mixin.Step
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&st); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse step: %w", err)
	}
	return &st, nil
}
