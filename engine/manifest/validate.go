package manifest

import (
	_ "crypto/sha256" // registers sha256 for digest validation
	_ "crypto/sha512" // registers sha384 and sha512 for digest validation
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"gopkg.in/yaml.v3"
)

// SchemaCheck is how strictly Validate compares schemaVersion with the
// supported versions (Porter's schema-check setting).
type SchemaCheck string

// Schema check strategies (porter-compat.md 1.2).
const (
	// SchemaCheckExact fails unless the version is supported (the default).
	SchemaCheckExact SchemaCheck = "exact"
	// SchemaCheckMinor fails when MAJOR.MINOR differs from 1.0, else warns.
	SchemaCheckMinor SchemaCheck = "minor"
	// SchemaCheckMajor fails when MAJOR differs from 1, else warns.
	SchemaCheckMajor SchemaCheck = "major"
	// SchemaCheckNone only warns; the runtime inside a bundle uses it.
	SchemaCheckNone SchemaCheck = "none"
)

// Experimental feature flags that widen the supported schema versions.
const (
	FlagDependenciesV2       = "dependencies-v2"
	FlagPersistentParameters = "persistent-parameters"
	FlagFileSources          = "file-sources"
)

// DefaultSchemaVersion is the current manifest schema version.
const DefaultSchemaVersion = "1.0.1"

// schemaDocsURL is cited by schema version errors.
const schemaDocsURL = "https://porter.sh/reference/file-formats/#supported-versions"

// ValidateOptions tunes Validate.
type ValidateOptions struct {
	// SchemaCheck defaults to SchemaCheckExact.
	SchemaCheck SchemaCheck
	// Experimental lists enabled feature flags (FlagXxx).
	Experimental []string
}

func (o ValidateOptions) enabled(flag string) bool {
	for _, f := range o.Experimental {
		if f == flag {
			return true
		}
	}
	return false
}

// experimentalSince is the schema version each experimental feature
// introduced.
var experimentalSince = []struct{ flag, version string }{
	{FlagDependenciesV2, "1.1.0"},
	{FlagPersistentParameters, "1.2.0"},
	{FlagFileSources, "1.3.0"},
}

// ExperimentalFlagFor names the experimental feature that makes schema
// version v acceptable: the one that introduced v's MAJOR.MINOR, else the
// first whose range accepts v; "" when none does (or v is not semver).
func ExperimentalFlagFor(v string) string {
	ver, err := semver.NewVersion(v)
	if err != nil {
		return ""
	}
	if c, err := semver.NewConstraint(SupportedSchemaVersions(nil)); err == nil && c.Check(ver) {
		return "" // supported without any feature
	}
	for _, e := range experimentalSince {
		since := semver.MustParse(e.version)
		if since.Major() == ver.Major() && since.Minor() == ver.Minor() {
			if c, err := semver.NewConstraint(SupportedSchemaVersions([]string{e.flag})); err == nil && c.Check(ver) {
				return e.flag
			}
		}
	}
	for _, e := range experimentalSince {
		if c, err := semver.NewConstraint(SupportedSchemaVersions([]string{e.flag})); err == nil && c.Check(ver) {
			return e.flag
		}
	}
	return ""
}

// SupportedSchemaVersions is the semver constraint schemaVersion must
// satisfy with the given experimental flags.
func SupportedSchemaVersions(experimental []string) string {
	opts := ValidateOptions{Experimental: experimental}
	c := "1.0.0-alpha.1 || 1.0.0 - 1.0.1"
	if opts.enabled(FlagDependenciesV2) {
		c += " || >= 1.1.0"
	}
	if opts.enabled(FlagPersistentParameters) {
		c += " || >= 1.2.0"
	}
	if opts.enabled(FlagFileSources) {
		c += " || 1.3.0"
	}
	return c
}

// Validate checks the rules of porter-compat.md 1.2 and 1.3 that apply at
// build and lint time, and returns every violation joined; each one is a
// *FieldError naming file, line and field where known and wraps ErrInvalid.
// Warnings (lenient schema checks, unsupported extensions) are appended to
// m.Warnings. The registry/reference needed only to publish is checked by
// BundleReference, not here.
func (m *Manifest) Validate(opts ValidateOptions) error {
	var errs []error
	add := func(n *yaml.Node, field string, err error) {
		errs = append(errs, m.fieldErr(n, field, err))
	}
	top := m.nodes.top

	if warn, err := m.checkSchemaVersion(opts); err != nil {
		add(top["schemaVersion"], "schemaVersion", err)
	} else if warn != "" {
		m.Warnings = append(m.Warnings, "WARNING: "+warn)
	}
	if m.Name == "" {
		add(top["name"], "name", errors.New("bundle name must be set"))
	}
	if m.Version == "" {
		add(top["version"], "version", errNoVersion)
	}
	if strings.EqualFold(m.Dockerfile, "Dockerfile") {
		add(top["dockerfile"], "dockerfile", errors.New("the Dockerfile template cannot be named 'Dockerfile' because that is the filename generated during porter build"))
	}
	if len(m.Mixins) == 0 {
		add(top["mixins"], "mixins", errors.New("no mixins declared"))
	}
	if !m.HasAction(ActionInstall) {
		add(nil, "install", errors.New("no install action defined"))
	}
	if !m.HasAction(ActionUninstall) {
		add(nil, "uninstall", errors.New("no uninstall action defined"))
	}
	errs = append(errs, m.validateSteps()...)
	errs = append(errs, m.validateParameters()...)
	errs = append(errs, m.validateOutputs()...)
	errs = append(errs, m.validateCredentials()...)
	errs = append(errs, m.validateImages()...)
	errs = append(errs, m.validateDependencies()...)
	errs = append(errs, m.validateFiles()...)
	for _, r := range m.Required {
		if r.Name != "docker" {
			m.Warnings = append(m.Warnings, fmt.Sprintf("WARNING: unsupported required extension %s: only docker is supported and a bundle requiring it will fail to run", r.Name))
		}
	}
	for i, s := range m.State {
		n := at(seqItems(top["state"]), i)
		if s.Name == "" {
			add(n, fmt.Sprintf("state[%d].name", i), errors.New("state variable name is required"))
		}
		if s.Path == "" {
			add(n, fmt.Sprintf("state[%d].path", i), fmt.Errorf("no path supplied for state variable %s", s.Name))
		}
	}
	return errors.Join(errs...)
}

// checkSchemaVersion applies the schema-check strategy: a non-empty warning
// means the version is accepted with a warning.
func (m *Manifest) checkSchemaVersion(opts ValidateOptions) (string, error) {
	check := opts.SchemaCheck
	if check == "" {
		check = SchemaCheckExact
	}
	invalid := func(msg string) (string, error) {
		if check == SchemaCheckNone {
			return msg, nil
		}
		return "", fmt.Errorf("%s: %w", msg, ErrInvalidSchemaVersion)
	}
	if m.SchemaVersion == "" {
		return invalid("(none) is not a valid semantic version")
	}
	v, err := semver.NewVersion(m.SchemaVersion)
	if err != nil {
		return invalid(m.SchemaVersion + " is not a valid semantic version")
	}
	supported := SupportedSchemaVersions(opts.Experimental)
	c, err := semver.NewConstraint(supported)
	if err != nil {
		return "", fmt.Errorf("parse supported schema versions %q: %w", supported, err)
	}
	if c.Check(v) {
		return "", nil
	}
	msg := fmt.Sprintf("the schema version is %s but the supported schema version is %s. See %s for more details", m.SchemaVersion, supported, schemaDocsURL)
	if flag := ExperimentalFlagFor(m.SchemaVersion); flag != "" {
		msg += fmt.Sprintf("; schemaVersion %s is experimental: enable it with --experimental %s (or PORTER_EXPERIMENTAL=%s, or experimental: [%s] in the config file)",
			m.SchemaVersion, flag, flag, flag)
	}
	fail := true
	switch check {
	case SchemaCheckMinor:
		fail = v.Major() != 1 || v.Minor() != 0
	case SchemaCheckMajor:
		fail = v.Major() != 1
	case SchemaCheckNone:
		fail = false
	}
	if fail {
		return "", fmt.Errorf("%s: %w", msg, ErrInvalidSchemaVersion)
	}
	return msg, nil
}

// schemaAtLeast reports whether schemaVersion parses and is >= min.
func (m *Manifest) schemaAtLeast(minVersion string) bool {
	v, err := semver.NewVersion(m.SchemaVersion)
	if err != nil {
		return false
	}
	return !v.LessThan(semver.MustParse(minVersion))
}

func (m *Manifest) validateSteps() []error {
	declared := map[string]bool{}
	for _, d := range m.Mixins {
		declared[d.Name] = true
	}
	var errs []error
	for _, action := range m.orderedActions() {
		for i, s := range m.Actions[action] {
			if declared[s.Mixin] {
				continue
			}
			errs = append(errs, m.fieldErr(at(m.nodes.steps[action], i), fmt.Sprintf("%s[%d]", action, i),
				fmt.Errorf("validation of action %q failed: failed to validate %s step: mixin (%s) was not declared", action, Ordinal(i+1), s.Mixin)))
		}
	}
	return errs
}

// orderedActions lists install, uninstall, upgrade, then custom actions.
func (m *Manifest) orderedActions() []string {
	var out []string
	for _, a := range []string{ActionInstall, ActionUninstall, ActionUpgrade} {
		if m.HasAction(a) {
			out = append(out, a)
		}
	}
	return append(out, m.CustomActionNames()...)
}

func (m *Manifest) validateParameters() []error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range m.Parameters {
		n := at(m.nodes.parameters, i)
		field := fmt.Sprintf("parameters[%d]", i)
		add := func(key string, err error) {
			errs = append(errs, m.fieldErr(keyNode(n, key), field+"."+key, err))
		}
		if p.Name == "" {
			add("name", errors.New("parameter name is required"))
		} else if seen[p.Name] {
			add("name", fmt.Errorf("parameter %s is defined more than once", p.Name))
		}
		seen[p.Name] = true
		if err := p.checkSchema(); err != nil {
			add("type", fmt.Errorf("invalid schema for parameter %s: %w", p.Name, err))
			continue
		}
		if p.IsFile() && p.Path == "" {
			add("path", fmt.Errorf("no destination path supplied for parameter %s", p.Name))
		}
		if p.HasDefault {
			if err := p.CheckValue(p.Default); err != nil {
				add("default", fmt.Errorf("invalid default value for parameter %s: %w", p.Name, err))
			}
		}
		if p.Source != nil && p.Source.Output == "" {
			add("source", fmt.Errorf("source.output is required for parameter %s", p.Name))
		}
		if p.Persistent {
			for _, key := range []string{"env", "path", "applyTo", "source"} {
				if fieldNode(n, key) != nil {
					add(key, fmt.Errorf("persistent parameter %s can't be combined with env, path, applyTo or source", p.Name))
					break
				}
			}
			if !m.schemaAtLeast("1.2.0") {
				add("persistent", errors.New("the persistent field requires schemaVersion >= 1.2.0"))
			}
		}
	}
	return errs
}

func (m *Manifest) validateOutputs() []error {
	var errs []error
	seen := map[string]bool{}
	for i, o := range m.Outputs {
		n := at(m.nodes.outputs, i)
		field := fmt.Sprintf("outputs[%d]", i)
		add := func(key string, err error) {
			errs = append(errs, m.fieldErr(keyNode(n, key), field+"."+key, err))
		}
		if o.Name == "" {
			add("name", errors.New("output name is required"))
		} else if seen[o.Name] {
			add("name", fmt.Errorf("output %s is defined more than once", o.Name))
		}
		seen[o.Name] = true
		if err := o.checkSchema(); err != nil {
			add("type", fmt.Errorf("invalid schema for output %s: %w", o.Name, err))
			continue
		}
		if o.IsFile() && o.Path == "" {
			add("path", fmt.Errorf("no path supplied for output %s", o.Name))
		}
		if o.HasDefault {
			if err := o.CheckValue(o.Default); err != nil {
				add("default", fmt.Errorf("invalid default value for output %s: %w", o.Name, err))
			}
		}
	}
	return errs
}

func (m *Manifest) validateCredentials() []error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range m.Credentials {
		n := at(m.nodes.credentials, i)
		field := fmt.Sprintf("credentials[%d]", i)
		switch {
		case c.Name == "":
			errs = append(errs, m.fieldErr(keyNode(n, "name"), field+".name", errors.New("credential name is required")))
		case seen[c.Name]:
			errs = append(errs, m.fieldErr(keyNode(n, "name"), field+".name", fmt.Errorf("credential %s is defined more than once", c.Name)))
		}
		seen[c.Name] = true
		if c.Env == "" && c.Path == "" {
			errs = append(errs, m.fieldErr(n, field, fmt.Errorf("credential %s must set env or path", c.Name)))
		}
	}
	return errs
}

func (m *Manifest) validateImages() []error {
	var errs []error
	for _, alias := range sortedImageAliases(m.Images) {
		img := m.Images[alias]
		n := m.nodes.images[alias]
		field := "images." + alias
		if img.Repository == "" {
			errs = append(errs, m.fieldErr(n, field+".repository", fmt.Errorf("repository is required for image %s", alias)))
		} else if _, err := reference.ParseNormalizedNamed(img.Repository); err != nil {
			errs = append(errs, m.fieldErr(keyNode(n, "repository"), field+".repository", fmt.Errorf("invalid repository %q for image %s: %w", img.Repository, alias, err)))
		}
		if img.Digest != "" {
			if _, err := digest.Parse(img.Digest); err != nil {
				errs = append(errs, m.fieldErr(keyNode(n, "digest"), field+".digest", fmt.Errorf("invalid digest %q for image %s: %w", img.Digest, alias, err)))
			}
		}
		if img.ImageType != "" && img.ImageType != "docker" && img.ImageType != "oci" {
			errs = append(errs, m.fieldErr(keyNode(n, "imageType"), field+".imageType", fmt.Errorf("invalid imageType %q for image %s, expected docker or oci", img.ImageType, alias)))
		}
	}
	return errs
}

func (m *Manifest) validateDependencies() []error {
	if m.Dependencies == nil {
		return nil
	}
	var errs []error
	for i, d := range m.Dependencies.Requires {
		n := at(m.nodes.deps, i)
		field := fmt.Sprintf("dependencies.requires[%d]", i)
		bundleNode := keyNode(n, "bundle")
		if d.Name == "" {
			errs = append(errs, m.fieldErr(keyNode(n, "name"), field+".name", errors.New("dependency name is required")))
		}
		if (d.Sharing != nil || d.Bundle.Interface != nil) && !m.schemaAtLeast("1.1.0") {
			errs = append(errs, m.fieldErr(n, field, fmt.Errorf("dependency %q uses sharing or bundle.interface, which require schemaVersion >= 1.1.0 (dependencies v2)", d.Name)))
		}
		if d.Shared() && d.Sharing.Group.Name == "" {
			errs = append(errs, m.fieldErr(keyNode(n, "sharing"), field+".sharing.group.name", fmt.Errorf("shared dependency %q needs sharing.group.name", d.Name)))
		}
		if i := d.Bundle.Interface; i != nil && i.Reference != "" && i.Document != nil {
			errs = append(errs, m.fieldErr(keyNode(bundleNode, "interface"), field+".bundle.interface", fmt.Errorf("the interface of dependency %q can't have both reference and document", d.Name)))
		}
		if d.Bundle.Reference == "" {
			errs = append(errs, m.fieldErr(bundleNode, field+".bundle.reference", fmt.Errorf("reference is required for dependency %q", d.Name)))
			continue
		}
		ref, err := reference.ParseNormalizedNamed(d.Bundle.Reference)
		if err != nil {
			errs = append(errs, m.fieldErr(keyNode(bundleNode, "reference"), field+".bundle.reference", fmt.Errorf("invalid reference %q for dependency %q: %w", d.Bundle.Reference, d.Name, err)))
			continue
		}
		_, tagged := ref.(reference.Tagged)
		_, digested := ref.(reference.Digested)
		if !tagged && !digested && d.Bundle.Version == "" {
			errs = append(errs, m.fieldErr(keyNode(bundleNode, "reference"), field+".bundle.reference", fmt.Errorf("reference %q for dependency %q has no tag or digest, so bundle.version must be set", d.Bundle.Reference, d.Name)))
		}
		if d.Bundle.Version != "" {
			if _, err := semver.NewConstraint(d.Bundle.Version); err != nil {
				errs = append(errs, m.fieldErr(keyNode(bundleNode, "version"), field+".bundle.version", fmt.Errorf("invalid version range %q for dependency %q: %w", d.Bundle.Version, d.Name, err)))
			}
		}
	}
	return errs
}

func (m *Manifest) validateFiles() []error {
	if len(m.Files) == 0 {
		return nil
	}
	var errs []error
	if !m.schemaAtLeast("1.3.0") {
		errs = append(errs, m.fieldErr(m.nodes.top["files"], "files", errors.New("the files section requires schemaVersion >= 1.3.0")))
	}
	for i, f := range m.Files {
		n := at(m.nodes.files, i)
		field := fmt.Sprintf("files[%d]", i)
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, m.fieldErr(keyNode(n, "url"), field+".url", fmt.Errorf("file url %q must be an http or https URL", f.URL)))
		}
		d := f.Destination
		switch {
		case d == "":
			errs = append(errs, m.fieldErr(n, field+".destination", errors.New("file destination is required")))
		case strings.HasPrefix(d, "/") || strings.Contains(d, `\`):
			errs = append(errs, m.fieldErr(keyNode(n, "destination"), field+".destination", fmt.Errorf("file destination %q must be a relative path with forward slashes", d)))
		case containsDotDot(d):
			errs = append(errs, m.fieldErr(keyNode(n, "destination"), field+".destination", fmt.Errorf("file destination %q must not contain \"..\"", d)))
		}
	}
	return errs
}

func containsDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}
