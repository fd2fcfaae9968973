package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// The methods below keep accounts for the service (its Users interface).
// They take and return only hashes: hashing and verification happen in the
// service, so no secret ever reaches this package.

// CreateUser adds a user with an argon2id password hash; ErrConflict if the
// username is taken.
func (s *Store) CreateUser(ctx context.Context, username, passwordHash string) error {
	now := fmtTime(time.Now())
	_, err := s.exec(ctx, `INSERT INTO users (username, password_hash, created, modified) VALUES (?, ?, ?, ?)`,
		username, passwordHash, now, now)
	if isUnique(err) {
		return fmt.Errorf("create user %q: %w", username, engine.NewUserError(engine.ErrConflict,
			fmt.Sprintf("user %q already exists", username), "choose another username"))
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", username, err)
	}
	return nil
}

// PasswordHash returns the user's password hash; ErrNotFound if there is no
// such user.
func (s *Store) PasswordHash(ctx context.Context, username string) (string, error) {
	var hash string
	err := s.r.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE username = ?`, username).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("get user %q: %w", username, notFound("user", username))
	}
	if err != nil {
		return "", fmt.Errorf("get user %q: %w", username, err)
	}
	return hash, nil
}

// SetPasswordHash replaces the user's password hash and ends every session
// of that user; ErrNotFound if there is no such user.
func (s *Store) SetPasswordHash(ctx context.Context, username, passwordHash string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, modified = ? WHERE username = ?`,
			passwordHash, fmtTime(time.Now()), username)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound("user", username)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)`,
			username)
		return err
	})
	if err != nil {
		return fmt.Errorf("set password of %q: %w", username, err)
	}
	return nil
}

// CreateSession stores a session by the hash of its id, with the hash of its
// CSRF token; ErrNotFound if the user does not exist. Expired sessions are
// swept on the way.
func (s *Store) CreateSession(ctx context.Context, idHash, username, csrfHash string, expires time.Time) error {
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires <= ?`, fmtTime(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_hash, created, expires)
			SELECT ?, id, ?, ?, ? FROM users WHERE username = ?`,
			idHash, csrfHash, fmtTime(now), fmtTime(expires), username)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound("user", username)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create session for %q: %w", username, err)
	}
	return nil
}

// SessionUser returns the user and CSRF token hash of a live session;
// ErrNotFound if the session does not exist or expired before now.
func (s *Store) SessionUser(ctx context.Context, idHash string, now time.Time) (username, csrfHash string, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT u.username, s.csrf_hash FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = ? AND s.expires > ?`, idHash, fmtTime(now)).Scan(&username, &csrfHash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("get session: %w", notFound("session", "(hidden)"))
	}
	if err != nil {
		return "", "", fmt.Errorf("get session: %w", err)
	}
	return username, csrfHash, nil
}

// DeleteSession ends a session; ending an unknown session is not an error.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// CreateToken stores an API token of the user by its hash; ErrNotFound if
// the user does not exist, ErrConflict if the hash is already stored.
func (s *Store) CreateToken(ctx context.Context, tokenHash, username, name string) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, user_id, name, created)
		SELECT ?, id, ?, ? FROM users WHERE username = ?`, tokenHash, name, fmtTime(time.Now()), username)
	if isUnique(err) {
		return fmt.Errorf("create token %q: %w", name, engine.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create token %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create token %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("create token %q: %w", name, notFound("user", username))
	}
	return nil
}

// TokenUser returns the user owning the API token with this hash;
// ErrNotFound if there is none.
func (s *Store) TokenUser(ctx context.Context, tokenHash string) (string, error) {
	var username string
	err := s.r.QueryRowContext(ctx, `SELECT u.username FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ?`, tokenHash).Scan(&username)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("get token: %w", notFound("token", "(hidden)"))
	}
	if err != nil {
		return "", fmt.Errorf("get token: %w", err)
	}
	return username, nil
}
