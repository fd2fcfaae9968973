package compose_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/mirror"
	"github.com/stackhub/stackhub/mixin/compose"
	"github.com/stackhub/stackhub/mixin/compose/composetest"
)

// TestEnsureImagesViaMirror checks the order of pulls: the mirror first,
// then the image's own registry; images already present are not pulled,
// and the error names both attempts.
func TestEnsureImagesViaMirror(t *testing.T) {
	dir := t.TempDir()
	yml := "services:\n  web:\n    image: nginx:1.27\n  db:\n    image: quay.io/x/db:1\n  cache:\n    image: redis:7\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "compose.yml"), []byte(yml), 0o644))
	o := compose.Options{Project: "stackhub-m", WorkingDir: dir, Files: []string{"compose.yml"}}
	p, err := compose.Load(t.Context(), &o)
	require.NoError(t, err)
	m, err := mirror.Parse("127.0.0.1:5999/hub")
	require.NoError(t, err)

	d := &composetest.Docker{Images: map[string]string{"redis:7": "sha256:r"}}
	var out bytes.Buffer
	_, err = compose.EnsureImagesVia(t.Context(), d, p, &out, m.Rewrite)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mirror 127.0.0.1:5999/hub/library/nginx:1.27")
	var pulls []string
	for _, c := range d.Calls {
		if c.Op == "ImagePull" {
			pulls = append(pulls, c.Target)
		}
	}
	// Every missing image is tried; redis is present; no mirror covers quay.io.
	assert.Equal(t, []string{"127.0.0.1:5999/hub/library/nginx:1.27", "nginx:1.27", "quay.io/x/db:1"}, pulls)
	assert.Contains(t, out.String(), "from the mirror 127.0.0.1:5999/hub/library/nginx:1.27")

	d = &composetest.Docker{Images: map[string]string{"nginx:1.27": "sha256:n", "redis:7": "sha256:r"}}
	_, err = compose.EnsureImagesVia(t.Context(), d, p, &out, m.Rewrite)
	require.Error(t, err)
	pulls = nil
	for _, c := range d.Calls {
		if c.Op == "ImagePull" {
			pulls = append(pulls, c.Target)
		}
	}
	assert.Equal(t, []string{"quay.io/x/db:1"}, pulls, "no mirror covers quay.io")
}
