// Package cnab is StackHub's adapter to cnab-go: it converts manifests into
// CNAB bundle.json and runs bundle actions through cnab-go's action
// pipeline on its own invocation-image driver (driver.go), over the Engine
// API. It is the only package that imports cnab-go.
package cnab

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/cnabio/cnab-go/bundle"
	"github.com/cnabio/cnab-go/bundle/definition"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/manifest"
)

// Extension keys written into bundle.json custom (porter-compat.md 3.5).
const (
	StampKey            = "sh.porter"
	FileParametersKey   = "sh.porter.file-parameters"
	DependenciesKey     = "io.cnab.dependencies"
	ParameterSourcesKey = "io.cnab.parameter-sources"
	DockerKey           = "io.cnab.docker"
)

// Porter-internal parameters and outputs.
const (
	DebugParameter = "porter-debug"
	StateParameter = "porter-state"
	StateOutput    = "porter-state"

	internalComment  = "porter-internal"
	generatedIDBase  = "https://porter.sh/generated-bundle/#"
	sourceDefinition = generatedIDBase + "porter-parameter-source-definition"
	stateDescription = "Supports persisting state for bundles. Porter internal parameter that should not be set manually."
	debugDescription = "Print debug information from Porter when executing the bundle"
	stackhubMixin    = "stackhub"
)

// ConvertOptions carries what the build knows beyond the manifest.
type ConvertOptions struct {
	// InvocationImage is the bundle image reference. Empty derives it from
	// the manifest's bundle reference with InvocationImageRef.
	InvocationImage string
	// ManifestDigest is the build's up-to-date digest (porter-compat.md 4.1).
	ManifestDigest string
	// MixinVersions maps each mixin name to its version.
	MixinVersions map[string]string
	// StackHubVersion and StackHubCommit stand in for Porter's version and
	// commit in the stamp.
	StackHubVersion string
	StackHubCommit  string
	// PreserveTags is recorded in the stamp (publish --preserve-tags).
	PreserveTags bool
}

// Stamp is custom."sh.porter": how and from what the bundle was built.
type Stamp struct {
	ManifestDigest string                 `json:"manifestDigest"`
	Mixins         map[string]MixinRecord `json:"mixins"`
	// Manifest is the base64 of the user's original porter.yaml.
	Manifest     string `json:"manifest"`
	Version      string `json:"version"`
	Commit       string `json:"commit"`
	PreserveTags bool   `json:"preserveTags"`
}

// MixinRecord is one mixin of the stamp.
type MixinRecord struct {
	Version string `json:"version"`
}

// Dependencies is custom."io.cnab.dependencies" (v1).
type Dependencies struct {
	Sequence []string              `json:"sequence"`
	Requires map[string]Dependency `json:"requires"`
}

// Dependency is one required bundle of Dependencies. The manifest's static
// dependency parameters are not stored here; they live only in porter.yaml.
type Dependency struct {
	Bundle  string             `json:"bundle"`
	Version *DependencyVersion `json:"version,omitempty"`
}

// DependencyVersion is the accepted version range of a dependency.
type DependencyVersion struct {
	Ranges      []string `json:"ranges"`
	Prereleases bool     `json:"prereleases"`
}

// ParameterSource is one entry of custom."io.cnab.parameter-sources".
type ParameterSource struct {
	Priority []string          `json:"priority"`
	Sources  map[string]Source `json:"sources"`
}

// Source names where a parameter's value comes from: an output of this
// installation, or of a dependency.
type Source struct {
	Dependency string `json:"dependency,omitempty"`
	Name       string `json:"name"`
}

// Parameter source kinds.
const (
	SourceOutput           = "output"
	SourceDependencyOutput = "dependencies.output"
)

// Convert builds the CNAB bundle of a manifest as porter build does
// (porter-compat.md section 3). Validate the manifest first; the result
// passes bundle.Validate.
func Convert(m *manifest.Manifest, opts ConvertOptions) (*bundle.Bundle, error) {
	image := opts.InvocationImage
	if image == "" {
		ref, err := m.BundleReference()
		if err != nil {
			return nil, fmt.Errorf("convert manifest %s: %w", m.Name, err)
		}
		image = InvocationImageRef(ref)
	}
	b := &bundle.Bundle{
		SchemaVersion: bundle.GetDefaultSchemaVersion(),
		Name:          m.Name,
		Version:       m.Version,
		Description:   m.Description,
		InvocationImages: []bundle.InvocationImage{{
			BaseImage: bundle.BaseImage{ImageType: "docker", Image: image},
		}},
		Parameters:  map[string]bundle.Parameter{},
		Credentials: map[string]bundle.Credential{},
		Outputs:     map[string]bundle.Output{},
		Definitions: definition.Definitions{},
		Custom:      map[string]any{},
	}
	for _, mt := range m.Maintainers {
		b.Maintainers = append(b.Maintainers, bundle.Maintainer{Name: mt.Name, Email: mt.Email, URL: mt.URL})
	}
	if err := convertImages(m, b); err != nil {
		return nil, err
	}
	for _, name := range m.CustomActionNames() {
		if b.Actions == nil {
			b.Actions = map[string]bundle.Action{}
		}
		a := m.CustomAction(name)
		b.Actions[name] = bundle.Action{Modifies: a.Modifies, Stateless: a.Stateless, Description: a.Description}
	}
	sources := map[string]ParameterSource{}
	if err := convertParameters(m, b, sources); err != nil {
		return nil, err
	}
	if err := convertOutputs(m, b); err != nil {
		return nil, err
	}
	for _, c := range m.Credentials {
		env, path := c.Destination()
		b.Credentials[c.Name] = bundle.Credential{
			Location:    bundle.Location{EnvironmentVariable: env, Path: path},
			Description: c.Description,
			Required:    c.Required,
			ApplyTo:     c.ApplyTo,
		}
	}
	addInternals(m, b, sources)
	if err := convertCustom(m, b, sources, opts); err != nil {
		return nil, err
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("convert manifest %s: invalid bundle: %w", m.Name, err)
	}
	return b, nil
}

// InvocationImageRef is the bundle image of a bundle reference:
// <repository>:porter-<md5 hex of the full reference>.
func InvocationImageRef(bundleRef string) string {
	repo := bundleRef
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	sum := md5.Sum([]byte(bundleRef))
	return repo + ":porter-" + hex.EncodeToString(sum[:])
}

func convertImages(m *manifest.Manifest, b *bundle.Bundle) error {
	aliases := make([]string, 0, len(m.Images))
	for alias := range m.Images {
		aliases = append(aliases, alias)
	}
	sort.Strings(aliases)
	for _, alias := range aliases {
		img := m.Images[alias]
		ref := img.Repository
		switch {
		case img.Digest != "":
			ref += "@" + img.Digest
		case img.Tag != "":
			ref += ":" + img.Tag
		default:
			ref += ":latest"
		}
		typ := img.ImageType
		if typ == "" {
			typ = "docker"
		}
		if b.Images == nil {
			b.Images = map[string]bundle.Image{}
		}
		b.Images[alias] = bundle.Image{
			BaseImage: bundle.BaseImage{
				ImageType: typ,
				Image:     ref,
				Digest:    img.Digest,
				Size:      img.Size,
				Labels:    img.Labels,
				MediaType: img.MediaType,
			},
			Description: img.Description,
		}
	}
	return nil
}

// toDefinition converts a manifest schema to a CNAB definition: file becomes
// string + base64, sensitive becomes writeOnly.
func toDefinition(s manifest.Schema, description string, sensitive bool) (*definition.Schema, error) {
	d := &definition.Schema{
		Type:             s.Type,
		Enum:             s.Enum,
		Minimum:          s.Minimum,
		Maximum:          s.Maximum,
		ExclusiveMinimum: s.ExclusiveMinimum,
		ExclusiveMaximum: s.ExclusiveMaximum,
		MinLength:        s.MinLength,
		MaxLength:        s.MaxLength,
		ID:               s.ID,
		Comment:          s.Comment,
		ContentEncoding:  s.ContentEncoding,
		Items:            jsonValue(s.Items),
		Required:         s.Required,
		Description:      description,
		WriteOnly:        s.WriteOnly,
	}
	if s.AdditionalProps != nil {
		d.AdditionalProperties = jsonValue(s.AdditionalProps)
	}
	if s.Properties != nil {
		raw, err := json.Marshal(jsonValue(s.Properties))
		if err != nil {
			return nil, fmt.Errorf("encode properties: %w", err)
		}
		if err := json.Unmarshal(raw, &d.Properties); err != nil {
			return nil, fmt.Errorf("decode properties: %w", err)
		}
	}
	if s.HasDefault {
		d.Default = jsonValue(s.Default)
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", s.Pattern, err)
		}
		d.Pattern = &definition.Regexp{Regexp: *re}
	}
	if s.Type == "file" {
		d.Type = "string"
		d.ContentEncoding = "base64"
	}
	if sensitive {
		d.WriteOnly = ptr(true)
	}
	return d, nil
}

func convertParameters(m *manifest.Manifest, b *bundle.Bundle, sources map[string]ParameterSource) error {
	for _, p := range m.Parameters {
		defName := p.Name + "-parameter"
		def, err := toDefinition(p.Schema, p.Description, p.Sensitive)
		if err != nil {
			return fmt.Errorf("convert parameter %s: %w", p.Name, err)
		}
		b.Definitions[defName] = def
		env, path := p.Destination()
		b.Parameters[p.Name] = bundle.Parameter{
			Definition:  defName,
			Description: p.Description,
			ApplyTo:     p.ApplyTo,
			Destination: &bundle.Location{EnvironmentVariable: env, Path: path},
			Required:    p.Required(),
		}
		if p.Source != nil && p.Source.Output != "" {
			if p.Source.Dependency != "" {
				sources[p.Name] = dependencySource(p.Source.Dependency, p.Source.Output)
			} else {
				sources[p.Name] = outputSource(p.Source.Output)
			}
		}
	}
	return nil
}

func convertOutputs(m *manifest.Manifest, b *bundle.Bundle) error {
	for _, o := range m.Outputs {
		defName := o.Name + "-output"
		def, err := toDefinition(o.Schema, o.Description, o.Sensitive)
		if err != nil {
			return fmt.Errorf("convert output %s: %w", o.Name, err)
		}
		b.Definitions[defName] = def
		b.Outputs[o.Name] = bundle.Output{
			Definition:  defName,
			Description: o.Description,
			ApplyTo:     o.ApplyTo,
			Path:        o.BundlePath(),
		}
	}
	return nil
}

func outputSource(name string) ParameterSource {
	return ParameterSource{Priority: []string{SourceOutput}, Sources: map[string]Source{SourceOutput: {Name: name}}}
}

func dependencySource(dep, name string) ParameterSource {
	return ParameterSource{
		Priority: []string{SourceDependencyOutput},
		Sources:  map[string]Source{SourceDependencyOutput: {Dependency: dep, Name: name}},
	}
}

// addInternals adds porter-debug, porter-state, the wiring parameters of
// templated outputs and dependency outputs, and stackhub-context.
func addInternals(m *manifest.Manifest, b *bundle.Bundle, sources map[string]ParameterSource) {
	b.Definitions[DebugParameter+"-parameter"] = &definition.Schema{
		ID:          generatedIDBase + DebugParameter,
		Comment:     internalComment,
		Type:        "boolean",
		Default:     false,
		Description: debugDescription,
	}
	b.Parameters[DebugParameter] = bundle.Parameter{
		Definition:  DebugParameter + "-parameter",
		Description: debugDescription,
		Destination: &bundle.Location{EnvironmentVariable: "PORTER_DEBUG"},
	}

	stateDef := manifest.StateDefinitionName(StateParameter)
	b.Definitions[stateDef] = &definition.Schema{
		ID:              generatedIDBase + StateParameter,
		Comment:         internalComment,
		Type:            "string",
		ContentEncoding: "base64",
		Description:     stateDescription,
	}
	b.Parameters[StateParameter] = bundle.Parameter{
		Definition:  stateDef,
		Description: stateDescription,
		Destination: &bundle.Location{Path: manifest.StateInputPath},
	}
	b.Outputs[StateOutput] = bundle.Output{
		Definition:  stateDef,
		Description: stateDescription,
		Path:        manifest.OutputsDir + "/" + StateOutput,
	}
	sources[StateParameter] = outputSource(StateOutput)

	for _, name := range m.ReferencedOutputs() {
		out, _ := m.Output(name)
		param := "porter-" + name + "-output"
		def, err := toDefinition(out.Schema, out.Description, out.Sensitive)
		if err != nil {
			// Validate checked the schema; an output whose schema failed
			// there never reaches Convert.
			def = &definition.Schema{}
		}
		def.ID = sourceDefinition
		def.Comment = internalComment
		b.Definitions[param] = def
		b.Parameters[param] = bundle.Parameter{
			Definition:  param,
			Description: fmt.Sprintf("Wires up the %s output for use as a parameter. Porter internal parameter that should not be set manually.", name),
			Destination: &bundle.Location{EnvironmentVariable: manifest.EnvName(param)},
		}
		sources[param] = outputSource(name)
	}

	for _, ref := range m.ReferencedDependencyOutputs() {
		param := "porter-" + ref.Dependency + "-" + ref.Output + "-dep-output"
		b.Definitions[param] = &definition.Schema{ID: sourceDefinition, Comment: internalComment}
		b.Parameters[param] = bundle.Parameter{
			Definition:  param,
			Description: fmt.Sprintf("Wires up the %s dependency %s output for use as a parameter. Porter internal parameter that should not be set manually.", ref.Dependency, ref.Output),
			Destination: &bundle.Location{EnvironmentVariable: manifest.EnvName(param)},
		}
		sources[param] = dependencySource(ref.Dependency, ref.Output)
	}

	// StackHub's per-run context (ports, names) reaches the stackhub mixin
	// through an internal parameter (engine/contract).
	if m.HasMixin(stackhubMixin) {
		b.Definitions[contract.ContextParameter+"-parameter"] = &definition.Schema{
			Comment: internalComment,
			Type:    "string",
			Default: "",
		}
		b.Parameters[contract.ContextParameter] = bundle.Parameter{
			Definition:  contract.ContextParameter + "-parameter",
			Description: "StackHub's context for this run. StackHub internal parameter that should not be set manually.",
			Destination: &bundle.Location{EnvironmentVariable: contract.ContextEnv},
		}
	}
}

func convertCustom(m *manifest.Manifest, b *bundle.Bundle, sources map[string]ParameterSource, opts ConvertOptions) error {
	for k, v := range m.Custom {
		b.Custom[k] = jsonValue(v)
	}
	stamp := Stamp{
		ManifestDigest: opts.ManifestDigest,
		Mixins:         map[string]MixinRecord{},
		Manifest:       base64.StdEncoding.EncodeToString(m.Raw),
		Version:        opts.StackHubVersion,
		Commit:         opts.StackHubCommit,
		PreserveTags:   opts.PreserveTags,
	}
	for _, mx := range m.Mixins {
		stamp.Mixins[mx.Name] = MixinRecord{Version: opts.MixinVersions[mx.Name]}
	}
	b.Custom[StampKey] = stamp
	b.Custom[FileParametersKey] = map[string]any{}
	b.RequiredExtensions = []string{FileParametersKey}

	if m.Dependencies != nil && len(m.Dependencies.Requires) > 0 {
		deps := Dependencies{Requires: map[string]Dependency{}}
		for _, d := range m.Dependencies.Requires {
			dep := Dependency{Bundle: d.Bundle.Reference}
			if d.Bundle.Version != "" {
				dep.Version = &DependencyVersion{Ranges: []string{d.Bundle.Version}, Prereleases: d.Bundle.AllowsPrereleases()}
			}
			deps.Sequence = append(deps.Sequence, d.Name)
			deps.Requires[d.Name] = dep
		}
		b.Custom[DependenciesKey] = deps
		b.RequiredExtensions = append(b.RequiredExtensions, DependenciesKey)
	}

	b.Custom[ParameterSourcesKey] = sources
	b.RequiredExtensions = append(b.RequiredExtensions, ParameterSourcesKey)

	for _, r := range m.Required {
		key := r.Name
		if key == "docker" {
			key = DockerKey
		}
		var cfg any
		if r.Config != nil {
			cfg = jsonValue(r.Config)
		}
		b.Custom[key] = cfg
		if !contains(b.RequiredExtensions, key) {
			b.RequiredExtensions = append(b.RequiredExtensions, key)
		}
	}
	return nil
}

// jsonValue makes a YAML-decoded value JSON-encodable: maps with non-string
// keys get string keys.
func jsonValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = jsonValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonValue(e)
		}
		return out
	default:
		return v
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
