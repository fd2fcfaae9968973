package manifest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stackhub/stackhub/engine/template"
)

// LintLevel is the severity of a lint result.
type LintLevel string

// Lint levels.
const (
	LintError   LintLevel = "error"
	LintWarning LintLevel = "warning"
)

// LintLocation is the step a lint result is about.
type LintLocation struct {
	Action string
	// StepNumber counts from 1.
	StepNumber      int
	Mixin           string
	StepDescription string
	// Line is the step's line in the manifest file.
	Line int
}

// String prints "<action>: <Nth> step in the <mixin> mixin (<description>)".
func (l LintLocation) String() string {
	return fmt.Sprintf("%s: %s step in the %s mixin (%s)", l.Action, Ordinal(l.StepNumber), l.Mixin, l.StepDescription)
}

// LintResult is one finding of Lint.
type LintResult struct {
	Level    LintLevel
	Code     string
	Title    string
	Message  string
	URL      string
	Location LintLocation
}

// String prints the result in Porter's plain-text lint format.
func (r LintResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s(%s) - %s\n", r.Level, r.Code, r.Title)
	if r.Location.Mixin != "" {
		b.WriteString(r.Location.String() + "\n")
	}
	if r.Message != "" {
		b.WriteString(r.Message + "\n")
	}
	if r.URL != "" {
		fmt.Fprintf(&b, "See %s for more information\n", r.URL)
	}
	b.WriteString("---\n")
	return b.String()
}

// LintResults is the outcome of Lint.
type LintResults []LintResult

// String prints every result in Porter's plain-text format.
func (rs LintResults) String() string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.String())
	}
	return b.String()
}

// HasErrors reports whether any result is an error.
func (rs LintResults) HasErrors() bool {
	for _, r := range rs {
		if r.Level == LintError {
			return true
		}
	}
	return false
}

// ErrLint is the message of a build stopped by lint errors.
const ErrLint = "lint errors were detected. Rerun with --no-lint to ignore the errors"

const lintURL = "https://porter.sh/reference/linter/#"

// Lint runs Porter's linter rules porter-100, porter-101 and porter-102 and
// the exec mixin's exec-100 and exec-101 (porter-compat.md 1.3). Run it on a
// manifest that parsed; it does not repeat Validate's checks.
func Lint(m *Manifest) LintResults {
	var results LintResults
	for _, p := range m.Parameters {
		lower := strings.ToLower(p.Name)
		if strings.HasPrefix(lower, "porter-") || strings.HasPrefix(lower, "porter_") {
			results = append(results, LintResult{
				Level:   LintError,
				Code:    "porter-100",
				Title:   "Reserved name error",
				Message: p.Name + " has a reserved prefix. Parameters cannot start with porter- or porter_",
				URL:     lintURL + "porter-100",
			})
		}
	}
	results = append(results, m.lintParameterApplyTo()...)
	if m.Dependencies != nil {
		seen := map[string]bool{}
		for _, d := range m.Dependencies.Requires {
			if seen[d.Name] {
				results = append(results, LintResult{
					Level:   LintError,
					Code:    "porter-102",
					Title:   "Dependency error",
					Message: fmt.Sprintf("The dependency %s is defined multiple times", d.Name),
					URL:     lintURL + "porter-102",
				})
			}
			seen[d.Name] = true
		}
	}
	results = append(results, m.lintExec()...)
	return results
}

func (m *Manifest) stepLocation(action string, i int, s Step) LintLocation {
	return LintLocation{Action: action, StepNumber: i + 1, Mixin: s.Mixin, StepDescription: s.Description, Line: s.Line}
}

// lintParameterApplyTo is porter-101: a step uses bundle.parameters.X in an
// action X does not apply to, where the value would be missing.
func (m *Manifest) lintParameterApplyTo() LintResults {
	var results LintResults
	dollar := m.UsesDollarDelimiters()
	for _, action := range m.orderedActions() {
		for i, s := range m.Actions[action] {
			text, err := m.StepYAML(action, i)
			if err != nil {
				continue
			}
			vars, err := template.Variables(string(text), dollar)
			if err != nil {
				continue // Parse already rejects templates that don't parse
			}
			reported := map[string]bool{}
			for _, v := range vars {
				rest, ok := strings.CutPrefix(v, "bundle.parameters.")
				if !ok {
					continue
				}
				name, _, _ := strings.Cut(rest, ".")
				p, ok := m.Parameter(name)
				if !ok || AppliesTo(p.ApplyTo, action) || reported[name] {
					continue
				}
				reported[name] = true
				results = append(results, LintResult{
					Level:    LintError,
					Code:     "porter-101",
					Title:    "Parameter does not apply to action",
					Message:  fmt.Sprintf("Parameter %s does not apply to %s action", name, action),
					URL:      lintURL + "porter-101",
					Location: m.stepLocation(action, i, s),
				})
			}
		}
	}
	return results
}

// lintExec is the exec mixin's linter: exec-100 warns about embedded bash
// (command: bash with flag c) and exec-101 requires the script to be quoted.
func (m *Manifest) lintExec() LintResults {
	var results LintResults
	for _, action := range m.orderedActions() {
		for i, s := range m.Actions[action] {
			if s.Mixin != "exec" {
				continue
			}
			if cmd, _ := s.Data["command"].(string); cmd != "bash" {
				continue
			}
			flags, _ := s.Data["flags"].(map[string]any)
			script, ok := flags["c"]
			if !ok {
				continue
			}
			loc := m.stepLocation(action, i, s)
			results = append(results, LintResult{
				Level:    LintWarning,
				Code:     "exec-100",
				Title:    "Best Practice: Avoid Embedded Bash",
				Message:  "Embedding a bash script in the manifest is hard to read and quote correctly. Instead, move the script into a file in the bundle directory and call it with command: ./helpers.sh",
				URL:      lintURL + "exec-100",
				Location: loc,
			})
			if !allQuoted(script) {
				results = append(results, LintResult{
					Level:    LintError,
					Code:     "exec-101",
					Title:    "Invalid bash flag",
					Message:  `The argument of the bash -c flag must be wrapped in quotes, for example c: '"echo Hello World"'`,
					URL:      lintURL + "exec-101",
					Location: loc,
				})
			}
		}
	}
	return results
}

// allQuoted reports whether the flag value (a string or a list of them)
// is wrapped in double or single quotes.
func allQuoted(v any) bool {
	quoted := func(s string) bool {
		return len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'')
	}
	switch t := v.(type) {
	case string:
		return quoted(t)
	case []any:
		for _, e := range t {
			s, ok := e.(string)
			if !ok || !quoted(s) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// DependencyResolver returns the parameter names of the bundle published
// at ref.
type DependencyResolver func(ref string) (parameters []string, err error)

// LintDependencies runs porter-103 (a dependency is given a parameter its
// bundle does not define) and porter-105 (a dependency's bundle could not
// be resolved, so porter-103 was skipped for it).
func LintDependencies(m *Manifest, resolve DependencyResolver) LintResults {
	if m.Dependencies == nil || resolve == nil {
		return nil
	}
	var results LintResults
	for _, d := range m.Dependencies.Requires {
		if len(d.Parameters) == 0 {
			continue
		}
		params, err := resolve(d.Bundle.Reference)
		if err != nil {
			results = append(results, LintResult{
				Level:   LintWarning,
				Code:    "porter-105",
				Title:   "Dependency warning",
				Message: fmt.Sprintf("Unable to resolve dependency %s (%s), so its parameters were not checked: %v", d.Name, d.Bundle.Reference, err),
				URL:     lintURL + "porter-105",
			})
			continue
		}
		defined := map[string]bool{}
		for _, p := range params {
			defined[p] = true
		}
		for _, name := range sortedMapKeys(d.Parameters) {
			if !defined[name] {
				results = append(results, LintResult{
					Level:   LintError,
					Code:    "porter-103",
					Title:   "Dependency error",
					Message: fmt.Sprintf("The dependency %s sets parameter %s, but %s does not define it", d.Name, name, d.Bundle.Reference),
					URL:     lintURL + "porter-103",
				})
			}
		}
	}
	return results
}

func sortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
