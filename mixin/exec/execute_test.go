package exec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{in: `echo Hello World`, want: []string{"echo", "Hello", "World"}},
		{in: `"echo Hello World"`, want: []string{"echo Hello World"}},
		{in: `'echo "Hello" World'`, want: []string{`echo "Hello" World`}},
		{in: `a\ b c`, want: []string{"a b", "c"}},
		{in: `--set "x=1 2"`, want: []string{"--set", "x=1 2"}},
		{in: "a\tb\nc", want: []string{"a", "b", "c"}},
		{in: `"unmatched quote`, want: []string{`"unmatched quote`}},
		{in: `  spaced  `, want: []string{"spaced"}},
		{in: `""`, want: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, splitWords(tt.in))
		})
	}
}

func TestStepArgv(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "sorted flags and dashes",
			yaml: "command: x\narguments: [a b, c]\nflags: {z: 1, all: true, v: null, n: ['1', '2']}\nsuffix-arguments: [s t]\n",
			want: []string{"a b", "c", "--all", "true", "-n", "1", "-n", "2", "-v", "-z", "1", "s t"},
		},
		{
			name: "quoted flag value stays one token",
			yaml: "command: bash\nflags: {c: '\"echo Hello World\"'}\n",
			want: []string{"-c", "echo Hello World"},
		},
		{
			name: "unquoted flag value is split",
			yaml: "command: bash\nflags: {c: echo Hello}\n",
			want: []string{"-c", "echo", "Hello"},
		},
		{
			name: "float flag formatted with %v",
			yaml: "command: x\nflags: {timeout: 1.5}\n",
			want: []string{"--timeout", "1.5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Step
			require.NoError(t, yaml.Unmarshal([]byte(tt.yaml), &s))
			assert.Equal(t, tt.want, s.Argv())
		})
	}
}

func TestFlagsRoundTrip(t *testing.T) {
	var s Step
	require.NoError(t, yaml.Unmarshal([]byte("command: x\nflags: {a: '1', b: [x, y], c: null}\n"), &s))
	out, err := yaml.Marshal(s.Flags)
	require.NoError(t, err)
	assert.YAMLEq(t, "{a: '1', b: [x, y], c: null}", string(out))
}

func TestEvalJSONPath(t *testing.T) {
	doc := `{"users":[{"name":"sally","age":33,"tags":["a"]},{"name":"wei","age":1.50}],` +
		`"meta":{"count":2,"big":12345678901234567890,"nil":null,"ok":false,"nested":{"name":"deep"}}}`
	var v any
	d := json.NewDecoder(strings.NewReader(doc))
	d.UseNumber()
	require.NoError(t, d.Decode(&v))

	tests := []struct {
		path    string
		want    string
		wantErr string
	}{
		{path: "$", want: `{"meta":{"big":12345678901234567890,"count":2,"nested":{"name":"deep"},"nil":null,"ok":false},"users":[{"age":33,"name":"sally","tags":["a"]},{"age":1.50,"name":"wei"}]}`},
		{path: "$.users[0].name", want: "sally"},
		{path: "$['users'][1]['name']", want: "wei"},
		{path: "$.users[-1].age", want: "1.50"},
		{path: "$.meta.big", want: "12345678901234567890"},
		{path: "$.meta.ok", want: "false"},
		{path: "$.meta.nil", want: "<nil>"},
		{path: "$.users[*].name", want: `["sally","wei"]`},
		{path: "$.users.*.age", want: `[33,1.50]`},
		{path: "$..name", want: `["deep","sally","wei"]`},
		{path: "$.users[0:1].name", want: `["sally"]`},
		{path: "$.users[0,1].age", want: `[33,1.50]`},
		{path: "$.meta['count','ok']", want: `[2,false]`},
		{path: "$.users[?(@.age > 10)].name", want: `["sally"]`},
		{path: "$.users[?(@.name == 'wei' || @.age == 33)].name", want: `["sally","wei"]`},
		{path: "$.users[?(@.tags)].name", want: `["sally"]`},
		{path: "$.users[?(!@.tags)].name", want: `["wei"]`},
		{path: "$.users[?(@.name =~ '^s')].age", want: `[33]`},
		{path: "$.users[?(@.age >= $.meta.count && @.age < 100)].name", want: `["sally"]`},
		{path: "$.users[*].missing", want: `[]`},
		{path: "$.users[0].missing", wantErr: "unknown key missing"},
		{path: "$.users[5]", wantErr: "index [5] out of range"},
		{path: "users", wantErr: "a path must start with $"},
		{path: "$.users[", wantErr: "expected an index"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := EvalJSONPath(tt.path, v)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			b, err := formatJSONValue(got)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(b))
		})
	}
}

func TestExecute_IgnoreError(t *testing.T) {
	tests := []struct {
		name        string
		script      string
		ignoreError string
		wantErr     string
	}{
		{name: "not ignored", script: "exit 2", ignoreError: "exitCodes: [3]", wantErr: "error running command $WORK sh -c exit 2: exit status 2"},
		{name: "all", script: "exit 7", ignoreError: "all: true"},
		{name: "exit code", script: "exit 2", ignoreError: "exitCodes: [1, 2]"},
		{name: "stderr contains", script: "echo thing already exists >&2; exit 1", ignoreError: "output: {contains: [already exists]}"},
		{name: "stderr regex", script: "printf \"resource not found\" >&2; exit 1", ignoreError: "output: {regex: ['not found$']}"},
		{name: "stdout does not count", script: "echo resource not found; exit 1", ignoreError: "output: {regex: ['not found$']}", wantErr: "exit status 1"},
		{name: "invalid regex", script: "echo x >&2; exit 1", ignoreError: "output: {regex: ['(']}", wantErr: "ignoreError regex \"(\" is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := "install:\n- exec:\n    command: sh\n    arguments: [-c, '" + tt.script + "']\n    ignoreError: {" + tt.ignoreError + "}\n    outputs: [{name: done, regex: '(.*)'}]\n"
			m, _, _, work := testMixin(t, input)
			err := m.Install(t.Context(), "")
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, strings.ReplaceAll(err.Error(), work, "$WORK"), tt.wantErr)
				assert.NoFileExists(t, filepath.Join(m.OutputsDir, "done"), "outputs are only written after success")
				return
			}
			require.NoError(t, err)
			assert.FileExists(t, filepath.Join(m.OutputsDir, "done"))
		})
	}
}

func TestExecute_CommandLookup(t *testing.T) {
	m, stdout, _, work := testMixin(t, "install:\n- exec:\n    command: helper.sh\n    arguments: [hi]\n")
	require.NoError(t, os.WriteFile(filepath.Join(work, "helper.sh"), []byte("#!/bin/sh\necho helper says $1\n"), 0o755))
	require.NoError(t, m.Install(t.Context(), ""))
	assert.Equal(t, "helper says hi\n", stdout.String())
}

func TestExecute_CommandNotFound(t *testing.T) {
	m, _, _, _ := testMixin(t, "install:\n- exec:\n    command: no-such-command-xyz\n")
	err := m.Install(t.Context(), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "couldn't run command")
	assert.Contains(t, err.Error(), "no-such-command-xyz")
}

func TestExecute_SuppressOutput(t *testing.T) {
	m, stdout, stderr, _ := testMixin(t, "install:\n- exec:\n    command: sh\n    arguments: [-c, 'echo secret-out; echo secret-err >&2']\n    suppress-output: true\n    outputs: [{name: o, regex: 'secret-(\\w+)'}]\n")
	require.NoError(t, m.Install(t.Context(), ""))
	assert.Empty(t, stdout.String())
	assert.Empty(t, stderr.String())
	b, err := os.ReadFile(filepath.Join(m.OutputsDir, "o"))
	require.NoError(t, err)
	assert.Equal(t, "out", string(b))
}

func TestExecute_SuppressedFailureKeepsStderr(t *testing.T) {
	m, _, stderr, _ := testMixin(t, "install:\n- exec:\n    command: sh\n    arguments: [-c, 'echo boom >&2; exit 4']\n    suppress-output: true\n")
	err := m.Install(t.Context(), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exit status 4\nboom")
	assert.Empty(t, stderr.String())
}

func TestExecute_EmptyStdoutJSONPath(t *testing.T) {
	m, _, _, _ := testMixin(t, "install:\n- exec:\n    command: 'true'\n    outputs: [{name: j, jsonPath: '$.x'}]\n")
	require.NoError(t, m.Install(t.Context(), ""))
	b, err := os.ReadFile(filepath.Join(m.OutputsDir, "j"))
	require.NoError(t, err)
	assert.Empty(t, b)
}

func TestExecute_BadJSON(t *testing.T) {
	m, _, _, _ := testMixin(t, "install:\n- exec:\n    command: echo\n    arguments: [not json]\n    outputs: [{name: j, jsonPath: '$.x'}]\n")
	err := m.Install(t.Context(), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "error unmarshaling stdout as json")
}

func TestExecute_MissingPathOutput(t *testing.T) {
	m, _, _, _ := testMixin(t, "install:\n- exec:\n    command: 'true'\n    outputs: [{name: f, path: nope.txt}]\n")
	err := m.Install(t.Context(), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `error evaluating filepath "nope.txt" for output "f"`)
}

func TestExecute_Debug(t *testing.T) {
	m, _, stderr, work := testMixin(t, "install:\n- exec:\n    command: echo\n    arguments: [hi]\n    flags: {n: null}\n")
	m.Debug = true
	require.NoError(t, m.Install(t.Context(), ""))
	assert.Equal(t, work+" echo hi -n\n", stderr.String())
}

func TestExecute_InvokeKeyMismatchUsesOnlyKey(t *testing.T) {
	m, stdout, _, _ := testMixin(t, "whatever:\n- exec:\n    command: echo\n    arguments: [custom]\n")
	require.NoError(t, m.Invoke(t.Context(), "status", ""))
	assert.Equal(t, "custom\n", stdout.String())
}
