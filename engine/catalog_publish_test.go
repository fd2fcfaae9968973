package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/enginetest"
	"github.com/stackhub/stackhub/engine/sqlite"
)

func TestCatalogPublishOptionsValidate(t *testing.T) {
	dir := fstest.MapFS{}
	tests := []struct {
		registry, tag string
		ok            bool
	}{
		{"localhost:5000", "", true},
		{"ghcr.io/owner/bundles/", "v1.2.0", true},
		{"", "", false},
		{"http://localhost:5000", "", false},
		{"localhost:5000/repo:tag", "", false},
		{"localhost:5000", "a:b", false},
	}
	for _, tt := range tests {
		t.Run(tt.registry+"|"+tt.tag, func(t *testing.T) {
			o := engine.CatalogPublishOptions{Dir: dir, Registry: tt.registry, IndexTag: tt.tag}
			err := o.Validate()
			if tt.ok {
				require.NoError(t, err)
				assert.NotEmpty(t, o.IndexTag)
				return
			}
			require.ErrorIs(t, err, engine.ErrInvalid)
		})
	}
}

// TestPublishCatalogIndex publishes a folder whose bundles all exist in the
// (fake) registry: they are kept, and the index lists them sorted with
// their digests and metadata; a failure to read one back pushes no index.
func TestPublishCatalogIndex(t *testing.T) {
	e := newTestEngine(t, nil)
	bundleJSON := map[string]string{
		"reg.lan:5000/zeta:v0.2.0":  `{"name":"zeta","version":"0.2.0","custom":{"stackhub":{"category":"cms"},"sh.porter":{}}}`,
		"reg.lan:5000/alpha:v0.1.0": `{"name":"alpha","version":"0.1.0","description":"A","custom":{"title":"Alpha","website":"https://a.example"}}`,
	}
	var pushed []byte
	var pushedRef string
	fail := false
	e.UseRegistry(&enginetest.RegistryFunc{
		ExistsFunc: func(_ context.Context, ref string, _ bool) (bool, error) { return true, nil },
		PullBundleFunc: func(_ context.Context, ref string, _ bool) (*engine.RemoteBundle, error) {
			if fail && ref == "reg.lan:5000/zeta:v0.2.0" {
				return nil, errors.New("boom")
			}
			return &engine.RemoteBundle{Reference: ref, Digest: "sha256:" + ref[len(ref)-6:], BundleJSON: []byte(bundleJSON[ref])}, nil
		},
		PushArtifactFunc: func(_ context.Context, ref, mt, title string, data []byte, _ bool) (string, error) {
			pushedRef, pushed = ref, data
			assert.Equal(t, engine.CatalogIndexMediaType, mt)
			return "sha256:idx", nil
		},
	})
	dir := fstest.MapFS{
		"zeta/porter.yaml":  {Data: []byte("schemaVersion: 1.0.1\nname: zeta\nversion: 0.2.0\nmixins: [exec]\ninstall: [{exec: {command: true}}]\nupgrade: [{exec: {command: true}}]\nuninstall: [{exec: {command: true}}]\n")},
		"alpha/porter.yaml": {Data: []byte("schemaVersion: 1.0.1\nname: alpha\nversion: 0.1.0\nmixins: [exec]\ninstall: [{exec: {command: true}}]\nupgrade: [{exec: {command: true}}]\nuninstall: [{exec: {command: true}}]\n")},
		"notes/README.md":   {Data: []byte("not a bundle")},
	}
	var lines []string
	res, err := e.PublishCatalog(t.Context(), engine.CatalogPublishOptions{Dir: dir, Registry: "reg.lan:5000", Progress: func(l string) { lines = append(lines, l) }})
	require.NoError(t, err)
	assert.Equal(t, "reg.lan:5000/stackhub-catalog:latest", pushedRef)
	assert.Equal(t, []string{"reg.lan:5000/alpha:v0.1.0", "reg.lan:5000/zeta:v0.2.0"}, res.Kept)
	assert.Contains(t, lines[0], "alpha:v0.1.0 exists, kept")
	var idx engine.CatalogIndex
	require.NoError(t, json.Unmarshal(pushed, &idx))
	require.Len(t, idx.Bundles, 2)
	assert.Equal(t, "1.0.0", idx.SchemaVersion)
	assert.Equal(t, "alpha", idx.Bundles[0].Name)
	assert.Equal(t, "sha256:v0.1.0", idx.Bundles[0].Digest)
	assert.JSONEq(t, `"Alpha"`, string(idx.Bundles[0].Legacy["title"]))
	assert.Empty(t, idx.Bundles[0].StackHub)
	assert.JSONEq(t, `{"category":"cms"}`, string(idx.Bundles[1].StackHub))
	assert.Nil(t, idx.Bundles[1].Legacy)

	fail, pushed = true, nil
	_, err = e.PublishCatalog(t.Context(), engine.CatalogPublishOptions{Dir: dir, Registry: "reg.lan:5000"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bundle zeta")
	assert.Nil(t, pushed, "no index is pushed when a bundle fails")
}

func TestFetchCatalogIndexSchemaVersion(t *testing.T) {
	e := newTestEngine(t, nil)
	doc := `{"schemaVersion":"1.3.0","registry":"r","bundles":[{"name":"a","version":"1","reference":"r/a:v1","digest":"sha256:1"}]}`
	e.UseRegistry(&enginetest.RegistryFunc{FetchArtifactFunc: func(_ context.Context, ref, mt string, _ bool) ([]byte, string, error) {
		return []byte(doc), "sha256:x", nil
	}})
	idx, digest, err := e.FetchCatalogIndex(t.Context(), "r/stackhub-catalog:latest", false)
	require.NoError(t, err, "a newer minor version is read")
	assert.Equal(t, "sha256:x", digest)
	assert.Equal(t, "r/a:v1", idx.Bundles[0].Reference)

	doc = `{"schemaVersion":"2.0.0","bundles":[]}`
	_, _, err = e.FetchCatalogIndex(t.Context(), "r/stackhub-catalog:latest", false)
	require.ErrorIs(t, err, engine.ErrInvalid)
}

func TestEngineRefusesBadRegistryMirror(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	_, err = engine.New(engine.Config{RegistryMirror: "a b"}, engine.Deps{
		Store: store, Docker: &enginetest.DockerFunc{}, Runtime: &enginetest.BundleRuntimeFunc{},
		Converter: converterFunc(nil), Catalog: engine.NewDirCatalog(fstest.MapFS{}),
	})
	require.ErrorIs(t, err, engine.ErrInvalid)
	var ue *engine.UserError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Hint, "HOST[:PORT][/PATH]")
}
