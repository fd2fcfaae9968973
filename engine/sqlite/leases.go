package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid"

	"github.com/stackhub/stackhub/engine"
)

// LeasePorts reserves every lease in one transaction: all or none. A port
// already held by another installation, or asked for twice in the batch by
// different installations, is an ErrConflict naming the port and its
// holder. Leasing a port again to the installation that holds it is allowed
// (the lease name is updated). An empty Protocol means "tcp".
func (s *Store) LeasePorts(ctx context.Context, leases []engine.PortLease) error {
	if len(leases) == 0 {
		return nil
	}
	for _, l := range leases {
		if l.Port < 1 || l.Port > 65535 || l.Installation == "" {
			return fmt.Errorf("lease ports: %w", engine.NewUserError(engine.ErrInvalid,
				fmt.Sprintf("lease of port %d for %q is not valid", l.Port, l.Installation),
				"ports are 1 to 65535 and a lease names its installation"))
		}
	}
	now := fmtTime(time.Now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, l := range leases {
			proto := normProtocol(l.Protocol)
			var holder string
			err := tx.QueryRowContext(ctx, `SELECT installation FROM port_leases WHERE port = ? AND protocol = ?`,
				l.Port, proto).Scan(&holder)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			case holder != l.Installation:
				return portConflict(l.Port, proto, holder)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO port_leases (port, protocol, installation, name, created)
				VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (port, protocol) DO UPDATE SET name = excluded.name
				WHERE port_leases.installation = excluded.installation`,
				l.Port, proto, l.Installation, l.Name, now)
			if isUnique(err) {
				return portConflict(l.Port, proto, "another installation")
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("lease ports: %w", err)
	}
	return nil
}

func portConflict(port int, proto, holder string) error {
	return engine.NewUserError(engine.ErrConflict,
		fmt.Sprintf("port %d/%s is already leased to installation %q", port, proto, holder),
		"choose another port, or uninstall "+holder+" first")
}

// ReleasePorts frees every lease of the installation; releasing nothing is
// not an error.
func (s *Store) ReleasePorts(ctx context.Context, installation string) error {
	if _, err := s.exec(ctx, `DELETE FROM port_leases WHERE installation = ?`, installation); err != nil {
		return fmt.Errorf("release ports of %q: %w", installation, err)
	}
	return nil
}

// ListPortLeases returns every lease, sorted by port and protocol.
func (s *Store) ListPortLeases(ctx context.Context) ([]engine.PortLease, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT port, protocol, installation, name FROM port_leases
		ORDER BY port, protocol`)
	if err != nil {
		return nil, fmt.Errorf("list port leases: %w", err)
	}
	defer rows.Close()
	var out []engine.PortLease
	for rows.Next() {
		var l engine.PortLease
		if err := rows.Scan(&l.Port, &l.Protocol, &l.Installation, &l.Name); err != nil {
			return nil, fmt.Errorf("list port leases: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list port leases: %w", err)
	}
	return out, nil
}

// CreateJob inserts job, filling an empty ID and a zero Created;
// ErrConflict if the ID exists.
func (s *Store) CreateJob(ctx context.Context, job *engine.Job) error {
	if job.ID == "" {
		job.ID = newID()
	}
	if job.Created.IsZero() {
		job.Created = time.Now().UTC()
	}
	_, err := s.exec(ctx, `INSERT INTO jobs (id, installation, action, run_id, status, message, created, finished)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		job.ID, job.Installation, job.Action, job.RunID, job.Status, job.Message, fmtTime(job.Created),
		fmtTimePtr(job.Finished))
	if isUnique(err) {
		return fmt.Errorf("create job %q: %w", job.ID, engine.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create job %q: %w", job.ID, err)
	}
	return nil
}

// UpdateJob replaces the stored job (Created is kept); ErrNotFound if absent.
func (s *Store) UpdateJob(ctx context.Context, job *engine.Job) error {
	n, err := s.exec(ctx, `UPDATE jobs SET installation = ?, action = ?, run_id = ?, status = ?, message = ?,
		finished = ? WHERE id = ?`,
		job.Installation, job.Action, job.RunID, job.Status, job.Message, fmtTimePtr(job.Finished), job.ID)
	if err != nil {
		return fmt.Errorf("update job %q: %w", job.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update job %q: %w", job.ID, notFound("job", job.ID))
	}
	return nil
}

const jobColumns = `id, installation, action, run_id, status, message, created, finished`

// GetJob returns ErrNotFound if absent.
func (s *Store) GetJob(ctx context.Context, id string) (*engine.Job, error) {
	job, err := scanJob(s.r.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get job %q: %w", id, notFound("job", id))
	}
	if err != nil {
		return nil, fmt.Errorf("get job %q: %w", id, err)
	}
	return job, nil
}

// ListJobs returns jobs in the given states (all when empty), newest first.
func (s *Store) ListJobs(ctx context.Context, states ...string) ([]*engine.Job, error) {
	query := `SELECT ` + jobColumns + ` FROM jobs`
	args := make([]any, 0, len(states))
	if len(states) > 0 {
		query += ` WHERE status IN (?` + strings.Repeat(`, ?`, len(states)-1) + `)`
		for _, st := range states {
			args = append(args, st)
		}
	}
	rows, err := s.r.QueryContext(ctx, query+` ORDER BY created DESC, rowid DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []*engine.Job
	for rows.Next() {
		job, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, job)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}

func scanJob(row scanner) (*engine.Job, error) {
	var (
		job      engine.Job
		created  string
		finished sql.NullString
	)
	if err := row.Scan(&job.ID, &job.Installation, &job.Action, &job.RunID, &job.Status, &job.Message,
		&created, &finished); err != nil {
		return nil, err
	}
	var err error
	if job.Created, err = parseTime(created); err != nil {
		return nil, err
	}
	if job.Finished, err = parseTimePtr(finished); err != nil {
		return nil, err
	}
	return &job, nil
}

var (
	idMu      sync.Mutex
	idEntropy = ulid.Monotonic(rand.Reader, 0)
)

// newID returns a new ULID: unique, and sorting by creation time.
func newID() string {
	idMu.Lock()
	defer idMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(time.Now()), idEntropy).String()
}
