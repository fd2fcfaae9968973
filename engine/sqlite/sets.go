package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// PutSet stores a set, replacing one of the same kind, namespace and name
// but keeping its Created; the document is encrypted at rest (a credential
// set may hold literal values).
func (s *Store) PutSet(ctx context.Context, set *engine.SetRecord) error {
	now := time.Now().UTC()
	if set.Created.IsZero() {
		set.Created = now
	}
	set.Modified = now
	_, err := s.exec(ctx, `INSERT INTO sets (kind, namespace, name, doc, created, modified) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, namespace, name) DO UPDATE SET doc = excluded.doc, modified = excluded.modified`,
		set.Kind, set.Namespace, set.Name, s.sealer.seal(set.Doc), fmtTime(set.Created), fmtTime(set.Modified))
	if err != nil {
		return fmt.Errorf("store %s %q: %w", set.Kind, set.Name, err)
	}
	return nil
}

const setColumns = `kind, namespace, name, doc, created, modified`

// GetSet returns ErrNotFound if absent.
func (s *Store) GetSet(ctx context.Context, kind, namespace, name string) (*engine.SetRecord, error) {
	set, err := s.scanSet(s.r.QueryRowContext(ctx, `SELECT `+setColumns+` FROM sets
		WHERE kind = ? AND namespace = ? AND name = ?`, kind, namespace, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get %s %q: %w", kind, name, notFound(kind, name))
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %q: %w", kind, name, err)
	}
	return set, nil
}

// ListSets returns the sets of a kind in a namespace, sorted by name.
func (s *Store) ListSets(ctx context.Context, kind, namespace string) ([]*engine.SetRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+setColumns+` FROM sets WHERE kind = ? AND namespace = ? ORDER BY name`, kind, namespace)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	var out []*engine.SetRecord
	for rows.Next() {
		set, err := s.scanSet(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		out = append(out, set)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	return out, nil
}

// DeleteSet returns ErrNotFound if absent.
func (s *Store) DeleteSet(ctx context.Context, kind, namespace, name string) error {
	n, err := s.exec(ctx, `DELETE FROM sets WHERE kind = ? AND namespace = ? AND name = ?`, kind, namespace, name)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, name, err)
	}
	if n == 0 {
		return fmt.Errorf("delete %s %q: %w", kind, name, notFound(kind, name))
	}
	return nil
}

func (s *Store) scanSet(row scanner) (*engine.SetRecord, error) {
	var (
		set               engine.SetRecord
		doc               []byte
		created, modified string
	)
	if err := row.Scan(&set.Kind, &set.Namespace, &set.Name, &doc, &created, &modified); err != nil {
		return nil, err
	}
	var err error
	if set.Doc, err = s.sealer.open(doc); err != nil {
		return nil, fmt.Errorf("%s %q: %w", set.Kind, set.Name, err)
	}
	if set.Created, err = parseTime(created); err != nil {
		return nil, err
	}
	if set.Modified, err = parseTime(modified); err != nil {
		return nil, err
	}
	return &set, nil
}
