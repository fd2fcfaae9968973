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
