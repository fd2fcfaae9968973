//go:build integration

package engine_test

import (
	"encoding/json"
	"io/fs"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/bundles"
)

// TestBuiltInBundleBuilds builds the invocation image of one built-in app
// on the real Docker Engine. Building is the same code for every bundle
// (bundles_test.go checks all of them short of the image), so one stands
// for the thirty.
func TestBuiltInBundleBuilds(t *testing.T) {
	e := newRealEngine(t)
	dir, err := fs.Sub(bundles.FS, "wordpress")
	require.NoError(t, err)
	image, bundleJSON, digest, err := e.BuildBundle(t.Context(), dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", image).Run() })
	assert.NotEmpty(t, digest)
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", image).CombinedOutput()
	require.NoError(t, err, "the image exists: %s", out)

	var b struct {
		Custom map[string]json.RawMessage `json:"custom"`
	}
	require.NoError(t, json.Unmarshal(bundleJSON, &b))
	assert.Contains(t, string(b.Custom["stackhub"]), `"zh":"WordPress"`, "the catalog metadata travels in bundle.json")
}
