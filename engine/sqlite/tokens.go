package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/stackhub/stackhub/engine/accounts"
)

// tokenIDLen is how many hex digits of a token's hash name it in lists: a
// handle to revoke it by, which reveals nothing of the token.
const tokenIDLen = 16

// ListTokens returns the API tokens of username, or of every user when
// username is empty, newest first; never the tokens themselves.
func (s *Store) ListTokens(ctx context.Context, username string) ([]accounts.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT substr(t.token_hash, 1, ?), t.name, u.username, t.created, t.last_used
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE ? = '' OR u.username = ? ORDER BY t.created DESC`, tokenIDLen, username, username)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	list := []accounts.Token{}
	for rows.Next() {
		var (
			t        accounts.Token
			created  string
			lastUsed sql.NullString
		)
		if err := rows.Scan(&t.ID, &t.Name, &t.User, &created, &lastUsed); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		if t.Created, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		if t.LastUsed, err = parseTimePtr(lastUsed); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return list, nil
}

// DeleteToken revokes the token whose id ListTokens gave; when username is
// not empty, only if it belongs to that user. ErrNotFound otherwise.
func (s *Store) DeleteToken(ctx context.Context, username, id string) error {
	if len(id) != tokenIDLen {
		return fmt.Errorf("revoke token %q: %w", id, notFound("token", id))
	}
	n, err := s.exec(ctx, `DELETE FROM api_tokens WHERE substr(token_hash, 1, ?) = ?
		AND (? = '' OR user_id = (SELECT id FROM users WHERE username = ?))`, tokenIDLen, id, username, username)
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("revoke token %q: %w", id, notFound("token", id))
	}
	return nil
}
