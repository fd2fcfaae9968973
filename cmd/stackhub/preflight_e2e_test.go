//go:build integration

package main_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPreflightRefusesAnAppTooBigForTheHost serves a copy of the hello
// bundle that asks for more memory than any host has and images of an
// architecture nobody runs: the install is refused at once with both
// reasons, the dry run reports them, and nothing is created.
func TestPreflightRefusesAnAppTooBigForTheHost(t *testing.T) {
	catalog := t.TempDir()
	dir := filepath.Join(catalog, "huge")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	compose, err := os.ReadFile("../../testdata/bundles/hello/docker-compose.yml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), compose, 0o644))
	manifest, err := os.ReadFile("../../testdata/bundles/hello/porter.yaml")
	require.NoError(t, err)
	m := strings.Replace(string(manifest), "name: hello\n", "name: huge\n", 1)
	m = strings.Replace(m, "custom:\n", "custom:\n  stackhub:\n    requirements: {cpu: 1, memoryMB: 90000000, diskMB: 1}\n    architectures: [riscv64]\n", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "porter.yaml"), []byte(m), 0o644))

	s := startServer(t, "--catalog", catalog)

	e := s.do(http.MethodPost, "/api/v1/apps/huge/preflight", nil, "")
	require.Equal(t, http.StatusOK, e.status, e.raw)
	var report struct {
		OK     bool `json:"ok"`
		Checks []struct{ Check, Status, Message, Hint string }
	}
	require.NoError(t, json.Unmarshal([]byte(e.raw), &report))
	assert.False(t, report.OK)
	status := map[string]string{}
	for _, c := range report.Checks {
		status[c.Check] = c.Status
	}
	assert.Equal(t, "fail", status["memory"], e.raw)
	assert.Equal(t, "fail", status["architecture"], e.raw)
	assert.Equal(t, "ok", status["disk"], e.raw)
	assert.Equal(t, "ok", status["ports"], e.raw)
	assert.Equal(t, "ok", status["images"], "hello's image is on this host: %s", e.raw)

	e = s.postJSON("/installApp", map[string]string{"appName": "huge"})
	assert.Equal(t, "0", e.Code, e.raw)
	assert.Equal(t, http.StatusConflict, e.status, e.raw)
	assert.Contains(t, e.Message, "90000000 MB of memory", e.raw)
	assert.Contains(t, e.Message, "riscv64", e.raw)
	assert.Contains(t, e.Message, "more memory", "the hints come too: %s", e.raw)

	e = s.get("/getAllAppInfo", nil)
	require.Equal(t, "1", e.Code, e.raw)
	assert.NotContains(t, e.raw, "huge", "nothing was recorded: %s", e.raw)
	assert.Empty(t, dockerLines(t, "ps", "-aq", "--filter", "name=^"+s.prefix+"-"))
}
