package manifest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLint(t *testing.T) {
	m := load(t, "lint.yaml")
	results := Lint(m)
	require.True(t, results.HasErrors())

	var codes []string
	for _, r := range results {
		codes = append(codes, r.Code)
	}
	assert.Equal(t, []string{"porter-100", "porter-101", "porter-102", "exec-100", "exec-101", "exec-100"}, codes)

	assert.Equal(t, `error(porter-101) - Parameter does not apply to action
install: 1st step in the exec mixin (Install it)
Parameter uninstall-only does not apply to install action
See https://porter.sh/reference/linter/#porter-101 for more information
---
`, results[1].String())
	assert.Equal(t, `error(porter-100) - Reserved name error
porter-debug has a reserved prefix. Parameters cannot start with porter- or porter_
See https://porter.sh/reference/linter/#porter-100 for more information
---
`, results[0].String())
	assert.Equal(t, LintWarning, results[3].Level)
	assert.Equal(t, "uninstall", results[5].Location.Action, "the quoted script only warns")
}

func TestLintClean(t *testing.T) {
	for _, name := range []string{"demo.yaml", "full.yaml", "alpha.yaml", "persistent.yaml"} {
		t.Run(name, func(t *testing.T) {
			results := Lint(load(t, name))
			assert.False(t, results.HasErrors(), results.String())
		})
	}
}

func TestLintAutoApplyTo(t *testing.T) {
	m, err := Parse([]byte(validBase+`outputs:
  - name: url
parameters:
  - name: previous
    source:
      output: url
upgrade:
  - exec:
      command: echo ${ bundle.parameters.previous }
status:
  - exec:
      command: echo ${ bundle.parameters.previous }
`), "porter.yaml")
	require.NoError(t, err)
	assert.Empty(t, Lint(m))

	m, err = Parse([]byte(validBase+`outputs:
  - name: url
parameters:
  - name: previous
    source:
      output: url
`+"install2:\n  - exec:\n      command: echo\n"), "porter.yaml")
	require.NoError(t, err)
	p, _ := m.Parameter("previous")
	assert.Equal(t, []string{"install2", "uninstall"}, p.ApplyTo)
}

func TestLintDependencies(t *testing.T) {
	m := &Manifest{Name: "app", Dependencies: &Dependencies{Requires: []Dependency{
		{Name: "db", Bundle: DependencyBundle{Reference: "example.com/db:v1"}, Parameters: map[string]string{"database": "x", "size": "big"}},
		{Name: "cache", Bundle: DependencyBundle{Reference: "example.com/cache:v1"}, Parameters: map[string]string{"ttl": "1"}},
		{Name: "plain", Bundle: DependencyBundle{Reference: "example.com/unreachable:v1"}},
	}}}
	tests := []struct {
		name    string
		resolve DependencyResolver
		want    []string
	}{
		{"all defined", func(string) ([]string, error) { return []string{"database", "size", "ttl"}, nil }, nil},
		{"undefined parameter", func(ref string) ([]string, error) {
			if ref == "example.com/db:v1" {
				return []string{"database"}, nil
			}
			return []string{"ttl"}, nil
		}, []string{"porter-103: The dependency db sets parameter size, but example.com/db:v1 does not define it"}},
		{"unresolvable", func(ref string) ([]string, error) {
			if ref == "example.com/cache:v1" {
				return nil, assert.AnError
			}
			return []string{"database", "size"}, nil
		}, []string{"porter-105: Unable to resolve dependency cache (example.com/cache:v1), so its parameters were not checked: " + assert.AnError.Error()}},
		{"no resolver", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range LintDependencies(m, tt.resolve) {
				got = append(got, r.Code+": "+r.Message)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
