//go:build integration

package engine_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/cnab"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/restic"
	"github.com/stackhub/stackhub/engine/sqlite"
)

// brokenRestore is a backup engine whose restores fail.
type brokenRestore struct{ engine.BackupEngine }

func (brokenRestore) Restore(context.Context, string, string, string) error {
	return errors.New("snapshot data unreadable")
}

func TestBackupVerifyAndServerImportOnRealDocker(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dk, err := docker.New()
	require.NoError(t, err)
	require.NoError(t, dk.Ping(t.Context()), "these tests need a running Docker Engine")
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "stackhub.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	prefix := "shvf" + hex.EncodeToString(b)
	local, err := restic.New(restic.Options{Dir: filepath.Join(t.TempDir(), "backups")}, log)
	require.NoError(t, err)
	backups := &switchBackups{be: local}
	eng, err := engine.New(engine.Config{Prefix: prefix, PortMin: 35001, PortMax: 35999, RuntimeBinary: stackhubBinary(t), WaitTimeout: time.Minute},
		engine.Deps{Store: store, Docker: dk, Runtime: cnab.NewRuntime(dk.SocketPath()), Converter: cnab.Converter{},
			Catalog: engine.NewDirCatalog(os.DirFS("../testdata/bundles")), Ports: engine.BindProber{}, Logger: log, Backups: backups})
	require.NoError(t, err)
	require.NoError(t, eng.Start(t.Context()))
	var scratches []string
	t.Cleanup(func() {
		eng.Close()
		for _, name := range append([]string{"hello-db"}, scratches...) {
			_ = dk.RemoveProject(context.WithoutCancel(t.Context()), prefix+"-"+name, true)
		}
	})
	e := &realEngine{Engine: eng, store: store, prefix: prefix}
	ctx := t.Context()

	_, err = e.Install(ctx, engine.InstallOptions{App: "hello-db"})
	require.NoError(t, err)
	inst := e.wait(t, "hello-db")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	password := outputOf(t, e, "hello-db", "db_password")
	require.Equal(t, "OK", backupDB(t, inst.Ports["db_port"], password, "PUT greeting kept"))
	res, err := e.BackupNow(ctx, "hello-db")
	require.NoError(t, err)

	gone := func(scratch string) {
		t.Helper()
		cs, err := dk.ProjectContainers(ctx, prefix+"-"+scratch)
		require.NoError(t, err)
		assert.Empty(t, cs, "the scratch installation's containers are removed")
		mounts, err := dk.ProjectMounts(ctx, prefix+"-"+scratch)
		require.NoError(t, err)
		assert.Empty(t, mounts, "the scratch installation's volumes are removed")
		_, err = store.GetInstallation(ctx, "", scratch)
		require.ErrorIs(t, err, engine.ErrNotFound, "the scratch installation's record is removed")
		leases, err := store.ListPortLeases(ctx)
		require.NoError(t, err)
		for _, l := range leases {
			assert.NotEqual(t, scratch, l.Installation, "the scratch installation's ports are released")
		}
	}

	// A good backup verifies; the outcome shows on the backup.
	start := time.Now()
	v, err := e.VerifyBackup(ctx, "hello-db", res.Backup.ID[:8])
	require.NoError(t, err)
	scratches = append(scratches, v.Scratch)
	t.Logf("verified in %.1f s (scratch %s)", time.Since(start).Seconds(), v.Scratch)
	assert.True(t, v.OK, v.Reason)
	assert.True(t, strings.HasPrefix(v.Scratch, "verify-"+res.Backup.ID[:8]+"-"), v.Scratch)
	gone(v.Scratch)
	list, err := e.Backups(ctx, "hello-db")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NotNil(t, list[0].Verified)
	assert.True(t, list[0].Verified.OK)
	assert.WithinDuration(t, time.Now(), list[0].Verified.Verified, time.Minute)
	runningAll(t, dk, prefix+"-hello-db")
	assert.Equal(t, "VALUE kept", backupDB(t, inst.Ports["db_port"], password, "GET greeting"), "the original is untouched")

	// A backup that does not restore: the reason is recorded and the
	// scratch installation is removed all the same.
	backups.set(brokenRestore{local})
	v, err = e.VerifyBackup(ctx, "hello-db", "latest")
	backups.set(local)
	require.NoError(t, err)
	scratches = append(scratches, v.Scratch)
	assert.False(t, v.OK)
	assert.Contains(t, v.Reason, "snapshot data unreadable")
	gone(v.Scratch)
	list, err = e.Backups(ctx, "hello-db")
	require.NoError(t, err)
	require.NotNil(t, list[0].Verified)
	assert.False(t, list[0].Verified.OK)
	assert.Contains(t, list[0].Verified.Reason, "snapshot data unreadable")
	runningAll(t, dk, prefix+"-hello-db")

	// Export this server and import it into a fresh one (new database,
	// same repository, the key copied over): hello-db comes back with its
	// data and its secret.
	doc, err := e.ExportServer(ctx)
	require.NoError(t, err)
	require.Len(t, doc.Installations, 1, "scratch installations are not exported")
	assert.Equal(t, res.Backup.ID, doc.Installations[0].Backup)
	assert.Equal(t, local.Target(), doc.Repository)
	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), password, "the export holds no secret")

	store2, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "stackhub.db"), log)
	require.NoError(t, err)
	t.Cleanup(func() { store2.Close() })
	dir2 := t.TempDir()
	key, err := os.ReadFile(local.KeyPath())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir2, filepath.Base(local.KeyPath())), key, 0o600))
	moved, err := restic.New(restic.Options{Dir: dir2, Repository: local.Target()}, log)
	require.NoError(t, err)
	prefix2 := prefix + "n"
	eng2, err := engine.New(engine.Config{Prefix: prefix2, PortMin: 35001, PortMax: 35999, RuntimeBinary: stackhubBinary(t), WaitTimeout: time.Minute},
		engine.Deps{Store: store2, Docker: dk, Runtime: cnab.NewRuntime(dk.SocketPath()), Converter: cnab.Converter{},
			Catalog: engine.NewDirCatalog(os.DirFS("../testdata/bundles")), Ports: engine.BindProber{}, Logger: log, Backups: moved})
	require.NoError(t, err)
	require.NoError(t, eng2.Start(ctx))
	t.Cleanup(func() {
		eng2.Close()
		_ = dk.RemoveProject(context.WithoutCancel(t.Context()), prefix2+"-hello-db", true)
	})
	e2 := &realEngine{Engine: eng2, store: store2, prefix: prefix2}
	start = time.Now()
	outcomes, err := e2.ImportServer(ctx, doc)
	require.NoError(t, err)
	require.Len(t, outcomes, 1)
	require.NotNil(t, outcomes[0].Job, outcomes[0].Skipped)
	job := e2.waitJob(t, outcomes[0].Job.ID)
	require.Equal(t, engine.JobSucceeded, job.Status, job.Message)
	t.Logf("imported in %.1f s", time.Since(start).Seconds())
	imported, err := e2.Get(ctx, "hello-db")
	require.NoError(t, err)
	require.Equal(t, engine.StatusRunning, imported.Status, imported.Reason)
	assert.Equal(t, password, outputOf(t, e2, "hello-db", "db_password"), "the generated secret came along")
	assert.Equal(t, "VALUE kept", backupDB(t, imported.Ports["db_port"], password, "GET greeting"))

	// Imported again: skipped, it exists.
	outcomes, err = e2.ImportServer(ctx, doc)
	require.NoError(t, err)
	assert.Equal(t, "already installed here", outcomes[0].Skipped)
}
