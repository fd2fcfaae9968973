package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/bundles"
	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
)

// writeBundle writes a minimal bundle folder dir/name.
func writeBundle(t *testing.T, dir, name, title string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, name), 0o755))
	manifest := "schemaVersion: 1.0.1\nname: " + name + "\nversion: 0.9.0\ncustom:\n  stackhub:\n    title: {en: " + title + ", zh: " + title + "}\n    category: media\n" +
		"mixins: [stackhub]\ninstall:\n  - stackhub: {compose: c.yml}\nuninstall:\n  - stackhub: {compose: c.yml}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, name, "porter.yaml"), []byte(manifest), 0o644))
}

func TestSources(t *testing.T) {
	data := t.TempDir()
	team := t.TempDir()
	writeBundle(t, team, "redis", "Team Redis")
	writeBundle(t, team, "teamapp", "Team App")
	// A store imported with stackhub catalog import.
	writeBundle(t, filepath.Join(engine.CatalogsDir(data), "casaos-apps"), "syncthing", "Syncthing")

	src, err := engine.NewSources(engine.NewDirCatalog(bundles.FS), data)
	require.NoError(t, err)
	ctx := t.Context()

	_, err = src.AddSource(ctx, "team", "relative/path")
	require.ErrorIs(t, err, engine.ErrInvalid)
	_, err = src.AddSource(ctx, "team", filepath.Join(team, "nope"))
	require.ErrorIs(t, err, engine.ErrInvalid)
	_, err = src.AddSource(ctx, "team", t.TempDir())
	require.ErrorIs(t, err, engine.ErrInvalid, "an empty folder is no catalog")
	_, err = src.AddSource(ctx, "Bad Name", team)
	require.ErrorIs(t, err, engine.ErrInvalid)
	added, err := src.AddSource(ctx, "team", team)
	require.NoError(t, err)
	assert.Equal(t, 2, added.Apps)
	_, err = src.AddSource(ctx, "team", team)
	require.ErrorIs(t, err, engine.ErrConflict)
	_, err = src.AddSource(ctx, "casaos-apps", team)
	require.ErrorIs(t, err, engine.ErrConflict)

	// Remembered across restarts.
	src, err = engine.NewSources(engine.NewDirCatalog(bundles.FS), data)
	require.NoError(t, err)
	list, err := src.Sources(ctx)
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, engine.CatalogSource{Name: "builtin", Kind: "builtin", Apps: 30}, list[0])
	assert.Equal(t, engine.CatalogSource{Name: "casaos-apps", Kind: "dir", Path: filepath.Join(engine.CatalogsDir(data), "casaos-apps"), Apps: 1}, list[1])
	assert.Equal(t, engine.CatalogSource{Name: "team", Kind: "dir", Path: team, Apps: 2, Added: true}, list[2])

	apps, err := src.List(ctx)
	require.NoError(t, err)
	redis := 0
	for _, a := range apps {
		if a.Name == "redis" {
			redis++
		}
	}
	assert.Equal(t, 2, redis, "both sources' redis are listed")

	// Open prefers the base catalog; OpenFrom picks.
	fsys, err := src.Open(ctx, "redis")
	require.NoError(t, err)
	_, err = fs.Stat(fsys, "icon.svg")
	require.NoError(t, err, "the built-in redis")
	fsys, err = src.OpenFrom(ctx, "team", "redis")
	require.NoError(t, err)
	_, err = fs.Stat(fsys, "icon.svg")
	require.ErrorIs(t, err, fs.ErrNotExist, "the team's redis")
	_, err = src.Open(ctx, "teamapp")
	require.NoError(t, err, "apps only a source offers install by name")
	_, err = src.OpenFrom(ctx, "elsewhere", "redis")
	require.ErrorIs(t, err, engine.ErrNotFound)

	require.ErrorIs(t, src.RemoveSource(ctx, "casaos-apps"), engine.ErrInvalid, "imported stores go with their folder")
	require.ErrorIs(t, src.RemoveSource(ctx, "builtin"), engine.ErrInvalid)
	require.NoError(t, src.RemoveSource(ctx, "team"))
	require.ErrorIs(t, src.RemoveSource(ctx, "team"), engine.ErrNotFound)
	_, err = os.Stat(filepath.Join(team, "teamapp", "porter.yaml"))
	require.NoError(t, err, "the folder is kept")
	list, err = src.Sources(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 2)
}

func TestSearchShowsBothSources(t *testing.T) {
	data := t.TempDir()
	writeBundle(t, filepath.Join(engine.CatalogsDir(data), "alpha"), "redis", "Redis")
	src, err := engine.NewSources(engine.NewDirCatalog(bundles.FS), data)
	require.NoError(t, err)
	eng := newEngineWithCatalog(t, src)
	res, err := eng.SearchApps(t.Context(), catalog.Query{Q: "redis"})
	require.NoError(t, err)
	var sources []string
	for _, e := range res.Entries {
		if e.Name == "redis" {
			sources = append(sources, e.Source)
		}
	}
	assert.Equal(t, []string{"builtin", "alpha"}, sources)

	d, err := eng.AppDetail(t.Context(), "redis", "alpha")
	require.NoError(t, err)
	assert.Equal(t, "alpha", d.Source)
	assert.Equal(t, []string{"builtin", "alpha"}, d.Sources)
	assert.Empty(t, d.Readme, "the alpha source's bundle has no README")
	d, err = eng.AppDetail(t.Context(), "redis", "")
	require.NoError(t, err)
	assert.Equal(t, "builtin", d.Source)
	assert.NotEmpty(t, d.Readme)

	list, err := eng.CatalogSources(t.Context())
	require.NoError(t, err)
	assert.Len(t, list, 2)
	team := t.TempDir()
	writeBundle(t, team, "teamapp", "Team App")
	_, err = eng.AddCatalogSource(t.Context(), "team", team)
	require.NoError(t, err)
	res, err = eng.SearchApps(t.Context(), catalog.Query{Q: "team app"})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Total, "an added source shows at once")
	require.NoError(t, eng.RemoveCatalogSource(t.Context(), "team"))
	res, err = eng.SearchApps(t.Context(), catalog.Query{Q: "team app"})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Total)

	_, err = newCatalogEngine(t).CatalogSources(t.Context())
	require.ErrorIs(t, err, engine.ErrUnavailable, "a plain folder catalog has no sources to manage")
}

func TestRegistrySource(t *testing.T) {
	ctx := t.Context()
	s, err := engine.NewSources(engine.NewDirCatalog(bundles.FS), t.TempDir())
	require.NoError(t, err)
	reachable := true
	fetches := 0
	s.UseIndexFetcher(func(_ context.Context, ref string, _ bool) (*engine.CatalogIndex, string, error) {
		fetches++
		if !reachable {
			return nil, "", fmt.Errorf("dial %s: connection refused: %w", ref, engine.ErrUnavailable)
		}
		assert.Equal(t, "reg.example:5000/team/stackhub-catalog:latest", ref)
		return &engine.CatalogIndex{SchemaVersion: "1.0.0", Registry: "reg.example:5000/team", Bundles: []engine.CatalogIndexEntry{
			{Name: "teamwiki", Version: "1.2.0", Reference: "reg.example:5000/team/teamwiki:v1.2.0", Digest: "sha256:" + strings.Repeat("a", 64),
				StackHub: json.RawMessage(`{"title":{"en":"Team Wiki","zh":"团队维基"},"category":"productivity"}`)},
			{Name: "wordpress", Version: "9.9.9", Reference: "reg.example:5000/team/wordpress:v9.9.9"},
		}}, "sha256:idx", nil
	})

	src, err := s.AddSource(ctx, "team", "oci://reg.example:5000/team/")
	require.NoError(t, err)
	assert.Equal(t, engine.CatalogSource{Name: "team", Kind: engine.SourceKindRegistry, Path: "oci://reg.example:5000/team", Apps: 2, Added: true}, *src)

	apps, err := s.List(ctx)
	require.NoError(t, err)
	var wiki *engine.App
	for i := range apps {
		if apps[i].Name == "teamwiki" {
			wiki = &apps[i]
		}
	}
	require.NotNil(t, wiki)
	assert.Equal(t, "team", wiki.Source)
	assert.Equal(t, "Team Wiki", wiki.Title)
	assert.Equal(t, "团队维基", wiki.Meta.Title.In("zh"))

	ref, _, ok := s.BundleReference(ctx, "teamwiki")
	require.True(t, ok)
	assert.Equal(t, "reg.example:5000/team/teamwiki:v1.2.0@sha256:"+strings.Repeat("a", 64), ref, "pinned by digest")
	_, _, ok = s.BundleReference(ctx, "wordpress")
	assert.False(t, ok, "the built-in app of that name comes first")
	assert.Equal(t, 1, fetches, "the index is read once a minute, not per call")

	// A second source whose registry does not answer is refused at once,
	// and nothing is remembered.
	reachable = false
	_, err = s.AddSource(ctx, "down", "oci://down.example")
	require.ErrorIs(t, err, engine.ErrInvalid)
	assert.Contains(t, engine.HintOf(err), "stackhub catalog publish")
	list, err := s.Sources(ctx)
	require.NoError(t, err)
	var names []string
	for _, l := range list {
		names = append(names, l.Name)
	}
	assert.Equal(t, []string{"builtin", "team"}, names)

	_, err = s.AddSource(ctx, "bad", "oci://")
	require.ErrorIs(t, err, engine.ErrInvalid)
}
