//go:build integration

package faults_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

// restJob posts to a REST route that answers a job and returns its id.
func (s *server) restJob(path string) string {
	s.t.Helper()
	e := s.do(http.MethodPost, path, nil, "")
	require.Equal(s.t, http.StatusAccepted, e.status, e.raw)
	var j struct {
		ID string `json:"id"`
	}
	require.NoError(s.t, json.Unmarshal([]byte(e.raw), &j))
	return j.ID
}

// waitStep waits until the job's current step starts with prefix.
func (s *server) waitStep(jobID, prefix string) {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		e := s.get("/api/v1/jobs/"+jobID, nil)
		var j struct {
			Status, Step string
		}
		require.NoError(s.t, json.Unmarshal([]byte(e.raw), &j))
		if strings.HasPrefix(j.Step, prefix) {
			return
		}
		require.NotEqual(s.t, "succeeded", j.Status, "the job ended before step %q", prefix)
		require.NotEqual(s.t, "failed", j.Status, "the job failed before step %q: %s", prefix, e.raw)
		require.True(s.t, time.Now().Before(deadline), "no step %q: %s", prefix, e.raw)
		time.Sleep(20 * time.Millisecond)
	}
}

// waitJobEnd waits for a job's end and returns its status.
func (s *server) waitJobEnd(jobID string) string {
	s.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		e := s.get("/api/v1/jobs/"+jobID, nil)
		var j struct{ Status, Message string }
		require.NoError(s.t, json.Unmarshal([]byte(e.raw), &j))
		if j.Status == engine.JobSucceeded || j.Status == engine.JobFailed {
			return j.Status
		}
		require.True(s.t, time.Now().Before(deadline), "job %s did not end: %s", jobID, e.raw)
		time.Sleep(100 * time.Millisecond)
	}
}

func sumOf(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// projectRunning lists the states of the project's containers.
func projectStates(t *testing.T, project string) []string {
	t.Helper()
	return dockerLines(t, "ps", "-a", "--format", "{{.State}}", "--filter", "label=com.docker.compose.project="+project)
}

// TestKillDuringBackupAndRestore kills `stackhub serve` (-9) while a backup
// copies the stopped app, and again while a restore works: after each
// restart the app runs, its data is whole (the old data after the killed
// restore, never a mix), no staging folder is left, and the repository
// checks clean and takes the next backup.
func TestKillDuringBackupAndRestore(t *testing.T) {
	s := newServer(t, serverOptions{ports: "31300-31399", prefix: "shbkflt" + randomHex(2)})
	project := s.prefix + "-hello-db"
	e := s.postJSON("/installApp", map[string]string{"appName": "hello-db"})
	require.Equal(t, "1", e.Code, e.raw)
	e = s.waitStatus("hello-db", 3*time.Minute)
	require.Equal(t, "1", e.Data["status"], e.raw)
	mount := strings.TrimSpace(strings.Join(dockerLines(t, "volume", "inspect", "--format", "{{.Mountpoint}}", project+"_data"), ""))
	bulk := filepath.Join(mount, "bulk")
	writeBulk := func() [32]byte {
		b := make([]byte, 96<<20)
		_, _ = rand.Read(b)
		require.NoError(t, os.WriteFile(bulk, b, 0o644))
		return sha256.Sum256(b)
	}
	first := writeBulk()

	// kill -9 while the app is stopped for the copy
	job := s.restJob("/api/v1/installations/hello-db/backups")
	s.waitStep(job, "copy ")
	time.Sleep(300 * time.Millisecond)
	s.kill()
	s.start()
	s.waitHealthy(30 * time.Second)
	assert.Equal(t, engine.JobFailed, s.waitJobEnd(job))
	for _, st := range projectStates(t, project) {
		assert.Equal(t, "running", st, "the containers the killed backup stopped run again")
	}
	restic := func(args ...string) (string, error) {
		// The killed restic's lock stays until the kernel has reaped its
		// process; `unlock` then removes it, as StackHub does.
		deadline := time.Now().Add(30 * time.Second)
		for {
			cmd := exec.Command("restic", args...)
			cmd.Env = append(os.Environ(), "RESTIC_REPOSITORY="+filepath.Join(s.data, "backups", "repository"),
				"RESTIC_PASSWORD_FILE="+filepath.Join(s.data, "backups", "backup.key"))
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "already locked") || time.Now().After(deadline) {
				return string(out), err
			}
			unlock := exec.Command("restic", "unlock")
			unlock.Env = cmd.Env
			_ = unlock.Run()
			time.Sleep(time.Second)
		}
	}
	e = s.get("/api/v1/installations/hello-db/backups", nil)
	require.Equal(t, http.StatusOK, e.status, e.raw)
	out, err := restic("check")
	require.NoError(t, err, "the repository is consistent after the kill: %s", out)

	job = s.restJob("/api/v1/installations/hello-db/backups")
	require.Equal(t, engine.JobSucceeded, s.waitJobEnd(job), "a backup after the crash works")

	// kill -9 during a restore: the data is the old or the new, whole.
	second := writeBulk()
	require.NotEqual(t, first, second)
	job = s.restJob("/api/v1/installations/hello-db/backups/latest/restore")
	s.waitStep(job, "restore backup ")
	time.Sleep(500 * time.Millisecond)
	s.kill()
	s.start()
	s.waitHealthy(30 * time.Second)
	assert.Equal(t, engine.JobFailed, s.waitJobEnd(job))
	got := sumOf(t, bulk)
	assert.True(t, bytes.Equal(got[:], second[:]) || bytes.Equal(got[:], first[:]), "the volume holds one whole version of the data")
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(mount), ".restore-*"))
	assert.Empty(t, left, "no staging folder is left")
	for _, st := range projectStates(t, project) {
		assert.Equal(t, "running", st)
	}
	e = s.get("/getAppInfo", url.Values{"appName": {"hello-db"}})
	assert.Equal(t, "1", e.Data["status"], e.raw)
	// StackHub's first use of the repository removes the lock the killed
	// restic left; then it checks clean.
	e = s.get("/api/v1/installations/hello-db/backups", nil)
	require.Equal(t, http.StatusOK, e.status, e.raw)
	out, err = restic("check")
	require.NoError(t, err, "the repository is consistent after the kill: %s", out)
	t.Logf("after the killed restore the volume holds the %s data", map[bool]string{true: "previous", false: "restored"}[got == second])
}
