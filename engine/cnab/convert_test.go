package cnab

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabio/cnab-go/bundle"
	"github.com/cnabio/cnab-go/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden bundle.json files in testdata")

func testOptions() ConvertOptions {
	return ConvertOptions{
		ManifestDigest:  "sha256:0e9cdc05ed3a1e9e61d59bbd2d06e6b4fdd4bd2a8dbb0b8d0e7d18bd0c7e4d55",
		MixinVersions:   map[string]string{"exec": "v1.2.0", "stackhub": "v0.1.0"},
		StackHubVersion: "v0.1.0",
		StackHubCommit:  "abc1234",
	}
}

func convertFixture(t *testing.T, name string) (*bundle.Bundle, []byte) {
	t.Helper()
	m, err := manifest.Load(filepath.Join("testdata", name+".porter.yaml"))
	require.NoError(t, err)
	require.NoError(t, m.Validate(manifest.ValidateOptions{}))
	b, err := Convert(m, testOptions())
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = b.WriteTo(&buf)
	require.NoError(t, err)
	return b, buf.Bytes()
}

func TestConvertGolden(t *testing.T) {
	for _, name := range []string{"demo", "full"} {
		t.Run(name, func(t *testing.T) {
			_, raw := convertFixture(t, name)

			valErrs, err := schema.ValidateBundle(raw)
			require.NoError(t, err)
			assert.Empty(t, valErrs, "bundle.json must match the CNAB bundle JSON schema")
			bad, err := schema.ValidateBundle([]byte(`{"name": 1}`))
			require.NoError(t, err)
			assert.NotEmpty(t, bad, "the schema check is not vacuous")

			var pretty bytes.Buffer
			require.NoError(t, json.Indent(&pretty, raw, "", "  "))
			pretty.WriteByte('\n')
			golden := filepath.Join("testdata", name+".bundle.json")
			if *update {
				require.NoError(t, os.WriteFile(golden, pretty.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), pretty.String())

			again, err := bundle.Unmarshal(raw)
			require.NoError(t, err)
			require.NoError(t, again.Validate(), "the written bundle reads back valid")
		})
	}
}

// TestConvertWorkedExample checks the items porter-compat.md 3.6 lists, so
// that the golden file is not merely self-consistent.
func TestConvertWorkedExample(t *testing.T) {
	b, _ := convertFixture(t, "demo")

	assert.Equal(t, "1.2.0", string(b.SchemaVersion))
	assert.Equal(t, "demo", b.Name)
	assert.Equal(t, "0.2.0", b.Version)
	require.Len(t, b.InvocationImages, 1)
	assert.Equal(t, "docker", b.InvocationImages[0].ImageType)
	assert.Equal(t, InvocationImageRef("localhost:5000/demo:v0.2.0"), b.InvocationImages[0].Image)
	assert.Nil(t, b.Actions)

	logLevel := b.Parameters["log-level"]
	assert.Equal(t, "log-level-parameter", logLevel.Definition)
	assert.Equal(t, &bundle.Location{EnvironmentVariable: "LOG_LEVEL"}, logLevel.Destination)
	assert.False(t, logLevel.Required)
	assert.Equal(t, "integer", b.Definitions["log-level-parameter"].Type)
	assert.Equal(t, 3, b.Definitions["log-level-parameter"].Default)

	password := b.Parameters["password"]
	assert.Equal(t, &bundle.Location{EnvironmentVariable: "PASSWORD"}, password.Destination)
	assert.True(t, password.Required)
	require.NotNil(t, b.Definitions["password-parameter"].WriteOnly)
	assert.True(t, *b.Definitions["password-parameter"].WriteOnly)

	tfstate := b.Parameters["tfstate"]
	assert.Equal(t, &bundle.Location{Path: "/cnab/app/tfstate"}, tfstate.Destination)
	assert.Equal(t, []string{"uninstall", "upgrade"}, tfstate.ApplyTo)
	assert.True(t, tfstate.Required)
	assert.Equal(t, "string", b.Definitions["tfstate-parameter"].Type)
	assert.Equal(t, "base64", b.Definitions["tfstate-parameter"].ContentEncoding)

	wiring := b.Parameters["porter-endpoint-output"]
	assert.Equal(t, "porter-endpoint-output", wiring.Definition)
	assert.Equal(t, &bundle.Location{EnvironmentVariable: "PORTER_ENDPOINT_OUTPUT"}, wiring.Destination)
	assert.Equal(t, "https://porter.sh/generated-bundle/#porter-parameter-source-definition", b.Definitions["porter-endpoint-output"].ID)

	assert.Equal(t, bundle.Output{Definition: "tfstate-output", Path: "/cnab/app/outputs/tfstate"}, b.Outputs["tfstate"])
	assert.Equal(t, bundle.Output{Definition: "endpoint-output", Path: "/cnab/app/outputs/endpoint"}, b.Outputs["endpoint"])
	assert.Equal(t, "/cnab/app/outputs/porter-state", b.Outputs["porter-state"].Path)

	assert.Equal(t, bundle.Credential{Location: bundle.Location{Path: "/home/nonroot/.kube/config"}, Required: true}, b.Credentials["kubeconfig"])

	assert.Equal(t, &bundle.Location{EnvironmentVariable: "PORTER_DEBUG"}, b.Parameters["porter-debug"].Destination)
	assert.Equal(t, &bundle.Location{Path: "/porter/state.tgz"}, b.Parameters["porter-state"].Destination)
	assert.False(t, b.Parameters["porter-state"].Required)
	assert.Equal(t, "porter-state", b.Parameters["porter-state"].Definition)

	sources, ok := b.Custom[ParameterSourcesKey].(map[string]ParameterSource)
	require.True(t, ok)
	assert.Len(t, sources, 3)
	assert.Equal(t, outputSource("tfstate"), sources["tfstate"])
	assert.Equal(t, outputSource("porter-state"), sources["porter-state"])
	assert.Equal(t, outputSource("endpoint"), sources["porter-endpoint-output"])

	assert.Equal(t, []string{FileParametersKey, ParameterSourcesKey}, b.RequiredExtensions)
	assert.NotContains(t, b.Parameters, contract.ContextParameter, "only with the stackhub mixin")
}

func TestConvertFull(t *testing.T) {
	b, raw := convertFixture(t, "full")

	assert.Equal(t, "ghcr.io/stackhub/full:"+strings.TrimPrefix(InvocationImageRef("ghcr.io/stackhub/full:v1.2.3_build.4"), "ghcr.io/stackhub/full:"), b.InvocationImages[0].Image)
	assert.Equal(t, map[string]bundle.Action{
		"boom":    {Modifies: true, Description: "boom"},
		"dry-run": {Stateless: true, Description: manifest.DefaultCustomAction("dry-run").Description},
		"status":  {Description: "Print the status"},
	}, b.Actions)
	assert.Equal(t, "ghcr.io/stackhub/web@sha256:9b2a6d3bd6d94a0e4a53b39c4d2e9b0b1a7e8bcbd8d5c3c8a1b2a3b4c5d6e7f8", b.Images["web"].Image)
	assert.Equal(t, "redis:7", b.Images["cache"].Image)
	assert.Equal(t, []string{FileParametersKey, DependenciesKey, ParameterSourcesKey, DockerKey}, b.RequiredExtensions)
	assert.Equal(t, map[string]any{"privileged": true}, b.Custom[DockerKey])
	assert.Equal(t, map[string]any{"version": "2.1"}, b.Custom["app"])

	ctx := b.Parameters[contract.ContextParameter]
	assert.Equal(t, &bundle.Location{EnvironmentVariable: contract.ContextEnv}, ctx.Destination)
	assert.False(t, ctx.Required)
	assert.Equal(t, "porter-internal", b.Definitions["stackhub-context-parameter"].Comment)
	assert.Equal(t, "", b.Definitions["stackhub-context-parameter"].Default)

	dep := b.Parameters["porter-db-url-dep-output"]
	assert.Equal(t, &bundle.Location{EnvironmentVariable: "PORTER_DB_URL_DEP_OUTPUT"}, dep.Destination)

	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	custom := doc["custom"].(map[string]any)
	deps := custom[DependenciesKey].(map[string]any)
	assert.Equal(t, []any{"db"}, deps["sequence"])
	assert.Equal(t, map[string]any{"bundle": "localhost:5000/mydb:v0.1.0", "version": map[string]any{"ranges": []any{">=0.1.0"}, "prereleases": false}},
		deps["requires"].(map[string]any)["db"])
	stamp := custom[StampKey].(map[string]any)
	assert.Equal(t, map[string]any{"exec": map[string]any{"version": "v1.2.0"}, "stackhub": map[string]any{"version": "v0.1.0"}}, stamp["mixins"])
	assert.Equal(t, map[string]any{}, custom[FileParametersKey])
	sources := custom[ParameterSourcesKey].(map[string]any)
	assert.Equal(t, map[string]any{
		"priority": []any{"dependencies.output"},
		"sources":  map[string]any{"dependencies.output": map[string]any{"dependency": "db", "name": "url"}},
	}, sources["dburl"])
	assert.Contains(t, sources, "porter-url-output")
	assert.Contains(t, sources, "previous")
	urlDef := doc["definitions"].(map[string]any)["porter-url-output"].(map[string]any)
	assert.Equal(t, true, urlDef["writeOnly"], "a sensitive output's wiring parameter stays writeOnly")
}

func TestInvocationImageRef(t *testing.T) {
	tests := []struct {
		ref  string
		want string
	}{
		{ref: "localhost:5000/mybuns:v0.1.2", want: "localhost:5000/mybuns:porter-332dd75c541511a27fc332bdcd049d5b"},
		{ref: "localhost:5000/mybuns", want: "localhost:5000/mybuns:porter-"},
		{ref: "ghcr.io/org/app@sha256:abc", want: "ghcr.io/org/app:porter-"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got := InvocationImageRef(tt.ref)
			assert.True(t, strings.HasPrefix(got, tt.want), got)
			assert.Len(t, strings.TrimPrefix(got, got[:strings.LastIndex(got, ":porter-")+len(":porter-")]), 32)
		})
	}
}

func TestConvertNeedsImageOrReference(t *testing.T) {
	m, err := manifest.Parse([]byte("schemaVersion: 1.0.1\nname: x\nversion: 0.1.0\nmixins: [exec]\ninstall: [{exec: {command: a}}]\nuninstall: [{exec: {command: a}}]\n"), "porter.yaml")
	require.NoError(t, err)
	_, err = Convert(m, ConvertOptions{})
	require.ErrorIs(t, err, manifest.ErrNoReference)

	b, err := Convert(m, ConvertOptions{InvocationImage: "localhost:5000/x:porter-1"})
	require.NoError(t, err)
	assert.Equal(t, "localhost:5000/x:porter-1", b.InvocationImages[0].Image)
}

func TestConvertDockerExtensionWithoutConfig(t *testing.T) {
	m, err := manifest.Parse([]byte("schemaVersion: 1.0.1\nname: x\nversion: 0.1.0\nregistry: localhost:5000\nrequired: [docker]\nmixins: [stackhub]\ninstall: [{stackhub: {up: {}}}]\nuninstall: [{stackhub: {down: {}}}]\n"), "porter.yaml")
	require.NoError(t, err)
	require.NoError(t, m.Validate(manifest.ValidateOptions{}))
	b, err := Convert(m, testOptions())
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = b.WriteTo(&buf)
	require.NoError(t, err)
	assert.Contains(t, buf.String(), `"io.cnab.docker":null`)
	assert.Equal(t, []string{FileParametersKey, ParameterSourcesKey, DockerKey}, b.RequiredExtensions)
	valErrs, err := schema.ValidateBundle(buf.Bytes())
	require.NoError(t, err)
	assert.Empty(t, valErrs)
	assert.Contains(t, b.Parameters, contract.ContextParameter)
}
