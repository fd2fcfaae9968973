//go:build integration

package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goroutines reads the service's goroutine count from its pprof endpoint.
func (s *server) goroutines() int {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+"/debug/pprof/goroutine?debug=1", nil)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	m := regexp.MustCompile(`goroutine profile: total (\d+)`).FindSubmatch(b)
	require.NotNil(s.t, m, "no goroutine count in %q", b)
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(s.t, err)
	return n
}

// openFiles counts the service process's open file descriptors.
func (s *server) openFiles() int {
	s.t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	require.NoError(s.t, err)
	return len(ents)
}

// rest sends an authenticated REST request and decodes the JSON answer.
func (s *server) rest(method, path string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, nil)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// waitJobs waits until no job of the service is queued or running.
func (s *server) waitJobs(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, out := s.rest(http.MethodGet, "/api/v1/jobs")
		busy := 0
		jobs, _ := out["jobs"].([]any)
		for _, j := range jobs {
			if m, _ := j.(map[string]any); m["finished"] == nil {
				busy++
			}
		}
		if busy == 0 {
			return
		}
		require.True(s.t, time.Now().Before(deadline), "%d jobs still running after %s:\n%s", busy, timeout, s.logs.String())
		time.Sleep(200 * time.Millisecond)
	}
}

// settle waits for the count f reads to come down to at most limit and
// returns the last value read; goroutines of finished requests and jobs end
// asynchronously, a leaked one never does.
func settle(f func() int, limit int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := f()
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestActionsLeaveNoGoroutinesBehind runs ten bundle actions through the
// service — install, upgrade, a custom action, uninstall, a failed install
// and its uninstall — and checks that the idle service is back to the
// goroutines and file descriptors it had before. cnab-go's docker driver
// left one spinning goroutine per action.
func TestActionsLeaveNoGoroutinesBehind(t *testing.T) {
	s := startServer(t)
	// Warm up what the first requests start once (the pools of the HTTP
	// server and the Docker client), then take the baseline.
	s.get("/getAllAppInfo", nil)
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(time.Second)
	baseG, baseFD := s.goroutines(), s.openFiles()

	actions := 0
	for round := range 2 {
		e := s.postJSON("/installApp", map[string]string{"appName": "hello"})
		require.Equal(t, "1", e.Code, e.raw)
		require.Equal(t, "1", s.waitStatus("hello", 2*time.Minute).Data["status"], "round %d", round)
		code, body := s.rest(http.MethodPost, "/api/v1/installations/hello/actions/restart")
		require.Equal(t, http.StatusAccepted, code, body)
		s.waitJobs(2 * time.Minute)
		code, body = s.rest(http.MethodPost, "/api/v1/installations/hello/upgrade")
		require.Less(t, code, 300, body)
		s.waitJobs(2 * time.Minute)
		e = s.postJSON("/uninstallApp", map[string]string{"appName": "hello"})
		require.Equal(t, "1", e.Code, e.raw)

		e = s.postJSON("/installApp", map[string]string{"appName": "hello-broken"})
		require.Equal(t, "1", e.Code, e.raw)
		require.Equal(t, "2", s.waitStatus("hello-broken", 2*time.Minute).Data["status"])
		code, body = s.rest(http.MethodDelete, "/api/v1/installations/hello-broken?"+url.Values{"purge": {"true"}}.Encode())
		require.Less(t, code, 300, body)
		s.waitJobs(2 * time.Minute)
		actions += 5
	}
	require.Equal(t, 10, actions)

	http.DefaultClient.CloseIdleConnections()
	// A few goroutines of slack: the HTTP server's idle workers and the
	// Docker client's keep-alive connection come and go. A leak is one
	// (or more) per action: 10 here.
	g := settle(s.goroutines, baseG+4, 30*time.Second)
	fd := settle(s.openFiles, baseFD+4, 30*time.Second)
	t.Logf("goroutines: %d before, %d after 10 actions; open files: %d before, %d after", baseG, g, baseFD, fd)
	assert.LessOrEqual(t, g, baseG+4, "goroutines grew with the actions run")
	assert.LessOrEqual(t, fd, baseFD+4, "open files grew with the actions run")
	assert.NotContains(t, strings.ToLower(s.logs.String()), "panic")
}
