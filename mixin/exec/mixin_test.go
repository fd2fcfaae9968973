package exec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain_Verbs(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		input  string
		golden string
		setup  func(t *testing.T, work string)
	}{
		{name: "install", args: []string{"install"}, input: "install-input.yaml", golden: "install-output.txt"},
		{name: "upgrade", args: []string{"upgrade"}, input: "upgrade-input.yaml", golden: "upgrade-output.txt"},
		{
			name: "uninstall", args: []string{"uninstall"}, input: "uninstall-input.yaml", golden: "uninstall-output.txt",
			setup: func(t *testing.T, work string) {
				require.NoError(t, os.Mkdir(filepath.Join(work, "cnab", "app", "sub"), 0o755))
			},
		},
		{name: "invoke", args: []string{"invoke", "--action", "status"}, input: "invoke-input.yaml", golden: "invoke-output.txt"},
		{name: "lint", args: []string{"lint"}, input: "lint-input.yaml", golden: "lint-output.json"},
		{name: "build", args: []string{"build"}, input: "build-input.yaml", golden: "build-output.txt"},
		{name: "version", args: []string{"version"}, golden: "version-output.txt"},
		{name: "version json", args: []string{"version", "-o", "json"}, golden: "version-output.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			app := filepath.Join(work, "cnab", "app")
			require.NoError(t, os.MkdirAll(app, 0o755))
			t.Setenv(EnvRuntimeRoot, work)
			t.Chdir(app)
			if tt.setup != nil {
				tt.setup(t, work)
			}
			var stdin []byte
			if tt.input != "" {
				var err error
				stdin, err = os.ReadFile(filepath.Join(testdataDir(t), tt.input))
				require.NoError(t, err)
			}
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, bytes.NewReader(stdin), &stdout, &stderr)
			require.Equal(t, 0, code, "stderr: %s", stderr.String())

			got := "--- stdout\n" + stdout.String() + "--- stderr\n" + stderr.String()
			if outs := outputsText(t, filepath.Join(app, "porter", "outputs")); outs != "" {
				got += "--- outputs\n" + outs
			}
			got = strings.ReplaceAll(got, work, "$WORK")
			if strings.HasSuffix(tt.golden, ".json") {
				assert.True(t, json.Valid(stdout.Bytes()), "stdout is not JSON")
				got = stdout.String()
			}
			assertGolden(t, tt.golden, got)
		})
	}
}

// testdataDir returns the absolute testdata path (tests change directory).
var testdataPath string

func testdataDir(t *testing.T) string {
	t.Helper()
	require.NotEmpty(t, testdataPath)
	return testdataPath
}

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	testdataPath = filepath.Join(wd, "testdata")
	os.Exit(m.Run())
}

func TestMain_Errors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantErr  string
	}{
		{
			name:     "command fails",
			args:     []string{"install"},
			stdin:    "install:\n- exec:\n    command: false\n",
			wantCode: 1,
			wantErr:  "Error: error running command $WORK false: exit status 1\n",
		},
		{
			name:     "two steps",
			args:     []string{"install"},
			stdin:    "install:\n- exec: {command: echo}\n- exec: {command: echo}\n",
			wantCode: 1,
			wantErr:  "Error: expected a single step, but got 2\n",
		},
		{
			name:     "no steps",
			args:     []string{"upgrade"},
			stdin:    "upgrade: []\n",
			wantCode: 1,
			wantErr:  "Error: expected a single step, but got 0\n",
		},
		{
			name:     "invoke without action",
			args:     []string{"invoke"},
			stdin:    "status: []\n",
			wantCode: 2,
			wantErr:  "Error: --action is required\n",
		},
		{
			name:     "bad version format",
			args:     []string{"version", "-o", "yaml"},
			wantCode: 2,
			wantErr:  "Error: invalid format \"yaml\": expected json or plaintext\n",
		},
		{
			name:     "unknown command",
			args:     []string{"explode"},
			wantCode: 1,
			wantErr:  "Error: unknown command \"explode\" for \"exec\"\n",
		},
		{
			name:     "list flag with a number",
			args:     []string{"install"},
			stdin:    "install:\n- exec:\n    command: echo\n    flags:\n      n: [1, 2]\n",
			wantCode: 1,
			wantErr:  "Error: parse action install: step 1: invalid yaml type for flag n: int\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			t.Setenv(EnvRuntimeRoot, work)
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantErr, strings.ReplaceAll(stderr.String(), work, "$WORK"))
		})
	}
}

func TestMain_FileFlag(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	t.Setenv(EnvRuntimeRoot, work)
	step := filepath.Join(work, "step.yaml")
	require.NoError(t, os.WriteFile(step, []byte("install:\n- exec:\n    command: echo\n    arguments: [from file]\n"), 0o644))
	var stdout, stderr bytes.Buffer
	code := Main([]string{"install", "-f", step}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Equal(t, "from file\n", stdout.String())
}

func TestSchema(t *testing.T) {
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(Schema()), &s))
	assert.Equal(t, "http://json-schema.org/draft-07/schema#", s["$schema"])
	assert.NotContains(t, s, "$id")
	defs, ok := s["definitions"].(map[string]any)
	require.True(t, ok)
	for _, d := range []string{"installStep", "upgradeStep", "uninstallStep", "invokeStep", "exec"} {
		assert.Contains(t, defs, d)
	}
	props, ok := s["properties"].(map[string]any)
	require.True(t, ok)
	for _, p := range []string{"install", "upgrade", "uninstall"} {
		assert.Contains(t, props, p)
	}
	assert.Contains(t, s, "additionalProperties")

	// Every $ref is relative and points at a definition that is not itself a ref.
	var walk func(v any)
	walk = func(v any) {
		switch t2 := v.(type) {
		case map[string]any:
			if ref, ok := t2["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/definitions/")
				require.True(t, found, ref)
				target, ok := defs[name].(map[string]any)
				require.True(t, ok, ref)
				assert.NotContains(t, target, "$ref", "ref chain through %s", ref)
			}
			for _, c := range t2 {
				walk(c)
			}
		case []any:
			for _, c := range t2 {
				walk(c)
			}
		}
	}
	walk(s)

	var stdout bytes.Buffer
	m := New(nil, &stdout, &bytes.Buffer{})
	require.NoError(t, m.PrintSchema())
	assert.JSONEq(t, Schema(), stdout.String())
}
