package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func testFactory() (*Factory, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Factory{IO: IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" }}, &out, &errOut
}

func TestCatalogPublishFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no registry", []string{"catalog", "publish", "bundles"}, "--registry is required"},
		{"no folder", []string{"catalog", "publish", "--registry", "localhost:5000"}, "accepts 1 arg"},
		{"bad output", []string{"catalog", "publish", "bundles", "--registry", "localhost:5000", "-o", "yaml"}, "--output must be json or table"},
		{"bad mirror", []string{"bundle", "archive", "x.tgz", "-r", "r/x:v1", "--registry-mirror", "a b"}, "registry-mirror (from --registry-mirror)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, errOut := testFactory()
			code := Run(t.Context(), f, tt.args)
			assert.Equal(t, 2, code, errOut.String())
			assert.Contains(t, errOut.String(), tt.want)
		})
	}
}

// TestTopLevelPorterYAMLLints keeps the repository's porter.yaml (StackHub
// itself as a bundle) clean under StackHub's own linter.
func TestTopLevelPorterYAMLLints(t *testing.T) {
	f, out, errOut := testFactory()
	code := Run(t.Context(), f, []string{"bundle", "lint", "-f", "../../../porter.yaml"})
	assert.Equal(t, 0, code, out.String()+errOut.String())
	assert.Contains(t, out.String(), "Bundle validation was successful")
	assert.NotContains(t, out.String(), "warning")
}

func TestContainsTagOrDigest(t *testing.T) {
	for ref, want := range map[string]bool{
		"localhost:5000":                           false,
		"ghcr.io/owner":                            false,
		"localhost:5000/stackhub-catalog:latest":   true,
		"ghcr.io/owner/stackhub-catalog@sha256:00": true,
	} {
		assert.Equal(t, want, containsTagOrDigest(ref), ref)
	}
}
