package sqlite

import (
	"context"
	"fmt"

	"github.com/stackhub/stackhub/engine"
)

// CreateDomain records a domain route; ErrConflict if the name is routed
// already.
func (s *Store) CreateDomain(ctx context.Context, d *engine.Domain) error {
	_, err := s.exec(ctx, `INSERT INTO domains (name, namespace, installation, service, port, tls, created, login) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Name, d.Namespace, d.Installation, d.Service, d.Port, d.TLS, fmtTime(d.Created), d.Login)
	if isUnique(err) {
		return fmt.Errorf("create domain %q: %w", d.Name, engine.NewUserError(engine.ErrConflict,
			fmt.Sprintf("domain %s is already routed", d.Name), "remove it first (stackhub domain remove "+d.Name+")"))
	}
	if err != nil {
		return fmt.Errorf("create domain %q: %w", d.Name, err)
	}
	return nil
}

// ListDomains returns every domain, sorted by name.
func (s *Store) ListDomains(ctx context.Context) ([]*engine.Domain, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, namespace, installation, service, port, tls, created, login FROM domains ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	defer rows.Close()
	var out []*engine.Domain
	for rows.Next() {
		var (
			d       engine.Domain
			created string
		)
		if err := rows.Scan(&d.Name, &d.Namespace, &d.Installation, &d.Service, &d.Port, &d.TLS, &created, &d.Login); err != nil {
			return nil, fmt.Errorf("list domains: %w", err)
		}
		if d.Created, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("list domains: %w", err)
		}
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	return out, nil
}

// DeleteDomain returns ErrNotFound if absent.
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	n, err := s.exec(ctx, `DELETE FROM domains WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete domain %q: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("delete domain %q: %w", name, notFound("domain", name))
	}
	return nil
}
