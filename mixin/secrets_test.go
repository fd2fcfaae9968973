package mixin

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerate(t *testing.T) {
	tests := []struct {
		name     string
		decl     SecretDecl
		length   int
		alphabet string
	}{
		{"default password", SecretDecl{Name: "pw"}, 24, alphabets["alnum"]},
		{"digits", SecretDecl{Name: "pin", Length: Int{N: 8}, Alphabet: "digits"}, 8, alphabets["digits"]},
		{"symbols", SecretDecl{Name: "pw", Length: Int{N: 64}, Alphabet: "symbols"}, 64, alphabets["symbols"]},
		{"hex key", SecretDecl{Name: "key", Kind: "hex"}, 32, alphabets["hex"]},
		{"hex key of 64", SecretDecl{Name: "key", Kind: "hex", Length: Int{N: 64}}, 64, alphabets["hex"]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := generate(tt.decl, rand.Reader)
			require.NoError(t, err)
			b, err := generate(tt.decl, rand.Reader)
			require.NoError(t, err)
			assert.Len(t, a, tt.length)
			assert.NotEqual(t, a, b, "values are random")
			for _, c := range a {
				assert.True(t, strings.ContainsRune(tt.alphabet, c), "%q not in alphabet", c)
			}
		})
	}
}

func TestResolveSecrets(t *testing.T) {
	decls := []SecretDecl{
		{Name: "given", Value: "from-parameter"},
		{Name: "kept"},
		{Name: "fresh", Length: Int{N: 10}},
		{Name: "null", Value: "null"},
	}
	got, err := resolveSecrets(decls, map[string]string{"kept": "recorded", "null": "old"}, rand.Reader)
	require.NoError(t, err)
	assert.Equal(t, "from-parameter", got["given"], "a non-empty value wins")
	assert.Equal(t, "recorded", got["kept"], "recorded values are kept")
	assert.Len(t, got["fresh"], 10, "missing values are generated")
	assert.Equal(t, "old", got["null"], `Porter's "null" counts as empty`)
}

func TestInterpolationNames(t *testing.T) {
	assert.Equal(t, "DB_PASSWORD", secretEnvName("db_password"))
	assert.Equal(t, "API_KEY", secretEnvName("api-key"))
	assert.Equal(t, "STACKHUB_PORT_DB_PORT", portEnvName("db_port"))
}

func TestInstallationName(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORTER_INSTALLATION_NAME": "wiki"}, "wiki"},
		{map[string]string{"PORTER_INSTALLATION_NAME": "My Wiki.2"}, "my-wiki-2"},
		{map[string]string{"CNAB_INSTALLATION_NAME": "/wiki"}, "wiki"},
		{map[string]string{"CNAB_INSTALLATION_NAME": "team/blog"}, "blog"},
		{map[string]string{"PORTER_INSTALLATION_NAME": "a", "CNAB_INSTALLATION_NAME": "ns/b"}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			m := &Mixin{Getenv: func(k string) string { return tt.env[k] }}
			got, err := m.installation()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadStep(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
		check   func(t *testing.T, s *Step)
	}{
		{
			name: "templated numbers render as text",
			in:   "install:\n- stackhub:\n    compose: c.yml\n    ports: [{name: p, target: \"8080\", host: \"\"}]\n    purge: \"true\"\n    env: {N: 3, B: true}\n",
			check: func(t *testing.T, s *Step) {
				assert.Equal(t, 8080, s.Ports[0].Target.N)
				assert.Equal(t, 0, s.Ports[0].Host.N, "an empty template value means no pin")
				assert.True(t, bool(s.Purge))
				assert.Equal(t, Scalar("3"), s.Env["N"])
				assert.Equal(t, StringList{"c.yml"}, s.Compose)
			},
		},
		{name: "two steps", in: "install:\n- stackhub: {}\n- stackhub: {}\n", wantErr: "expected a single step, but got 2"},
		{name: "other mixin", in: "install:\n- exec: {command: x}\n", wantErr: "not a stackhub step"},
		{name: "unknown field", in: "install:\n- stackhub: {compse: x}\n", wantErr: "field compse not found"},
		{name: "bad number", in: "install:\n- stackhub: {ports: [{name: p, target: eighty}]}\n", wantErr: `"eighty" is not a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s, err := readStep(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, s)
		})
	}
}
