package compose_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/mixin/compose"
	"github.com/stackhub/stackhub/mixin/compose/composetest"
)

// TestEnsureImagesNamesEveryMissingImage: a host that lacks two of a
// project's images hears about both at once, with the docker load hint,
// and nothing is created.
func TestEnsureImagesNamesEveryMissingImage(t *testing.T) {
	tests := []struct {
		name     string
		present  map[string]string
		wantMsg  string
		wantHint string
	}{
		{name: "two missing", present: map[string]string{"cache:7": "sha256:c"},
			wantMsg:  "images db:8.0, web:6.5-apache are not available locally",
			wantHint: "load them on this host first (docker load -i image.tar"},
		{name: "one missing", present: map[string]string{"cache:7": "sha256:c", "db:8.0": "sha256:d"},
			wantMsg:  "image web:6.5-apache is not available locally",
			wantHint: "docker pull web:6.5-apache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			yml := "services:\n  web: {image: \"web:6.5-apache\"}\n  db: {image: \"db:8.0\"}\n  cache: {image: \"cache:7\"}\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "compose.yml"), []byte(yml), 0o644))
			o := compose.Options{Project: "stackhub-imgs", WorkingDir: dir, Files: []string{"compose.yml"}}
			p, err := compose.Load(t.Context(), &o)
			require.NoError(t, err)
			d := &composetest.Docker{Images: tt.present}
			var out bytes.Buffer
			_, err = compose.EnsureImages(t.Context(), d, p, &out)
			require.Error(t, err)
			var ue *compose.UserError
			require.ErrorAs(t, err, &ue)
			assert.Contains(t, ue.Msg, tt.wantMsg)
			assert.Contains(t, ue.Hint(), tt.wantHint)
			assert.ErrorIs(t, err, compose.ErrImage, "classified as an image error")
			assert.Empty(t, d.Containers, "nothing created")
		})
	}
}
