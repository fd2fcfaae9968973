package sets

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kube")
	require.NoError(t, os.WriteFile(file, []byte("kube-content"), 0o644))
	t.Setenv("CRED_DIR", dir)
	t.Setenv("MY_TOKEN", "tok")
	doc := `schemaType: CredentialSet
schemaVersion: 1.0.1
name: mycreds
credentials:
  - name: token
    source: {env: MY_TOKEN}
  - name: kubeconfig
    source: {path: "$CRED_DIR/kube"}
  - name: literal
    source: {value: abc}
  - name: cmd
    source: {command: "echo hello"}
`
	s, err := Parse([]byte(doc), "creds.yaml", TypeCredentialSet)
	require.NoError(t, err)
	got, err := s.Resolve(t.Context(), ResolveOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"token": "tok", "kubeconfig": "kube-content", "literal": "abc", "cmd": "hello\n"}, got)

	got, err = s.Resolve(t.Context(), ResolveOptions{PathAsValue: map[string]bool{"kubeconfig": true}})
	require.NoError(t, err)
	assert.Equal(t, file, got["kubeconfig"])
}

func TestParameterSetValues(t *testing.T) {
	s, err := Parse([]byte("schemaType: ParameterSet\nschemaVersion: 1.1.0\nname: p\nparameters:\n  - name: n\n    source: {value: 3}\n  - name: o\n    source: {value: {a: 1}}\n"), "p.yaml", TypeParameterSet)
	require.NoError(t, err)
	got, err := s.Resolve(t.Context(), ResolveOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"n": "3", "o": `{"a":1}`}, got)
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, doc, kind, want string
	}{
		{"wrong type", "schemaType: ParameterSet\nname: x\n", TypeCredentialSet, "invalid schemaType ParameterSet, expected CredentialSet"},
		{"two sources", "name: x\ncredentials:\n  - name: a\n    source: {env: A, value: b}\n", TypeCredentialSet, "exactly one source"},
		{"no name", "name: x\ncredentials:\n  - source: {env: A}\n", TypeCredentialSet, "has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "f.yaml", tt.kind)
			require.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	s, err := Parse([]byte("name: x\ncredentials:\n  - name: a\n    source: {env: SURELY_NOT_SET_X}\n  \n"), "f.yaml", TypeCredentialSet)
	require.NoError(t, err)
	_, err = s.Resolve(t.Context(), ResolveOptions{})
	require.ErrorContains(t, err, "environment variable SURELY_NOT_SET_X is not defined")
	s, err = Parse([]byte("name: x\ncredentials:\n  - name: a\n    source: {secret: k}\n"), "f.yaml", TypeCredentialSet)
	require.NoError(t, err)
	_, err = s.Resolve(t.Context(), ResolveOptions{})
	assert.ErrorIs(t, err, ErrSecretsUnsupported)
}

func TestResolveParameterSetFilesAndSkip(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cfg.json"), []byte(`{"name":"bob"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"name":}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blob.txt"), []byte("raw"), 0o644))
	doc := `schemaType: ParameterSet
schemaVersion: 1.0.1
name: myparams
parameters:
  - name: cfg
    source: {value: "@./cfg.json"}
  - name: upload
    source: {value: "@blob.txt"}
  - name: plain
    source: {value: "@not-a-file"}
  - name: overridden
    source: {env: SHPC_UNSET_VARIABLE}
`
	file := filepath.Join(dir, "params.yaml")
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o644))
	s, err := Load(file, TypeParameterSet)
	require.NoError(t, err)
	opts := ResolveOptions{
		Skip:   map[string]bool{"overridden": true},
		AtFile: map[string]string{"cfg": "object", "upload": "file"},
	}
	got, err := s.Resolve(t.Context(), opts)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"cfg": `{"name":"bob"}`, "upload": filepath.Join(dir, "blob.txt"), "plain": "@not-a-file"}, got,
		"@PATH is read for object and file parameters only, relative to the set file; skipped entries are never resolved")

	_, err = s.Resolve(t.Context(), ResolveOptions{AtFile: opts.AtFile})
	require.ErrorContains(t, err, "environment variable SHPC_UNSET_VARIABLE is not defined")

	tests := []struct {
		name, value, want string
	}{
		{"invalid JSON", "@bad.json", "file " + filepath.Join(dir, "bad.json") + " for parameter cfg does not contain valid JSON: invalid character '}' looking for beginning of value"},
		{"missing file", "@nope.json", "unable to read file for object parameter cfg at " + filepath.Join(dir, "nope.json")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "schemaType: ParameterSet\nname: p\nparameters:\n  - name: cfg\n    source: {value: \"" + tt.value + "\"}\n"
			f := filepath.Join(dir, "one.yaml")
			require.NoError(t, os.WriteFile(f, []byte(doc), 0o644))
			s, err := Load(f, TypeParameterSet)
			require.NoError(t, err)
			_, err = s.Resolve(t.Context(), ResolveOptions{AtFile: map[string]string{"cfg": "object"}})
			require.ErrorContains(t, err, tt.want)
		})
	}
}
