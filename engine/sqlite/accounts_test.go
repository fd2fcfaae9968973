package sqlite_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/accounts"
	"github.com/stackhub/stackhub/engine/sqlite"
)

func TestAccounts(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	require.NoError(t, s.CreateUser(ctx, "admin", "h1"))
	require.NoError(t, s.CreateUserWithRole(ctx, "eve", "h2", "viewer"))
	require.ErrorIs(t, s.CreateUserWithRole(ctx, "eve", "h3", "admin"), engine.ErrConflict)

	role, err := s.UserRole(ctx, "eve")
	require.NoError(t, err)
	assert.Equal(t, "viewer", role)
	_, err = s.UserRole(ctx, "nobody")
	require.ErrorIs(t, err, engine.ErrNotFound)

	require.NoError(t, s.SetRole(ctx, "eve", "operator"))
	require.ErrorIs(t, s.SetRole(ctx, "nobody", "operator"), engine.ErrNotFound)
	users, err := s.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, users, 2)
	assert.Equal(t, "admin", users[0].Role, "the first user (0002's default) is an admin")
	assert.Equal(t, "operator", users[1].Role)

	// Deleting a user ends its tokens.
	require.NoError(t, s.CreateToken(ctx, "tokhash", "eve", "ci"))
	require.NoError(t, s.DeleteUser(ctx, "eve"))
	_, err = s.TokenUser(ctx, "tokhash")
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteUser(ctx, "eve"), engine.ErrNotFound)

	_, err = s.Setting(ctx, "registration")
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.NoError(t, s.SetSetting(ctx, "registration", "open"))
	require.NoError(t, s.SetSetting(ctx, "registration", "closed"))
	v, err := s.Setting(ctx, "registration")
	require.NoError(t, err)
	assert.Equal(t, "closed", v)

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, a := range []string{"install", "stop", "uninstall"} {
		require.NoError(t, s.AppendAudit(ctx, &accounts.AuditEntry{User: "admin", Action: a, Target: "hello", IP: "127.0.0.1", Time: now}))
	}
	log, err := s.ListAudit(ctx, 2)
	require.NoError(t, err)
	require.Len(t, log, 2)
	assert.Equal(t, "uninstall", log[0].Action, "newest first")
	assert.Equal(t, accounts.AuditEntry{ID: 2, User: "admin", Action: "stop", Target: "hello", IP: "127.0.0.1", Time: now}, *log[1])
}

func TestAuditLogIsBounded(t *testing.T) {
	defer sqlite.SetAuditBounds(10, 5)()
	s := newTestStore(t)
	ctx := t.Context()
	for i := range 42 {
		require.NoError(t, s.AppendAudit(ctx, &accounts.AuditEntry{User: "admin", Action: "install", Target: fmt.Sprint(i), Time: time.Now()}))
	}
	all, err := s.ListAudit(ctx, 0)
	require.NoError(t, err)
	// Trimmed at entry 40 to the newest 10, then two more.
	require.Len(t, all, 12)
	assert.Equal(t, "41", all[0].Target, "newest first")
	assert.Equal(t, "30", all[len(all)-1].Target, "the oldest kept")
}
