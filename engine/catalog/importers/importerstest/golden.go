// Package importerstest holds what the store importers' tests share: the
// golden-file comparison of generated bundles and reports. Test code only.
package importerstest

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog/importers"
)

// Update rewrites the golden files: go test ./engine/catalog/importers/... -update
var Update = flag.Bool("update", false, "rewrite the golden files")

// goldenFiles are the generated files compared with goldens (icons are
// copied bytes and checked separately).
var goldenFiles = []string{"porter.yaml", "docker-compose.yml", "README.md"}

// Golden compares the report and every generated bundle with the files
// under dir (testdata/golden): report.txt, then <bundle>/<file>.
func Golden(t *testing.T, r *importers.Report, dir string) {
	t.Helper()
	var rep bytes.Buffer
	r.Source = "SAMPLES"
	r.Print(&rep)
	for _, res := range r.Results {
		for _, n := range res.Notes {
			rep.WriteString(res.App + ": note: " + n + "\n")
		}
	}
	compare(t, filepath.Join(dir, "report.txt"), rep.Bytes())
	for _, res := range r.Results {
		if !res.Converted {
			continue
		}
		for _, f := range goldenFiles {
			compare(t, filepath.Join(dir, res.Name, f), res.Bundle.Files[f])
		}
	}
}

func compare(t *testing.T, path string, got []byte) {
	t.Helper()
	if *Update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test with -update")
	assert.Equal(t, string(want), string(got), "%s differs from the generated file; run go test with -update if the change is intended", path)
}

// Outcome is what a test expects of one app.
type Outcome struct {
	// Converted, or else a part of the reason it was not.
	Converted bool
	Reason    string
	// Warning is a part of a warning it must carry, if not empty.
	Warning string
}

// Expect checks every app's outcome against want (by app ID) and that
// converted bundles, once written, make a catalog StackHub lists.
func Expect(t *testing.T, r *importers.Report, want map[string]Outcome) {
	t.Helper()
	got := map[string]importers.Result{}
	for _, res := range r.Results {
		got[res.App] = res
	}
	require.ElementsMatch(t, slices.Collect(maps.Keys(want)), slices.Collect(maps.Keys(got)), "apps imported")
	converted := 0
	for app, w := range want {
		res := got[app]
		if w.Converted {
			converted++
			assert.True(t, res.Converted, "%s should convert; reasons: %v", app, res.Reasons)
		} else {
			assert.False(t, res.Converted, "%s should not convert", app)
			assert.True(t, slices.ContainsFunc(res.Reasons, func(s string) bool { return strings.Contains(s, w.Reason) }),
				"%s: no reason mentions %q: %v", app, w.Reason, res.Reasons)
		}
		if w.Warning != "" {
			assert.True(t, slices.ContainsFunc(res.Warnings, func(s string) bool { return strings.Contains(s, w.Warning) }),
				"%s: no warning mentions %q: %v", app, w.Warning, res.Warnings)
		}
	}
	assert.Equal(t, converted, r.Converted())

	out := t.TempDir()
	require.NoError(t, importers.Write(r, importers.WriteOptions{Dir: out}))
	apps, err := engine.NewDirCatalog(os.DirFS(out)).List(t.Context())
	require.NoError(t, err)
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
		assert.NotEmpty(t, a.Ports, "%s declares its ports", a.Name)
	}
	var wantNames []string
	for _, res := range r.Results {
		if res.Converted {
			wantNames = append(wantNames, res.Name)
			assert.DirExists(t, res.Path)
			checkMetadata(t, res.Path)
		}
	}
	assert.ElementsMatch(t, wantNames, names, "the written catalog lists exactly the converted apps")
}

// checkMetadata checks custom.stackhub against the catalog schema: both
// languages of title and description, a fixed category, homepage, app
// version, and an icon file that exists when one is named.
func checkMetadata(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "porter.yaml"))
	require.NoError(t, err)
	var doc struct {
		Custom struct {
			Stackhub struct {
				Title, Description map[string]string
				Category, Homepage string
				AppVersion         string `yaml:"appVersion"`
				Icon               string
				Web                map[string]string
			}
		}
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	m := doc.Custom.Stackhub
	for _, lang := range []string{"en", "zh"} {
		assert.NotEmpty(t, m.Title[lang], "%s: title.%s", dir, lang)
		assert.NotEmpty(t, m.Description[lang], "%s: description.%s", dir, lang)
	}
	assert.Contains(t, importers.Categories, m.Category, dir)
	assert.NotEmpty(t, m.Homepage, dir)
	assert.NotEmpty(t, m.AppVersion, dir)
	if m.Icon != "" {
		assert.FileExists(t, filepath.Join(dir, m.Icon))
	}
	assert.Equal(t, "port", m.Web["port"], dir)
}
