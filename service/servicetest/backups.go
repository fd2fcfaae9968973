package servicetest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// Backups in memory: a backup is a record of the installation at the time,
// with no data.

// CreateBackup records a backup of an installation as a finished job.
func (m *Memory) CreateBackup(_ context.Context, name string) (*engine.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inst, err := m.get(name)
	if err != nil {
		return nil, err
	}
	if m.backups == nil {
		m.backups = map[string][]engine.Backup{}
	}
	n := len(m.backups[name]) + 1
	m.backups[name] = append([]engine.Backup{{
		ID: fmt.Sprintf("%064x", n), Installation: name, Created: time.Now().UTC(), Size: 1024, Added: 1024 / int64(n), Files: 2,
		Tags: map[string]string{engine.TagApp: inst.App, engine.TagVersion: inst.BundleVersion, engine.TagQuiesce: "stop"}, Target: "/var/lib/stackhub/backups/repository",
	}}, m.backups[name]...)
	return m.job(name, "backup", ""), nil
}

// Backups lists an installation's backups, newest first.
func (m *Memory) Backups(_ context.Context, name string) ([]engine.Backup, error) {
	if err := engine.ValidateName("installation name", name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]engine.Backup{}, m.backups[name]...), nil
}

func (m *Memory) findBackup(name, id string) (int, error) {
	for i, b := range m.backups[name] {
		if id == "" || id == "latest" || strings.HasPrefix(b.ID, id) {
			return i, nil
		}
	}
	return 0, engine.NewUserError(engine.ErrNotFound, fmt.Sprintf("%s has no backup %q", name, id), "list its backups with `stackhub backup list "+name+"`")
}

// GetBackup returns a backup and a record holding a secret output.
func (m *Memory) GetBackup(_ context.Context, name, id string) (*engine.Backup, *engine.BackupRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.findBackup(name, id)
	if err != nil {
		return nil, nil, err
	}
	b := m.backups[name][i]
	rec := &engine.BackupRecord{Installation: name, App: b.Tags[engine.TagApp], BundleVersion: b.Tags[engine.TagVersion],
		Parameters: map[string]string{"title": "Hello"}, Ports: map[string]int{"port": 9001},
		Outputs: map[string]string{"password": "s3cret-output"},
		Mounts:  []engine.DataMount{{Key: "data", Name: "stackhub-" + name + "_data", Path: "/var/lib/docker/volumes/stackhub-" + name + "_data/_data"}}}
	return &b, rec, nil
}

// DeleteBackup removes a backup.
func (m *Memory) DeleteBackup(_ context.Context, name, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.findBackup(name, id)
	if err != nil {
		return err
	}
	m.backups[name] = append(m.backups[name][:i], m.backups[name][i+1:]...)
	return nil
}

// RestoreJob records a restore as a finished job.
func (m *Memory) RestoreJob(_ context.Context, o engine.RestoreOptions) (*engine.Job, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.findBackup(o.Name, o.ID); err != nil {
		return nil, err
	}
	target := o.Name
	if o.As != "" {
		target = o.As
	}
	return m.job(target, "restore", ""), nil
}

// VerifyJob marks the backup verified and records a finished job.
func (m *Memory) VerifyJob(_ context.Context, name, id string) (*engine.Job, error) {
	if err := (&engine.RestoreOptions{Name: name, ID: id}).Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.findBackup(name, id)
	if err != nil {
		return nil, err
	}
	b := &m.backups[name][i]
	b.Verified = &engine.BackupVerification{Backup: b.ID, Installation: name, Verified: time.Now().UTC(), OK: true, Scratch: "verify-" + b.ID}
	return m.job(name, "verify", ""), nil
}

// ExportServer lists Memory's installations with their newest backup.
func (m *Memory) ExportServer(context.Context) (*engine.ServerExport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	doc := &engine.ServerExport{Format: engine.ServerExportFormat, Exported: time.Now().UTC(), Repository: "/var/lib/stackhub/backups/repository"}
	for _, inst := range m.insts {
		x := engine.ExportedInstallation{Name: inst.Name, App: inst.App, Version: inst.BundleVersion, Status: string(inst.Status)}
		if bs := m.backups[inst.Name]; len(bs) > 0 {
			x.Backup = bs[len(bs)-1].ID
		}
		doc.Installations = append(doc.Installations, x)
	}
	return doc, nil
}

// ImportServer records a job for each installation with a backup that
// Memory does not have.
func (m *Memory) ImportServer(_ context.Context, doc *engine.ServerExport) ([]engine.ImportOutcome, error) {
	if doc.Format != engine.ServerExportFormat {
		return nil, engine.NewUserError(engine.ErrInvalid, "not a StackHub server export", "give the file `stackhub server export FILE` wrote")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []engine.ImportOutcome
	for _, x := range doc.Installations {
		o := engine.ImportOutcome{Name: x.Name}
		switch {
		case x.Backup == "":
			o.Skipped = "it had no backup"
		default:
			if _, err := m.get(x.Name); err == nil {
				o.Skipped = "already installed here"
			} else {
				o.Job = m.job(x.Name, "import", "")
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// ExportServer answers from Memory.
func (e *Engine) ExportServer(ctx context.Context) (*engine.ServerExport, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.ExportServer(ctx)
}

// ImportServer answers from Memory.
func (e *Engine) ImportServer(ctx context.Context, doc *engine.ServerExport) ([]engine.ImportOutcome, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.ImportServer(ctx, doc)
}

// VerifyJob answers from Memory.
func (e *Engine) VerifyJob(ctx context.Context, name, id string) (*engine.Job, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.VerifyJob(ctx, name, id)
}

// CreateBackup answers from Memory.
func (e *Engine) CreateBackup(ctx context.Context, name string) (*engine.Job, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.CreateBackup(ctx, name)
}

// Backups answers from Memory.
func (e *Engine) Backups(ctx context.Context, name string) ([]engine.Backup, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.Backups(ctx, name)
}

// GetBackup answers from Memory.
func (e *Engine) GetBackup(ctx context.Context, name, id string) (*engine.Backup, *engine.BackupRecord, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, nil, ErrUnexpected
	}
	return e.Mem.GetBackup(ctx, name, id)
}

// DeleteBackup answers from Memory.
func (e *Engine) DeleteBackup(ctx context.Context, name, id string) error {
	e.calls.Add(1)
	if e.Mem == nil {
		return ErrUnexpected
	}
	return e.Mem.DeleteBackup(ctx, name, id)
}

// RestoreJob answers from Memory.
func (e *Engine) RestoreJob(ctx context.Context, opts engine.RestoreOptions) (*engine.Job, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.RestoreJob(ctx, opts)
}

// PruneBackups keeps the newest keep.Last backups (the other counts keep
// nothing more here).
func (m *Memory) PruneBackups(_ context.Context, name string, keep engine.KeepPolicy) ([]string, error) {
	if err := keep.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	removed := []string{}
	list := m.backups[name]
	for len(list) > keep.Last {
		removed = append(removed, list[len(list)-1].ID)
		list = list[:len(list)-1]
	}
	m.backups[name] = list
	return removed, nil
}

// PruneBackups answers from Memory.
func (e *Engine) PruneBackups(ctx context.Context, name string, keep engine.KeepPolicy) ([]string, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.PruneBackups(ctx, name, keep)
}

// BackupScheduleOf answers the installation's own schedule, or none.
func (m *Memory) BackupScheduleOf(_ context.Context, name string) (*engine.BackupSchedule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.get(name); err != nil {
		return nil, err
	}
	out := &engine.BackupSchedule{Installation: name, Source: engine.ScheduleNone}
	if spec, ok := m.schedules[name]; ok {
		out.Source, out.Cron, out.Keep = engine.ScheduleOwn, spec.Cron, spec.Keep
		if spec.Off {
			out.Source = engine.ScheduleOff
		} else {
			next := time.Now().UTC().Add(time.Hour).Truncate(time.Hour)
			out.Next = &next
		}
	}
	return out, nil
}

// SetBackupSchedule records the installation's own schedule.
func (m *Memory) SetBackupSchedule(ctx context.Context, name string, spec engine.BackupScheduleSpec) (*engine.BackupSchedule, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if _, err := m.get(name); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	if m.schedules == nil {
		m.schedules = map[string]engine.BackupScheduleSpec{}
	}
	m.schedules[name] = spec
	m.mu.Unlock()
	return m.BackupScheduleOf(ctx, name)
}

// ClearBackupSchedule drops the installation's own schedule.
func (m *Memory) ClearBackupSchedule(ctx context.Context, name string) (*engine.BackupSchedule, error) {
	m.mu.Lock()
	delete(m.schedules, name)
	m.mu.Unlock()
	return m.BackupScheduleOf(ctx, name)
}

// BackupScheduleOf answers from Memory.
func (e *Engine) BackupScheduleOf(ctx context.Context, name string) (*engine.BackupSchedule, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.BackupScheduleOf(ctx, name)
}

// SetBackupSchedule answers from Memory.
func (e *Engine) SetBackupSchedule(ctx context.Context, name string, spec engine.BackupScheduleSpec) (*engine.BackupSchedule, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.SetBackupSchedule(ctx, name, spec)
}

// ClearBackupSchedule answers from Memory.
func (e *Engine) ClearBackupSchedule(ctx context.Context, name string) (*engine.BackupSchedule, error) {
	e.calls.Add(1)
	if e.Mem == nil {
		return nil, ErrUnexpected
	}
	return e.Mem.ClearBackupSchedule(ctx, name)
}
