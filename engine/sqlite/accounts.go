package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/accounts"
)

// Roles, the audit log and settings, for the service's Accounts and
// Auditor interfaces.

// CreateUserWithRole adds a user with a role; ErrConflict if the username
// is taken.
func (s *Store) CreateUserWithRole(ctx context.Context, username, passwordHash, role string) error {
	now := fmtTime(time.Now())
	_, err := s.exec(ctx, `INSERT INTO users (username, password_hash, role, created, modified) VALUES (?, ?, ?, ?, ?)`,
		username, passwordHash, role, now, now)
	if isUnique(err) {
		return fmt.Errorf("create user %q: %w", username, engine.NewUserError(engine.ErrConflict,
			fmt.Sprintf("user %q already exists", username), "choose another username"))
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", username, err)
	}
	return nil
}

// UserRole returns the user's role; ErrNotFound if there is no such user.
func (s *Store) UserRole(ctx context.Context, username string) (string, error) {
	var role string
	err := s.r.QueryRowContext(ctx, `SELECT role FROM users WHERE username = ?`, username).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("get user %q: %w", username, notFound("user", username))
	}
	if err != nil {
		return "", fmt.Errorf("get user %q: %w", username, err)
	}
	return role, nil
}

// ListUsers returns every user, sorted by name.
func (s *Store) ListUsers(ctx context.Context) ([]accounts.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT username, role, created FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []accounts.User
	for rows.Next() {
		var (
			a accounts.User
			t string
		)
		if err := rows.Scan(&a.Username, &a.Role, &t); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		if a.Created, err = parseTime(t); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// SetRole changes the user's role; ErrNotFound if there is no such user.
func (s *Store) SetRole(ctx context.Context, username, role string) error {
	n, err := s.exec(ctx, `UPDATE users SET role = ?, modified = ? WHERE username = ?`, role, fmtTime(time.Now()), username)
	if err != nil {
		return fmt.Errorf("set role of %q: %w", username, err)
	}
	if n == 0 {
		return fmt.Errorf("set role of %q: %w", username, notFound("user", username))
	}
	return nil
}

// DeleteUser removes the user with its sessions and tokens; ErrNotFound if
// there is no such user.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	n, err := s.exec(ctx, `DELETE FROM users WHERE username = ?`, username)
	if err != nil {
		return fmt.Errorf("delete user %q: %w", username, err)
	}
	if n == 0 {
		return fmt.Errorf("delete user %q: %w", username, notFound("user", username))
	}
	return nil
}

// AppendAudit records one audit entry and fills its ID.
func (s *Store) AppendAudit(ctx context.Context, e *accounts.AuditEntry) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO audit_log (time, username, action, target, job_id, ip) VALUES (?, ?, ?, ?, ?, ?)`,
		fmtTime(e.Time), e.User, e.Action, e.Target, e.Job, e.IP)
	if err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	e.ID, _ = res.LastInsertId()
	// Keep the newest auditKeep entries: trimmed once per auditTrimEvery
	// entries, so that the log is bounded without a delete per request.
	if e.ID > 0 && e.ID%auditTrimEvery == 0 {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM audit_log WHERE id <= ?`, e.ID-auditKeep); err != nil {
			return fmt.Errorf("trim audit log: %w", err)
		}
	}
	return nil
}

// The audit log's bound: about 15 MB of entries (variables for tests).
var (
	auditKeep      int64 = 100_000
	auditTrimEvery int64 = 1_000
)

// ListAudit returns the newest entries first, at most limit (0: all).
func (s *Store) ListAudit(ctx context.Context, limit int) ([]*accounts.AuditEntry, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, time, username, action, target, job_id, ip FROM audit_log
		ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	var out []*accounts.AuditEntry
	for rows.Next() {
		var (
			e accounts.AuditEntry
			t string
		)
		if err := rows.Scan(&e.ID, &t, &e.User, &e.Action, &e.Target, &e.Job, &e.IP); err != nil {
			return nil, fmt.Errorf("list audit log: %w", err)
		}
		if e.Time, err = parseTime(t); err != nil {
			return nil, fmt.Errorf("list audit log: %w", err)
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return out, nil
}

// Setting returns a setting's value; ErrNotFound if it was never set.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("get setting %q: %w", key, notFound("setting", key))
	}
	if err != nil {
		return "", fmt.Errorf("get setting %q: %w", key, err)
	}
	return v, nil
}

// SetSetting stores a setting's value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO settings (key, value, modified) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, modified = excluded.modified`, key, value, fmtTime(time.Now()))
	if err != nil {
		return fmt.Errorf("set setting %q: %w", key, err)
	}
	return nil
}
