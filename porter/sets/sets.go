// Package sets reads Porter's credential and parameter set files
// (porter-compat.md 7.2) and resolves their sources: a literal value, a host
// environment variable, a file's content or a command's output. Secret
// sources need a secrets plugin, which StackHub does not have yet. It must
// not import Docker, cnab-go or SQL.
package sets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Schema types of set documents.
const (
	TypeCredentialSet = "CredentialSet"
	TypeParameterSet  = "ParameterSet"
)

// ErrInvalid is wrapped by every error about a malformed set document.
var ErrInvalid = errors.New("invalid set")

// ErrSecretsUnsupported is returned for `secret` sources.
var ErrSecretsUnsupported = errors.New("secret sources need a secrets plugin")

// Source says where one value comes from: exactly one field is set.
type Source struct {
	Value   any    `yaml:"value,omitempty" json:"value,omitempty"`
	Env     string `yaml:"env,omitempty" json:"env,omitempty"`
	Path    string `yaml:"path,omitempty" json:"path,omitempty"`
	Command string `yaml:"command,omitempty" json:"command,omitempty"`
	Secret  string `yaml:"secret,omitempty" json:"secret,omitempty"`
}

// Strategy is one named entry of a set.
type Strategy struct {
	Name   string `yaml:"name" json:"name"`
	Source Source `yaml:"source" json:"source"`
}

// Set is a credential set or a parameter set document.
type Set struct {
	SchemaType    string            `yaml:"schemaType,omitempty" json:"schemaType,omitempty"`
	SchemaVersion string            `yaml:"schemaVersion,omitempty" json:"schemaVersion,omitempty"`
	Name          string            `yaml:"name" json:"name"`
	Namespace     string            `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Labels        map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Credentials   []Strategy        `yaml:"credentials,omitempty" json:"credentials,omitempty"`
	Parameters    []Strategy        `yaml:"parameters,omitempty" json:"parameters,omitempty"`

	// Kind is TypeCredentialSet or TypeParameterSet, as loaded.
	Kind string `yaml:"-" json:"-"`
	// File is where the set was read from.
	File string `yaml:"-" json:"-"`
}

// Entries are the set's strategies (credentials or parameters, by Kind).
func (s *Set) Entries() []Strategy {
	if s.Kind == TypeParameterSet {
		return s.Parameters
	}
	return s.Credentials
}

// Load reads a set file of the given kind (YAML or JSON).
func Load(path, kind string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", kindName(kind), path, err)
	}
	return Parse(data, path, kind)
}

// Parse parses and validates a set document.
func Parse(data []byte, file, kind string) (*Set, error) {
	var s Set
	if err := yaml.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrInvalid, kindName(kind), file, err)
	}
	s.Kind, s.File = kind, file
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", kindName(kind), file, err)
	}
	return &s, nil
}

func kindName(kind string) string {
	if kind == TypeParameterSet {
		return "parameter set"
	}
	return "credential set"
}

// Validate checks the schema type, the names and that each entry has
// exactly one source.
func (s *Set) Validate() error {
	if s.SchemaType != "" && !strings.EqualFold(s.SchemaType, s.Kind) {
		return fmt.Errorf("%w: invalid schemaType %s, expected %s", ErrInvalid, s.SchemaType, s.Kind)
	}
	if s.Kind == TypeCredentialSet && len(s.Parameters) > 0 {
		return fmt.Errorf("%w: a credential set lists credentials, not parameters", ErrInvalid)
	}
	if s.Kind == TypeParameterSet && len(s.Credentials) > 0 {
		return fmt.Errorf("%w: a parameter set lists parameters, not credentials", ErrInvalid)
	}
	seen := map[string]bool{}
	for i, e := range s.Entries() {
		if e.Name == "" {
			return fmt.Errorf("%w: entry %d has no name", ErrInvalid, i+1)
		}
		if seen[e.Name] {
			return fmt.Errorf("%w: %s is listed twice", ErrInvalid, e.Name)
		}
		seen[e.Name] = true
		n := 0
		for _, set := range []bool{e.Source.Value != nil, e.Source.Env != "", e.Source.Path != "", e.Source.Command != "", e.Source.Secret != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%w: %s must have exactly one source of value, env, path, command or secret (it has %d)", ErrInvalid, e.Name, n)
		}
	}
	return nil
}

// ResolveOptions tune Resolve.
type ResolveOptions struct {
	// Getenv reads host environment variables (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// PathAsValue names entries whose `path` source yields the path itself
	// rather than the file's content (file parameters: the host reads and
	// encodes the file later).
	PathAsValue map[string]bool
	// Skip names entries that are not resolved at all: a --param of the
	// same name overrides them, so an unset env var or a missing file
	// behind them is no error.
	Skip map[string]bool
	// AtFile gives the parameter type ("object" or "file") of entries
	// whose literal value "@PATH" names a file, as --param NAME=@PATH
	// does: an object parameter gets the file's content (which must be
	// JSON), a file parameter the file's path (read and encoded later).
	AtFile map[string]string
	// BaseDir is where a relative @PATH is found: the set file's folder
	// when empty and the set was read from a file, else the working
	// folder.
	BaseDir string
}

// Resolve computes every entry's value.
func (s *Set) Resolve(ctx context.Context, opts ResolveOptions) (map[string]string, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	base := opts.BaseDir
	if base == "" && s.File != "" {
		if fi, err := os.Stat(s.File); err == nil && !fi.IsDir() {
			base = filepath.Dir(s.File)
		}
	}
	out := map[string]string{}
	for _, e := range s.Entries() {
		if opts.Skip[e.Name] {
			continue
		}
		v, err := resolveOne(ctx, e, lookup, opts.PathAsValue[e.Name])
		if err == nil {
			if typ, ok := opts.AtFile[e.Name]; ok && e.Source.Value != nil {
				if str, isStr := e.Source.Value.(string); isStr && strings.HasPrefix(str, "@") {
					v, err = atFile(e.Name, typ, str[1:], base)
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("resolve %s %q of %s %s: %w", strings.TrimSuffix(kindName(s.Kind), " set"), e.Name, kindName(s.Kind), s.Name, err)
		}
		out[e.Name] = v
	}
	return out, nil
}

// atFile resolves a set value "@PATH" for parameter name of type typ.
func atFile(name, typ, p, base string) (string, error) {
	if !filepath.IsAbs(p) && base != "" {
		p = filepath.Join(base, p)
	}
	if typ == "object" {
		return ReadObjectFile(name, p)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("unable to read file for file parameter %s at %s: %w", name, p, err)
	}
	return p, nil
}

// ReadObjectFile reads the value of object parameter name from the file at
// p (--param NAME=@PATH, or "@PATH" in a parameter set): the content must
// be JSON.
func ReadObjectFile(name, p string) (string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("unable to read file for object parameter %s at %s: %w", name, p, err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return "", fmt.Errorf("file %s for parameter %s does not contain valid JSON: %w", p, name, err)
	}
	return string(data), nil
}

func resolveOne(ctx context.Context, e Strategy, lookup func(string) (string, bool), pathAsValue bool) (string, error) {
	src := e.Source
	switch {
	case src.Value != nil:
		switch v := src.Value.(type) {
		case string:
			return v, nil
		default:
			b, err := yamlToJSON(v)
			if err != nil {
				return "", err
			}
			return b, nil
		}
	case src.Env != "":
		v, ok := lookup(src.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not defined", src.Env)
		}
		return v, nil
	case src.Path != "":
		p := os.Expand(src.Path, func(k string) string { v, _ := lookup(k); return v })
		if pathAsValue {
			return p, nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("read file %s: %w", p, err)
		}
		return string(data), nil
	case src.Command != "":
		args := strings.Fields(src.Command)
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("run command %q: %w: %s", src.Command, err, strings.TrimSpace(buf.String()))
		}
		return buf.String(), nil
	case src.Secret != "":
		return "", fmt.Errorf("secret %q: %w (StackHub has no secrets plugin yet: use a value, env, path or command source instead)", src.Secret, ErrSecretsUnsupported)
	}
	return "", fmt.Errorf("%w: no source", ErrInvalid)
}
