package catalog_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/engine/manifest"
)

func TestMetaFrom(t *testing.T) {
	tests := []struct {
		name   string
		custom map[string]any
		want   catalog.Meta
	}{
		{
			name: "schema",
			custom: map[string]any{"stackhub": map[string]any{
				"title": map[string]any{"en": "Wiki", "zh": "维基"}, "description": map[string]any{"en": "A wiki", "zh": "一个维基"},
				"category": "collaboration", "keywords": []any{"wiki", "docs"}, "homepage": "https://wiki.example",
				"appVersion": 2.5, "requirements": map[string]any{"cpu": 0.5, "memoryMB": 512, "diskMB": "1024"},
				"architectures": []any{"amd64"}, "icon": "icon.svg", "web": map[string]any{"service": "wiki", "port": "port"},
			}},
			want: catalog.Meta{Title: catalog.Text{En: "Wiki", Zh: "维基"}, Description: catalog.Text{En: "A wiki", Zh: "一个维基"},
				Category: "collaboration", Keywords: []string{"wiki", "docs"}, Homepage: "https://wiki.example", AppVersion: "2.5",
				Requirements: catalog.Requirements{CPU: 0.5, MemoryMB: 512, DiskMB: 1024}, Architectures: []string{"amd64"},
				Icon: "icon.svg", Web: &catalog.Web{Service: "wiki", Port: "port"}},
		},
		{
			name:   "legacy flat keys",
			custom: map[string]any{"title": "Hello", "category": "demo", "website": "https://hello.example", "appVersion": "1"},
			want: catalog.Meta{Title: catalog.Text{En: "Hello"}, Description: catalog.Text{En: "from the manifest"}, Category: "demo",
				Homepage: "https://hello.example", AppVersion: "1"},
		},
		{
			name:   "chinese legacy title",
			custom: map[string]any{"title": "你好"},
			want:   catalog.Meta{Title: catalog.Text{Zh: "你好"}, Description: catalog.Text{En: "from the manifest"}},
		},
		{
			name: "nothing",
			want: catalog.Meta{Title: catalog.Text{En: "app"}, Description: catalog.Text{En: "from the manifest"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, catalog.MetaFrom(tt.custom, "app", "from the manifest"))
		})
	}
}

func TestProblems(t *testing.T) {
	assert.Len(t, catalog.Meta{}.Problems(), 8)
	ok := catalog.Meta{Title: catalog.Text{En: "a", Zh: "甲"}, Description: catalog.Text{En: "a", Zh: "甲"}, Category: "media",
		Homepage: "https://a.example", AppVersion: "1", Requirements: catalog.Requirements{CPU: 1, MemoryMB: 1, DiskMB: 1},
		Architectures: []string{"arm64"}, Icon: "icon.svg"}
	assert.Empty(t, ok.Problems())
	ok.Architectures = []string{"aarch64"}
	ok.Category = "games"
	assert.Len(t, ok.Problems(), 2)
}

func TestText(t *testing.T) {
	assert.Equal(t, "维基", catalog.Text{En: "Wiki", Zh: "维基"}.In("zh"))
	assert.Equal(t, "Wiki", catalog.Text{En: "Wiki", Zh: "维基"}.In("en"))
	assert.Equal(t, "Wiki", catalog.Text{En: "Wiki"}.In("zh"))
	assert.Equal(t, "维基", catalog.Text{Zh: "维基"}.In("en"))
}

const formManifest = `schemaVersion: 1.0.1
name: form
version: 0.1.0
custom:
  stackhub:
    parameters:
      size: {zh: 大小}
    outputs:
      pw: {zh: 密码}
mixins: [stackhub]
parameters:
  - {name: size, type: integer, default: 3, minimum: 1, maximum: 9}
  - {name: mode, type: string, default: fast, enum: [fast, safe]}
  - {name: email, type: string, pattern: "^.+@.+$"}
  - {name: pw, type: string, sensitive: true, default: "", source: {output: pw}}
outputs:
  - {name: pw, type: string, sensitive: true, description: the password}
  - {name: url, type: string}
install:
  - stackhub:
      compose: c.yml
      secrets: [{name: pw, value: "${ bundle.parameters.pw }"}]
uninstall:
  - stackhub: {compose: c.yml}
`

func TestParamsAndOutputs(t *testing.T) {
	m, err := manifest.Parse([]byte(formManifest), "porter.yaml")
	require.NoError(t, err)
	ps := catalog.Params(m)
	require.Len(t, ps, 4)
	assert.Equal(t, "integer", ps[0].Type)
	assert.Equal(t, 3, ps[0].Default)
	assert.InDelta(t, 9, *ps[0].Maximum, 0)
	assert.Equal(t, []any{"fast", "safe"}, ps[1].Enum)
	assert.True(t, ps[2].Required)
	assert.Nil(t, ps[2].Default)
	assert.Equal(t, "^.+@.+$", ps[2].Pattern)
	assert.True(t, ps[3].Sensitive)
	assert.True(t, ps[3].Generated)
	assert.False(t, ps[3].Required)
	assert.False(t, ps[0].Generated)
	assert.Equal(t, catalog.Text{Zh: "大小"}, ps[0].Descriptions)
	assert.Equal(t, catalog.Text{}, ps[1].Descriptions)
	assert.Equal(t, []catalog.Output{
		{Name: "pw", Description: "the password", Descriptions: catalog.Text{En: "the password", Zh: "密码"}, Sensitive: true},
		{Name: "url"},
	}, catalog.Outputs(m))
}

func TestNormalize(t *testing.T) {
	q, err := catalog.Query{Q: "  wiki  "}.Normalize()
	require.NoError(t, err)
	assert.Equal(t, catalog.Query{Q: "wiki", Sort: "name", Page: 1, PerPage: 50}, q)
	for _, bad := range []catalog.Query{{Page: -2}, {PerPage: 201}, {PerPage: -1}, {Sort: "x"}, {Category: "x"}} {
		_, err := bad.Normalize()
		var qe *catalog.QueryError
		require.ErrorAs(t, err, &qe, "%+v", bad)
		assert.NotEmpty(t, qe.Hint)
	}
}

// entries makes n apps spread over the categories.
func entries(n int) []catalog.Entry {
	out := make([]catalog.Entry, 0, n)
	for i := range n {
		c := catalog.Categories[i%len(catalog.Categories)]
		out = append(out, catalog.Entry{Name: fmt.Sprintf("app%04d", i), Source: "builtin", Version: "1.0.0", Meta: catalog.Meta{
			Title:       catalog.Text{En: fmt.Sprintf("App %d", n-i), Zh: fmt.Sprintf("应用%d", i)},
			Description: catalog.Text{En: fmt.Sprintf("Number %d does %s things well", i, c), Zh: "一个用于" + c + "的应用"},
			Category:    c, Keywords: []string{"kw" + fmt.Sprint(i%7), "common"},
		}})
	}
	return out
}

func TestIndexSearch(t *testing.T) {
	ix := catalog.NewIndex(append(entries(40), catalog.Entry{Name: "app0001", Source: "mirror", Meta: catalog.Meta{Title: catalog.Text{En: "Mirrored"}, Category: "cms"}}))
	all := func(q catalog.Query) catalog.Result {
		q, err := q.Normalize()
		require.NoError(t, err)
		return ix.Search(q)
	}
	res := all(catalog.Query{})
	assert.Equal(t, 41, res.Total)
	assert.Len(t, ix.Get("app0001"), 2, "two sources offering one app are both listed")
	assert.Equal(t, "builtin", ix.Get("app0001")[0].Source)

	res = all(catalog.Query{Q: "KW3 应用"})
	for _, e := range res.Entries {
		assert.Contains(t, e.Keywords, "kw3")
	}
	assert.Equal(t, 6, res.Total) // 3, 10, 17, 24, 31, 38

	res = all(catalog.Query{Sort: "title", PerPage: 3})
	assert.Equal(t, []string{"App 1", "App 10", "App 11"}, []string{res.Entries[0].Title.En, res.Entries[1].Title.En, res.Entries[2].Title.En})

	res = all(catalog.Query{PerPage: 15, Page: 3})
	assert.Len(t, res.Entries, 11)
	assert.Equal(t, 41, res.Total)
	res = all(catalog.Query{PerPage: 15, Page: 4})
	assert.Empty(t, res.Entries)
	assert.NotNil(t, res.Entries)
}

// BenchmarkSearch searches 1,000 apps: words from both languages, then a
// category page, then everything sorted by title.
func BenchmarkSearch(b *testing.B) {
	ix := catalog.NewIndex(entries(1000))
	queries := []catalog.Query{
		{Q: "things kw3", Page: 1, PerPage: 50, Sort: "name"},
		{Q: "应用", Page: 2, PerPage: 50, Sort: "name"},
		{Category: "media", Page: 1, PerPage: 50, Sort: "name"},
		{Page: 3, PerPage: 200, Sort: "title"},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ix.Search(queries[i%len(queries)])
		i++
	}
}

// BenchmarkNewIndex builds the index of 1,000 apps.
func BenchmarkNewIndex(b *testing.B) {
	es := entries(1000)
	b.ReportAllocs()
	for b.Loop() {
		catalog.NewIndex(es)
	}
}
