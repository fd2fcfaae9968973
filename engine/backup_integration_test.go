//go:build integration

package engine_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/cnab"
	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/restic"
	"github.com/stackhub/stackhub/engine/sqlite"
)

// switchBackups lets a test point the engine at another backup target.
type switchBackups struct {
	mu sync.Mutex
	be engine.BackupEngine
}

func (s *switchBackups) get() engine.BackupEngine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.be
}

func (s *switchBackups) set(be engine.BackupEngine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.be = be
}

func (s *switchBackups) Backup(ctx context.Context, req engine.BackupRequest) (*engine.Backup, error) {
	return s.get().Backup(ctx, req)
}

func (s *switchBackups) List(ctx context.Context, installation string) ([]engine.Backup, error) {
	return s.get().List(ctx, installation)
}

func (s *switchBackups) ReadFile(ctx context.Context, id, name string) ([]byte, error) {
	return s.get().ReadFile(ctx, id, name)
}

func (s *switchBackups) Restore(ctx context.Context, id, path, target string) error {
	return s.get().Restore(ctx, id, path, target)
}
func (s *switchBackups) Delete(ctx context.Context, id string) error { return s.get().Delete(ctx, id) }

func (s *switchBackups) Forget(ctx context.Context, installation string, keep engine.KeepPolicy) ([]string, error) {
	return s.get().Forget(ctx, installation, keep)
}
func (s *switchBackups) Target() string { return s.get().Target() }

// backupDB talks to hello-db's database: AUTH, then one command.
func backupDB(t *testing.T, port int, password, cmd string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	fmt.Fprintf(conn, "AUTH %s\n", password)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "OK", strings.TrimSpace(line))
	fmt.Fprintln(conn, cmd)
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(line)
}

func TestBackupRestoreCloneOnRealDocker(t *testing.T) {
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
	prefix := "shbk" + hex.EncodeToString(b)
	dir := t.TempDir()
	local, err := restic.New(restic.Options{Dir: filepath.Join(dir, "backups")}, log)
	require.NoError(t, err)
	st, err := os.Stat(local.KeyPath())
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm(), "the repository key is private")
	backups := &switchBackups{be: local}
	eng, err := engine.New(engine.Config{Prefix: prefix, PortMin: 31001, PortMax: 31999, RuntimeBinary: stackhubBinary(t), WaitTimeout: time.Minute},
		engine.Deps{Store: store, Docker: dk, Runtime: cnab.NewRuntime(dk.SocketPath()), Converter: cnab.Converter{},
			Catalog: engine.NewDirCatalog(os.DirFS("../testdata/bundles")), Ports: engine.BindProber{}, Logger: log, Backups: backups})
	require.NoError(t, err)
	require.NoError(t, eng.Start(t.Context()))
	t.Cleanup(func() {
		eng.Close()
		for _, name := range []string{"hello-db", "db-copy"} {
			_ = dk.RemoveProject(context.WithoutCancel(t.Context()), prefix+"-"+name, true)
		}
	})
	e := &realEngine{Engine: eng, store: store, prefix: prefix}
	ctx := t.Context()

	_, err = e.Install(ctx, engine.InstallOptions{App: "hello-db"})
	require.NoError(t, err)
	inst := e.wait(t, "hello-db")
	require.Equal(t, engine.StatusRunning, inst.Status, inst.Reason)
	dbPort := inst.Ports["db_port"]
	password := outputOf(t, e, "hello-db", "db_password")
	require.Equal(t, "OK", backupDB(t, dbPort, password, "PUT greeting first"))

	mounts, err := dk.ProjectMounts(ctx, prefix+"-hello-db")
	require.NoError(t, err)
	require.Len(t, mounts, 1, "the data volume, not the mixin's state volume")
	assert.Equal(t, "data", mounts[0].Key)
	// Bulk for the incremental comparison: 4 MiB of random bytes.
	bulk := make([]byte, 4<<20)
	_, _ = rand.Read(bulk)
	require.NoError(t, os.WriteFile(filepath.Join(mounts[0].Path, "bulk"), bulk, 0o644))
	// A bind-mounted host folder of the project (a third container in its
	// compose project, a database keeping its own data elsewhere): backed
	// up and restored with the volume.
	bind := filepath.Join(t.TempDir(), "bind")
	require.NoError(t, os.MkdirAll(bind, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bind, "note"), []byte("first"), 0o644))
	out, err := exec.CommandContext(ctx, "docker", "run", "-d", "--label", contract.LabelProject+"="+prefix+"-hello-db",
		"-e", "DB_PORT=5433", "-e", "DB_PASSWORD=side", "-e", "DATA_DIR=/tmp", "-v", bind+":/bind", "stackhub-test/db:1").CombinedOutput()
	require.NoError(t, err, "%s", out)
	all, err := dk.ProjectMounts(ctx, prefix+"-hello-db")
	require.NoError(t, err)
	require.Len(t, all, 2, "the data volume and the bind-mounted folder")

	first, err := e.BackupNow(ctx, "hello-db")
	require.NoError(t, err)
	require.NotEmpty(t, first.Notes)
	assert.Contains(t, first.Notes[0], "stopped 3 container(s) of hello-db for the copy and started them again")
	assert.Greater(t, first.Backup.Added, int64(4<<20)*9/10)
	t.Logf("first backup: %d bytes, %d added to the repository", first.Backup.Size, first.Backup.Added)
	runningAll(t, dk, prefix+"-hello-db")

	require.Equal(t, "OK", backupDB(t, dbPort, password, "PUT greeting second"))
	second, err := e.BackupNow(ctx, "hello-db")
	require.NoError(t, err)
	t.Logf("second backup: %d bytes, %d added to the repository", second.Backup.Size, second.Backup.Added)
	assert.Less(t, second.Backup.Added*20, first.Backup.Added, "the second backup adds only what changed")

	list, err := e.Backups(ctx, "hello-db")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, second.Backup.ID, list[0].ID, "newest first")
	_, rec, err := e.GetBackup(ctx, "hello-db", first.Backup.ID[:8])
	require.NoError(t, err)
	assert.Equal(t, "hello-db", rec.App)
	assert.Equal(t, password, rec.Outputs["db_password"], "the record keeps the generated secret")

	// Restore in place: the old value is back and the app answers.
	require.Equal(t, "OK", backupDB(t, dbPort, password, "PUT greeting third"))
	require.NoError(t, os.WriteFile(filepath.Join(bind, "note"), []byte("third"), 0o644))
	require.NoError(t, e.Restore(ctx, engine.RestoreOptions{Name: "hello-db", ID: first.Backup.ID}))
	assert.Equal(t, "VALUE first", backupDB(t, dbPort, password, "GET greeting"))
	got, err := os.ReadFile(filepath.Join(mounts[0].Path, "bulk"))
	require.NoError(t, err)
	assert.Equal(t, bulk, got)
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(mounts[0].Path), ".restore-*"))
	assert.Empty(t, leftovers, "staging folders are removed")
	note, err := os.ReadFile(filepath.Join(bind, "note"))
	require.NoError(t, err)
	assert.Equal(t, "first", string(note), "the bind-mounted folder is restored too")
	leftovers, _ = filepath.Glob(bind + ".restore-*")
	assert.Empty(t, leftovers, "staging folders of the bind mount are removed")

	// Clone: a new installation with its own ports and the backup's data.
	require.NoError(t, e.Restore(ctx, engine.RestoreOptions{Name: "hello-db", ID: second.Backup.ID, As: "db-copy"}))
	clone, err := e.Get(ctx, "db-copy")
	require.NoError(t, err)
	require.Equal(t, engine.StatusRunning, clone.Status, clone.Reason)
	assert.NotEqual(t, dbPort, clone.Ports["db_port"])
	assert.Equal(t, "VALUE second", backupDB(t, clone.Ports["db_port"], password, "GET greeting"))
	assert.Equal(t, "VALUE first", backupDB(t, dbPort, password, "GET greeting"), "the original is untouched")

	// Without the key the repository cannot be read, and it holds no
	// plain text of the data.
	other, err := restic.New(restic.Options{Dir: filepath.Join(dir, "other"), Repository: local.Target()}, log)
	require.NoError(t, err)
	_, err = other.List(ctx, "hello-db")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wrong password")
	assert.Contains(t, engine.HintOf(err), "another key")
	require.NoError(t, filepath.WalkDir(local.Target(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), "greeting", p)
		assert.NotContains(t, string(raw), password, p)
		return nil
	}))

	// An unreachable target fails with the reason and the app runs on.
	unreachable, err := restic.New(restic.Options{Dir: filepath.Join(dir, "unreachable"), Repository: "rest:http://127.0.0.1:1/repo"}, log)
	require.NoError(t, err)
	backups.set(unreachable)
	_, err = e.BackupNow(ctx, "hello-db")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")
	assert.NotEmpty(t, engine.HintOf(err))
	runningAll(t, dk, prefix+"-hello-db")
	assert.Equal(t, "VALUE first", backupDB(t, dbPort, password, "GET greeting"))
	backups.set(local)

	require.NoError(t, e.DeleteBackup(ctx, "hello-db", first.Backup.ID))
	list, err = e.Backups(ctx, "hello-db")
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func outputOf(t *testing.T, e *realEngine, inst, name string) string {
	t.Helper()
	outs, err := e.store.ListOutputs(t.Context(), "", inst)
	require.NoError(t, err)
	for _, o := range outs {
		if o.Name == name {
			return string(o.Value)
		}
	}
	t.Fatalf("%s has no output %s", inst, name)
	return ""
}

func runningAll(t *testing.T, dk *docker.Client, project string) {
	t.Helper()
	cs, err := dk.ProjectContainers(t.Context(), project)
	require.NoError(t, err)
	require.NotEmpty(t, cs)
	for _, c := range cs {
		assert.Equal(t, "running", c.State, c.Name)
	}
}
