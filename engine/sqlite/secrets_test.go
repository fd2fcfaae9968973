package sqlite_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/sqlite"
)

// TestSecretsAtRest checks that parameter values and sensitive outputs
// never reach the database files in clear, read back intact, and cannot be
// read with another key.
func TestSecretsAtRest(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "stackhub.db")
	s, err := sqlite.Open(ctx, path, nil)
	require.NoError(t, err)

	require.NoError(t, s.CreateInstallation(ctx, &engine.Installation{Name: "blog", Status: engine.StatusRunning,
		Parameters: map[string]string{"admin_password": "param-hunter2"}}))
	run := &engine.Run{Installation: "blog", Action: "install", Parameters: map[string]any{"admin_password": "run-hunter2"}}
	require.NoError(t, s.InsertRun(ctx, run))
	require.NoError(t, s.InsertOutput(ctx, &engine.Output{Name: "password", Installation: "blog", RunID: run.ID, Sensitive: true, Value: []byte("out-hunter2")}))
	require.NoError(t, s.InsertOutput(ctx, &engine.Output{Name: "port", Installation: "blog", RunID: run.ID, Value: []byte("8080")}))

	inst, err := s.GetInstallation(ctx, "", "blog")
	require.NoError(t, err)
	assert.Equal(t, "param-hunter2", inst.Parameters["admin_password"])
	got, err := s.GetRun(ctx, run.ID)
	require.NoError(t, err)
	assert.Equal(t, "run-hunter2", got.Parameters["admin_password"])
	outs, err := s.ListOutputs(ctx, "", "blog")
	require.NoError(t, err)
	require.Len(t, outs, 2)
	assert.Equal(t, "out-hunter2", string(outs[0].Value))
	assert.Equal(t, "8080", string(outs[1].Value))
	require.NoError(t, s.Close())

	var raw []byte
	for _, f := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(f)
		if err == nil {
			raw = append(raw, data...)
		}
	}
	require.NotEmpty(t, raw)
	assert.False(t, bytes.Contains(raw, []byte("hunter2")), "a secret is in the database files in clear")
	info, err := os.Stat(filepath.Join(dir, sqlite.KeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// Another key cannot read them, and says which file to restore.
	require.NoError(t, os.WriteFile(filepath.Join(dir, sqlite.KeyFile), bytes.Repeat([]byte("ab"), 32), 0o600))
	s, err = sqlite.Open(ctx, path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.GetRun(ctx, run.ID)
	require.ErrorContains(t, err, "secrets.key")

	require.NoError(t, os.WriteFile(filepath.Join(dir, sqlite.KeyFile), []byte("short"), 0o600))
	_, err = sqlite.Open(ctx, path, nil)
	assert.ErrorContains(t, err, "is not a 64-digit hex key")
}
