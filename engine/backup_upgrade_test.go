package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/enginetest"
)

// TestUpgradeRestoreOnFailure: upgrade --restore-on-failure backs the app
// up first; when the upgrade fails and the bundle rolled the containers
// back, the backup's data is put back and the app started again; when
// the containers were not rolled back the data is left and the reason
// says how to restore it.
func TestUpgradeRestoreOnFailure(t *testing.T) {
	tests := []struct {
		name        string
		upgradeErr  error
		backupErr   error
		wantJob     string
		wantData    string
		wantVersion string
		wantReason  []string
		wantUpgrade bool
	}{
		{name: "upgrade ok", wantJob: engine.JobSucceeded, wantData: "migrated", wantVersion: "0.2.0", wantUpgrade: true},
		{name: "failed and rolled back", upgradeErr: fmt.Errorf("upgrade action failed: %w: migration crashed", engine.ErrUpgradeUndone),
			wantJob: engine.JobFailed, wantData: "before", wantVersion: "0.1.0", wantUpgrade: true,
			wantReason: []string{"migration crashed", "its data was restored from backup 5ab1c0de taken before the upgrade and it was started again"}},
		{name: "failed, not rolled back", upgradeErr: errors.New("upgrade action failed: compose up: port taken"),
			wantJob: engine.JobFailed, wantData: "migrated", wantVersion: "0.1.0", wantUpgrade: true,
			wantReason: []string{"port taken", "its data was not restored from backup 5ab1c0de", "stackhub backup restore hello 5ab1c0de --yes"}},
		{name: "backup fails", backupErr: errors.New("target full"), wantJob: engine.JobFailed, wantData: "before", wantVersion: "0.1.0",
			wantReason: []string{"the backup before it failed: ", "target full"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version := "0.1.0"
			data := filepath.Join(t.TempDir(), "stackhub-hello_data", "_data")
			require.NoError(t, os.MkdirAll(data, 0o755))
			file := filepath.Join(data, "v")
			require.NoError(t, os.WriteFile(file, []byte("before"), 0o644))
			var mu sync.Mutex
			var upgraded bool
			f := newBackupFixtureWith(t, func(_ *engine.Config, d *engine.Deps) {
				d.Catalog = &enginetest.CatalogFunc{OpenFunc: func(context.Context, string) (fs.FS, error) {
					return fstest.MapFS{
						"porter.yaml":        {Data: []byte(strings.Replace(lifecycleManifest, "%s", version, 1))},
						"docker-compose.yml": {Data: []byte("services: {}\n")},
					}, nil
				}}
				next := d.Runtime
				d.Runtime = &enginetest.BundleRuntimeFunc{RunFunc: func(ctx context.Context, op *engine.Operation) (*engine.OperationResult, error) {
					if op.Action == "upgrade" {
						mu.Lock()
						upgraded = true
						mu.Unlock()
						// The new version migrates the data, then fails
						// (or not).
						if err := os.WriteFile(file, []byte("migrated"), 0o644); err != nil {
							return nil, err
						}
						if tt.upgradeErr != nil {
							return &engine.OperationResult{}, tt.upgradeErr
						}
					}
					return next.Run(ctx, op)
				}}
			})
			f.vol.ProjectMountsFunc = func(context.Context, string) ([]engine.DataMount, error) {
				return []engine.DataMount{{Key: "data", Name: "stackhub-hello_data", Path: data}}, nil
			}
			// The fake repository keeps one snapshot: the record and the
			// data file's content.
			var record, saved []byte
			var snaps []engine.Backup
			f.backups.BackupFunc = func(_ context.Context, req engine.BackupRequest) (*engine.Backup, error) {
				if tt.backupErr != nil {
					return nil, tt.backupErr
				}
				b, err := os.ReadFile(file)
				if err != nil {
					return nil, err
				}
				record, saved = req.Files[engine.RecordFile], b
				snaps = append(snaps, engine.Backup{ID: "5ab1c0de", Installation: "hello", Tags: req.Tags})
				return &snaps[0], nil
			}
			f.backups.ListFunc = func(context.Context, string) ([]engine.Backup, error) { return snaps, nil }
			f.backups.ReadFileFunc = func(context.Context, string, string) ([]byte, error) { return record, nil }
			f.backups.RestoreFunc = func(_ context.Context, id, path, target string) error {
				if id != "5ab1c0de" || path != data {
					return fmt.Errorf("unexpected restore of %s %s", id, path)
				}
				dir := filepath.Join(target, path)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				return os.WriteFile(filepath.Join(dir, "v"), saved, 0o644)
			}

			version = "0.2.0"
			inst, err := f.Upgrade(t.Context(), engine.UpgradeOptions{Name: "hello", RestoreOnFailure: true})
			require.NoError(t, err)
			job, _ := waitJob(t, f.Engine, inst.JobID)
			assert.Equal(t, tt.wantJob, job.Status, job.Message)
			got, err := f.store.GetInstallation(t.Context(), "", "hello")
			require.NoError(t, err)
			assert.Equal(t, tt.wantVersion, got.BundleVersion)
			for _, want := range tt.wantReason {
				assert.Contains(t, got.Reason, want)
				assert.Contains(t, job.Message, want)
			}
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, tt.wantData, string(b))
			mu.Lock()
			assert.Equal(t, tt.wantUpgrade, upgraded, "the upgrade action ran")
			mu.Unlock()
			stopped, started := f.calls()
			assert.Len(t, started, len(stopped), "every stop was followed by a start")
			if tt.name == "failed and rolled back" {
				assert.Equal(t, engine.StatusRunning, got.Status)
				assert.Len(t, stopped, 2, "stopped for the backup and for the restore")
				left, _ := filepath.Glob(filepath.Join(filepath.Dir(data), ".restore-*"))
				assert.Empty(t, left, "staging folders are removed")
			}
		})
	}
}
