package sqlite_test

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/enginetest"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/service"
)

// The service declares the accounts interface it needs; the store is its
// implementation.
var _ service.Users = (*sqlite.Store)(nil)

func newTestStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "stackhub.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return s
}

func TestStoreContract(t *testing.T) {
	enginetest.StoreContract(t, func(t *testing.T) engine.Store { return newTestStore(t) })
}

func TestOpenTwiceKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stackhub.db")
	s, err := sqlite.Open(t.Context(), path, nil)
	require.NoError(t, err)
	require.NoError(t, s.CreateInstallation(t.Context(), &engine.Installation{Name: "redmine", Status: engine.StatusRunning}))
	require.NoError(t, s.Close())

	s, err = sqlite.Open(t.Context(), path, nil)
	require.NoError(t, err, "migrations already applied are skipped")
	t.Cleanup(func() { _ = s.Close() })
	got, err := s.GetInstallation(t.Context(), "", "redmine")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusRunning, got.Status)
	assert.NotEmpty(t, got.ID, "an empty ID is filled")
	assert.False(t, got.Created.IsZero(), "a zero Created is filled")
}

func TestOpenBadPath(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"empty", ""},
		{"query", filepath.Join(t.TempDir(), "x.db?mode=memory")},
		{"missing dir", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlite.Open(t.Context(), tt.path, nil)
			require.Error(t, err)
		})
	}
}

// TestConcurrentWrites mixes the writes of many concurrent installs; none may
// fail with SQLITE_BUSY.
func TestConcurrentWrites(t *testing.T) {
	s := newTestStore(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("app-%02d", i)
			run := &engine.Run{Installation: name, Action: "install"}
			steps := []func() error{
				func() error { return s.CreateInstallation(ctx, &engine.Installation{Name: name}) },
				func() error { return s.InsertRun(ctx, run) },
				func() error { return s.CreateJob(ctx, &engine.Job{Installation: name, Status: engine.JobQueued}) },
				func() error { return s.InsertResult(ctx, &engine.Result{RunID: run.ID, Status: engine.ResultRunning}) },
				func() error {
					return s.InsertOutput(ctx, &engine.Output{Name: "url", Installation: name, RunID: run.ID, Value: []byte("u")})
				},
				func() error { _, err := s.ListInstallations(ctx, ""); return err },
				func() error { return s.DeleteInstallation(ctx, "", name) },
			}
			for _, step := range steps {
				if err := step(); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestInsertResultUnknownRun(t *testing.T) {
	s := newTestStore(t)
	t.Cleanup(func() { _ = s.Close() })
	err := s.InsertResult(t.Context(), &engine.Result{RunID: "nope", Status: engine.ResultFailed})
	require.ErrorIs(t, err, engine.ErrNotFound)
	err = s.InsertOutput(t.Context(), &engine.Output{Name: "x", RunID: "nope"})
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func TestUsersSessionsTokens(t *testing.T) {
	s := newTestStore(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()

	_, err := s.PasswordHash(ctx, "admin")
	require.ErrorIs(t, err, engine.ErrNotFound)

	require.NoError(t, s.CreateUser(ctx, "admin", "$argon2id$hash1"))
	require.ErrorIs(t, s.CreateUser(ctx, "admin", "$argon2id$other"), engine.ErrConflict)
	hash, err := s.PasswordHash(ctx, "admin")
	require.NoError(t, err)
	assert.Equal(t, "$argon2id$hash1", hash)

	now := time.Now()
	require.NoError(t, s.CreateSession(ctx, "sess-1", "admin", "csrf-1", now.Add(time.Hour)))
	require.NoError(t, s.CreateSession(ctx, "sess-old", "admin", "csrf-2", now.Add(time.Minute)))
	require.ErrorIs(t, s.CreateSession(ctx, "sess-x", "nobody", "c", now.Add(time.Hour)), engine.ErrNotFound)

	tests := []struct {
		name     string
		id       string
		at       time.Time
		wantUser string
		wantCSRF string
		wantErr  error
	}{
		{"live", "sess-1", now, "admin", "csrf-1", nil},
		{"expired", "sess-old", now.Add(2 * time.Minute), "", "", engine.ErrNotFound},
		{"unknown", "sess-404", now, "", "", engine.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, csrf, err := s.SessionUser(ctx, tt.id, tt.at)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantUser, user)
			assert.Equal(t, tt.wantCSRF, csrf)
		})
	}

	require.NoError(t, s.DeleteSession(ctx, "sess-1"))
	_, _, err = s.SessionUser(ctx, "sess-1", now)
	require.ErrorIs(t, err, engine.ErrNotFound)

	require.NoError(t, s.CreateSession(ctx, "sess-2", "admin", "csrf", now.Add(time.Hour)))
	require.NoError(t, s.SetPasswordHash(ctx, "admin", "$argon2id$hash2"))
	_, _, err = s.SessionUser(ctx, "sess-2", now)
	require.ErrorIs(t, err, engine.ErrNotFound, "changing the password ends sessions")
	require.ErrorIs(t, s.SetPasswordHash(ctx, "nobody", "h"), engine.ErrNotFound)

	require.NoError(t, s.CreateToken(ctx, "tok-hash", "admin", "ci"))
	require.ErrorIs(t, s.CreateToken(ctx, "tok-hash", "admin", "ci"), engine.ErrConflict)
	require.ErrorIs(t, s.CreateToken(ctx, "tok-2", "nobody", "ci"), engine.ErrNotFound)
	user, err := s.TokenUser(ctx, "tok-hash")
	require.NoError(t, err)
	assert.Equal(t, "admin", user)
	_, err = s.TokenUser(ctx, "tok-404")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

// The installation cache must never hide a commit: not our own writes, and
// not those of another process on the same file (a second stackhub), nor
// may callers' edits of what it returns reach it.
func TestInstallationCacheSeesEveryCommit(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "stackhub.db")
	a, err := sqlite.Open(ctx, path, nil)
	require.NoError(t, err)
	defer a.Close()
	b, err := sqlite.Open(ctx, path, nil)
	require.NoError(t, err)
	defer b.Close()

	require.NoError(t, a.CreateInstallation(ctx, &engine.Installation{Name: "redmine", Status: engine.StatusInstalling,
		Ports: map[string]int{"port": 9001}}))
	got, err := a.GetInstallation(ctx, "", "redmine")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusInstalling, got.Status)
	got.Ports["port"] = 1 // a caller's edit must not reach the cache
	got.Status = engine.StatusFailed
	list, err := b.ListInstallations(ctx, "")
	require.NoError(t, err)
	require.Len(t, list, 1)

	// Written through the other store: a's cache must notice.
	got.Status, got.Ports = engine.StatusRunning, map[string]int{"port": 9002}
	require.NoError(t, b.UpdateInstallation(ctx, got))
	again, err := a.GetInstallation(ctx, "", "redmine")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusRunning, again.Status)
	assert.Equal(t, map[string]int{"port": 9002}, again.Ports)

	require.NoError(t, b.CreateInstallation(ctx, &engine.Installation{Name: "wordpress", Status: engine.StatusRunning}))
	list, err = a.ListInstallations(ctx, "")
	require.NoError(t, err)
	require.Len(t, list, 2)
	list[0].Ports = map[string]int{"port": 7} // replacing a list copy's map stays local (edits in place are not allowed)
	list[0].Status = engine.StatusFailed
	list, err = a.ListInstallations(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, 9002, list[0].Ports["port"])
	assert.Equal(t, engine.StatusRunning, list[0].Status)

	// Served from a's cache (just listed), then changed by b.
	hit, err := a.GetInstallation(ctx, "", "wordpress")
	require.NoError(t, err)
	hit.Reason = "edited"
	hit.Status = engine.StatusFailed
	require.NoError(t, b.UpdateInstallation(ctx, hit))
	hit, err = a.GetInstallation(ctx, "", "wordpress")
	require.NoError(t, err)
	assert.Equal(t, engine.StatusFailed, hit.Status)

	require.NoError(t, a.DeleteInstallation(ctx, "", "wordpress"))
	list, err = b.ListInstallations(ctx, "")
	require.NoError(t, err)
	assert.Len(t, list, 1)
	_, err = b.GetInstallation(ctx, "", "wordpress")
	require.ErrorIs(t, err, engine.ErrNotFound)
}
