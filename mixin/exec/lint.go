package exec

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Lint rule codes.
const (
	// CodeEmbeddedBash flags a bash -c command (a warning: prefer scripts).
	CodeEmbeddedBash = "exec-100"
	// CodeBashCArgMissingQuotes flags a bash -c argument without wrapping
	// quotes, which the flag splitting would break into words.
	CodeBashCArgMissingQuotes = "exec-101"
)

// Level is a lint result's severity, numbered as Porter's linter does.
type Level int

// Lint levels.
const (
	LevelError   Level = 0
	LevelWarning Level = 2
)

// Location names the step a lint result is about (StepNumber is 1-based).
type Location struct {
	Action          string
	Mixin           string
	StepNumber      int
	StepDescription string
}

// Result is one lint finding. The JSON field names are the Go names, as
// Porter reads them.
type Result struct {
	Level    Level
	Location Location
	Code     string
	Title    string
	Message  string
	URL      string
}

// BuildInput is the stdin of the build and lint commands.
type BuildInput struct {
	Config  any
	Actions []Action
}

// parseBuildInput reads {config: ..., actions: {<action>: [steps]}}.
func parseBuildInput(data []byte) (BuildInput, error) {
	var in BuildInput
	root, err := documentRoot(data)
	if err != nil || root == nil {
		return in, err
	}
	if root.Kind != yaml.MappingNode {
		return in, errors.New("parse build input: expected a map with config and actions")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "config":
			if err := root.Content[i+1].Decode(&in.Config); err != nil {
				return in, fmt.Errorf("parse build input config: %w", err)
			}
		case "actions":
			actions, err := parseActionsNode(root.Content[i+1])
			if err != nil {
				return in, err
			}
			in.Actions = actions
		}
	}
	return in, nil
}

// Lint checks every exec step of the build input read from stdin (or file).
func (m *Mixin) Lint(file string) ([]Result, error) {
	data, err := readInput(m.In, file)
	if err != nil {
		return nil, err
	}
	input, err := parseBuildInput(data)
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0)
	for _, action := range input.Actions {
		for i, step := range action.Steps {
			results = append(results, lintStep(action.Name, i+1, step)...)
		}
	}
	return results, nil
}

func lintStep(action string, number int, step Step) []Result {
	if step.Command != "bash" {
		return nil
	}
	var bashC *Flag
	for i := range step.Flags {
		if step.Flags[i].Name == "c" {
			bashC = &step.Flags[i]
			break
		}
	}
	if bashC == nil {
		return nil
	}
	loc := Location{Action: action, Mixin: Name, StepNumber: number, StepDescription: step.Description}
	results := []Result{{
		Level:    LevelWarning,
		Location: loc,
		Code:     CodeEmbeddedBash,
		Title:    "Best Practice: Avoid Embedded Bash",
		URL:      "https://getporter.org/best-practices/exec-mixin/#use-scripts",
	}}
	for _, v := range bashC.Values {
		if quotedWith(v, `"`) || quotedWith(v, `'`) {
			continue
		}
		results = append(results, Result{
			Level:    LevelError,
			Location: loc,
			Code:     CodeBashCArgMissingQuotes,
			Title:    "bash -c argument missing wrapping quotes",
			Message: `The bash -c flag argument must be wrapped in quotes, for example
exec:
  description: Say Hello
  command: bash
  flags:
    c: '"echo Hello World"'
`,
			URL: "https://getporter.org/best-practices/exec-mixin/#quoting-escaping-bash-and-yaml",
		})
		break
	}
	return results
}

func quotedWith(s, q string) bool {
	return len(s) >= 2 && strings.HasPrefix(s, q) && strings.HasSuffix(s, q)
}

// PrintLintResults lints and prints the results as a JSON array to Out.
func (m *Mixin) PrintLintResults(file string) error {
	results, err := m.Lint(file)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal lint results: %w", err)
	}
	_, err = fmt.Fprintln(m.Out, string(b))
	return err
}
