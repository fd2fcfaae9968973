package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine"
)

const installationColumns = `id, namespace, name, app, bundle_version, bundle_digest, status, reason,
	container_name, ports, parameters, last_action, last_run_id, job_id, created, modified, installed, uninstalled,
	reference, meta`

// CreateInstallation inserts inst, filling an empty ID and zero Created and
// Modified; ErrConflict if the name is taken in its namespace.
func (s *Store) CreateInstallation(ctx context.Context, inst *engine.Installation) error {
	now := time.Now().UTC()
	if inst.ID == "" {
		inst.ID = newID()
	}
	if inst.Created.IsZero() {
		inst.Created = now
	}
	if inst.Modified.IsZero() {
		inst.Modified = inst.Created
	}
	ports, params, meta, err := s.installationJSON(inst)
	if err != nil {
		return fmt.Errorf("create installation %q: %w", inst.Name, err)
	}
	_, err = s.exec(ctx, `INSERT INTO installations (`+installationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inst.ID, inst.Namespace, inst.Name, inst.App, inst.BundleVersion, inst.BundleDigest, string(inst.Status),
		inst.Reason, inst.ContainerName, ports, params, inst.LastAction, inst.LastRunID, inst.JobID,
		fmtTime(inst.Created), fmtTime(inst.Modified), fmtTimePtr(inst.Installed), fmtTimePtr(inst.Uninstalled),
		inst.Reference, meta)
	if isUnique(err) {
		return fmt.Errorf("create installation %q: %w", inst.Name, engine.NewUserError(engine.ErrConflict,
			fmt.Sprintf("installation %q already exists", inst.Name),
			"choose another name, or uninstall the existing installation first"))
	}
	if err != nil {
		return fmt.Errorf("create installation %q: %w", inst.Name, err)
	}
	return nil
}

// UpdateInstallation replaces the stored record found by namespace and name
// (its ID and Created are kept); a zero Modified becomes now. ErrNotFound if
// absent.
func (s *Store) UpdateInstallation(ctx context.Context, inst *engine.Installation) error {
	if inst.Modified.IsZero() {
		inst.Modified = time.Now().UTC()
	}
	ports, params, meta, err := s.installationJSON(inst)
	if err != nil {
		return fmt.Errorf("update installation %q: %w", inst.Name, err)
	}
	n, err := s.exec(ctx, `UPDATE installations SET app = ?, bundle_version = ?, bundle_digest = ?, status = ?,
		reason = ?, container_name = ?, ports = ?, parameters = ?, last_action = ?, last_run_id = ?, job_id = ?,
		modified = ?, installed = ?, uninstalled = ?, reference = ?, meta = ?
		WHERE namespace = ? AND name = ?`,
		inst.App, inst.BundleVersion, inst.BundleDigest, string(inst.Status), inst.Reason, inst.ContainerName,
		ports, params, inst.LastAction, inst.LastRunID, inst.JobID, fmtTime(inst.Modified),
		fmtTimePtr(inst.Installed), fmtTimePtr(inst.Uninstalled), inst.Reference, meta, inst.Namespace, inst.Name)
	if err != nil {
		return fmt.Errorf("update installation %q: %w", inst.Name, err)
	}
	if n == 0 {
		return fmt.Errorf("update installation %q: %w", inst.Name, notFound("installation", inst.Name))
	}
	return nil
}

// GetInstallation returns ErrNotFound if absent. It answers from the
// installation cache (see cache.go) when that is current as of the last
// commit to the database, else with a one-row query.
func (s *Store) GetInstallation(ctx context.Context, namespace, name string) (*engine.Installation, error) {
	e, err := s.cache.namespace(ctx, namespace, nil)
	if err != nil {
		return nil, fmt.Errorf("get installation %q: %w", name, err)
	}
	if e != nil {
		inst, ok := e.byName[name]
		if !ok {
			return nil, fmt.Errorf("get installation %q: %w", name, notFound("installation", name))
		}
		return cloneInstallation(inst), nil
	}
	row := s.r.QueryRowContext(ctx, `SELECT `+installationColumns+` FROM installations
		WHERE namespace = ? AND name = ?`, namespace, name)
	inst, err := s.scanInstallation(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get installation %q: %w", name, notFound("installation", name))
	}
	if err != nil {
		return nil, fmt.Errorf("get installation %q: %w", name, err)
	}
	return inst, nil
}

// ListInstallations returns every installation of the namespace, sorted by
// name, from the installation cache (see cache.go).
func (s *Store) ListInstallations(ctx context.Context, namespace string) ([]*engine.Installation, error) {
	e, err := s.cache.namespace(ctx, namespace, s.queryInstallations)
	if err != nil {
		return nil, fmt.Errorf("list installations: %w", err)
	}
	// One allocation for all the copies: with 100 installations the
	// per-copy allocations were a third of a getAllAppInfo request. The
	// copies share the cache's maps and slices, which nothing changes in
	// place (engine.Store says so); cloning them was three quarters of the
	// bytes a getAllAppInfo request allocated.
	copies := make([]engine.Installation, len(e.list))
	out := make([]*engine.Installation, len(e.list))
	for i, inst := range e.list {
		copies[i] = *inst
		out[i] = &copies[i]
	}
	return out, nil
}

// queryInstallations reads every installation of the namespace, sorted by
// name; the cache calls it when the database changed.
func (s *Store) queryInstallations(ctx context.Context, namespace string) ([]*engine.Installation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+installationColumns+` FROM installations
		WHERE namespace = ? ORDER BY name`, namespace)
	if err != nil {
		return nil, fmt.Errorf("list installations: %w", err)
	}
	defer rows.Close()
	var out []*engine.Installation
	for rows.Next() {
		inst, err := s.scanInstallation(rows)
		if err != nil {
			return nil, fmt.Errorf("list installations: %w", err)
		}
		out = append(out, inst)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list installations: %w", err)
	}
	return out, nil
}

// DeleteInstallation removes the installation, its runs (and so their
// results and outputs) and its port leases in one transaction; ErrNotFound
// if absent.
//
// Port leases carry no namespace (engine.PortLease has none), so the leases
// of every installation with this name go.
func (s *Store) DeleteInstallation(ctx context.Context, namespace, name string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM installations WHERE namespace = ? AND name = ?`, namespace, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound("installation", name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE namespace = ? AND installation = ?`, namespace, name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outputs WHERE namespace = ? AND installation = ?`, namespace, name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM domains WHERE namespace = ? AND installation = ?`, namespace, name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM port_leases WHERE installation = ?`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete installation %q: %w", name, err)
	}
	return nil
}

type scanner interface {
	Scan(dest ...any) error
}

func (s *Store) scanInstallation(row scanner) (*engine.Installation, error) {
	var (
		inst                   engine.Installation
		status, ports, params  string
		meta                   string
		created, modified      string
		installed, uninstalled sql.NullString
	)
	err := row.Scan(&inst.ID, &inst.Namespace, &inst.Name, &inst.App, &inst.BundleVersion, &inst.BundleDigest,
		&status, &inst.Reason, &inst.ContainerName, &ports, &params, &inst.LastAction, &inst.LastRunID, &inst.JobID,
		&created, &modified, &installed, &uninstalled, &inst.Reference, &meta)
	if err != nil {
		return nil, err
	}
	inst.Status = engine.Status(status)
	if err := json.Unmarshal([]byte(ports), &inst.Ports); err != nil {
		return nil, fmt.Errorf("decode ports of %q: %w", inst.Name, err)
	}
	plain, err := s.sealer.openJSON(params)
	if err != nil {
		return nil, fmt.Errorf("decode parameters of %q: %w", inst.Name, err)
	}
	if err := json.Unmarshal(plain, &inst.Parameters); err != nil {
		return nil, fmt.Errorf("decode parameters of %q: %w", inst.Name, err)
	}
	var im installationMeta
	if err := json.Unmarshal([]byte(meta), &im); err != nil {
		return nil, fmt.Errorf("decode labels and sets of %q: %w", inst.Name, err)
	}
	inst.Labels, inst.ParameterSets, inst.CredentialSets, inst.Containerless = im.Labels, im.ParameterSets, im.CredentialSets, im.Containerless
	if inst.Created, err = parseTime(created); err != nil {
		return nil, err
	}
	if inst.Modified, err = parseTime(modified); err != nil {
		return nil, err
	}
	if inst.Installed, err = parseTimePtr(installed); err != nil {
		return nil, err
	}
	if inst.Uninstalled, err = parseTimePtr(uninstalled); err != nil {
		return nil, err
	}
	return &inst, nil
}

// installationMeta is the meta column: what Porter keeps on an
// installation beside its state.
type installationMeta struct {
	Labels         map[string]string `json:"labels,omitempty"`
	ParameterSets  []string          `json:"parameterSets,omitempty"`
	CredentialSets []string          `json:"credentialSets,omitempty"`
	Containerless  bool              `json:"containerless,omitempty"`
}

func (s *Store) installationJSON(inst *engine.Installation) (ports, params, meta string, err error) {
	p, err := json.Marshal(inst.Ports)
	if err != nil {
		return "", "", "", fmt.Errorf("encode ports: %w", err)
	}
	q, err := json.Marshal(inst.Parameters)
	if err != nil {
		return "", "", "", fmt.Errorf("encode parameters: %w", err)
	}
	m, err := json.Marshal(installationMeta{Labels: inst.Labels, ParameterSets: inst.ParameterSets, CredentialSets: inst.CredentialSets,
		Containerless: inst.Containerless})
	if err != nil {
		return "", "", "", fmt.Errorf("encode labels and sets: %w", err)
	}
	return string(p), s.sealer.sealJSON(q), string(m), nil
}

// InsertRun records a run, filling an empty ID and a zero Created;
// ErrConflict if the ID exists. Parameters round-trip through JSON, so
// numbers come back as float64.
func (s *Store) InsertRun(ctx context.Context, run *engine.Run) error {
	if run.ID == "" {
		run.ID = newID()
	}
	if run.Created.IsZero() {
		run.Created = time.Now().UTC()
	}
	params, err := json.Marshal(run.Parameters)
	if err != nil {
		return fmt.Errorf("insert run %q: encode parameters: %w", run.ID, err)
	}
	_, err = s.exec(ctx, `INSERT INTO runs (id, namespace, installation, revision, action, bundle_ref,
		bundle_digest, bundle, parameters, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		run.ID, run.Namespace, run.Installation, run.Revision, run.Action, run.BundleRef, run.BundleDigest,
		run.Bundle, s.sealer.sealJSON(params), fmtTime(run.Created))
	if isUnique(err) {
		return fmt.Errorf("insert run %q: %w", run.ID, engine.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert run %q: %w", run.ID, err)
	}
	return nil
}

const runColumns = `id, namespace, installation, revision, action, bundle_ref, bundle_digest, bundle, parameters, created`

// GetRun returns ErrNotFound if absent.
func (s *Store) GetRun(ctx context.Context, id string) (*engine.Run, error) {
	run, err := s.scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get run %q: %w", id, notFound("run", id))
	}
	if err != nil {
		return nil, fmt.Errorf("get run %q: %w", id, err)
	}
	return run, nil
}

// ListRuns returns the installation's runs, newest first.
func (s *Store) ListRuns(ctx context.Context, namespace, installation string) ([]*engine.Run, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs
		WHERE namespace = ? AND installation = ? ORDER BY created DESC, rowid DESC`, namespace, installation)
	if err != nil {
		return nil, fmt.Errorf("list runs of %q: %w", installation, err)
	}
	defer rows.Close()
	var out []*engine.Run
	for rows.Next() {
		run, err := s.scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs of %q: %w", installation, err)
		}
		out = append(out, run)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs of %q: %w", installation, err)
	}
	return out, nil
}

func (s *Store) scanRun(row scanner) (*engine.Run, error) {
	var (
		run             engine.Run
		params, created string
	)
	if err := row.Scan(&run.ID, &run.Namespace, &run.Installation, &run.Revision, &run.Action, &run.BundleRef,
		&run.BundleDigest, &run.Bundle, &params, &created); err != nil {
		return nil, err
	}
	plain, err := s.sealer.openJSON(params)
	if err != nil {
		return nil, fmt.Errorf("decode parameters of run %q: %w", run.ID, err)
	}
	if err := json.Unmarshal(plain, &run.Parameters); err != nil {
		return nil, fmt.Errorf("decode parameters of run %q: %w", run.ID, err)
	}
	if run.Created, err = parseTime(created); err != nil {
		return nil, err
	}
	return &run, nil
}

// InsertResult records a status change of a run, filling an empty ID and a
// zero Created; ErrNotFound if the run does not exist.
func (s *Store) InsertResult(ctx context.Context, res *engine.Result) error {
	if res.ID == "" {
		res.ID = newID()
	}
	if res.Created.IsZero() {
		res.Created = time.Now().UTC()
	}
	_, err := s.exec(ctx, `INSERT INTO results (id, run_id, status, message, created) VALUES (?, ?, ?, ?, ?)`,
		res.ID, res.RunID, res.Status, res.Message, fmtTime(res.Created))
	switch {
	case isForeignKey(err):
		return fmt.Errorf("insert result of run %q: %w", res.RunID, notFound("run", res.RunID))
	case isUnique(err):
		return fmt.Errorf("insert result %q: %w", res.ID, engine.ErrConflict)
	case err != nil:
		return fmt.Errorf("insert result of run %q: %w", res.RunID, err)
	}
	return nil
}

// ListResults returns a run's results, oldest first.
func (s *Store) ListResults(ctx context.Context, runID string) ([]*engine.Result, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, run_id, status, message, created FROM results
		WHERE run_id = ? ORDER BY created, rowid`, runID)
	if err != nil {
		return nil, fmt.Errorf("list results of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []*engine.Result
	for rows.Next() {
		var (
			res     engine.Result
			created string
		)
		if err := rows.Scan(&res.ID, &res.RunID, &res.Status, &res.Message, &created); err != nil {
			return nil, fmt.Errorf("list results of run %q: %w", runID, err)
		}
		if res.Created, err = parseTime(created); err != nil {
			return nil, err
		}
		out = append(out, &res)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list results of run %q: %w", runID, err)
	}
	return out, nil
}

// InsertOutput records one output value, filling a zero Created;
// ErrNotFound if its run does not exist.
func (s *Store) InsertOutput(ctx context.Context, out *engine.Output) error {
	if out.Created.IsZero() {
		out.Created = time.Now().UTC()
	}
	value := out.Value
	if out.Sensitive {
		value = s.sealer.seal(value)
	}
	_, err := s.exec(ctx, `INSERT INTO outputs (name, namespace, installation, run_id, result_id, sensitive,
		value, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		out.Name, out.Namespace, out.Installation, out.RunID, out.ResultID, out.Sensitive, value,
		fmtTime(out.Created))
	if isForeignKey(err) {
		return fmt.Errorf("insert output %q: %w", out.Name, notFound("run", out.RunID))
	}
	if err != nil {
		return fmt.Errorf("insert output %q: %w", out.Name, err)
	}
	return nil
}

const outputColumns = `name, namespace, installation, run_id, result_id, sensitive, value, created`

// ListOutputs returns the latest value of every output of the installation,
// sorted by name.
func (s *Store) ListOutputs(ctx context.Context, namespace, installation string) ([]*engine.Output, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+outputColumns+` FROM outputs o
		WHERE namespace = ? AND installation = ?
		  AND seq = (SELECT MAX(seq) FROM outputs l
		             WHERE l.namespace = o.namespace AND l.installation = o.installation AND l.name = o.name)
		ORDER BY name`, namespace, installation)
	if err != nil {
		return nil, fmt.Errorf("list outputs of %q: %w", installation, err)
	}
	return s.scanOutputs(rows, installation)
}

// ListRunOutputs returns the outputs of one run, in the order they were stored.
func (s *Store) ListRunOutputs(ctx context.Context, runID string) ([]*engine.Output, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+outputColumns+` FROM outputs WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("list outputs of run %q: %w", runID, err)
	}
	return s.scanOutputs(rows, runID)
}

func (s *Store) scanOutputs(rows *sql.Rows, of string) ([]*engine.Output, error) {
	defer rows.Close()
	var out []*engine.Output
	for rows.Next() {
		var (
			o       engine.Output
			created string
		)
		if err := rows.Scan(&o.Name, &o.Namespace, &o.Installation, &o.RunID, &o.ResultID, &o.Sensitive,
			&o.Value, &created); err != nil {
			return nil, fmt.Errorf("list outputs of %q: %w", of, err)
		}
		var err error
		if o.Created, err = parseTime(created); err != nil {
			return nil, err
		}
		if o.Sensitive {
			if o.Value, err = s.sealer.open(o.Value); err != nil {
				return nil, fmt.Errorf("output %q of %q: %w", o.Name, of, err)
			}
		}
		out = append(out, &o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list outputs of %q: %w", of, err)
	}
	return out, nil
}

// notFound is ErrNotFound with a message naming the object.
func notFound(what, name string) error {
	return engine.NewUserError(engine.ErrNotFound, fmt.Sprintf("%s %q not found", what, name), "")
}

func normProtocol(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "" {
		return "tcp"
	}
	return p
}

// PruneHistory deletes the installation's runs beyond the newest keep (with
// their results and outputs) and its finished jobs beyond the newest keep
// (with their events). It never deletes the installation's last run, nor a
// run that holds the latest value of an output: parameter sources and
// generated secrets read those.
func (s *Store) PruneHistory(ctx context.Context, namespace, installation string, keep int) (engine.PruneStats, error) {
	var st engine.PruneStats
	if keep < 1 {
		return st, fmt.Errorf("prune history of %q: keep %d: %w", installation, keep, engine.ErrInvalid)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM runs
			WHERE namespace = ?1 AND installation = ?2
			  AND id NOT IN (SELECT id FROM runs WHERE namespace = ?1 AND installation = ?2
			                 ORDER BY created DESC, id DESC LIMIT ?3)
			  AND id NOT IN (SELECT last_run_id FROM installations WHERE namespace = ?1 AND name = ?2)
			  AND id NOT IN (SELECT o.run_id FROM outputs o
			                 WHERE o.namespace = ?1 AND o.installation = ?2
			                   AND o.seq = (SELECT MAX(seq) FROM outputs l
			                                WHERE l.namespace = o.namespace AND l.installation = o.installation AND l.name = o.name))`,
			namespace, installation, keep)
		if err != nil {
			return fmt.Errorf("delete old runs: %w", err)
		}
		n, _ := res.RowsAffected()
		st.Runs = int(n)
		old := `SELECT id FROM jobs WHERE installation = ?1 AND finished IS NOT NULL
			  AND id NOT IN (SELECT id FROM jobs WHERE installation = ?1 ORDER BY created DESC, id DESC LIMIT ?2)
			  AND id NOT IN (SELECT job_id FROM installations WHERE namespace = ?3 AND name = ?1)`
		if _, err := tx.ExecContext(ctx, `DELETE FROM job_events WHERE job_id IN (`+old+`)`, installation, keep, namespace); err != nil {
			return fmt.Errorf("delete old job events: %w", err)
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM jobs WHERE id IN (`+old+`)`, installation, keep, namespace)
		if err != nil {
			return fmt.Errorf("delete old jobs: %w", err)
		}
		n, _ = res.RowsAffected()
		st.Jobs = int(n)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("prune history of %q: %w", installation, err)
	}
	return st, nil
}
