//go:build integration

package main_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFailedInstallUninstallsThroughEveryRoute is what a new user on a
// host without registry access hits first: hello-missing's install fails
// (two of its images cannot be pulled; both are named at once, with the
// docker load hint), shows no ports, and then uninstalls through every
// route: uninstallApp, DELETE /api/v1/installations, uninstallAllApp and
// the CLI. Its outputs have no applyTo, so by CNAB's letter they apply to
// uninstall too; a missing one must not fail it. Nothing is left behind.
func TestFailedInstallUninstallsThroughEveryRoute(t *testing.T) {
	s := startServer(t)
	const app = "hello-missing"
	project := s.prefix + "-" + app
	failInstall := func() {
		t.Helper()
		e := s.postJSON("/installApp", map[string]string{"appName": app})
		require.Equal(t, "1", e.Code, e.raw)
		e = s.waitStatus(app, 3*time.Minute)
		require.Equal(t, "2", e.Data["status"], e.raw)
		info := fmt.Sprint(e.Data["info"])
		assert.Contains(t, info, "127.0.0.1:1/stackhub-test/missing-cache:1", "every missing image is named: %s", e.raw)
		assert.Contains(t, info, "127.0.0.1:1/stackhub-test/missing-db:1", "every missing image is named: %s", e.raw)
		assert.Contains(t, info, "docker load", e.raw)
		assert.True(t, strings.HasPrefix(info, "安装失败："), "the wrapper is in the default language: %s", info)
		assert.Empty(t, e.Data["port"], "freed ports are not shown: %s", e.raw)
		assert.Empty(t, e.Data["db_port"], "freed ports are not shown: %s", e.raw)
		all := s.get("/getAllAppInfo", nil)
		require.Equal(t, "1", all.Code, all.raw)
		assert.NotContains(t, all.raw, `"port":"1`, "getAllAppInfo shows no freed port")
		assert.Empty(t, dockerLines(t, "ps", "-aq", "--filter", "label=com.docker.compose.project="+project),
			"nothing was started")
		assert.Empty(t, dockerLines(t, "images", "-q", "localhost:5000/hello-missing"), "no bundle image is left behind")
	}
	gone := func(route string) {
		t.Helper()
		e := s.get("/getAppInfo", url.Values{"appName": {app}})
		assert.Equal(t, "0", e.Code, "%s: %s", route, e.raw)
		assert.Contains(t, e.Message, "未安装", "%s: %s", route, e.raw)
		assert.Empty(t, dockerLines(t, "ps", "-aq", "--filter", "label=com.docker.compose.project="+project), route)
		assert.Empty(t, dockerLines(t, "network", "ls", "-q", "--filter", "label=com.docker.compose.project="+project), route)
		assert.Empty(t, dockerLines(t, "images", "-q", "localhost:5000/hello-missing"), "%s: no bundle image left", route)
	}

	failInstall()
	e := s.postJSON("/uninstallApp", map[string]string{"appName": app})
	require.Equal(t, "1", e.Code, e.raw)
	gone("uninstallApp")

	failInstall()
	req, err := http.NewRequest(http.MethodDelete, s.url+"/api/v1/installations/"+app, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	gone("DELETE")

	failInstall()
	e = s.postJSON("/uninstallAllApp", nil)
	require.Equal(t, "1", e.Code, e.raw)
	assert.Contains(t, e.raw, `"removed":["`+app+`"]`)
	gone("uninstallAllApp")

	failInstall()
	cmd := exec.Command(binary(t), "uninstall", app, "--yes", "--purge")
	cmd.Env = append(os.Environ(), "STACKHUB_SERVER="+s.url, "STACKHUB_TOKEN="+s.token, "XDG_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "stackhub uninstall: %s", out)
	gone("stackhub uninstall --yes --purge")
}
