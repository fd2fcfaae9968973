package engine

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/manifest"
)

// TestUninstallBundle: which outputs an uninstall must produce. Outputs
// without applyTo (redmine's port, containerName ...) and any output of an
// installation that never finished installing move off the uninstall;
// outputs that name uninstall stay required of an installed app.
func TestUninstallBundle(t *testing.T) {
	const porterYAML = `schemaVersion: 1.0.1
name: app
version: 0.1.0
mixins: [exec]
outputs:
  - {name: port, type: string}
  - {name: receipt, type: string, applyTo: [uninstall]}
  - {name: url, type: string, applyTo: [install, upgrade]}
install:
  - exec: {command: "true"}
upgrade:
  - exec: {command: "true"}
uninstall:
  - exec: {command: "true"}
`
	m, err := manifest.Parse([]byte(porterYAML), "porter.yaml")
	require.NoError(t, err)
	bundleJSON := []byte(`{"name":"app","outputs":{` +
		`"port":{"definition":"port-output","path":"/cnab/app/outputs/port"},` +
		`"receipt":{"definition":"receipt-output","applyTo":["uninstall"],"path":"/cnab/app/outputs/receipt"},` +
		`"url":{"definition":"url-output","applyTo":["install","upgrade"],"path":"/cnab/app/outputs/url"},` +
		`"porter-state":{"definition":"porter-state","path":"/cnab/app/outputs/porter-state"}}}`)
	tests := []struct {
		name      string
		installed bool
		want      map[string][]string
	}{
		{name: "installed app", installed: true, want: map[string][]string{
			"port": {"install", "upgrade"}, "receipt": {"uninstall"}, "url": {"install", "upgrade"}, "porter-state": nil}},
		{name: "failed install", installed: false, want: map[string][]string{
			"port": {"install", "upgrade"}, "receipt": {"install", "upgrade"}, "url": {"install", "upgrade"}, "porter-state": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := uninstallBundle(bundleJSON, m, tt.installed)
			require.NoError(t, err)
			var doc struct {
				Name    string `json:"name"`
				Outputs map[string]struct {
					ApplyTo []string `json:"applyTo"`
					Path    string   `json:"path"`
				} `json:"outputs"`
			}
			require.NoError(t, json.Unmarshal(out, &doc))
			assert.Equal(t, "app", doc.Name, "the rest of bundle.json is kept")
			for name, want := range tt.want {
				assert.Equal(t, want, doc.Outputs[name].ApplyTo, name)
				assert.Equal(t, "/cnab/app/outputs/"+name, doc.Outputs[name].Path, name)
			}
		})
	}
}
