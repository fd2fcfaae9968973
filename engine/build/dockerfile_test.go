package build

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

func TestGenerateDockerfile(t *testing.T) {
	mixins := []string{MixinBuildLines["exec"]}
	tests := []struct {
		name, template string
		manifest       bool
		args           map[string]string
		rewrite        map[string]string
	}{
		{"tokens", "# syntax=docker/dockerfile:1\nFROM --platform=linux/amd64 debian:stable-slim\nARG CUSTOM_APP_VERSION\n# PORTER_INIT\nRUN echo ${CUSTOM_APP_VERSION}\n# PORTER_MIXINS\nRUN echo after\n",
			true, map[string]string{"BUNDLE_DIR": "/cnab/app", "CUSTOM_APP_VERSION": "1.2.3"}, map[string]string{"debian:stable-slim": "stackhub/debian-base:bookworm"}},
		{"no-tokens", "FROM debian:bookworm AS base\nRUN apt-get update\n", false, map[string]string{"BUNDLE_DIR": "/cnab/app", "X": "a b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GenerateDockerfile(DockerfileOptions{Template: tt.template, MixinLines: mixins, ManifestInContext: tt.manifest, BuildArgs: tt.args, FromRewrite: tt.rewrite})
			require.NoError(t, err)
			golden(t, tt.name+".Dockerfile", got.Text)
		})
	}
}

func TestCustomBuildArgs(t *testing.T) {
	args, err := CustomBuildArgs(map[string]any{"app": map[string]any{"version": "1.2", "my-key": 3}, "flag": true})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"CUSTOM_APP_VERSION": "1.2", "CUSTOM_APP_MY_KEY": "3", "CUSTOM_FLAG": "true"}, args)
	_, err = CustomBuildArgs(map[string]any{"big": string(make([]byte, 5001))})
	assert.ErrorContains(t, err, "longer than 5000")
}

func TestRuntimeDockerfile(t *testing.T) {
	golden(t, "runtime-scratch.Dockerfile", RuntimeDockerfile(""))
	golden(t, "runtime-debian.Dockerfile", RuntimeDockerfile(DefaultDebianBase))
}

func TestCheckTemplateName(t *testing.T) {
	require.Error(t, CheckTemplateName("build/dockerfile"))
	assert.NoError(t, CheckTemplateName("template.Dockerfile"))
}

func TestIgnore(t *testing.T) {
	ig := ParseIgnore([]byte("# comment\n*.log\nsecrets/\n**/tmp\n!keep.log\n/root.txt\n"))
	tests := []struct {
		path string
		want bool
	}{
		{"a.log", true}, {"keep.log", false}, {"dir/a.log", false}, {"secrets/x", true}, {"a/b/tmp/c", true},
		{"tmp", true}, {"root.txt", true}, {"sub/root.txt", false}, {"helpers.sh", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) { assert.Equal(t, tt.want, ig.Excluded(tt.path)) })
	}
}

func TestTemplateDockerfileHonoursDockerignore(t *testing.T) {
	fsys := fstest.MapFS{
		"porter.yaml":         {Data: []byte("name: x")},
		"template.Dockerfile": {Data: []byte("FROM debian\n")},
		"secret.txt":          {Data: []byte("s")},
		".dockerignore":       {Data: []byte("secret.txt\n")},
	}
	files, err := contextFiles(fsys)
	require.NoError(t, err)
	assert.Equal(t, []string{".dockerignore", "porter.yaml", "template.Dockerfile"}, files)
	df, err := TemplateDockerfile(TemplateContextOptions{Files: fsys, Template: "template.Dockerfile"})
	require.NoError(t, err)
	assert.Contains(t, df.Text, "ARG BUNDLE_DIR=/cnab/app\n")
	assert.Contains(t, df.Text, "RUN rm ${BUNDLE_DIR}/porter.yaml\n")
}

func TestGenerateDockerfileBuildKitSyntax(t *testing.T) {
	tmpl := "# syntax=docker/dockerfile:1.4\nFROM debian:stable-slim\n# PORTER_INIT\nCOPY --link --chown=1:1 a /a\nADD --link=true b /b\n" +
		"RUN --mount=type=cache,target=/var/cache/apt apt-get update\n# PORTER_MIXINS\n"
	tests := []struct {
		name     string
		template string
		buildKit bool
		want     []string
		notes    []string
		err      string
	}{
		{name: "buildkit", template: tmpl, buildKit: true,
			want:  []string{"COPY --chown=1:1 a /a\n", "ADD b /b\n", "RUN --mount=type=cache,target=/var/cache/apt apt-get update\n"},
			notes: []string{"line 1: # syntax=docker/dockerfile:1.4 ignored", "line 4: COPY --link rewritten to COPY", "line 5: ADD --link rewritten to ADD"}},
		{name: "classic refuses a cache mount", template: tmpl, err: "line 6: RUN --mount=type=cache,target=/var/cache/apt apt-get update: RUN --mount=type=cache needs BuildKit"},
		{name: "secret mounts need a session", template: "FROM x\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n", buildKit: true,
			err: "line 2: RUN --mount=type=secret,id=tok cat /run/secrets/tok: RUN --mount=type=secret needs a BuildKit session"},
		{name: "plain", template: "FROM x\nCOPY linked /l\n", want: []string{"COPY linked /l\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GenerateDockerfile(DockerfileOptions{Template: tt.template, BuildKit: tt.buildKit})
			if tt.err != "" {
				var te *TemplateError
				require.ErrorAs(t, err, &te)
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.NotContains(t, got.Text, "--link")
			assert.NotContains(t, got.Text, "syntax=")
			for _, w := range tt.want {
				assert.Contains(t, got.Text, w)
			}
			require.Len(t, got.Notes, len(tt.notes))
			for i, n := range tt.notes {
				assert.Contains(t, got.Notes[i], n)
			}
		})
	}
}
