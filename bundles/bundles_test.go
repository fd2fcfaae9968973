package bundles_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/bundles"
	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/cnab"
	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/mixin"
)

// catalogs are the folders of bundles that must always be valid: the
// built-in catalog and the test fixtures.
func catalogs() map[string]fs.FS {
	return map[string]fs.FS{"bundles": bundles.FS, "testdata/bundles": os.DirFS("../testdata/bundles")}
}

// TestEveryBundleIsValid parses, validates, lints and converts every bundle:
// a broken bundle never reaches a user.
func TestEveryBundleIsValid(t *testing.T) {
	for where, fsys := range catalogs() {
		entries, err := fs.ReadDir(fsys, ".")
		require.NoError(t, err)
		n := 0
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			n++
			t.Run(where+"/"+e.Name(), func(t *testing.T) {
				data, err := fs.ReadFile(fsys, e.Name()+"/porter.yaml")
				require.NoError(t, err)
				m, err := manifest.Parse(data, e.Name()+"/porter.yaml")
				require.NoError(t, err)
				require.NoError(t, m.Validate(manifest.ValidateOptions{}))
				assert.Equal(t, e.Name(), m.Name, "the folder is named after the bundle")
				lint := manifest.Lint(m)
				assert.False(t, lint.HasErrors(), "%s", lint.String())

				// The stackhub mixin's own lint of its steps.
				if m.HasMixin("stackhub") {
					actions := map[string][]map[string]any{}
					for action, steps := range m.Actions {
						for _, s := range steps {
							if s.Mixin == "stackhub" {
								actions[action] = append(actions[action], map[string]any{"stackhub": s.Data})
							}
						}
					}
					in, err := yaml.Marshal(map[string]any{"actions": actions})
					require.NoError(t, err)
					var out, errOut bytes.Buffer
					mx := mixin.New(bytes.NewReader(in), &out, &errOut)
					require.NoError(t, mx.Lint(t.Context(), bytes.NewReader(in)), errOut.String())
					var results []struct {
						Level   int
						Code    string
						Message string
					}
					require.NoError(t, json.Unmarshal(out.Bytes(), &results), out.String())
					for _, r := range results {
						assert.NotEqual(t, 0, r.Level, "stackhub lint error %s: %s", r.Code, r.Message)
					}
					// Every app reports the PRD's main port.
					assert.NotEmpty(t, engine.PortSpecs(m), "%s declares no ports", m.Name)
				}

				b, err := cnab.Converter{}.Convert(m, engine.ConvertRequest{InvocationImage: engine.InvocationImageFor(engine.BundleReference(m)), Version: "test"})
				require.NoError(t, err)
				assert.Contains(t, string(b), `"invocationImages"`)
			})
		}
		assert.Positive(t, n, "%s holds bundles", where)
	}
}

// TestCatalogListsBuiltInApps checks the built-in catalog's metadata.
func TestCatalogListsBuiltInApps(t *testing.T) {
	apps, err := engine.NewDirCatalog(bundles.FS).List(t.Context())
	require.NoError(t, err)
	names := map[string]engine.App{}
	for _, a := range apps {
		names[a.Name] = a
	}
	for _, want := range []string{"wordpress", "redmine", "gitea"} {
		a, ok := names[want]
		require.True(t, ok, "the catalog has %s", want)
		assert.NotEmpty(t, a.Title)
		assert.NotEmpty(t, a.Category)
		assert.NotEmpty(t, a.Description)
		assert.NotEmpty(t, a.Meta.Title.Zh)
		assert.NotEmpty(t, a.Meta.Description.Zh)
		assert.Equal(t, engine.SourceBuiltin, a.Source)
		assert.NotEmpty(t, a.Ports)
	}
}
