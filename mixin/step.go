package mixin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Name is the mixin's name in porter.yaml.
const Name = "stackhub"

// Step is the configuration of one stackhub step (see README.md and the
// JSON schema printed by the schema command).
type Step struct {
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Compose lists compose files relative to the bundle directory.
	Compose StringList `yaml:"compose,omitempty" json:"compose,omitempty"`
	// Main is the main service; default: the first service.
	Main      string            `yaml:"main,omitempty" json:"main,omitempty"`
	Ports     []PortDecl        `yaml:"ports,omitempty" json:"ports,omitempty"`
	PortRange *PortRange        `yaml:"portRange,omitempty" json:"portRange,omitempty"`
	Secrets   []SecretDecl      `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	Env       map[string]Scalar `yaml:"env,omitempty" json:"env,omitempty"`
	Wait      *Wait             `yaml:"wait,omitempty" json:"wait,omitempty"`
	Outputs   []Output          `yaml:"outputs,omitempty" json:"outputs,omitempty"`
	// Purge (uninstall) also removes volumes and generated secrets.
	Purge Bool `yaml:"purge,omitempty" json:"purge,omitempty"`
	// Operation (custom actions) is start, stop, restart, logs, status or
	// exec; default: the action's name.
	Operation string `yaml:"operation,omitempty" json:"operation,omitempty"`
	// Service and Tail select logs; Service and Command are what exec runs
	// (in the main service when Service is empty).
	Service string     `yaml:"service,omitempty" json:"service,omitempty"`
	Command StringList `yaml:"command,omitempty" json:"command,omitempty"`
	Tail    Int        `yaml:"tail,omitempty" json:"tail,omitempty"`
}

// PortDecl declares a named port of the app.
type PortDecl struct {
	Name     string `yaml:"name" json:"name"`
	Service  string `yaml:"service,omitempty" json:"service,omitempty"`
	Target   Int    `yaml:"target" json:"target"`
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Host pins the host port: the install fails if it is taken.
	Host Int `yaml:"host,omitempty" json:"host,omitempty"`
	// Preferred is tried first; if taken, a free port of the range is used.
	Preferred Int    `yaml:"preferred,omitempty" json:"preferred,omitempty"`
	HostIP    string `yaml:"hostIP,omitempty" json:"hostIP,omitempty"`
}

// PortRange bounds automatically assigned host ports.
type PortRange struct {
	Min Int `yaml:"min,omitempty" json:"min,omitempty"`
	Max Int `yaml:"max,omitempty" json:"max,omitempty"`
}

// SecretDecl asks for a generated value.
type SecretDecl struct {
	Name string `yaml:"name" json:"name"`
	// Kind is password (default) or hex.
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	// Length is the number of characters; default 24 (password), 32 (hex).
	Length Int `yaml:"length,omitempty" json:"length,omitempty"`
	// Alphabet (password): alnum (default), alpha, lower, upper, digits,
	// hex, urlsafe or symbols.
	Alphabet string `yaml:"alphabet,omitempty" json:"alphabet,omitempty"`
	// Value, when not empty, is used instead of generating one.
	Value string `yaml:"value,omitempty" json:"value,omitempty"`
}

// Wait says how long to wait for the app to be running and healthy.
type Wait struct {
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Output names a value the step writes to Porter's outputs.
type Output struct {
	Name string `yaml:"name" json:"name"`
	// Port: the host port of a named port.
	Port string `yaml:"port,omitempty" json:"port,omitempty"`
	// Container: the container name of "main" or of a service.
	Container string `yaml:"container,omitempty" json:"container,omitempty"`
	// Secret: the value of a generated secret.
	Secret string `yaml:"secret,omitempty" json:"secret,omitempty"`
	// Value: text in which $NAME is replaced by the compose file's
	// interpolation variables and $STACKHUB_HOST by the server's address,
	// e.g. "http://$STACKHUB_HOST:$STACKHUB_PORT_PORT/".
	Value string `yaml:"value,omitempty" json:"value,omitempty"`
}

// StringList accepts a string or a list of strings.
type StringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value == "" {
			*s = nil
			return nil
		}
		*s = []string{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// Int accepts a number or a string holding one, since templates render
// values as text; an empty string is zero. A string still holding a
// template ("${ ... }", at lint time) decodes as zero with Template set.
type Int struct {
	N        int
	Template bool
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (i *Int) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a number", n.Line)
	}
	v := strings.TrimSpace(n.Value)
	switch {
	case v == "" || v == "null" || v == "~":
		*i = Int{}
	case isTemplate(v):
		*i = Int{Template: true}
	default:
		x, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("line %d: %q is not a whole number", n.Line, v)
		}
		*i = Int{N: x}
	}
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (i Int) MarshalYAML() (any, error) { return i.N, nil }

// MarshalJSON implements json.Marshaler.
func (i Int) MarshalJSON() ([]byte, error) { return []byte(strconv.Itoa(i.N)), nil }

// IsZero lets omitempty drop a zero Int.
func (i Int) IsZero() bool { return i.N == 0 && !i.Template }

// Bool accepts true/false or a string holding one; empty is false.
type Bool bool

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *Bool) UnmarshalYAML(n *yaml.Node) error {
	v := strings.ToLower(strings.TrimSpace(n.Value))
	switch {
	case v == "" || v == "null" || isTemplate(v):
		*b = false
	default:
		x, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("line %d: %q is not true or false", n.Line, n.Value)
		}
		*b = Bool(x)
	}
	return nil
}

// Scalar is a YAML scalar kept as text (a number or bool renders as
// written).
type Scalar string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a string, number or bool", n.Line)
	}
	if n.Tag == "!!null" {
		*s = ""
		return nil
	}
	*s = Scalar(n.Value)
	return nil
}

var templateRE = regexp.MustCompile(`\$\{.*\}|\{\{.*\}\}`)

func isTemplate(s string) bool { return templateRE.MatchString(s) }

// WaitTimeout parses the step's wait timeout; zero when unset.
func (s *Step) WaitTimeout() (time.Duration, error) {
	if s.Wait == nil || s.Wait.Timeout == "" || isTemplate(s.Wait.Timeout) {
		return 0, nil
	}
	if n, err := strconv.Atoi(s.Wait.Timeout); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s.Wait.Timeout)
	if err != nil {
		return 0, fmt.Errorf("wait timeout %q: %w", s.Wait.Timeout, err)
	}
	return d, nil
}

// actionInput is what Porter writes to a mixin's stdin for one action:
// the action name mapped to a one-element list of steps.
type actionInput map[string][]map[string]yaml.Node

// readStep reads one action's input and returns the action name and the
// single stackhub step.
func readStep(r io.Reader) (string, *Step, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", nil, fmt.Errorf("read step: %w", err)
	}
	var in actionInput
	if err := yaml.Unmarshal(b, &in); err != nil {
		return "", nil, fmt.Errorf("parse step: %w", err)
	}
	if len(in) != 1 {
		return "", nil, fmt.Errorf("parse step: expected one action, got %d", len(in))
	}
	for action, steps := range in {
		if len(steps) != 1 {
			return "", nil, fmt.Errorf("expected a single step, but got %d", len(steps))
		}
		node, ok := steps[0][Name]
		if !ok || len(steps[0]) != 1 {
			return "", nil, fmt.Errorf("parse step: the step is not a %s step", Name)
		}
		step, err := decodeStep(&node)
		if err != nil {
			return "", nil, err
		}
		return action, step, nil
	}
	return "", nil, errors.New("parse step: no action")
}

// decodeStep decodes a step strictly: unknown fields are errors.
func decodeStep(n *yaml.Node) (*Step, error) {
	b, err := yaml.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("parse step: %w", err)
	}
	var s Step
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse step: %w", err)
	}
	return &s, nil
}
