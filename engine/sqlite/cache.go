package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/stackhub/stackhub/engine"
)

// installationCache keeps the decoded installations of each namespace so
// that status requests (getAllAppInfo, getAppInfo: every few seconds from
// every open dashboard) do not re-run the query, re-decode the JSON columns
// and re-parse the times of every row. Profiled with 100 installations, that
// work was about 90% of a getAllAppInfo request (1 ms of CPU, 5 900 allocs).
//
// It is checked against PRAGMA data_version on one dedicated read
// connection: SQLite changes that value whenever any other connection (our
// writer, or another process such as a second stackhub or a backup
// restore) commits to the file, so a cached list is never older than the
// last commit a fresh query would see. The check is one prepared pragma,
// a few microseconds.
type installationCache struct {
	mu      sync.Mutex
	conn    *sql.Conn // dedicated: data_version is per connection
	stmt    *sql.Stmt // PRAGMA data_version, prepared on conn
	version int64     // data_version the entries were read at
	byNS    map[string]*nsInstallations
}

type nsInstallations struct {
	list   []*engine.Installation // sorted by name (the query's ORDER BY)
	byName map[string]*engine.Installation
}

func newInstallationCache(ctx context.Context, r *sql.DB) (*installationCache, error) {
	conn, err := r.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open cache connection: %w", err)
	}
	stmt, err := conn.PrepareContext(ctx, `PRAGMA data_version`)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("prepare data_version: %w", err)
	}
	return &installationCache{conn: conn, stmt: stmt, byNS: map[string]*nsInstallations{}}, nil
}

func (c *installationCache) close() error {
	_ = c.stmt.Close()
	return c.conn.Close()
}

// namespace returns the cached installations of ns, reading them with load
// when the database changed since they were read (or never were). With a
// nil load it returns nil instead of reading: GetInstallation then reads
// its one row, which during installs (many commits, so many misses) is far
// cheaper than reloading every installation. The caller must not change
// what it returns: use cloneInstallation.
func (c *installationCache) namespace(ctx context.Context, ns string,
	load func(context.Context, string) ([]*engine.Installation, error)) (*nsInstallations, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var v int64
	if err := c.stmt.QueryRowContext(ctx).Scan(&v); err != nil {
		return nil, fmt.Errorf("read data_version: %w", err)
	}
	if v != c.version {
		c.byNS = map[string]*nsInstallations{}
		c.version = v
	}
	if e, ok := c.byNS[ns]; ok || load == nil {
		return e, nil
	}
	// v was read before the query: if a commit lands in between, the
	// entry is newer than v and merely gets re-read next time.
	list, err := load(ctx, ns)
	if err != nil {
		return nil, err
	}
	e := &nsInstallations{list: list, byName: make(map[string]*engine.Installation, len(list))}
	for _, inst := range list {
		e.byName[inst.Name] = inst
	}
	c.byNS[ns] = e
	return e, nil
}

// cloneInstallation copies inst deeply enough that callers may change any
// field (the engine sets Status and Reason from live state, and edits
// Ports and Parameters before writing back) without touching the cache.
func cloneInstallation(inst *engine.Installation) *engine.Installation {
	var c engine.Installation
	copyInstallation(&c, inst)
	return &c
}

// copyInstallation is cloneInstallation into dst.
func copyInstallation(dst, inst *engine.Installation) {
	*dst = *inst
	dst.Ports = maps.Clone(inst.Ports)
	dst.Parameters = maps.Clone(inst.Parameters)
	dst.Labels = maps.Clone(inst.Labels)
	dst.ParameterSets = slices.Clone(inst.ParameterSets)
	dst.CredentialSets = slices.Clone(inst.CredentialSets)
	if inst.Installed != nil {
		t := *inst.Installed
		dst.Installed = &t
	}
	if inst.Uninstalled != nil {
		t := *inst.Uninstalled
		dst.Uninstalled = &t
	}
}
