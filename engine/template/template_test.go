package template

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testData() map[string]any {
	return map[string]any{
		"bundle": map[string]any{
			"name": "demo",
			"parameters": map[string]any{
				"port": 8080,
				"html": "<b>&</b>",
				"cfg":  map[string]any{"name": "x", "n": 2},
				"list": []any{"a", "b"},
			},
			"custom": map[string]any{"aBool": true},
		},
		"env": map[string]any{"HOME": "/home/nonroot"},
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		tmpl    string
		dollar  bool
		want    string
		wantErr string
	}{
		{name: "dollar", tmpl: "port: ${ bundle.parameters.port }", dollar: true, want: "port: 8080"},
		{name: "dollar triple", tmpl: "port: ${{ bundle.parameters.port }}", dollar: true, want: "port: 8080"},
		{name: "braces are literal in dollar mode", tmpl: "{{ bundle.name }}-${bundle.name}", dollar: true, want: "{{ bundle.name }}-demo"},
		{name: "braces", tmpl: `name: "{{ bundle.name }}"`, want: `name: "demo"`},
		{name: "braces triple", tmpl: "{{{ bundle.name }}}", want: "demo"},
		{name: "no html escaping", tmpl: "${ bundle.parameters.html }", dollar: true, want: "<b>&</b>"},
		{name: "object renders as json", tmpl: "${ bundle.parameters.cfg }", dollar: true, want: `{"n":2,"name":"x"}`},
		{name: "object field", tmpl: "${ bundle.parameters.cfg.name }", dollar: true, want: "x"},
		{name: "array renders as json", tmpl: "${ bundle.parameters.list }", dollar: true, want: `["a","b"]`},
		{name: "bool", tmpl: "${ bundle.custom.aBool }", dollar: true, want: "true"},
		{name: "multiline", tmpl: "a: ${ bundle.name }\nb: ${ env.HOME }\n", dollar: true, want: "a: demo\nb: /home/nonroot\n"},
		{name: "missing names full path", tmpl: "${ bundle.parameters.nope }", dollar: true, wantErr: `missing variable "bundle.parameters.nope"`},
		{name: "shell var is a template", tmpl: "echo ${HOME}", dollar: true, wantErr: `missing variable "HOME"`},
		{name: "shell var without braces is text", tmpl: "echo $HOME", dollar: true, want: "echo $HOME"},
		{name: "unmatched", tmpl: "${ bundle.name", dollar: true, wantErr: "parse template"},
		{name: "partials render empty", tmpl: "a{{> /etc/passwd }}b", want: "ab"},
		{name: "section", tmpl: "{{#bundle.custom.aBool}}yes{{/bundle.custom.aBool}}", want: "yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.tmpl, testData(), tt.dollar)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRenderMissingIsSentinel(t *testing.T) {
	_, err := Render("${ bundle.outputs.url }", testData(), true)
	require.ErrorIs(t, err, ErrMissingVariable)
}

func TestVariables(t *testing.T) {
	tests := []struct {
		name   string
		tmpl   string
		dollar bool
		want   []string
	}{
		{name: "dollar", tmpl: "${ bundle.outputs.a } ${bundle.parameters.b} {{ ignored }} ${ bundle.outputs.a }", dollar: true, want: []string{"bundle.outputs.a", "bundle.parameters.b"}},
		{name: "braces", tmpl: `x: "{{ bundle.dependencies.db.outputs.url }}"`, want: []string{"bundle.dependencies.db.outputs.url"}},
		{name: "sections", tmpl: "{{#a}}{{b}}{{/a}}", want: []string{"a", "b"}},
		{name: "none", tmpl: "plain text", dollar: true, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Variables(tt.tmpl, tt.dollar)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMaskString(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{name: "one", in: "password=hunter2!", secrets: []string{"hunter2"}, want: "password=*******!"},
		{name: "many occurrences", in: "a s a s", secrets: []string{"s"}, want: "a ******* a *******"},
		{name: "whitespace secrets ignored", in: "a b\tc", secrets: []string{" ", "\t", ""}, want: "a b\tc"},
		{name: "longest wins", in: "abcdef", secrets: []string{"abc", "abcdef"}, want: "*******"},
		{name: "multi-line secret", in: "key:\n-----BEGIN\nXYZ\n-----END\n", secrets: []string{"-----BEGIN\nXYZ\n-----END"}, want: "key:\n*******\n"},
		{name: "no secrets", in: "x", want: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, MaskString(tt.in, tt.secrets))
		})
	}
}

func TestMaskerSplitWrites(t *testing.T) {
	secrets := []string{"topsecret", "top", "line1\nline2"}
	input := "start topsecret middle top end line1\nline2 tail topsec"
	want := MaskString(input, secrets)
	for size := 1; size <= len(input); size++ {
		var buf bytes.Buffer
		m := NewMasker(&buf, secrets)
		for i := 0; i < len(input); i += size {
			n, err := m.Write([]byte(input[i:min(i+size, len(input))]))
			require.NoError(t, err)
			assert.Equal(t, min(size, len(input)-i), n)
		}
		require.NoError(t, m.Close())
		assert.Equal(t, want, buf.String(), "chunk size %d", size)
	}
}

func TestMaskerHoldsBackOnlyPossibleSecretStarts(t *testing.T) {
	var buf bytes.Buffer
	m := NewMasker(&buf, []string{"secret"})
	_, err := m.Write([]byte("hello sec"))
	require.NoError(t, err)
	assert.Equal(t, "hello ", buf.String())
	_, err = m.Write([]byte("tion\n"))
	require.NoError(t, err)
	assert.Equal(t, "hello section\n", buf.String())
	_, err = m.Write([]byte("the secr"))
	require.NoError(t, err)
	require.NoError(t, m.Flush())
	assert.Equal(t, "hello section\nthe secr", buf.String())
}

func TestSensitiveValues(t *testing.T) {
	got := SensitiveValues(map[string]any{"user": "admin", "pass": "s3cret", "ports": []any{5432.0}})
	assert.ElementsMatch(t, []string{
		`{"pass":"s3cret","ports":[5432],"user":"admin"}`,
		"admin", "s3cret", "[5432]", "5432",
	}, got)
	assert.Equal(t, []string{"plain"}, SensitiveValues("plain"))
}

func FuzzRender(f *testing.F) {
	f.Add("${ bundle.name }", "s3cret", true)
	f.Add("{{ bundle.name }} {{#a}}{{b}}{{/a}}", "x", false)
	f.Add("${{ bundle.parameters.cfg }}", "\n", true)
	f.Add("{{=<% %>=}}<% bundle.name %>", "demo", false)
	f.Add("${", "", true)
	f.Fuzz(func(t *testing.T, tmpl, secret string, dollar bool) {
		out, err := Render(tmpl, testData(), dollar)
		if err == nil && !strings.Contains(tmpl, "{{") && !strings.Contains(tmpl, "${") {
			assert.Equal(t, tmpl, out)
		}
		_, _ = Variables(tmpl, dollar)
		masked := MaskString(tmpl, []string{secret})
		if strings.TrimSpace(secret) != "" && !strings.Contains(secret, "*") {
			assert.NotContains(t, masked, secret)
		}
	})
}
