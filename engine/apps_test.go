package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/bundles"
	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/engine/enginetest"
	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/engine/sqlite"
)

// newCatalogEngine builds an engine over the built-in catalog; nothing in
// these tests installs.
func newCatalogEngine(t *testing.T) *engine.Engine {
	t.Helper()
	return newHostEngine(t, engine.EngineInfo{}, engine.ServerStatus{})
}

// newHostEngine is newCatalogEngine on a host that Docker and the host
// probe describe as info and st.
func newHostEngine(t *testing.T, info engine.EngineInfo, st engine.ServerStatus) *engine.Engine {
	t.Helper()
	return newEngine(t, engine.NewDirCatalog(bundles.FS), infoDocker(info), st)
}

// infoDocker is a Docker fake that describes the host as info.
func infoDocker(info engine.EngineInfo) *enginetest.DockerFunc {
	return &enginetest.DockerFunc{InfoFunc: func(context.Context) (engine.EngineInfo, error) { return info, nil }}
}

// newEngineWithCatalog is newCatalogEngine over another catalog.
func newEngineWithCatalog(t *testing.T, cat engine.Catalog) *engine.Engine {
	t.Helper()
	return newEngine(t, cat, infoDocker(engine.EngineInfo{}), engine.ServerStatus{})
}

func newEngine(t *testing.T, cat engine.Catalog, dk engine.Docker, st engine.ServerStatus) *engine.Engine {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	bin := filepath.Join(t.TempDir(), "stackhub")
	require.NoError(t, os.WriteFile(bin, []byte("binary"), 0o755))
	conv := converterFunc(func(m *manifest.Manifest, req engine.ConvertRequest) ([]byte, error) { return []byte(`{}`), nil })
	eng, err := engine.New(engine.Config{RuntimeBinary: bin}, engine.Deps{
		Store: store, Runtime: &enginetest.BundleRuntimeFunc{}, Converter: conv, Catalog: cat,
		Docker: dk,
		Host: &enginetest.HostProbeFunc{SampleFunc: func(context.Context) (*engine.ServerStatus, error) {
			cp := st
			return &cp, nil
		}},
		Ports: proberFunc(func(int, string) bool { return true }),
	})
	require.NoError(t, err)
	t.Cleanup(eng.Close)
	return eng
}

func names(es []catalog.Entry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestSearchApps(t *testing.T) {
	eng := newCatalogEngine(t)
	tests := []struct {
		name    string
		q       catalog.Query
		want    []string // exactly these, in order
		contain []string // at least these
		total   int      // when not zero
	}{
		{name: "chinese description", q: catalog.Query{Q: "博客"}, want: []string{"ghost", "wordpress"}},
		{name: "upper-case keyword", q: catalog.Query{Q: "S3"}, want: []string{"minio"}},
		{name: "two words must both match", q: catalog.Query{Q: "git devops"}, want: []string{"gitlab"}},
		{name: "category", q: catalog.Query{Category: "cms"}, want: []string{"drupal", "ghost", "joomla", "wordpress"}},
		{name: "search within category", q: catalog.Query{Q: "postgresql", Category: "analytics"}, want: []string{"metabase"}},
		{name: "second page", q: catalog.Query{PerPage: 2, Page: 2}, want: []string{"gitea", "gitlab"}, total: 30},
		{name: "by title", q: catalog.Query{Sort: "title", PerPage: 1}, want: []string{"drupal"}},
		{name: "by category", q: catalog.Query{Sort: "category", PerPage: 1}, want: []string{"matomo"}},
		{name: "nothing", q: catalog.Query{Q: "no-such-app-anywhere"}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := eng.SearchApps(t.Context(), tt.q)
			require.NoError(t, err)
			if tt.want != nil {
				assert.Equal(t, tt.want, names(res.Entries))
			}
			if tt.total != 0 {
				assert.Equal(t, tt.total, res.Total)
			}
		})
	}
}

func TestSearchAppsCountsCategories(t *testing.T) {
	eng := newCatalogEngine(t)
	res, err := eng.SearchApps(t.Context(), catalog.Query{Category: "database"})
	require.NoError(t, err)
	sum := 0
	for _, c := range res.Categories {
		sum += c.Count
		if c.Name == "database" {
			assert.Equal(t, res.Total, c.Count)
		}
	}
	assert.Greater(t, sum, res.Total, "categories count every match of q, not only the chosen category")
	assert.Equal(t, 1, res.Page)
	assert.Equal(t, catalog.DefaultPerPage, res.PerPage)
}

func TestSearchAppsRefusesBadQueries(t *testing.T) {
	eng := newCatalogEngine(t)
	for _, q := range []catalog.Query{{PerPage: 201}, {Page: -1}, {Sort: "stars"}, {Category: "games"}} {
		_, err := eng.SearchApps(t.Context(), q)
		require.ErrorIs(t, err, engine.ErrInvalid, "%+v", q)
		assert.NotEmpty(t, engine.HintOf(err))
	}
}

func TestAppDetail(t *testing.T) {
	eng := newCatalogEngine(t)
	d, err := eng.AppDetail(t.Context(), "redis", "")
	require.NoError(t, err)
	assert.Equal(t, "Redis", d.Title.En)
	assert.Equal(t, []string{engine.SourceBuiltin}, d.Sources)
	assert.Contains(t, d.Readme, "# Redis")
	params := map[string]catalog.Param{}
	for _, p := range d.Parameters {
		params[p.Name] = p
	}
	assert.Equal(t, "内存用满时 Redis 的淘汰策略", params["maxmemory_policy"].Descriptions.Zh)
	assert.True(t, params["redis_password"].Generated)
	assert.True(t, params["redis_password"].Sensitive)
	assert.False(t, params["redis_password"].Required)
	assert.Contains(t, params["maxmemory_policy"].Enum, "allkeys-lru")
	assert.Equal(t, "noeviction", params["maxmemory_policy"].Default)
	assert.False(t, params["maxmemory_mb"].Generated)
	require.NotNil(t, params["maxmemory_mb"].Minimum)
	assert.InDelta(t, 16, *params["maxmemory_mb"].Minimum, 0)
	outs := map[string]bool{}
	for _, o := range d.Outputs {
		outs[o.Name] = o.Sensitive
	}
	assert.True(t, outs["redis_password"])
	assert.False(t, outs["db_port"])

	_, err = eng.AppDetail(t.Context(), "nope", "")
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = eng.AppDetail(t.Context(), "redis", "elsewhere")
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = eng.AppDetail(t.Context(), "../etc", "")
	require.ErrorIs(t, err, engine.ErrInvalid)
}

func TestAppIcon(t *testing.T) {
	eng := newCatalogEngine(t)
	icon, err := eng.AppIcon(t.Context(), "grafana")
	require.NoError(t, err)
	assert.Equal(t, "image/svg+xml", icon.ContentType)
	assert.Contains(t, string(icon.Data), "<svg")
	again, err := eng.AppIcon(t.Context(), "grafana")
	require.NoError(t, err)
	assert.Equal(t, icon.ETag, again.ETag)
	other, err := eng.AppIcon(t.Context(), "redis")
	require.NoError(t, err)
	assert.NotEqual(t, icon.ETag, other.ETag)
	_, err = eng.AppIcon(t.Context(), "nope")
	require.ErrorIs(t, err, engine.ErrNotFound)
}
