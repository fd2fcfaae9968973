package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"
)

// Paths inside the bundle image (porter-compat.md appendix A).
const (
	// BundleDir is the bundle's working directory; relative manifest paths
	// are joined to it.
	BundleDir = "/cnab/app"
	// OutputsDir is where CNAB collects bundle outputs.
	OutputsDir = "/cnab/app/outputs"
	// StepOutputsDir is where mixins write step outputs.
	StepOutputsDir = "/cnab/app/porter/outputs"
	// StateInputPath is where the porter-state parameter lands.
	StateInputPath = "/porter/state.tgz"
)

// alphaSchemaVersion is the last schema version using {{ }} delimiters.
var alphaSchemaVersion = semver.MustParse("1.0.0-alpha.1")

// UnmarshalYAML decodes a credential, defaulting required to true.
func (c *Credential) UnmarshalYAML(n *yaml.Node) error {
	type plain Credential
	p := plain{Required: true}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = Credential(p)
	return nil
}

// UsesDollarDelimiters reports whether templates use ${ } (schemaVersion
// after 1.0.0-alpha.1) rather than {{ }} (empty or 1.0.0-alpha.1 and
// before). An unparsable schemaVersion counts as current, hence ${ }.
func (m *Manifest) UsesDollarDelimiters() bool {
	if m.SchemaVersion == "" {
		return false
	}
	v, err := semver.NewVersion(m.SchemaVersion)
	if err != nil {
		return true
	}
	return v.GreaterThan(alphaSchemaVersion)
}

// TemplateDelimiters returns the opening and closing template tags of the
// manifest's schema version: "${" and "}", or "{{" and "}}".
func (m *Manifest) TemplateDelimiters() (open, closing string) {
	if m.UsesDollarDelimiters() {
		return "${", "}"
	}
	return "{{", "}}"
}

// EnvName is the default environment variable of a parameter: upper case,
// with - and . replaced by _ (log-level → LOG_LEVEL).
func EnvName(name string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
}

// setDefaults applies Porter's defaults after parsing (porter-compat.md 1.1,
// 1.5, 1.7, 1.11).
func (m *Manifest) setDefaults() error {
	switch {
	case m.SchemaType == "", strings.EqualFold(m.SchemaType, "Bundle"):
		m.SchemaType = "Bundle"
	default:
		return m.fieldErr(m.nodes.top["schemaType"], "schemaType", fmt.Errorf("invalid schemaType %s, expected Bundle", m.SchemaType))
	}

	if m.Version != "" {
		v, err := semver.NewVersion(m.Version)
		if err != nil {
			return m.fieldErr(m.nodes.top["version"], "version", fmt.Errorf("version %q is not a valid semver value: %w", m.Version, err))
		}
		m.Version = v.String()
	}

	for i := range m.Parameters {
		p := &m.Parameters[i]
		if p.Type == "" {
			p.Type = "string"
			if p.Path != "" {
				p.Type = "file"
			}
		}
		if p.Persistent {
			m.applyPersistent(p)
		}
		if p.Env == "" && p.Path == "" {
			p.Env = EnvName(p.Name)
		}
		if p.Source != nil && p.Source.Output != "" && p.Source.Dependency == "" && len(p.ApplyTo) == 0 && !p.HasDefault {
			p.ApplyTo = m.actionsAfterInstall()
		}
	}
	for i := range m.Outputs {
		o := &m.Outputs[i]
		if o.Type == "" {
			o.Type = "string"
			if o.Path != "" {
				o.Type = "file"
			}
		}
	}

	for _, name := range m.CustomActionNames() {
		if _, ok := m.CustomActions[name]; ok {
			continue
		}
		if m.CustomActions == nil {
			m.CustomActions = map[string]CustomAction{}
		}
		m.CustomActions[name] = DefaultCustomAction(name)
	}
	return nil
}

// applyPersistent expands persistent: true (porter-compat.md 1.5). The
// combination with env, path, applyTo or source is reported by Validate,
// which sees the YAML as written.
func (m *Manifest) applyPersistent(p *Parameter) {
	p.Path = BundleDir + "/" + p.Name
	p.Env = ""
	p.Source = &ParameterSource{Output: p.Name}
	actions := []string{ActionInstall, ActionUninstall}
	if _, ok := m.Actions[ActionUpgrade]; ok {
		actions = append(actions, ActionUpgrade)
	}
	p.ApplyTo = append(actions, m.CustomActionNames()...)
	if _, ok := m.Output(p.Name); ok {
		return
	}
	m.Outputs = append(m.Outputs, Output{
		Name:        p.Name,
		Description: p.Description,
		Path:        p.Path,
		Sensitive:   p.Sensitive,
		ApplyTo:     append([]string(nil), p.ApplyTo...),
		Schema:      Schema{Type: p.Type},
	})
}

// actionsAfterInstall is the automatic applyTo of a parameter sourced from
// an output: uninstall, upgrade (if defined) and every custom action, sorted.
func (m *Manifest) actionsAfterInstall() []string {
	actions := []string{ActionUninstall}
	if _, ok := m.Actions[ActionUpgrade]; ok {
		actions = append(actions, ActionUpgrade)
	}
	actions = append(actions, m.CustomActionNames()...)
	sort.Strings(actions)
	return actions
}

// DefaultCustomAction is the definition Porter gives a custom action that
// has steps but no customActions entry.
func DefaultCustomAction(name string) CustomAction {
	switch strings.TrimPrefix(name, "io.cnab.") {
	case "dry-run":
		return CustomAction{Description: "Execute the installation in a dry-run mode, allowing to see what would happen with the given set of parameter values", Stateless: true}
	case "help":
		return CustomAction{Description: "Print a help message to the standard output", Stateless: true}
	case "log":
		return CustomAction{Description: "Print logs of the installed system to the standard output"}
	case "status":
		return CustomAction{Description: "Print a human readable status message to the standard output"}
	case "status+json":
		return CustomAction{Description: "Print a JSON payload describing the detailed status of the installed system to the standard output"}
	default:
		return CustomAction{Description: name, Modifies: true}
	}
}

// DefaultTag is the bundle tag derived from a version: v<version> with +
// replaced by _ (OCI tags can't contain +).
func DefaultTag(version string) string {
	return "v" + strings.ReplaceAll(version, "+", "_")
}

// errNoVersion is returned where a version is needed but not set.
var errNoVersion = errors.New("bundle version must be set")
