package manifest

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func load(t *testing.T, name string) *Manifest {
	t.Helper()
	m, err := Load(filepath.Join("testdata", name))
	require.NoError(t, err)
	return m
}

func TestParseFull(t *testing.T) {
	m := load(t, "full.yaml")

	assert.Equal(t, "Bundle", m.SchemaType)
	assert.Equal(t, "1.2.3+build.4", m.Version, "leading v is stripped")
	assert.Equal(t, []MixinDecl{
		{Name: "exec", Constraint: "^1.0"},
		{Name: "stackhub", Config: map[string]any{"compose": "compose.yaml"}},
	}, m.Mixins)
	assert.True(t, m.HasMixin("stackhub"))
	assert.Equal(t, []RequiredExtension{{Name: "docker", Config: map[string]any{"privileged": true}}}, m.Required)
	assert.Equal(t, []string{"boom", "dry-run", "install", "status", "uninstall", "upgrade"}, m.ActionNames())
	assert.Equal(t, []string{"boom", "dry-run", "status"}, m.CustomActionNames())

	install := m.Actions[ActionInstall]
	require.Len(t, install, 2)
	assert.Equal(t, "exec", install[0].Mixin)
	assert.Equal(t, "Install", install[0].Description)
	assert.Equal(t, "stackhub", install[1].Mixin)
	assert.Positive(t, install[0].Line)

	assert.Equal(t, []string{
		"bundle.dependencies.db.outputs.url",
		"bundle.outputs.url",
		"bundle.parameters.log-level",
	}, m.TemplateVariables)
	assert.Equal(t, []string{"url"}, m.ReferencedOutputs())
	assert.Equal(t, []DependencyOutputRef{{Dependency: "db", Output: "url"}}, m.ReferencedDependencyOutputs())
}

func TestParameterDefaults(t *testing.T) {
	m := load(t, "full.yaml")
	tests := []struct {
		name     string
		typ      string
		env      string
		path     string
		applyTo  []string
		required bool
	}{
		{name: "log-level", typ: "integer", env: "LOG_LEVEL"},
		{name: "db.host", typ: "string", env: "DB_HOST"},
		{name: "cfg", typ: "object", path: "/cnab/app/cfg.json", required: true},
		{name: "mode", typ: "string", env: "APP_MODE"},
		{name: "token-file", typ: "file", path: "/tmp/token", required: true},
		{name: "previous", typ: "string", env: "PREVIOUS", applyTo: []string{"boom", "dry-run", "status", "uninstall", "upgrade"}, required: true},
		{name: "dburl", typ: "string", env: "DBURL", required: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := m.Parameter(tt.name)
			require.True(t, ok)
			assert.Equal(t, tt.typ, p.Type)
			env, path := p.Destination()
			assert.Equal(t, tt.env, env)
			assert.Equal(t, tt.path, path)
			assert.Equal(t, tt.applyTo, p.ApplyTo)
			assert.Equal(t, tt.required, p.Required())
		})
	}
}

func TestCredentialRequiredDefaultsToTrue(t *testing.T) {
	m := load(t, "full.yaml")
	token, ok := m.Credential("token")
	require.True(t, ok)
	assert.False(t, token.Required)
	kube, ok := m.Credential("kubeconfig")
	require.True(t, ok)
	assert.True(t, kube.Required)
	_, path := kube.Destination()
	assert.Equal(t, "/cnab/app/.kube/config", path)
}

func TestOutputDefaults(t *testing.T) {
	m := load(t, "full.yaml")
	url, ok := m.Output("url")
	require.True(t, ok)
	assert.Equal(t, "string", url.Type)
	assert.Equal(t, "/cnab/app/outputs/url", url.BundlePath())
	assert.True(t, m.IsSensitiveOutput("url"))
	report, ok := m.Output("report")
	require.True(t, ok)
	assert.Equal(t, "file", report.Type)
	assert.Equal(t, "/cnab/app/report.txt", report.SourcePath())
	assert.Equal(t, []string{"url", "report"}, names(m.OutputsFor("status")))
	assert.Equal(t, []string{"url"}, names(m.OutputsFor("install")))
}

func names[T interface{ Parameter | Output }](items []T) []string {
	var out []string
	for _, it := range items {
		switch v := any(it).(type) {
		case Parameter:
			out = append(out, v.Name)
		case Output:
			out = append(out, v.Name)
		}
	}
	return out
}

func TestCustomActionDefaults(t *testing.T) {
	m := load(t, "full.yaml")
	assert.Equal(t, CustomAction{Description: "Print the status"}, m.CustomActions["status"], "declared entries are kept")
	assert.True(t, m.CustomActions["dry-run"].Stateless)
	assert.False(t, m.CustomActions["dry-run"].Modifies)
	assert.Equal(t, CustomAction{Description: "boom", Modifies: true}, m.CustomActions["boom"])
	assert.False(t, DefaultCustomAction("io.cnab.status+json").Modifies)
}

func TestPersistentParameter(t *testing.T) {
	m := load(t, "persistent.yaml")
	p, ok := m.Parameter("admin-password")
	require.True(t, ok)
	assert.Equal(t, "string", p.Type)
	assert.Equal(t, "/cnab/app/admin-password", p.Path)
	assert.Empty(t, p.Env)
	assert.Equal(t, &ParameterSource{Output: "admin-password"}, p.Source)
	assert.Equal(t, []string{"install", "uninstall", "upgrade", "status"}, p.ApplyTo)
	o, ok := m.Output("admin-password")
	require.True(t, ok)
	assert.True(t, o.Sensitive)
	assert.Equal(t, "/cnab/app/admin-password", o.Path)
	require.NoError(t, m.Validate(ValidateOptions{Experimental: []string{FlagPersistentParameters}}))
}

func TestDelimiters(t *testing.T) {
	tests := []struct {
		version string
		dollar  bool
	}{
		{version: "", dollar: false},
		{version: "1.0.0-alpha.1", dollar: false},
		{version: "1.0.0", dollar: true},
		{version: "1.0.1", dollar: true},
		{version: "junk", dollar: true},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			m := &Manifest{SchemaVersion: tt.version}
			assert.Equal(t, tt.dollar, m.UsesDollarDelimiters())
		})
	}
	m := load(t, "alpha.yaml")
	assert.Equal(t, []string{"bundle.parameters.greeting"}, m.TemplateVariables, "${SHELL_VAR} is text with {{ }} delimiters")
	open, closing := m.TemplateDelimiters()
	assert.Equal(t, "{{", open)
	assert.Equal(t, "}}", closing)
}

func TestStepYAML(t *testing.T) {
	m := load(t, "full.yaml")
	text, err := m.StepYAML(ActionInstall, 0)
	require.NoError(t, err)
	assert.Equal(t, `exec:
  description: Install
  command: ./helpers.sh
  arguments:
    - install
    - ${ bundle.parameters.log-level }
    - ${ bundle.dependencies.db.outputs.url }
`, string(text))

	s, err := ParseStep(text)
	require.NoError(t, err)
	assert.Equal(t, "exec", s.Mixin)
	assert.Equal(t, "Install", s.Description)

	_, err = m.StepYAML(ActionInstall, 5)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "schemaType",
			yaml: "schemaType: Thing\nname: x\n",
			want: "porter.yaml:1: schemaType: invalid schemaType Thing, expected Bundle",
		},
		{
			name: "version",
			yaml: "name: x\nversion: not-a-version\n",
			want: `porter.yaml:2: version: version "not-a-version" is not a valid semver value`,
		},
		{
			name: "malformed step",
			yaml: "name: x\ninstall:\n  - exec:\n      command: a\n    helm: {}\n",
			want: `porter.yaml:3: install[0]: validation of action "install" failed: failed to validate 1st step: malformed step, possibly incorrect indentation`,
		},
		{
			name: "step not a map",
			yaml: "name: x\ninstall:\n  - exec: run\n",
			want: `porter.yaml:3: install[0]: validation of action "install" failed: failed to validate 1st step: the exec step's settings must be a map`,
		},
		{
			name: "description not a string",
			yaml: "name: x\nboom:\n  - exec: {}\n  - exec:\n      description: [a]\n",
			want: `porter.yaml:4: boom[1]: validation of action "boom" failed: failed to validate 2nd step: step description must be a string`,
		},
		{
			name: "mixin with two keys",
			yaml: "name: x\nmixins:\n  - exec: {}\n    helm: {}\n",
			want: "porter.yaml:3: mixins: line 3: a mixin declaration must have exactly one key",
		},
		{
			name: "bad template",
			yaml: "schemaVersion: 1.0.1\nname: x\ninstall:\n  - exec:\n      command: ${ oops\n",
			want: "parse the templates used in the manifest",
		},
		{
			name: "not a map",
			yaml: "- a\n",
			want: "the document must be a YAML mapping",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "")
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestResolvePath(t *testing.T) {
	assert.Equal(t, "/cnab/app/buncfg.json", ResolvePath("buncfg.json"))
	assert.Equal(t, "/cnab/app/a/b", ResolvePath("./a/b"))
	assert.Equal(t, "/etc/x", ResolvePath("/etc/x"))
	assert.Empty(t, ResolvePath(""))
	assert.Equal(t, "LOG_LEVEL", EnvName("log-level"))
	assert.Equal(t, "DB_HOST", EnvName("db.host"))
	assert.Equal(t, "v1.2.3_build.4", DefaultTag("1.2.3+build.4"))
	assert.Equal(t, "2nd", Ordinal(2))
	assert.Equal(t, "12th", Ordinal(12))
	assert.Equal(t, "23rd", Ordinal(23))
}
