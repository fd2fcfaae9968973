// Package sqlite is StackHub's embedded store: it implements engine.Store
// (installations, runs, results, outputs, port leases, jobs) and keeps users,
// sessions and API tokens, in one SQLite file through the pure-Go
// modernc.org/sqlite driver. It is one of the few packages allowed to import
// database/sql; it must not import Docker, cnab-go or the service.
//
// Writes go through a single connection opened with BEGIN IMMEDIATE, so
// concurrent writers queue in Go instead of failing with SQLITE_BUSY; reads
// use a small separate pool, which WAL mode lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/stackhub/stackhub/engine"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ engine.Store = (*Store)(nil)

// busyTimeout is how long a connection waits for a lock held by another
// process (a second stackhub binary, a backup) before giving up.
const busyTimeout = 10 * time.Second

// Store is an engine.Store over one SQLite file. It is safe for concurrent use.
type Store struct {
	w     *sql.DB // the single writer connection
	r     *sql.DB // readers
	cache *installationCache
	log   *slog.Logger
	// sealer encrypts installation and run parameters and sensitive
	// outputs at rest (secrets.go).
	sealer *sealer
}

// Open opens (creating if needed) the database at path and applies every
// pending migration.
func Open(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open store %q: %w", path, engine.NewUserError(engine.ErrInvalid,
			fmt.Sprintf("database path %q is not usable", path), "use a file path without '?'"))
	}
	params := "?_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", path+params+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	// One writer connection: database/sql queues callers, SQLite never sees
	// two writers from this process.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)

	s := &Store{w: w, log: log}
	if s.sealer, err = loadSealer(path); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	r, err := sql.Open("sqlite", path+params+"&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	// Four readers, one of which the installation cache keeps for its
	// data_version check (cache.go).
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r = r
	if s.cache, err = newInstallationCache(ctx, r); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.cache.close(), s.r.Close(), s.w.Close())
}

// migrate applies, in order and each in its own transaction, every embedded
// migration newer than the recorded schema version.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER NOT NULL PRIMARY KEY,
		name    TEXT NOT NULL,
		applied TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	var current int
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(files)
	latest := 0
	for _, f := range files {
		name := path.Base(f)
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %q: name must start with a number and '_'", name)
		}
		latest = max(latest, version)
		if version <= current {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read migration %q: %w", name, err)
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, name, applied) VALUES (?, ?, ?)`,
				version, name, fmtTime(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %q: %w", name, err)
		}
		s.log.Info("applied database migration", "version", version, "name", name)
	}
	if current > latest {
		return engine.NewUserError(engine.ErrInvalid,
			fmt.Sprintf("database schema version %d is newer than this StackHub knows (%d)", current, latest),
			"upgrade StackHub, or restore a backup made by this version")
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE on the single writer)
// and commits it, or rolls back if fn fails.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return diskFull(fmt.Errorf("begin: %w", err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return diskFull(err)
	}
	if err := tx.Commit(); err != nil {
		return diskFull(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// diskFull turns SQLite's "database or disk is full" into an
// ErrUnavailable the user can act on; other errors pass unchanged.
func diskFull(err error) error {
	if err == nil || sqliteCode(err)&0xff != sqlite3.SQLITE_FULL {
		return err
	}
	return &engine.UserError{
		Msg:  "the disk that holds StackHub's data is full",
		Hint: "free space on it (df -h shows which), then retry",
		Err:  fmt.Errorf("%w: %w", engine.ErrUnavailable, err),
	}
}

// exec runs one write statement and returns the number of rows it changed.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, diskFull(err)
	}
	return res.RowsAffected()
}

// timeLayout is fixed-width so stored times sort correctly as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func fmtTimePtr(t *time.Time) sql.NullString {
	if t == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: fmtTime(*t), Valid: true}
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t, nil
}

func parseTimePtr(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se interface{ Code() int }
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
