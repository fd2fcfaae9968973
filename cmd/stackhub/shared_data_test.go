//go:build integration

package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTwoProcessesShareADataFolder runs `stackhub bundle install` processes
// and installs through a running service on the same data folder at once:
// every install succeeds, no port is leased twice, no record is lost and
// SQLite never answers "database is locked".
func TestTwoProcessesShareADataFolder(t *testing.T) {
	s := startServer(t)
	manifest, err := filepath.Abs("../../testdata/bundles/hello/porter.yaml")
	require.NoError(t, err)
	const each = 3
	cli := func(args ...string) *exec.Cmd {
		cmd := exec.Command(binary(t), args...)
		cmd.Env = append(os.Environ(), "STACKHUB_PREFIX="+s.prefix, "STACKHUB_DATA="+s.data,
			"STACKHUB_PORT_MIN=19001", "STACKHUB_PORT_MAX=19999")
		return cmd
	}

	var wg sync.WaitGroup
	outputs := make([]string, each)
	errs := make([]error, each)
	for i := range each {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := cli("bundle", "install", fmt.Sprintf("cli-%d", i), "-f", manifest, "--allow-docker-host-access").CombinedOutput()
			outputs[i], errs[i] = string(out), err
		}()
	}
	for i := range each {
		body, _ := json.Marshal(map[string]string{"app": "hello", "name": fmt.Sprintf("svc-%d", i)})
		req, err := http.NewRequest(http.MethodPost, s.url+"/api/v1/installations", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Less(t, resp.StatusCode, 300)
	}
	wg.Wait()
	t.Cleanup(func() {
		for i := range each {
			_ = cli("bundle", "uninstall", fmt.Sprintf("cli-%d", i), "-f", manifest, "--allow-docker-host-access").Run()
		}
	})
	for i := range each {
		require.NoError(t, errs[i], "bundle install cli-%d:\n%s", i, outputs[i])
		assert.NotContains(t, outputs[i], "database is locked")
	}

	// Every installation, whichever process made it, is in the one store,
	// running, on ports of its own.
	deadline := time.Now().Add(2 * time.Minute)
	var list []map[string]any
	for {
		_, out := s.rest(http.MethodGet, "/api/v1/installations")
		raw, _ := json.Marshal(out["installations"])
		list = nil
		require.NoError(t, json.Unmarshal(raw, &list))
		running := 0
		for _, inst := range list {
			if inst["status"] == "running" {
				running++
			}
		}
		if running == 2*each || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.Len(t, list, 2*each, "%v", list)
	owner := map[string]string{}
	for _, inst := range list {
		name := inst["name"].(string)
		assert.Equal(t, "running", inst["status"], "%s: %v", name, inst["reason"])
		ports, _ := inst["ports"].(map[string]any)
		require.NotEmpty(t, ports, name)
		for _, p := range ports {
			port := fmt.Sprint(p)
			assert.Empty(t, owner[port], "port %s leased to %s and %s", port, owner[port], name)
			owner[port] = name
		}
	}
	assert.NotContains(t, strings.ToLower(s.logs.String()), "database is locked")
}
