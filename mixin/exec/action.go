package exec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"gopkg.in/yaml.v3"
)

// Step is the configuration of one exec step (the map under "exec:").
type Step struct {
	Description     string            `yaml:"description,omitempty"`
	Command         string            `yaml:"command"`
	Arguments       []string          `yaml:"arguments,omitempty"`
	Flags           Flags             `yaml:"flags,omitempty"`
	SuffixArguments []string          `yaml:"suffix-arguments,omitempty"`
	Dir             string            `yaml:"dir,omitempty"`
	Envs            map[string]string `yaml:"envs,omitempty"`
	SuppressOutput  bool              `yaml:"suppress-output,omitempty"`
	Outputs         []Output          `yaml:"outputs,omitempty"`
	IgnoreError     *IgnoreError      `yaml:"ignoreError,omitempty"`
}

// Output is one output captured from a step: exactly one of JSONPath, Regex
// or Path is expected to be set.
type Output struct {
	Name     string `yaml:"name"`
	JSONPath string `yaml:"jsonPath,omitempty"`
	Regex    string `yaml:"regex,omitempty"`
	Path     string `yaml:"path,omitempty"`
}

// IgnoreError lists the conditions under which a failed command counts as a
// success.
type IgnoreError struct {
	All       bool              `yaml:"all,omitempty"`
	ExitCodes []int             `yaml:"exitCodes,omitempty"`
	Output    IgnoreErrorOutput `yaml:"output,omitempty"`
}

// IgnoreErrorOutput matches the failed command's stderr.
type IgnoreErrorOutput struct {
	Contains []string `yaml:"contains,omitempty"`
	Regex    []string `yaml:"regex,omitempty"`
}

// Flag is one command flag with zero or more values.
type Flag struct {
	Name   string
	Values []string
}

// Flags are a step's flags. They are always rendered sorted by name.
type Flags []Flag

// UnmarshalYAML reads a map of flag name to a scalar, a list of strings or null.
func (f *Flags) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		*f = nil
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: flags must be a map of flag name to value", n.Line)
	}
	out := make(Flags, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		flag := Flag{Name: n.Content[i].Value}
		v := n.Content[i+1]
		switch v.Kind {
		case yaml.SequenceNode:
			for _, item := range v.Content {
				var val any
				if err := item.Decode(&val); err != nil {
					return fmt.Errorf("flag %s: %w", flag.Name, err)
				}
				s, ok := val.(string)
				if !ok {
					return fmt.Errorf("invalid yaml type for flag %s: %T", flag.Name, val)
				}
				flag.Values = append(flag.Values, s)
			}
		case yaml.ScalarNode:
			var val any
			if err := v.Decode(&val); err != nil {
				return fmt.Errorf("flag %s: %w", flag.Name, err)
			}
			if val != nil {
				flag.Values = []string{fmt.Sprintf("%v", val)}
			}
		default:
			return fmt.Errorf("invalid yaml type for flag %s: expected a string, a list of strings or null", flag.Name)
		}
		out = append(out, flag)
	}
	*f = out
	return nil
}

// MarshalYAML writes flags back as a map (single values unwrapped).
func (f Flags) MarshalYAML() (any, error) {
	m := make(map[string]any, len(f))
	for _, flag := range f {
		switch len(flag.Values) {
		case 0:
			m[flag.Name] = nil
		case 1:
			m[flag.Name] = flag.Values[0]
		default:
			m[flag.Name] = flag.Values
		}
	}
	return m, nil
}

// Tokens renders the flags sorted by name: one-character names get "-",
// longer ones "--"; a flag is repeated once per value; a flag without a
// value is bare.
func (f Flags) Tokens() []string {
	sorted := make(Flags, len(f))
	copy(sorted, f)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var out []string
	for _, flag := range sorted {
		dash := "--"
		if len(flag.Name) == 1 {
			dash = "-"
		}
		name := dash + flag.Name
		if len(flag.Values) == 0 {
			out = append(out, name)
			continue
		}
		for _, v := range flag.Values {
			out = append(out, name, v)
		}
	}
	return out
}

// Action is one action's list of exec steps, as read from a mixin's stdin.
type Action struct {
	Name  string
	Steps []Step
}

// stepEntry is one item of an action list: {exec: Step}.
type stepEntry struct {
	Exec *Step `yaml:"exec"`
}

// readInput returns the bytes of file, or of in when file is empty.
func readInput(in io.Reader, file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read step file: %w", err)
		}
		return b, nil
	}
	if in == nil {
		return nil, errors.New("no step definition: stdin is empty")
	}
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return b, nil
}

// documentRoot parses data and returns its root node, or nil for an empty
// or null document.
func documentRoot(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse step definition: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	return root, nil
}

// parseActions reads a document mapping action names to exec step lists, in
// document order.
func parseActions(data []byte) ([]Action, error) {
	root, err := documentRoot(data)
	if err != nil || root == nil {
		return nil, err
	}
	return parseActionsNode(root)
}

func parseActionsNode(root *yaml.Node) ([]Action, error) {
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("parse step definition: line %d: expected a map of action name to a list of steps", root.Line)
	}
	var actions []Action
	for i := 0; i+1 < len(root.Content); i += 2 {
		a, err := parseAction(root.Content[i].Value, root.Content[i+1])
		if err != nil {
			return nil, err
		}
		actions = append(actions, a)
	}
	return actions, nil
}

func parseAction(name string, n *yaml.Node) (Action, error) {
	a := Action{Name: name}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return a, nil
	}
	if n.Kind != yaml.SequenceNode {
		return a, fmt.Errorf("parse action %s: line %d: expected a list of steps", name, n.Line)
	}
	for i, item := range n.Content {
		var e stepEntry
		if err := item.Decode(&e); err != nil {
			return a, fmt.Errorf("parse action %s: step %d: %w", name, i+1, err)
		}
		if e.Exec == nil {
			return a, fmt.Errorf("parse action %s: step %d: line %d: expected an exec step", name, i+1, item.Line)
		}
		a.Steps = append(a.Steps, *e.Exec)
	}
	return a, nil
}

// selectAction picks the steps of action from a step definition. The runtime
// always sends exactly one key; like Porter, the key name itself is not
// enforced when it is the only one.
func selectAction(actions []Action, action string) (Action, error) {
	for _, a := range actions {
		if a.Name == action {
			return a, nil
		}
	}
	if len(actions) == 1 {
		return actions[0], nil
	}
	if len(actions) == 0 {
		return Action{Name: action}, nil
	}
	return Action{}, fmt.Errorf("no steps for action %q in the step definition", action)
}
