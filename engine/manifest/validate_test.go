package manifest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validBase = `schemaVersion: 1.0.1
name: app
version: 0.1.0
mixins:
  - exec
install:
  - exec:
      command: ./helpers.sh
uninstall:
  - exec:
      command: ./helpers.sh
`

func TestValidateFixtures(t *testing.T) {
	for _, name := range []string{"demo.yaml", "full.yaml", "alpha.yaml", "lint.yaml"} {
		t.Run(name, func(t *testing.T) {
			m := load(t, name)
			require.NoError(t, m.Validate(ValidateOptions{}))
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		opts ValidateOptions
		want []string
	}{
		{
			name: "missing basics",
			yaml: "schemaVersion: 1.0.1\n",
			want: []string{
				"porter.yaml: name: bundle name must be set",
				"porter.yaml: version: bundle version must be set",
				"porter.yaml: mixins: no mixins declared",
				"porter.yaml: install: no install action defined",
				"porter.yaml: uninstall: no uninstall action defined",
			},
		},
		{
			name: "undeclared mixin",
			yaml: validBase + "upgrade:\n  - exec: {}\n  - helm3:\n      description: up\n",
			want: []string{`porter.yaml:14: upgrade[1]: validation of action "upgrade" failed: failed to validate 2nd step: mixin (helm3) was not declared`},
		},
		{
			name: "dockerfile name",
			yaml: validBase + "dockerfile: dockerFILE\n",
			want: []string{"porter.yaml:12: dockerfile: the Dockerfile template cannot be named 'Dockerfile'"},
		},
		{
			name: "file parameter without path",
			yaml: validBase + "parameters:\n  - name: a\n  - name: cfg\n    type: file\n",
			want: []string{"porter.yaml:14: parameters[1].path: no destination path supplied for parameter cfg"},
		},
		{
			name: "file output without path",
			yaml: validBase + "outputs:\n  - name: out\n    type: file\n",
			want: []string{"porter.yaml:13: outputs[0].path: no path supplied for output out"},
		},
		{
			name: "default type",
			yaml: validBase + "parameters:\n  - name: a\n  - name: b\n  - name: port\n    type: integer\n    default: abc\n",
			want: []string{"porter.yaml:17: parameters[2].default: invalid default value for parameter port: abc (string) is not of type integer"},
		},
		{
			name: "default enum",
			yaml: validBase + "parameters:\n  - name: mode\n    default: medium\n    enum: [fast, slow]\n",
			want: []string{"parameters[0].default: invalid default value for parameter mode: medium is not one of the allowed values [fast slow]"},
		},
		{
			name: "default maximum",
			yaml: validBase + "parameters:\n  - name: port\n    type: integer\n    default: 70000\n    maximum: 65535\n",
			want: []string{"70000 is greater than the maximum 65535"},
		},
		{
			name: "default minimum",
			yaml: validBase + "parameters:\n  - name: n\n    type: number\n    default: 0.5\n    exclusiveMinimum: 0.5\n",
			want: []string{"0.5 must be greater than 0.5"},
		},
		{
			name: "default pattern",
			yaml: validBase + "parameters:\n  - name: n\n    default: ABC\n    pattern: '^[a-z]+$'\n",
			want: []string{`"ABC" does not match the pattern "^[a-z]+$"`},
		},
		{
			name: "default length",
			yaml: validBase + "parameters:\n  - name: n\n    default: ab\n    minLength: 3\n",
			want: []string{`"ab" is shorter than the minimum length 3`},
		},
		{
			name: "file default not base64",
			yaml: validBase + "parameters:\n  - name: f\n    path: f.txt\n    default: '!!!'\n",
			want: []string{"a file default must be empty or base64 encoded"},
		},
		{
			name: "output default",
			yaml: validBase + "outputs:\n  - name: n\n    type: boolean\n    default: maybe\n",
			want: []string{"outputs[0].default: invalid default value for output n"},
		},
		{
			name: "unknown type",
			yaml: validBase + "parameters:\n  - name: n\n    type: strung\n",
			want: []string{`parameters[0].type: invalid schema for parameter n: unsupported type "strung"`},
		},
		{
			name: "bad pattern",
			yaml: validBase + "parameters:\n  - name: n\n    pattern: '('\n",
			want: []string{`invalid pattern "("`},
		},
		{
			name: "parameter name",
			yaml: validBase + "parameters:\n  - name: a\n  - type: string\n  - name: a\n",
			want: []string{"parameters[1].name: parameter name is required", "parameters[2].name: parameter a is defined more than once"},
		},
		{
			name: "credential without destination",
			yaml: validBase + "credentials:\n  - name: token\n",
			want: []string{"porter.yaml:13: credentials[0]: credential token must set env or path"},
		},
		{
			name: "image digest and repository",
			yaml: validBase + "images:\n  web:\n    repository: Not/Valid\n    digest: sha256:abc\n",
			want: []string{"images.web.repository: invalid repository \"Not/Valid\"", "images.web.digest: invalid digest \"sha256:abc\""},
		},
		{
			name: "dependencies",
			yaml: validBase + "dependencies:\n  requires:\n    - bundle:\n        reference: localhost:5000/a:v1\n    - name: b\n      bundle: {}\n    - name: c\n      bundle:\n        reference: localhost:5000/c\n    - name: d\n      bundle:\n        reference: localhost:5000/Bad:v1\n",
			want: []string{
				"dependencies.requires[0].name: dependency name is required",
				`dependencies.requires[1].bundle.reference: reference is required for dependency "b"`,
				`reference "localhost:5000/c" for dependency "c" has no tag or digest, so bundle.version must be set`,
				`invalid reference "localhost:5000/Bad:v1" for dependency "d"`,
			},
		},
		{
			name: "persistent combined",
			yaml: strings.Replace(validBase, "1.0.1", "1.2.0", 1) + "parameters:\n  - name: p\n    persistent: true\n    env: P\n",
			opts: ValidateOptions{Experimental: []string{FlagPersistentParameters}},
			want: []string{"parameters[0].env: persistent parameter p can't be combined with env, path, applyTo or source"},
		},
		{
			name: "persistent needs 1.2.0",
			yaml: validBase + "parameters:\n  - name: p\n    persistent: true\n",
			want: []string{"parameters[0].persistent: the persistent field requires schemaVersion >= 1.2.0"},
		},
		{
			name: "files need 1.3.0",
			yaml: validBase + "files:\n  - url: ftp://x/y\n    destination: ../etc\n",
			want: []string{
				"files: the files section requires schemaVersion >= 1.3.0",
				`files[0].url: file url "ftp://x/y" must be an http or https URL`,
				`files[0].destination: file destination "../etc" must not contain ".."`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.yaml), "porter.yaml")
			require.NoError(t, err)
			err = m.Validate(tt.opts)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Len(t, strings.Split(err.Error(), "\n"), len(tt.want), err.Error())
		})
	}
}

func TestValidateFieldError(t *testing.T) {
	m, err := Parse([]byte(validBase+"parameters:\n  - name: port\n    type: integer\n    default: x\n"), "bundles/app/porter.yaml")
	require.NoError(t, err)
	err = m.Validate(ValidateOptions{})
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "bundles/app/porter.yaml", fe.File)
	assert.Equal(t, 15, fe.Line)
	assert.Equal(t, "parameters[0].default", fe.Field)
}

func TestSchemaCheck(t *testing.T) {
	tests := []struct {
		version      string
		check        SchemaCheck
		experimental []string
		wantErr      string
		wantWarning  bool
	}{
		{version: "1.0.0-alpha.1"},
		{version: "1.0.0"},
		{version: "1.0.1"},
		{version: "", wantErr: "(none) is not a valid semantic version: invalid schema version"},
		{version: "", check: SchemaCheckNone, wantWarning: true},
		{version: "abc", wantErr: "abc is not a valid semantic version: invalid schema version"},
		{version: "1.0.2", wantErr: "the schema version is 1.0.2 but the supported schema version is 1.0.0-alpha.1 || 1.0.0 - 1.0.1. See https://porter.sh/reference/file-formats/#supported-versions for more details: invalid schema version"},
		{version: "1.0.2", check: SchemaCheckMinor, wantWarning: true},
		{version: "1.1.0", check: SchemaCheckMinor, wantErr: "the schema version is 1.1.0"},
		{version: "1.1.0", check: SchemaCheckMajor, wantWarning: true},
		{version: "2.0.0", check: SchemaCheckMajor, wantErr: "the schema version is 2.0.0"},
		{version: "2.0.0", check: SchemaCheckNone, wantWarning: true},
		{version: "1.1.0", experimental: []string{FlagDependenciesV2}},
		{version: "1.2.0", experimental: []string{FlagPersistentParameters}},
		{version: "1.3.0", experimental: []string{FlagFileSources}},
		{version: "1.2.0", wantErr: "invalid schema version"},
	}
	for _, tt := range tests {
		t.Run(tt.version+"/"+string(tt.check), func(t *testing.T) {
			yaml := strings.Replace(validBase, "schemaVersion: 1.0.1\n", "", 1)
			if tt.version != "" {
				yaml = "schemaVersion: " + tt.version + "\n" + yaml
			}
			m, err := Parse([]byte(yaml), "porter.yaml")
			require.NoError(t, err)
			err = m.Validate(ValidateOptions{SchemaCheck: tt.check, Experimental: tt.experimental})
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalidSchemaVersion)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.wantWarning {
				assert.NotEmpty(t, m.Warnings)
			} else {
				assert.Empty(t, m.Warnings)
			}
		})
	}
}

func TestBundleReference(t *testing.T) {
	tests := []struct {
		name     string
		fields   string
		want     string
		wantErr  string
		warnings int
	}{
		{name: "registry", fields: "registry: localhost:5000\n", want: "localhost:5000/app:v0.1.0"},
		{name: "reference with tag", fields: "reference: ghcr.io/org/app:latest\n", want: "ghcr.io/org/app:latest"},
		{name: "reference without tag", fields: "reference: ghcr.io/org/app\n", want: "ghcr.io/org/app:v0.1.0"},
		{name: "reference wins", fields: "registry: localhost:5000\nreference: ghcr.io/org/app:v1\n", want: "ghcr.io/org/app:v1", warnings: 1},
		{name: "digest only", fields: "reference: ghcr.io/org/app@sha256:9b2a6d3bd6d94a0e4a53b39c4d2e9b0b1a7e8bcbd8d5c3c8a1b2a3b4c5d6e7f8\n", wantErr: "a tag is required"},
		{name: "bad registry", fields: "registry: Bad Registry\n", wantErr: "invalid bundle reference Bad Registry/app:v0.1.0"},
		{name: "neither", wantErr: "a registry or reference value must be provided"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(validBase+tt.fields), "porter.yaml")
			require.NoError(t, err)
			got, err := m.BundleReference()
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalid)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Len(t, m.Warnings, tt.warnings)
		})
	}
	m, err := Parse([]byte(validBase), "porter.yaml")
	require.NoError(t, err)
	_, err = m.BundleReference()
	assert.ErrorIs(t, err, ErrNoReference)
}

func TestCheckValue(t *testing.T) {
	minimum, maximum := 1.0, 10.0
	tests := []struct {
		name   string
		schema Schema
		value  any
		ok     bool
	}{
		{name: "integer from float", schema: Schema{Type: "integer"}, value: 3.0, ok: true},
		{name: "integer fraction", schema: Schema{Type: "integer"}, value: 3.5},
		{name: "number", schema: Schema{Type: "number", Minimum: &minimum, Maximum: &maximum}, value: 10, ok: true},
		{name: "boolean", schema: Schema{Type: "boolean"}, value: "true"},
		{name: "object", schema: Schema{Type: "object"}, value: map[string]any{"a": 1}, ok: true},
		{name: "array", schema: Schema{Type: "array"}, value: []any{1}, ok: true},
		{name: "enum numbers", schema: Schema{Type: "integer", Enum: []any{1, 2}}, value: 2.0, ok: true},
		{name: "file empty", schema: Schema{Type: "file"}, value: "", ok: true},
		{name: "file base64", schema: Schema{Type: "file"}, value: "aGVsbG8=", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.schema.CheckValue(tt.value)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestExperimentalSchemaVersions(t *testing.T) {
	tests := []struct {
		version, flag string
	}{
		{"1.1.0", FlagDependenciesV2},
		{"1.2.0", FlagPersistentParameters},
		{"1.3.0", FlagFileSources},
		{"1.0.1", ""},
		{"2.0.0", FlagDependenciesV2},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			assert.Equal(t, tt.flag, ExperimentalFlagFor(tt.version))
			doc := "schemaVersion: " + tt.version + "\nname: x\nversion: 0.1.0\nmixins: [exec]\ninstall:\n  - exec: {command: a}\nuninstall:\n  - exec: {command: a}\n"
			m, err := Parse([]byte(doc), "porter.yaml")
			require.NoError(t, err)
			err = m.Validate(ValidateOptions{})
			if tt.flag == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidSchemaVersion)
			assert.Contains(t, err.Error(), "enable it with --experimental "+tt.flag+" (or PORTER_EXPERIMENTAL="+tt.flag)
			m, err = Parse([]byte(doc), "porter.yaml")
			require.NoError(t, err)
			require.NoError(t, m.Validate(ValidateOptions{Experimental: []string{tt.flag}}))
		})
	}
}

func TestDependenciesV2Fields(t *testing.T) {
	dep := func(version, extra string) string {
		return "schemaVersion: " + version + "\nname: x\nversion: 0.1.0\nmixins: [exec]\ninstall:\n  - exec: {command: a}\nuninstall:\n  - exec: {command: a}\n" +
			"dependencies:\n  requires:\n    - name: db\n      bundle:\n        reference: reg.test/db:v1\n" + extra
	}
	tests := []struct {
		name, doc, err string
	}{
		{"sharing", dep("1.1.0", "      sharing: {mode: true, group: {name: g}}\n"), ""},
		{"sharing needs 1.1.0", dep("1.0.1", "      sharing: {mode: true, group: {name: g}}\n"), "require schemaVersion >= 1.1.0"},
		{"sharing needs a group", dep("1.1.0", "      sharing: {mode: true}\n"), "needs sharing.group.name"},
		{"interface", dep("1.1.0", "        interface: {id: https://example.test/db}\n"), ""},
		{"interface reference or document", dep("1.1.0", "        interface: {reference: reg.test/i:v1, document: {a: 1}}\n"), "can't have both reference and document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.doc), "porter.yaml")
			require.NoError(t, err)
			err = m.Validate(ValidateOptions{Experimental: []string{FlagDependenciesV2}})
			if tt.err == "" {
				require.NoError(t, err)
				assert.True(t, m.Dependencies.Requires[0].Shared() || m.Dependencies.Requires[0].Bundle.Interface != nil)
				return
			}
			assert.ErrorContains(t, err, tt.err)
		})
	}
}
