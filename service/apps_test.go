package service

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
)

var testEntries = []catalog.Entry{
	{Name: "redmine", Source: "builtin", Version: "0.2.0", Meta: catalog.Meta{
		Title: catalog.Text{En: "Redmine", Zh: "Redmine"}, Description: catalog.Text{En: "Project management", Zh: "项目管理"},
		Category: "productivity", Keywords: []string{"issues"}, Homepage: "https://www.redmine.org", AppVersion: "5.1",
		Requirements: catalog.Requirements{CPU: 1, MemoryMB: 1024, DiskMB: 2048}, Architectures: []string{"amd64", "arm64"}, Icon: "icon.svg"},
		Ports: []catalog.Port{{Name: "port", Service: "redmine", Target: 3000, Protocol: "tcp"}, {Name: "db_port", Service: "db", Target: 3306, Protocol: "tcp", HostIP: "127.0.0.1"}}},
	{Name: "wiki", Source: "builtin", Version: "0.1.0", Meta: catalog.Meta{
		Title: catalog.Text{En: "Wiki", Zh: "维基"}, Description: catalog.Text{En: "A wiki", Zh: "一个维基"}, Category: "collaboration"},
		Ports: []catalog.Port{{Name: "port", Service: "wiki", Target: 3000, Protocol: "tcp"}}},
}

// searchEngine answers searches from a real index over testEntries.
func searchEngine(got *catalog.Query) *fakeEngine {
	ix := catalog.NewIndex(testEntries)
	return &fakeEngine{SearchAppsFunc: func(_ context.Context, q catalog.Query) (*catalog.Result, error) {
		*got = q
		q, err := q.Normalize()
		if err != nil {
			return nil, engine.NewUserError(engine.ErrInvalid, err.Error(), "fix the query")
		}
		res := ix.Search(q)
		return &res, nil
	}}
}

func TestListApps(t *testing.T) {
	tests := []struct {
		name       string
		req        request
		wantStatus int
		want       catalog.Query
	}{
		{name: "all", req: request{method: http.MethodGet, target: "/api/v1/apps"}, wantStatus: http.StatusOK},
		{name: "search_zh", req: request{method: http.MethodGet, target: "/api/v1/apps?q=%E7%BB%B4%E5%9F%BA&per_page=10&page=1&sort=title",
			headers: map[string]string{"Accept-Language": "zh-CN"}},
			wantStatus: http.StatusOK, want: catalog.Query{Q: "维基", Sort: "title", Page: 1, PerPage: 10}},
		{name: "category", req: request{method: http.MethodGet, target: "/api/v1/apps?category=productivity&lang=zh"},
			wantStatus: http.StatusOK, want: catalog.Query{Category: "productivity"}},
		{name: "bad_page", req: request{method: http.MethodGet, target: "/api/v1/apps?page=two"}, wantStatus: http.StatusBadRequest},
		{name: "too_many", req: request{method: http.MethodGet, target: "/api/v1/apps?per_page=500"},
			wantStatus: http.StatusBadRequest, want: catalog.Query{PerPage: 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got catalog.Query
			s, _ := newTestServer(t, searchEngine(&got))
			res := do(t, s, tt.req)
			assert.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			assert.Equal(t, tt.want, got)
			golden(t, "apps_"+tt.name, res.body)
		})
	}
}

func TestListAppsNeedsLogin(t *testing.T) {
	var got catalog.Query
	s, _ := newTestServer(t, searchEngine(&got))
	for _, target := range []string{"/api/v1/apps", "/api/v1/apps/redmine", "/api/v1/apps/redmine/icon"} {
		res := do(t, s, request{method: http.MethodGet, target: target, anonymous: true})
		assert.Equal(t, http.StatusUnauthorized, res.status, target)
	}
}

func TestGetApp(t *testing.T) {
	min := 16.0
	eng := &fakeEngine{AppDetailFunc: func(_ context.Context, name, source string) (*engine.AppDetail, error) {
		if name != "redmine" || source != "" {
			return nil, engine.NewUserError(engine.ErrNotFound, "app \""+name+"\" is not in the catalog", "list the apps")
		}
		return &engine.AppDetail{Entry: testEntries[0], Readme: "# Redmine\n", Sources: []string{"builtin"},
			Parameters: []catalog.Param{
				{Name: "db_password", Type: "string", Description: "database password", Default: "", Sensitive: true, Generated: true,
					Descriptions: catalog.Text{En: "database password", Zh: "数据库密码"}},
				{Name: "cache_mb", Type: "integer", Default: 64, Minimum: &min, ApplyTo: []string{"install"}},
				{Name: "theme", Type: "string", Enum: []any{"light", "dark"}, Required: true},
			},
			Outputs: []catalog.Output{{Name: "url", Description: "web address", Descriptions: catalog.Text{En: "web address", Zh: "网址"}},
				{Name: "db_password", Sensitive: true}}}, nil
	}}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodGet, target: "/api/v1/apps/redmine"})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	golden(t, "apps_detail", res.body)

	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/apps/redmine?lang=zh"})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var zh struct {
		Title      string `json:"title"`
		Parameters []struct {
			Description string `json:"description"`
		} `json:"parameters"`
		Outputs []struct {
			Description string `json:"description"`
		} `json:"outputs"`
	}
	require.NoError(t, json.Unmarshal(res.body, &zh))
	assert.Equal(t, "数据库密码", zh.Parameters[0].Description)
	assert.Empty(t, zh.Parameters[1].Description, "no text in either language")
	assert.Equal(t, "网址", zh.Outputs[0].Description)

	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/apps/nope"})
	assert.Equal(t, http.StatusNotFound, res.status)
	var body map[string]string
	require.NoError(t, json.Unmarshal(res.body, &body))
	assert.Equal(t, "list the apps", body["hint"])
}

func TestAppIcon(t *testing.T) {
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>`)
	eng := &fakeEngine{AppIconFunc: func(_ context.Context, name string) (*engine.AppIcon, error) {
		if name != "redmine" {
			return nil, engine.NewUserError(engine.ErrNotFound, "no icon", "")
		}
		return &engine.AppIcon{Data: svg, ContentType: "image/svg+xml", ETag: `"abc"`}, nil
	}}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodGet, target: "/api/v1/apps/redmine/icon"})
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, svg, res.body)
	assert.Equal(t, "image/svg+xml", res.headers.Get("Content-Type"))
	assert.Equal(t, `"abc"`, res.headers.Get("ETag"))
	assert.Contains(t, res.headers.Get("Cache-Control"), "private")
	assert.Contains(t, res.headers.Get("Content-Security-Policy"), "sandbox")

	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/apps/redmine/icon", headers: map[string]string{"If-None-Match": `"abc"`}})
	assert.Equal(t, http.StatusNotModified, res.status)
	assert.Empty(t, res.body)

	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/apps/other/icon"})
	assert.Equal(t, http.StatusNotFound, res.status)
}

func TestPreflightApp(t *testing.T) {
	var got engine.InstallOptions
	eng := &fakeEngine{PreflightFunc: func(_ context.Context, opts engine.InstallOptions) (*engine.PreflightReport, error) {
		got = opts
		if opts.App == "nope" {
			return nil, engine.NewUserError(engine.ErrNotFound, "app \"nope\" is not in the catalog", "list the apps")
		}
		return &engine.PreflightReport{App: opts.App, Name: "git2", OK: false, Checks: []engine.PreflightCheck{
			{Check: "memory", Status: engine.PreflightFail, Message: "the app needs 4096 MB of memory, the host has 2048 MB in all", Hint: "install it on a host with more memory"},
			{Check: "ports", Status: engine.PreflightOK, Message: "free host ports: port=9001"},
		}}, nil
	}}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodPost, target: "/api/v1/apps/gitlab/preflight", ctype: "application/json",
		body: `{"name":"git2","parameters":{"a":"b"}}`})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, engine.InstallOptions{App: "gitlab", Name: "git2", Parameters: map[string]string{"a": "b"}}, got)
	golden(t, "apps_preflight", res.body)

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/apps/gitlab/preflight"})
	assert.Equal(t, http.StatusOK, res.status, "the body is optional")
	assert.Equal(t, engine.InstallOptions{App: "gitlab"}, got)

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/apps/nope/preflight"})
	assert.Equal(t, http.StatusNotFound, res.status)
	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/apps/gitlab/preflight", ctype: "application/json", body: `{"name":`})
	assert.Equal(t, http.StatusBadRequest, res.status)
}

func TestInstallSkipsPreflightWhenAsked(t *testing.T) {
	var got engine.InstallOptions
	eng := &fakeEngine{InstallFunc: func(_ context.Context, opts engine.InstallOptions) (*engine.Installation, error) {
		got = opts
		return &engine.Installation{Name: opts.Name, App: opts.App, Status: engine.StatusInstalling, JobID: "j1"}, nil
	}}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodPost, target: "/api/v1/installations", ctype: "application/json",
		body: `{"app":"gitlab","skipPreflight":true}`})
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
	assert.True(t, got.SkipPreflight)
}

func TestCatalogSources(t *testing.T) {
	var added, removed string
	eng := &fakeEngine{
		SourcesFunc: func(context.Context) ([]engine.CatalogSource, error) {
			return []engine.CatalogSource{{Name: "builtin", Kind: "builtin", Apps: 30}, {Name: "team", Kind: "dir", Path: "/srv/team", Apps: 2, Added: true}}, nil
		},
		AddSourceFunc: func(_ context.Context, name, path string) (*engine.CatalogSource, error) {
			added = name + "=" + path
			if name == "builtin" {
				return nil, engine.NewUserError(engine.ErrConflict, "source \"builtin\" is the base catalog", "choose another name")
			}
			return &engine.CatalogSource{Name: name, Kind: "dir", Path: path, Apps: 2, Added: true}, nil
		},
		RemoveSourceFunc: func(_ context.Context, name string) error {
			removed = name
			return nil
		},
	}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodGet, target: "/api/v1/catalog/sources"})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	golden(t, "catalog_sources", res.body)

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/catalog/sources", ctype: "application/json", body: `{"name":"team","path":"/srv/team"}`})
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	assert.Equal(t, "team=/srv/team", added)
	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/catalog/sources", ctype: "application/json", body: `{"name":"builtin","path":"/srv/team"}`})
	assert.Equal(t, http.StatusConflict, res.status)

	res = do(t, s, request{method: http.MethodDelete, target: "/api/v1/catalog/sources/team"})
	assert.Equal(t, http.StatusNoContent, res.status)
	assert.Equal(t, "team", removed)

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/catalog/refresh"})
	assert.Equal(t, http.StatusOK, res.status)
}
