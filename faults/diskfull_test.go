//go:build integration

package faults_test

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mountTmpfs mounts a tmpfs of size bytes at a new folder (root only).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "mount a tmpfs (the disk-full test runs as root): %s", out)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes to dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC, "fill")
			return path
		}
	}
}

// TestStoreDiskFull runs the store on a 2 MB tmpfs and fills it: writes
// fail with a clear error and no crash, reads still answer, and once space
// is back the store is intact and installs work.
func TestStoreDiskFull(t *testing.T) {
	data := mountTmpfs(t, "2m")
	s := newServer(t, serverOptions{data: data, ports: "23401-23499"})

	filler := fill(t, data)
	for i := range 3 {
		e, err := s.request("POST", "/installApp", jsonBody(map[string]string{"appName": "hello-db"}), "application/json")
		require.NoError(t, err, "attempt %d", i)
		assert.Equal(t, "0", e.Code, e.raw)
		assert.NotEmpty(t, e.Message, e.raw)
		assert.Contains(t, e.raw, "full", "the message names the cause: %s", e.raw)
		require.True(t, s.running(), "serve survived a full disk")
	}
	e := s.get("/getAllAppInfo", nil)
	assert.Equal(t, "1", e.Code, "reads still work on a full disk: %s", e.raw)
	e = s.get("/getAppInfo", url.Values{"appName": {"hello-db"}})
	assert.Equal(t, 404, e.status, "the refused install left no record: %s", e.raw)
	assert.Empty(t, leftovers(t, s.prefix+"-hello-db"), "the refused install created nothing")

	// Space back: the store is intact, the refused install left no lease
	// behind, and it works now.
	require.NoError(t, os.Remove(filler))
	st := openStore(t, data)
	assert.Empty(t, leasesOf(t, st, "hello-db"))
	_, err := st.ListInstallations(t.Context(), "")
	require.NoError(t, err)
	out, err := exec.Command("sh", "-c", fmt.Sprintf("command -v sqlite3 >/dev/null && sqlite3 %q 'PRAGMA integrity_check' || echo ok", filepath.Join(data, "stackhub.db"))).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "ok")

	e = s.postJSON("/installApp", map[string]string{"appName": "hello-db"})
	require.Equal(t, "1", e.Code, e.raw)
	e = s.waitStatus("hello-db", 3*time.Minute)
	require.Equal(t, "1", e.Data["status"], e.raw)
	e = s.postJSON("/uninstallAllApp", map[string]string{})
	require.Equal(t, "1", e.Code, e.raw)
	assert.Empty(t, leftovers(t, s.prefix+"-hello-db"))

	// A restart on the once-full store works.
	s.stop()
	s.start()
	s.waitHealthy(30 * time.Second)
	e = s.get("/getAllAppInfo", nil)
	assert.Equal(t, "1", e.Code, e.raw)
}
