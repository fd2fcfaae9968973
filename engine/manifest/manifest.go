// Package manifest reads, defaults, validates and lints Porter's porter.yaml
// bundle manifest (porter-compat.md section 1). It owns the manifest model
// shared by the build, the CNAB conversion and the in-image runtime; it must
// not import Docker, cnab-go or SQL. It may import engine/template, to find
// the variables the manifest's templates reference.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine/template"
)

// Well-known action names.
const (
	ActionInstall   = "install"
	ActionUpgrade   = "upgrade"
	ActionUninstall = "uninstall"
)

// Sentinel errors.
var (
	// ErrInvalid is wrapped by every parse and validation error of a manifest.
	ErrInvalid = errors.New("invalid manifest")
	// ErrInvalidSchemaVersion is wrapped by schemaVersion errors.
	ErrInvalidSchemaVersion = errors.New("invalid schema version")
	// ErrNotFound is returned when a step, parameter or output does not exist.
	ErrNotFound = errors.New("not found")
)

// Manifest is a parsed porter.yaml.
type Manifest struct {
	SchemaType    string                  `yaml:"schemaType,omitempty"`
	SchemaVersion string                  `yaml:"schemaVersion"`
	Name          string                  `yaml:"name"`
	Version       string                  `yaml:"version"`
	Description   string                  `yaml:"description,omitempty"`
	Registry      string                  `yaml:"registry,omitempty"`
	Reference     string                  `yaml:"reference,omitempty"`
	Dockerfile    string                  `yaml:"dockerfile,omitempty"`
	Maintainers   []Maintainer            `yaml:"maintainers,omitempty"`
	Custom        map[string]any          `yaml:"custom,omitempty"`
	Required      []RequiredExtension     `yaml:"-"`
	Mixins        []MixinDecl             `yaml:"-"`
	Credentials   []Credential            `yaml:"credentials,omitempty"`
	Parameters    []Parameter             `yaml:"parameters,omitempty"`
	Outputs       []Output                `yaml:"outputs,omitempty"`
	State         []StateVar              `yaml:"state,omitempty"`
	Files         []File                  `yaml:"files,omitempty"`
	Images        map[string]Image        `yaml:"images,omitempty"`
	Dependencies  *Dependencies           `yaml:"dependencies,omitempty"`
	CustomActions map[string]CustomAction `yaml:"customActions,omitempty"`

	// Actions holds the step list of install, upgrade, uninstall and every
	// custom action, keyed by action name.
	Actions map[string][]Step `yaml:"-"`

	// TemplateVariables lists, sorted, every template variable referenced
	// anywhere in the manifest (e.g. bundle.outputs.url), found with the
	// delimiters of the manifest's schema version.
	TemplateVariables []string `yaml:"-"`

	// Filename is where the manifest was read from, for error messages.
	Filename string `yaml:"-"`
	// Raw is the manifest's original bytes.
	Raw []byte `yaml:"-"`
	// Warnings collects non-fatal findings made while parsing and validating.
	Warnings []string `yaml:"-"`

	nodes nodes
}

// nodes keeps the YAML nodes of the parsed document, for line numbers in
// errors and for the raw text of steps.
type nodes struct {
	top         map[string]*yaml.Node
	parameters  []*yaml.Node
	outputs     []*yaml.Node
	credentials []*yaml.Node
	images      map[string]*yaml.Node
	deps        []*yaml.Node
	files       []*yaml.Node
	steps       map[string][]*yaml.Node
}

// File is one entry of files (schema 1.3.0 with the file-sources flag): a
// file downloaded at build time into the bundle directory.
type File struct {
	URL         string `yaml:"url"`
	Destination string `yaml:"destination"`
}

// Maintainer is one entry of maintainers.
type Maintainer struct {
	Name  string `yaml:"name,omitempty" json:"name,omitempty"`
	Email string `yaml:"email,omitempty" json:"email,omitempty"`
	URL   string `yaml:"url,omitempty" json:"url,omitempty"`
}

// RequiredExtension is one entry of required (only docker is supported).
type RequiredExtension struct {
	Name   string
	Config map[string]any
}

// MixinDecl is one entry of mixins: a name, an optional semver constraint
// and optional configuration.
type MixinDecl struct {
	Name       string
	Constraint string
	Config     any
}

// Schema holds the JSON-schema keywords shared by parameters and outputs.
type Schema struct {
	Type             string   `yaml:"type,omitempty"`
	Default          any      `yaml:"default,omitempty"`
	Enum             []any    `yaml:"enum,omitempty"`
	Minimum          *float64 `yaml:"minimum,omitempty"`
	Maximum          *float64 `yaml:"maximum,omitempty"`
	ExclusiveMinimum *float64 `yaml:"exclusiveMinimum,omitempty"`
	ExclusiveMaximum *float64 `yaml:"exclusiveMaximum,omitempty"`
	MinLength        *int     `yaml:"minLength,omitempty"`
	MaxLength        *int     `yaml:"maxLength,omitempty"`
	Pattern          string   `yaml:"pattern,omitempty"`
	ID               string   `yaml:"$id,omitempty"`
	Comment          string   `yaml:"$comment,omitempty"`
	ContentEncoding  string   `yaml:"contentEncoding,omitempty"`
	Items            any      `yaml:"items,omitempty"`
	Properties       any      `yaml:"properties,omitempty"`
	AdditionalProps  any      `yaml:"additionalProperties,omitempty"`
	Required         []string `yaml:"required,omitempty"`
	WriteOnly        *bool    `yaml:"writeOnly,omitempty"`

	// HasDefault is true when the YAML sets a non-null default ("" and false
	// count). A parameter without one is required.
	HasDefault bool `yaml:"-"`
}

// ParameterSource is a parameter's source: an output of this installation or
// of a dependency.
type ParameterSource struct {
	Output     string `yaml:"output,omitempty"`
	Dependency string `yaml:"dependency,omitempty"`
}

// Parameter is one entry of parameters.
type Parameter struct {
	Name        string           `yaml:"name"`
	Description string           `yaml:"description,omitempty"`
	Env         string           `yaml:"env,omitempty"`
	Path        string           `yaml:"path,omitempty"`
	Sensitive   bool             `yaml:"sensitive,omitempty"`
	ApplyTo     []string         `yaml:"applyTo,omitempty"`
	Source      *ParameterSource `yaml:"source,omitempty"`
	Persistent  bool             `yaml:"persistent,omitempty"`
	Schema      `yaml:",inline"`
}

// Credential is one entry of credentials. Required defaults to true when the
// YAML omits it.
type Credential struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description,omitempty"`
	Env         string   `yaml:"env,omitempty"`
	Path        string   `yaml:"path,omitempty"`
	Required    bool     `yaml:"required"`
	ApplyTo     []string `yaml:"applyTo,omitempty"`
}

// Output is one entry of outputs.
type Output struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description,omitempty"`
	Path        string   `yaml:"path,omitempty"`
	Sensitive   bool     `yaml:"sensitive,omitempty"`
	ApplyTo     []string `yaml:"applyTo,omitempty"`
	Schema      `yaml:",inline"`
}

// StateVar is one entry of state.
type StateVar struct {
	Name        string `yaml:"name"`
	Path        string `yaml:"path"`
	Description string `yaml:"description,omitempty"`
	Mixin       string `yaml:"mixin,omitempty"`
}

// Image is one entry of images.
type Image struct {
	Repository  string            `yaml:"repository"`
	Digest      string            `yaml:"digest,omitempty"`
	Tag         string            `yaml:"tag,omitempty"`
	ImageType   string            `yaml:"imageType,omitempty"`
	Description string            `yaml:"description,omitempty"`
	Size        uint64            `yaml:"size,omitempty"`
	MediaType   string            `yaml:"mediaType,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
}

// Dependencies is the dependencies section (v1).
type Dependencies struct {
	Requires []Dependency `yaml:"requires,omitempty"`
	// Provides (dependencies v2) names the interface this bundle
	// implements, which a dependency's bundle.interface.id can require.
	Provides *DependencyProvides `yaml:"provides,omitempty"`
}

// DependencyProvides is dependencies.provides (dependencies v2).
type DependencyProvides struct {
	Interface struct {
		ID string `yaml:"id"`
	} `yaml:"interface"`
}

// ProvidedInterface is the interface id the bundle declares it provides
// (dependencies.provides.interface.id), or "".
func (m *Manifest) ProvidedInterface() string {
	if m.Dependencies == nil || m.Dependencies.Provides == nil {
		return ""
	}
	return m.Dependencies.Provides.Interface.ID
}

// Dependency is one required bundle.
type Dependency struct {
	Name       string            `yaml:"name"`
	Bundle     DependencyBundle  `yaml:"bundle"`
	Parameters map[string]string `yaml:"parameters,omitempty"`
	// Sharing (dependencies v2, schema 1.1.0) lets roots share one
	// installation of the dependency.
	Sharing *DependencySharing `yaml:"sharing,omitempty"`
}

// DependencySharing is a v2 dependency's sharing: with Mode, the dependency
// is the installation named after its alias in the sharing group
// Group.Name, installed once and reused by every root of the group.
type DependencySharing struct {
	Mode  bool `yaml:"mode"`
	Group struct {
		Name string `yaml:"name"`
	} `yaml:"group"`
}

// Shared tells whether the dependency is shared (sharing.mode: true).
func (d Dependency) Shared() bool { return d.Sharing != nil && d.Sharing.Mode }

// DependencyBundle locates a dependency's bundle.
type DependencyBundle struct {
	Reference string `yaml:"reference"`
	Version   string `yaml:"version,omitempty"`
	// Interface (dependencies v2) describes what the dependency must
	// provide: an id, a reference to a bundle with that interface, or an
	// inline document.
	Interface *DependencyInterface `yaml:"interface,omitempty"`
}

// DependencyInterface is a v2 dependency's bundle.interface.
type DependencyInterface struct {
	ID        string `yaml:"id,omitempty"`
	Reference string `yaml:"reference,omitempty"`
	Document  any    `yaml:"document,omitempty"`
}

// CustomAction describes a custom action.
type CustomAction struct {
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	Modifies    bool   `yaml:"modifies,omitempty" json:"modifies,omitempty"`
	Stateless   bool   `yaml:"stateless,omitempty" json:"stateless,omitempty"`
}

// Step is one step of an action: a single mixin with its configuration.
type Step struct {
	Mixin       string
	Description string
	// Data is the mixin's configuration map, description included.
	Data map[string]any
	// Line is the step's line in the manifest file (1-based); 0 for a step
	// parsed with ParseStep.
	Line int
}

// knownKeys are top-level keys that are not custom actions.
var knownKeys = map[string]bool{
	"schemaType": true, "schemaVersion": true, "name": true, "version": true,
	"description": true, "registry": true, "reference": true, "dockerfile": true,
	"maintainers": true, "custom": true, "required": true, "mixins": true,
	"credentials": true, "parameters": true, "outputs": true, "state": true,
	"images": true, "dependencies": true, "customActions": true,
	"invocationImage": true, "tag": true, "files": true,
}

// Load reads and parses the manifest at path.
func Load(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return Parse(data, path)
}

// Parse parses manifest bytes and applies Porter's defaults (see
// defaults.go); filename is used in error messages only. Structural errors
// (a step that is not a single-key map, a bad schemaType or version, a
// template that does not parse) fail here; the remaining rules are checked
// by Validate.
func Parse(data []byte, filename string) (*Manifest, error) {
	if filename == "" {
		filename = "porter.yaml"
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", filename, ErrInvalid, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: %w: the document must be a YAML mapping", filename, ErrInvalid)
	}
	root := doc.Content[0]
	m := &Manifest{Filename: filename, Raw: data, Actions: map[string][]Step{}}
	if err := root.Decode(m); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", filename, ErrInvalid, err)
	}
	m.nodes = nodes{top: map[string]*yaml.Node{}, images: map[string]*yaml.Node{}, steps: map[string][]*yaml.Node{}}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i].Value, root.Content[i+1]
		m.nodes.top[key] = val
		switch {
		case key == "mixins":
			mixins, err := parseMixins(val)
			if err != nil {
				return nil, m.fieldErr(val, "mixins", err)
			}
			m.Mixins = mixins
		case key == "required":
			req, err := parseRequired(val)
			if err != nil {
				return nil, m.fieldErr(val, "required", err)
			}
			m.Required = req
		case key == "parameters":
			m.nodes.parameters = seqItems(val)
		case key == "outputs":
			m.nodes.outputs = seqItems(val)
		case key == "credentials":
			m.nodes.credentials = seqItems(val)
		case key == "files":
			m.nodes.files = seqItems(val)
		case key == "images":
			if val.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(val.Content); j += 2 {
					m.nodes.images[val.Content[j].Value] = val.Content[j+1]
				}
			}
		case key == "dependencies":
			if req := fieldNode(val, "requires"); req != nil {
				m.nodes.deps = seqItems(req)
			}
		case key == "invocationImage" || key == "tag":
			m.Warnings = append(m.Warnings, fmt.Sprintf("WARNING: The %q field has been deprecated and can no longer be user-specified; it is ignored", key))
		case !knownKeys[key]:
			if val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
				continue // "upgrade:" with nothing under it declares no action
			}
			steps, err := parseSteps(key, val)
			if err != nil {
				return nil, err.withFile(filename)
			}
			m.Actions[key] = steps
			m.nodes.steps[key] = seqItems(val)
		}
	}
	markDefaults(m)
	if err := m.setDefaults(); err != nil {
		return nil, err
	}
	vars, err := template.Variables(string(data), m.UsesDollarDelimiters())
	if err != nil {
		return nil, fmt.Errorf("%s: %w: parse the templates used in the manifest: %w", filename, ErrInvalid, err)
	}
	m.TemplateVariables = vars
	return m, nil
}

func seqItems(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// fieldNode returns the value node of key in mapping n, or nil.
func fieldNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func parseMixins(n *yaml.Node) ([]MixinDecl, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, errors.New("must be a list")
	}
	var out []MixinDecl
	for _, item := range n.Content {
		var d MixinDecl
		switch item.Kind {
		case yaml.ScalarNode:
			d.Name = item.Value
		case yaml.MappingNode:
			if len(item.Content) != 2 {
				return nil, fmt.Errorf("line %d: a mixin declaration must have exactly one key", item.Line)
			}
			d.Name = item.Content[0].Value
			if err := item.Content[1].Decode(&d.Config); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("line %d: a mixin declaration must be a name or a single-key map", item.Line)
		}
		if name, constraint, ok := strings.Cut(d.Name, "@"); ok {
			d.Name, d.Constraint = name, constraint
		}
		out = append(out, d)
	}
	return out, nil
}

func parseRequired(n *yaml.Node) ([]RequiredExtension, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, errors.New("must be a list")
	}
	var out []RequiredExtension
	for _, item := range n.Content {
		switch item.Kind {
		case yaml.ScalarNode:
			out = append(out, RequiredExtension{Name: item.Value})
		case yaml.MappingNode:
			if len(item.Content) != 2 {
				return nil, fmt.Errorf("line %d: a required extension must have exactly one key", item.Line)
			}
			r := RequiredExtension{Name: item.Content[0].Value}
			if err := item.Content[1].Decode(&r.Config); err != nil {
				return nil, err
			}
			out = append(out, r)
		default:
			return nil, fmt.Errorf("line %d: a required extension must be a name or a single-key map", item.Line)
		}
	}
	return out, nil
}

// stepError is a step error found while parsing, before the filename is
// attached.
type stepError struct {
	line  int
	field string
	err   error
}

func (e *stepError) withFile(filename string) error {
	return &FieldError{File: filename, Line: e.line, Field: e.field, Err: e.err}
}

func parseSteps(action string, n *yaml.Node) ([]Step, *stepError) {
	if n.Kind != yaml.SequenceNode {
		return nil, &stepError{line: n.Line, field: action, err: fmt.Errorf("validation of action %q failed: an action must be a list of steps", action)}
	}
	steps := make([]Step, 0, len(n.Content))
	for i, item := range n.Content {
		s, err := parseStep(item)
		if err != nil {
			return nil, &stepError{
				line:  item.Line,
				field: fmt.Sprintf("%s[%d]", action, i),
				err:   fmt.Errorf("validation of action %q failed: failed to validate %s step: %w", action, Ordinal(i+1), err),
			}
		}
		steps = append(steps, s)
	}
	return steps, nil
}

func parseStep(item *yaml.Node) (Step, error) {
	if item.Kind != yaml.MappingNode {
		return Step{}, errors.New("a step must be a map of one mixin name to its settings")
	}
	if len(item.Content) != 2 {
		return Step{}, errors.New("malformed step, possibly incorrect indentation")
	}
	s := Step{Mixin: item.Content[0].Value, Line: item.Line}
	body := item.Content[1]
	if body.Kind != yaml.MappingNode {
		return Step{}, fmt.Errorf("the %s step's settings must be a map", s.Mixin)
	}
	if err := body.Decode(&s.Data); err != nil {
		return Step{}, err
	}
	if d, ok := s.Data["description"]; ok {
		str, ok := d.(string)
		if !ok {
			return Step{}, errors.New("step description must be a string")
		}
		s.Description = str
	}
	return s, nil
}

// ParseStep parses the YAML of one step, a single-key map of a mixin name to
// its settings, as StepYAML returns it (after rendering, typically).
func ParseStep(data []byte) (Step, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Step{}, fmt.Errorf("parse step: %w: %w", ErrInvalid, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return Step{}, fmt.Errorf("parse step: %w: empty document", ErrInvalid)
	}
	s, err := parseStep(doc.Content[0])
	if err != nil {
		return Step{}, fmt.Errorf("parse step: %w: %w", ErrInvalid, err)
	}
	s.Line = 0
	return s, nil
}

// StepYAML returns the YAML text of the index-th step (0-based) of action,
// re-encoded from the parsed document: "<mixin>:\n  key: value...". The
// runtime renders templates on this text, one step at a time, then parses
// the result with ParseStep (porter-compat.md 2.1).
func (m *Manifest) StepYAML(action string, index int) ([]byte, error) {
	items := m.nodes.steps[action]
	if index < 0 || index >= len(items) {
		return nil, fmt.Errorf("step %d of action %q: %w", index, action, ErrNotFound)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(items[index]); err != nil {
		return nil, fmt.Errorf("encode step %d of action %q: %w", index, action, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode step %d of action %q: %w", index, action, err)
	}
	return buf.Bytes(), nil
}

// markDefaults records which parameters and outputs set a non-null default.
func markDefaults(m *Manifest) {
	for i, n := range m.nodes.parameters {
		if d := fieldNode(n, "default"); d != nil && d.Tag != "!!null" && i < len(m.Parameters) {
			m.Parameters[i].HasDefault = true
		}
	}
	for i, n := range m.nodes.outputs {
		if d := fieldNode(n, "default"); d != nil && d.Tag != "!!null" && i < len(m.Outputs) {
			m.Outputs[i].HasDefault = true
		}
	}
}

// ActionNames returns every action with steps, sorted.
func (m *Manifest) ActionNames() []string {
	names := make([]string, 0, len(m.Actions))
	for k := range m.Actions {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// CustomActionNames returns the actions other than install, upgrade and uninstall, sorted.
func (m *Manifest) CustomActionNames() []string {
	var names []string
	for _, k := range m.ActionNames() {
		if k != ActionInstall && k != ActionUpgrade && k != ActionUninstall {
			names = append(names, k)
		}
	}
	return names
}

// HasMixin reports whether the manifest declares the named mixin.
func (m *Manifest) HasMixin(name string) bool {
	for _, d := range m.Mixins {
		if d.Name == name {
			return true
		}
	}
	return false
}

// AppliesTo reports whether an applyTo list includes action (empty means all).
func AppliesTo(applyTo []string, action string) bool {
	if len(applyTo) == 0 {
		return true
	}
	for _, a := range applyTo {
		if a == action {
			return true
		}
	}
	return false
}

// ResolvePath makes a manifest path absolute inside the bundle image:
// relative paths are joined to /cnab/app.
func ResolvePath(p string) string {
	if p == "" || path.IsAbs(p) {
		return p
	}
	return path.Join(BundleDir, p)
}

// Ordinal renders 1 as "1st", 2 as "2nd" and so on.
func Ordinal(n int) string {
	suffix := "th"
	switch n % 100 {
	case 11, 12, 13:
	default:
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
