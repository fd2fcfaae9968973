package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/enginetest"
)

// backupFixture is an installed hello over fake Docker with two running
// containers, and a fake backup engine; it records stops and starts.
type backupFixture struct {
	*testEngine
	backups *enginetest.BackupEngineFunc
	vol     *enginetest.VolumeDockerFunc

	mu      sync.Mutex
	stopped [][]string
	started [][]string
}

func newBackupFixture(t *testing.T) *backupFixture {
	t.Helper()
	return newBackupFixtureWith(t, nil)
}

// newBackupFixtureWith is newBackupFixture with tweak changing the config
// and adapters.
func newBackupFixtureWith(t *testing.T, tweak func(*engine.Config, *engine.Deps)) *backupFixture {
	t.Helper()
	f := &backupFixture{backups: &enginetest.BackupEngineFunc{}}
	f.testEngine = newTestEngineWith(t, func(c *engine.Config, d *engine.Deps) {
		if tweak != nil {
			tweak(c, d)
		}
		f.vol = &enginetest.VolumeDockerFunc{Docker: d.Docker,
			StopContainersFunc: func(_ context.Context, ids []string) error {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.stopped = append(f.stopped, ids)
				return nil
			},
			StartContainersFunc: func(_ context.Context, ids []string) error {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.started = append(f.started, ids)
				return nil
			},
		}
		d.Docker = f.vol
		d.Backups = f.backups
	}, nil)
	_, err := f.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	waitStatus(t, f.testEngine, "hello", engine.StatusRunning)
	f.docker.ProjectContainersFunc = func(context.Context, string) ([]engine.ContainerState, error) {
		return []engine.ContainerState{{ID: "a", Name: "stackhub-hello", State: "running"}, {ID: "b", Name: "stackhub-hello-db", State: "running"}}, nil
	}
	return f
}

func (f *backupFixture) calls() (stopped, started [][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped, f.started
}

func TestBackupNowAlwaysStartsTheAppAgain(t *testing.T) {
	made := &engine.Backup{ID: "abc123", Installation: "hello", Created: time.Now()}
	tests := []struct {
		name        string
		list        error
		backup      error
		start       error
		wantErr     string
		wantHint    string
		wantStopped int
	}{
		{name: "ok", wantStopped: 1},
		{name: "target unreachable", list: errors.New("dial tcp 127.0.0.1:1: connection refused"),
			wantErr: "connection refused (the app was not stopped)"},
		{name: "copy fails", backup: errors.New("disk full"), wantErr: "disk full (its containers were started again)", wantStopped: 1},
		{name: "start fails", start: errors.New("port taken"), wantErr: "could not be started again: port taken",
			wantHint: "stackhub start hello", wantStopped: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBackupFixture(t)
			f.backups.ListFunc = func(context.Context, string) ([]engine.Backup, error) { return nil, tt.list }
			f.backups.BackupFunc = func(_ context.Context, req engine.BackupRequest) (*engine.Backup, error) {
				var rec engine.BackupRecord
				if err := json.Unmarshal(req.Files[engine.RecordFile], &rec); err != nil || rec.App != "hello" {
					return nil, errors.New("bad record")
				}
				if req.Tags[engine.TagQuiesce] != "stop" {
					return nil, errors.New("bad tags")
				}
				return made, tt.backup
			}
			if tt.start != nil {
				f.vol.StartContainersFunc = func(context.Context, []string) error { return tt.start }
			}
			res, err := f.BackupNow(t.Context(), "hello")
			stopped, started := f.calls()
			require.Len(t, stopped, tt.wantStopped)
			if tt.wantStopped > 0 {
				assert.Equal(t, []string{"a", "b"}, stopped[0])
				if tt.start == nil {
					assert.Equal(t, stopped, started, "every stopped container is started again")
				}
			}
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				if tt.wantHint != "" {
					assert.Contains(t, engine.HintOf(err), tt.wantHint)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "abc123", res.Backup.ID)
			assert.Equal(t, []string{"stopped 2 container(s) of hello for the copy and started them again"}, res.Notes)
		})
	}
}

func TestRestoreLeavesDataAloneWhenStagingFails(t *testing.T) {
	for _, fail := range []bool{true, false} {
		t.Run(map[bool]string{true: "staging fails", false: "ok"}[fail], func(t *testing.T) {
			f := newBackupFixture(t)
			vol := filepath.Join(t.TempDir(), "stackhub-hello_data")
			data := filepath.Join(vol, "_data")
			require.NoError(t, os.MkdirAll(data, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(data, "v"), []byte("now"), 0o644))
			f.vol.ProjectMountsFunc = func(context.Context, string) ([]engine.DataMount, error) {
				return []engine.DataMount{{Key: "data", Name: "stackhub-hello_data", Path: data}}, nil
			}
			rec, _ := json.Marshal(engine.BackupRecord{App: "hello", Installation: "hello",
				Mounts: []engine.DataMount{{Key: "data", Path: "/old/host/_data"}}})
			f.backups.ListFunc = func(context.Context, string) ([]engine.Backup, error) {
				return []engine.Backup{{ID: "ab12", Installation: "hello"}}, nil
			}
			f.backups.ReadFileFunc = func(context.Context, string, string) ([]byte, error) { return rec, nil }
			f.backups.RestoreFunc = func(_ context.Context, _, path, target string) error {
				if fail {
					return errors.New("repository unreachable")
				}
				dir := filepath.Join(target, path)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				return os.WriteFile(filepath.Join(dir, "v"), []byte("then"), 0o644)
			}
			err := f.Restore(t.Context(), engine.RestoreOptions{Name: "hello"})
			stopped, started := f.calls()
			got, rerr := os.ReadFile(filepath.Join(data, "v"))
			require.NoError(t, rerr)
			left, _ := filepath.Glob(filepath.Join(vol, ".restore-*"))
			assert.Empty(t, left, "staging folders are removed")
			if fail {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "its data was not changed")
				assert.Empty(t, stopped, "the app was not stopped")
				assert.Equal(t, "now", string(got))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "then", string(got))
			assert.Equal(t, [][]string{{"a", "b"}}, stopped)
			assert.Equal(t, stopped, started)
		})
	}
}

// TestBackupBeforeUpgrade: the upgrade backs the app up first; a failed
// backup stops it; --no-backup skips the backup and an app that keeps no
// data is not backed up, both with a step saying so.
func TestBackupBeforeUpgrade(t *testing.T) {
	for _, tt := range []struct {
		name     string
		fail     bool
		noBackup bool
		noData   bool
		backups  int
		step     string
	}{
		{name: "ok", backups: 1, step: "backup before1 taken before the upgrade"},
		{name: "backup fails", fail: true, backups: 1},
		{name: "no backup", noBackup: true, step: "no backup before the upgrade: it was not wanted (--no-backup)"},
		{name: "no data", noData: true, step: "no backup before the upgrade: hello keeps no data (no volumes or bind mounts)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			version := "0.1.0"
			f := newBackupFixtureWith(t, func(c *engine.Config, d *engine.Deps) {
				c.BackupBeforeUpgrade = true
				d.Catalog = &enginetest.CatalogFunc{OpenFunc: func(context.Context, string) (fs.FS, error) {
					return fstest.MapFS{
						"porter.yaml":        {Data: []byte(strings.Replace(lifecycleManifest, "%s", version, 1))},
						"docker-compose.yml": {Data: []byte("services: {}\n")},
					}, nil
				}}
			})
			if !tt.noData {
				f.vol.ProjectMountsFunc = func(context.Context, string) ([]engine.DataMount, error) {
					return []engine.DataMount{{Key: "data", Name: "stackhub-hello_data", Path: t.TempDir()}}, nil
				}
			}
			f.backups.ListFunc = func(context.Context, string) ([]engine.Backup, error) { return nil, nil }
			var backups int
			f.backups.BackupFunc = func(context.Context, engine.BackupRequest) (*engine.Backup, error) {
				backups++
				if tt.fail {
					return nil, errors.New("target full")
				}
				return &engine.Backup{ID: "before1"}, nil
			}
			version = "0.2.0"
			inst, err := f.Upgrade(t.Context(), engine.UpgradeOptions{Name: "hello", NoBackup: tt.noBackup})
			require.NoError(t, err)
			job, events := waitJob(t, f.Engine, inst.JobID)
			assert.Equal(t, tt.backups, backups)
			got, err := f.store.GetInstallation(t.Context(), "", "hello")
			require.NoError(t, err)
			if tt.fail {
				assert.Equal(t, engine.JobFailed, job.Status)
				assert.Equal(t, engine.StatusRunning, got.Status, "the upgrade did not start")
				assert.Equal(t, "0.1.0", got.BundleVersion)
				assert.Contains(t, got.Reason, "the backup before it failed")
				return
			}
			assert.Equal(t, engine.JobSucceeded, job.Status, job.Message)
			assert.Equal(t, "0.2.0", got.BundleVersion)
			var steps []string
			for _, ev := range events {
				steps = append(steps, ev.Step)
			}
			assert.Contains(t, steps, tt.step)
		})
	}
	_, err := (&engine.Engine{}).Upgrade(t.Context(), engine.UpgradeOptions{Name: "hello", NoBackup: true, RestoreOnFailure: true})
	require.ErrorIs(t, err, engine.ErrInvalid)
}

// TestRecoverInterruptedRestore starts an engine over what a restore
// killed half way through its swap left: the first volume swapped, the
// second not, the app stopped. Recovery puts the old data back in both
// and starts the containers the job had stopped.
func TestRecoverInterruptedRestore(t *testing.T) {
	for _, committed := range []bool{false, true} {
		t.Run(map[bool]string{false: "swap not committed", true: "swap committed"}[committed], func(t *testing.T) {
			f := newBackupFixture(t)
			root := t.TempDir()
			var mounts []engine.DataMount
			for _, v := range []string{"one", "two"} {
				data := filepath.Join(root, v, "_data")
				require.NoError(t, os.MkdirAll(data, 0o755))
				mounts = append(mounts, engine.DataMount{Key: v, Name: "stackhub-hello_" + v, Path: data})
			}
			write := func(p, v string) {
				require.NoError(t, os.MkdirAll(p, 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(p, "v"), []byte(v), 0o644))
			}
			write(mounts[0].Path, "new")
			if committed {
				// Both swapped; one's old data already renamed to trash
				// (the commit), two's not yet.
				write(filepath.Join(root, "one", ".restore-ab12.trash"), "old")
				write(filepath.Join(root, "two", ".restore-ab12.old"), "old")
				write(mounts[1].Path, "new")
			} else {
				// one swapped (its old data aside), two's restored data
				// still staged.
				write(filepath.Join(root, "one", ".restore-ab12.old"), "old")
				write(mounts[1].Path, "old")
				write(filepath.Join(root, "two", ".restore-ab12", "x"), "new")
			}
			f.vol.ProjectMountsFunc = func(context.Context, string) ([]engine.DataMount, error) { return mounts, nil }
			job := &engine.Job{ID: "01JOBRESTORE", Installation: "hello", Action: "restore", Status: engine.JobRunning, Created: time.Now().UTC()}
			require.NoError(t, f.store.CreateJob(t.Context(), job))
			require.NoError(t, f.store.AppendJobEvent(t.Context(), &engine.JobEvent{Job: job.ID, Seq: 1, Type: engine.JobEventStep, Step: "stopped containers: a,b", Time: time.Now()}))

			require.NoError(t, f.Start(t.Context()))
			want := "old"
			if committed {
				want = "new"
			}
			for _, m := range mounts {
				got, err := os.ReadFile(filepath.Join(m.Path, "v"))
				require.NoError(t, err)
				assert.Equal(t, want, string(got), m.Key)
				left, _ := filepath.Glob(filepath.Join(filepath.Dir(m.Path), ".restore-*"))
				assert.Empty(t, left)
			}
			_, started := f.calls()
			assert.Equal(t, [][]string{{"a", "b"}}, started, "the containers the job stopped are started again")
			got, err := f.Job(t.Context(), job.ID)
			require.NoError(t, err)
			assert.Equal(t, engine.JobFailed, got.Status)
		})
	}
}

// TestBackupRunsTheBundlesBackupAction: a bundle that declares a backup
// action has it run, and its app is not stopped.
func TestBackupRunsTheBundlesBackupAction(t *testing.T) {
	m := strings.Replace(lifecycleManifest, "%s", "0.1.0", 1) +
		"backup:\n  - stackhub: {compose: docker-compose.yml}\n"
	m = strings.Replace(m, "customActions:\n", "customActions:\n  backup: {description: \"Dump the database\"}\n", 1)
	var actions []string
	var mu sync.Mutex
	f := newBackupFixtureWith(t, func(_ *engine.Config, d *engine.Deps) {
		d.Catalog = &enginetest.CatalogFunc{OpenFunc: func(context.Context, string) (fs.FS, error) {
			return fstest.MapFS{
				"porter.yaml":        {Data: []byte(m)},
				"docker-compose.yml": {Data: []byte("services: {}\n")},
			}, nil
		}}
		next := d.Runtime
		d.Runtime = &enginetest.BundleRuntimeFunc{RunFunc: func(ctx context.Context, op *engine.Operation) (*engine.OperationResult, error) {
			mu.Lock()
			actions = append(actions, op.Action)
			mu.Unlock()
			return next.Run(ctx, op)
		}}
	})
	f.backups.BackupFunc = func(_ context.Context, req engine.BackupRequest) (*engine.Backup, error) {
		return &engine.Backup{ID: "dump1", Tags: req.Tags}, nil
	}
	res, err := f.BackupNow(t.Context(), "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.BackupAction, res.Backup.Tags[engine.TagQuiesce])
	assert.Equal(t, []string{"ran the bundle's backup action; the app kept running"}, res.Notes)
	stopped, _ := f.calls()
	assert.Empty(t, stopped, "the app was not stopped")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"install", engine.BackupAction}, actions)
}

// TestScheduledBackups: an installation whose newest backup is older than
// the last slot of its schedule (a run missed while StackHub was down) is
// backed up at start, then pruned by the keep policy; a failing run is a
// failed job with the reason, recorded with the schedule. An installation's
// own schedule wins over the server's default; one that is off runs none.
func TestScheduledBackups(t *testing.T) {
	t.Cleanup(engine.SetScheduleTick(20 * time.Millisecond))
	for _, tt := range []struct {
		name   string
		own    *engine.BackupScheduleSpec
		fail   bool
		source string
		kept   []engine.KeepPolicy
	}{
		{name: "missed run", source: engine.ScheduleServer, kept: []engine.KeepPolicy{{Last: 2}}},
		{name: "failing run", fail: true, source: engine.ScheduleServer},
		{name: "own schedule", own: &engine.BackupScheduleSpec{Cron: "30 4 * * *", Keep: engine.KeepPolicy{Daily: 7, Monthly: 3}},
			source: engine.ScheduleOwn, kept: []engine.KeepPolicy{{Daily: 7, Monthly: 3}}},
		{name: "own schedule without pruning", own: &engine.BackupScheduleSpec{Cron: "@daily"}, source: engine.ScheduleOwn},
		{name: "off", own: &engine.BackupScheduleSpec{Off: true}, source: engine.ScheduleOff},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newBackupFixtureWith(t, func(c *engine.Config, _ *engine.Deps) {
				c.BackupSchedule = "0 3 * * *"
				c.BackupKeep = engine.KeepPolicy{Last: 2}
			})
			old := engine.Backup{ID: "old1", Installation: "hello", Created: time.Now().Add(-49 * time.Hour)}
			var mu sync.Mutex
			var backups int
			var kept []engine.KeepPolicy
			f.backups.ListFunc = func(context.Context, string) ([]engine.Backup, error) { return []engine.Backup{old}, nil }
			f.backups.BackupFunc = func(context.Context, engine.BackupRequest) (*engine.Backup, error) {
				mu.Lock()
				defer mu.Unlock()
				backups++
				if tt.fail {
					return nil, errors.New("target full")
				}
				return &engine.Backup{ID: "new1"}, nil
			}
			f.backups.ForgetFunc = func(_ context.Context, _ string, keep engine.KeepPolicy) ([]string, error) {
				mu.Lock()
				defer mu.Unlock()
				kept = append(kept, keep)
				return nil, nil
			}
			if tt.own != nil {
				_, err := f.SetBackupSchedule(t.Context(), "hello", *tt.own)
				require.NoError(t, err)
			}
			require.NoError(t, f.Start(t.Context()))
			if tt.own != nil && tt.own.Off {
				time.Sleep(150 * time.Millisecond) // several ticks
				s, err := f.BackupScheduleOf(t.Context(), "hello")
				require.NoError(t, err)
				assert.Equal(t, engine.ScheduleOff, s.Source)
				assert.Nil(t, s.Next)
				mu.Lock()
				defer mu.Unlock()
				assert.Zero(t, backups)
				return
			}
			var job *engine.Job
			require.Eventually(t, func() bool {
				jobs, err := f.store.ListJobs(t.Context(), engine.JobSucceeded, engine.JobFailed)
				require.NoError(t, err)
				for _, j := range jobs {
					if j.Action == "backup" {
						job = j
						return true
					}
				}
				return false
			}, 10*time.Second, 20*time.Millisecond)
			time.Sleep(100 * time.Millisecond) // several more ticks: no second run before the next slot
			s, err := f.BackupScheduleOf(t.Context(), "hello")
			require.NoError(t, err)
			assert.Equal(t, tt.source, s.Source)
			assert.Equal(t, "0 3 * * *", s.Server)
			assert.Equal(t, job.ID, s.LastJob)
			require.NotNil(t, s.Next)
			assert.True(t, s.Next.After(time.Now()), "next run %v is to come", s.Next)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, 1, backups)
			assert.Equal(t, tt.kept, kept)
			if tt.fail {
				assert.Equal(t, engine.JobFailed, job.Status)
				assert.Contains(t, job.Message, "target full")
				assert.Equal(t, engine.ScheduleRunFailed, s.LastResult)
				assert.Contains(t, s.LastReason, "target full")
				return
			}
			assert.Equal(t, engine.JobSucceeded, job.Status, job.Message)
			assert.Equal(t, engine.ScheduleRunOK, s.LastResult)
			assert.Empty(t, s.LastReason)
		})
	}
}

// TestBackupScheduleSettings: an installation's own schedule is checked,
// set, shown and dropped (it then follows the server's default).
func TestBackupScheduleSettings(t *testing.T) {
	f := newBackupFixtureWith(t, func(c *engine.Config, _ *engine.Deps) { c.BackupSchedule = "0 3 * * *" })
	f.backups.ListFunc = func(context.Context, string) ([]engine.Backup, error) { return nil, nil }
	for _, bad := range []engine.BackupScheduleSpec{
		{},
		{Cron: "every day"},
		{Cron: "0 3 * * *", Keep: engine.KeepPolicy{Last: -1}},
		{Off: true, Cron: "0 3 * * *"},
	} {
		_, err := f.SetBackupSchedule(t.Context(), "hello", bad)
		require.ErrorIs(t, err, engine.ErrInvalid, "%+v", bad)
		assert.NotEmpty(t, engine.HintOf(err))
	}
	_, err := f.SetBackupSchedule(t.Context(), "nope", engine.BackupScheduleSpec{Cron: "@daily"})
	require.ErrorIs(t, err, engine.ErrNotFound)

	s, err := f.BackupScheduleOf(t.Context(), "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.ScheduleServer, s.Source)
	assert.Equal(t, "0 3 * * *", s.Cron)

	s, err = f.SetBackupSchedule(t.Context(), "hello", engine.BackupScheduleSpec{Cron: " 15 2 * * 0 ", Keep: engine.KeepPolicy{Last: 7, Weekly: 4}})
	require.NoError(t, err)
	assert.Equal(t, engine.ScheduleOwn, s.Source)
	assert.Equal(t, "15 2 * * 0", s.Cron)
	assert.Equal(t, engine.KeepPolicy{Last: 7, Weekly: 4}, s.Keep)
	require.NotNil(t, s.Next)
	assert.Equal(t, time.Sunday, s.Next.Weekday())

	s, err = f.ClearBackupSchedule(t.Context(), "hello")
	require.NoError(t, err)
	assert.Equal(t, engine.ScheduleServer, s.Source)
	assert.Equal(t, "0 3 * * *", s.Cron)
}

// TestDeletingBackupsDropsTheirVerifications: deleting a backup, or
// pruning it, drops the record of its verification; others keep theirs.
func TestDeletingBackupsDropsTheirVerifications(t *testing.T) {
	f := newBackupFixture(t)
	now := time.Now().UTC()
	var list []engine.Backup
	for _, id := range []string{"aaaa1111", "bbbb2222", "cccc3333"} {
		list = append(list, engine.Backup{ID: id, Installation: "hello", Created: now})
		doc := []byte(`{"backup":"` + id + `","ok":true,"verified":"` + now.Format(time.RFC3339) + `"}`)
		require.NoError(t, f.store.PutSet(t.Context(), &engine.SetRecord{Kind: "BackupVerification", Name: id, Doc: doc}))
	}
	f.backups.ListFunc = func(context.Context, string) ([]engine.Backup, error) { return list, nil }
	f.backups.ReadFileFunc = func(context.Context, string, string) ([]byte, error) { return []byte(`{"installation":"hello"}`), nil }
	f.backups.DeleteFunc = func(context.Context, string) error { return nil }
	f.backups.ForgetFunc = func(context.Context, string, engine.KeepPolicy) ([]string, error) { return []string{"bbbb2222"}, nil }

	require.NoError(t, f.DeleteBackup(t.Context(), "hello", "aaaa1111"))
	_, err := f.PruneBackups(t.Context(), "hello", engine.KeepPolicy{Last: 1})
	require.NoError(t, err)

	got, err := f.Backups(t.Context(), "hello")
	require.NoError(t, err)
	verified := map[string]bool{}
	for _, b := range got {
		verified[b.ID] = b.Verified != nil
	}
	assert.Equal(t, map[string]bool{"aaaa1111": false, "bbbb2222": false, "cccc3333": true}, verified)
	sets, err := f.store.ListSets(t.Context(), "BackupVerification", "")
	require.NoError(t, err)
	require.Len(t, sets, 1)
	assert.Equal(t, "cccc3333", sets[0].Name)
}
