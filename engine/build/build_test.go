package build_test

import (
	"archive/tar"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/build"
)

func entries(t *testing.T, r io.Reader) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out[h.Name] = h
	}
}

func TestDigest(t *testing.T) {
	base := fstest.MapFS{
		"porter.yaml":        {Data: []byte("name: a\n")},
		"docker-compose.yml": {Data: []byte("services: {}\n")},
		".cnab/bundle.json":  {Data: []byte("{}")},
	}
	d1, err := build.Digest(base, "base=x")
	require.NoError(t, err)

	tests := []struct {
		name    string
		fsys    fstest.MapFS
		extra   string
		changes bool
	}{
		{"same input", base, "base=x", false},
		{"build output ignored", with(base, ".cnab/bundle.json", "{\"x\":1}", 0o644), "base=x", false},
		{"file content", with(base, "docker-compose.yml", "services: {a: {}}\n", 0o644), "base=x", true},
		{"new file", with(base, "README.md", "hi", 0o644), "base=x", true},
		{"exec bit", with(base, "docker-compose.yml", "services: {}\n", 0o755), "base=x", true},
		{"base image", base, "base=y", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d2, err := build.Digest(tt.fsys, tt.extra)
			require.NoError(t, err)
			if tt.changes {
				assert.NotEqual(t, d1, d2)
			} else {
				assert.Equal(t, d1, d2)
			}
		})
	}
}

func with(m fstest.MapFS, name, data string, mode os.FileMode) fstest.MapFS {
	out := fstest.MapFS{}
	for k, v := range m {
		out[k] = v
	}
	out[name] = &fstest.MapFile{Data: []byte(data), Mode: mode}
	return out
}

func TestBundleFilesRefusesPorterFolder(t *testing.T) {
	_, err := build.BundleFiles(fstest.MapFS{"porter/x": {Data: []byte("x")}, "porter.yaml": {Data: []byte("x")}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "collides")
}

func TestBaseContextLayout(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "stackhub")
	require.NoError(t, os.WriteFile(bin, []byte("\x7fELF"), 0o755))
	r, err := build.BaseContext(bin)
	require.NoError(t, err)
	got := entries(t, r)
	require.Contains(t, got, "Dockerfile")
	assert.Equal(t, int64(0o755), got["rootfs/usr/local/bin/stackhub"].Mode)
	for _, l := range build.Links {
		h, ok := got["rootfs/"+l]
		require.True(t, ok, l)
		assert.Equal(t, byte(tar.TypeSymlink), h.Typeflag)
		assert.Equal(t, build.BinaryPath, h.Linkname)
	}
	assert.Equal(t, int64(0o1777), got["rootfs/tmp/"].Mode)
}

func TestBundleContextLayout(t *testing.T) {
	files := fstest.MapFS{
		"porter.yaml":         {Data: []byte("original")},
		"docker-compose.yml":  {Data: []byte("services: {}\n")},
		"scripts/helper.sh":   {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		".git/config":         {Data: []byte("x")},
		"node_modules/x/y.js": {Data: []byte("x")},
	}
	r, err := build.BundleContext(build.BundleContextOptions{Base: "stackhub/runtime:abc", Files: files, Manifest: []byte("canonical"), BundleJSON: []byte("{}")})
	require.NoError(t, err)
	got := entries(t, r)
	for _, name := range []string{"Dockerfile", "cnab/app/porter.yaml", "cnab/app/docker-compose.yml", "cnab/app/scripts/", "cnab/app/scripts/helper.sh", "cnab/bundle.json"} {
		assert.Contains(t, got, name)
	}
	assert.NotContains(t, got, "cnab/app/.git/config")
	assert.NotContains(t, got, "cnab/app/node_modules/x/y.js")
	assert.Equal(t, int64(0o775), got["cnab/app/scripts/helper.sh"].Mode)
	assert.Equal(t, build.UID, got["cnab/app/porter.yaml"].Uid)
}

func TestStageDownloads(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tool.sh" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("echo downloaded"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "porter.yaml"), []byte("name: x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "run.sh"), []byte("x"), 0o755))

	staged, cleanup, err := build.StageDownloads(t.Context(), srv.Client(), dir, []build.Download{{URL: srv.URL + "/tool.sh", Destination: "bin/tool.sh"}})
	require.NoError(t, err)
	defer cleanup()
	got, err := os.ReadFile(filepath.Join(staged, "bin", "tool.sh"))
	require.NoError(t, err)
	assert.Equal(t, "echo downloaded", string(got))
	fi, err := os.Stat(filepath.Join(staged, "run.sh"))
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&0o100, "modes are kept")
	_, err = os.Stat(filepath.Join(dir, "bin"))
	assert.True(t, os.IsNotExist(err), "the bundle folder is left as it was")

	tests := []struct{ name, url, dest, want string }{
		{"missing", srv.URL + "/nope", "a", "404 Not Found"},
		{"scheme", "file:///etc/passwd", "a", "only http and https"},
		{"escape", srv.URL + "/tool.sh", "../a", "must be a relative path inside the bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := build.StageDownloads(t.Context(), srv.Client(), dir, []build.Download{{URL: tt.url, Destination: tt.dest}})
			require.ErrorContains(t, err, tt.want)
		})
	}
}
