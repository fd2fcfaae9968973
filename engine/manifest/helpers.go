package manifest

import (
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Destination returns where the parameter lands in the bundle image: its
// environment variable (defaulted from the name when neither env nor path
// is set) and its absolute path ("" when unset).
func (p Parameter) Destination() (env, path string) {
	return p.Env, ResolvePath(p.Path)
}

// IsFile reports whether the parameter is of Porter's file type.
func (p Parameter) IsFile() bool { return p.Type == "file" }

// Required reports whether the parameter must be supplied: it has no
// default. Parameters sourced from outputs are still required where they
// apply; the runtime fills them from the previous output.
func (p Parameter) Required() bool { return !p.HasDefault }

// Destination returns the credential's environment variable and absolute
// path ("" when unset).
func (c Credential) Destination() (env, path string) {
	return c.Env, ResolvePath(c.Path)
}

// IsFile reports whether the output is of Porter's file type.
func (o Output) IsFile() bool { return o.Type == "file" }

// BundlePath is where CNAB collects the output: always
// /cnab/app/outputs/<name>, whatever the manifest's path says.
func (o Output) BundlePath() string { return OutputsDir + "/" + o.Name }

// SourcePath is the absolute file the runtime copies to BundlePath at the
// end of an action when no step produced the output ("" when unset).
func (o Output) SourcePath() string { return ResolvePath(o.Path) }

// StepOutputPath is where a step output of that name is written by mixins.
func StepOutputPath(name string) string { return StepOutputsDir + "/" + name }

// Parameter returns the named parameter.
func (m *Manifest) Parameter(name string) (Parameter, bool) {
	for _, p := range m.Parameters {
		if p.Name == name {
			return p, true
		}
	}
	return Parameter{}, false
}

// Output returns the named bundle-level output.
func (m *Manifest) Output(name string) (Output, bool) {
	for _, o := range m.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}

// Credential returns the named credential.
func (m *Manifest) Credential(name string) (Credential, bool) {
	for _, c := range m.Credentials {
		if c.Name == name {
			return c, true
		}
	}
	return Credential{}, false
}

// IsSensitiveParam reports whether the named parameter is sensitive.
func (m *Manifest) IsSensitiveParam(name string) bool {
	p, ok := m.Parameter(name)
	return ok && p.Sensitive
}

// IsSensitiveOutput reports whether the named bundle-level output is
// sensitive. Step outputs that are not bundle outputs are always masked by
// the runtime, whatever this says.
func (m *Manifest) IsSensitiveOutput(name string) bool {
	o, ok := m.Output(name)
	return ok && o.Sensitive
}

// ParametersFor returns the parameters that apply to action.
func (m *Manifest) ParametersFor(action string) []Parameter {
	var out []Parameter
	for _, p := range m.Parameters {
		if AppliesTo(p.ApplyTo, action) {
			out = append(out, p)
		}
	}
	return out
}

// CredentialsFor returns the credentials that apply to action.
func (m *Manifest) CredentialsFor(action string) []Credential {
	var out []Credential
	for _, c := range m.Credentials {
		if AppliesTo(c.ApplyTo, action) {
			out = append(out, c)
		}
	}
	return out
}

// OutputsFor returns the bundle-level outputs that apply to action.
func (m *Manifest) OutputsFor(action string) []Output {
	var out []Output
	for _, o := range m.Outputs {
		if AppliesTo(o.ApplyTo, action) {
			out = append(out, o)
		}
	}
	return out
}

// HasAction reports whether the manifest defines steps for action.
func (m *Manifest) HasAction(action string) bool {
	_, ok := m.Actions[action]
	return ok
}

// CustomAction returns the definition of a custom action: the declared
// customActions entry, else Porter's default.
func (m *Manifest) CustomAction(name string) CustomAction {
	if a, ok := m.CustomActions[name]; ok {
		return a
	}
	return DefaultCustomAction(name)
}

// DependencyOutputRef names an output of a dependency referenced as
// bundle.dependencies.<Dependency>.outputs.<Output> in a template.
type DependencyOutputRef struct {
	Dependency string
	Output     string
}

var (
	outputVarRE    = regexp.MustCompile(`^bundle\.outputs\.(.+)$`)
	depOutputVarRE = regexp.MustCompile(`^bundle\.dependencies\.([^.]+)\.outputs\.(.+)$`)
)

// ReferencedOutputs returns, sorted, the bundle-level outputs referenced as
// bundle.outputs.<name> in any template of the manifest. These get a wiring
// parameter porter-<name>-output in bundle.json. Step outputs that are not
// declared outputs are not listed.
func (m *Manifest) ReferencedOutputs() []string {
	seen := map[string]bool{}
	for _, v := range m.TemplateVariables {
		match := outputVarRE.FindStringSubmatch(v)
		if match == nil {
			continue
		}
		if _, ok := m.Output(match[1]); ok {
			seen[match[1]] = true
		}
	}
	return sortedKeys(seen)
}

// ReferencedDependencyOutputs returns, sorted, the dependency outputs
// referenced in any template of the manifest.
func (m *Manifest) ReferencedDependencyOutputs() []DependencyOutputRef {
	var out []DependencyOutputRef
	seen := map[DependencyOutputRef]bool{}
	for _, v := range m.TemplateVariables {
		match := depOutputVarRE.FindStringSubmatch(v)
		if match == nil {
			continue
		}
		ref := DependencyOutputRef{Dependency: match[1], Output: match[2]}
		if !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dependency != out[j].Dependency {
			return out[i].Dependency < out[j].Dependency
		}
		return out[i].Output < out[j].Output
	})
	return out
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// AllowsPrereleases reports whether the dependency's version is a single
// prerelease version (e.g. 1.0.0-rc.1), which lets prereleases match.
func (d DependencyBundle) AllowsPrereleases() bool {
	if d.Version == "" {
		return false
	}
	v, err := semver.NewVersion(d.Version)
	return err == nil && v.Prerelease() != ""
}

// StateDefinitionName is the CNAB definition name of a state variable:
// <name>-state, without doubling the suffix (hence porter-state).
func StateDefinitionName(name string) string {
	if strings.HasSuffix(name, "-state") {
		return name
	}
	return name + "-state"
}

// Dependency returns the required bundle with the alias name.
func (m *Manifest) Dependency(name string) (Dependency, bool) {
	if m.Dependencies == nil {
		return Dependency{}, false
	}
	for _, d := range m.Dependencies.Requires {
		if d.Name == name {
			return d, true
		}
	}
	return Dependency{}, false
}

// DependencyNames returns the aliases of the required bundles, in order.
func (m *Manifest) DependencyNames() []string {
	if m.Dependencies == nil {
		return nil
	}
	names := make([]string, 0, len(m.Dependencies.Requires))
	for _, d := range m.Dependencies.Requires {
		names = append(names, d.Name)
	}
	return names
}
