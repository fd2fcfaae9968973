package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Scheduled backups. An installation follows its own schedule (cron and
// keep policy, set with SetBackupSchedule and kept in the store), or else
// the server's default (Config.BackupSchedule and Config.BackupKeep), or
// none when its own schedule is off or neither is set. It is backed up
// when a slot has passed since its newest backup (or its last scheduled
// run), so a slot missed while StackHub was down runs at the next start.
// Each run is a backup job; its outcome (a failure with the reason) is
// recorded with the schedule, and the keep policy then prunes the
// installation's backups.

// scheduleTick is how often the schedules are looked at.
var scheduleTick = 30 * time.Second

// scheduleKind is the kind of the stored records (engine Store sets) that
// hold an installation's own schedule and the outcome of its last
// scheduled run; the record's name is the installation's.
const scheduleKind = "BackupSchedule"

// Where an installation's effective schedule comes from.
const (
	ScheduleOwn    = "installation"
	ScheduleServer = "server"
	ScheduleOff    = "off"
	ScheduleNone   = "none"
)

// BackupScheduleSpec is an installation's own schedule: a cron expression
// and a keep policy (all zero: no pruning), or Off (no scheduled backups,
// not even the server's default).
type BackupScheduleSpec struct {
	Cron string     `json:"cron,omitempty"`
	Keep KeepPolicy `json:"keep"`
	Off  bool       `json:"off,omitempty"`
}

// Validate checks the spec.
func (s *BackupScheduleSpec) Validate() error {
	s.Cron = strings.TrimSpace(s.Cron)
	if s.Off {
		if s.Cron != "" || s.Keep != (KeepPolicy{}) {
			return NewUserError(ErrInvalid, "a schedule that is off takes no cron expression or keep counts",
				"give either --off, or --cron with --keep-* counts")
		}
		return nil
	}
	if s.Cron == "" {
		return NewUserError(ErrInvalid, "the schedule has no cron expression",
			"give one, for example --cron \"0 3 * * *\" (minute hour day-of-month month day-of-week) or @daily; or --off")
	}
	if _, err := parseSchedule(s.Cron); err != nil {
		return err
	}
	if s.Keep != (KeepPolicy{}) {
		return s.Keep.Validate()
	}
	return nil
}

// scheduleRecord is the stored document.
type scheduleRecord struct {
	Own *BackupScheduleSpec `json:"own,omitempty"`
	// The last scheduled run: when it started, its job, and its outcome
	// ("ok" or "failed", with the reason).
	LastRun    *time.Time `json:"lastRun,omitempty"`
	LastJob    string     `json:"lastJob,omitempty"`
	LastResult string     `json:"lastResult,omitempty"`
	LastReason string     `json:"lastReason,omitempty"`
}

// BackupSchedule is an installation's effective schedule and how its last
// scheduled run went.
type BackupSchedule struct {
	Installation string `json:"installation"`
	// Source is where Cron and Keep come from: ScheduleOwn, ScheduleServer,
	// ScheduleOff (the installation's own schedule is off) or ScheduleNone.
	Source string     `json:"source"`
	Cron   string     `json:"cron,omitempty"`
	Keep   KeepPolicy `json:"keep"`
	// Server is the server's default schedule ("" when none).
	Server string `json:"server,omitempty"`
	// Next is the next slot (nil when nothing is scheduled); a slot in the
	// past runs at the next look, within a minute.
	Next       *time.Time `json:"next,omitempty"`
	LastRun    *time.Time `json:"lastRun,omitempty"`
	LastJob    string     `json:"lastJob,omitempty"`
	LastResult string     `json:"lastResult,omitempty"`
	LastReason string     `json:"lastReason,omitempty"`
}

// Outcomes of a scheduled run.
const (
	ScheduleRunOK     = "ok"
	ScheduleRunFailed = "failed"
)

// parseSchedule reads a five-field cron expression (or @daily ...).
func parseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("backup schedule %q: %v", spec, err),
			"use cron syntax: minute hour day-of-month month day-of-week, for example \"0 3 * * *\", or @daily")
	}
	return s, nil
}

// scheduleState is what the scheduler remembers between looks: by
// installation, the time the next slot counts from.
type scheduleState struct {
	mu   sync.Mutex
	last map[string]time.Time
	// recMu serialises read-modify-write of the stored records.
	recMu sync.Mutex
}

func (s *scheduleState) get(name string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.last[name]
	return t, ok
}

func (s *scheduleState) set(name string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]time.Time{}
	}
	s.last[name] = t
}

func (e *Engine) loadSchedule(ctx context.Context, name string) (*scheduleRecord, error) {
	set, err := e.deps.Store.GetSet(ctx, scheduleKind, e.cfg.Namespace, name)
	if errors.Is(err, ErrNotFound) {
		return &scheduleRecord{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the backup schedule of %s: %w", name, err)
	}
	var rec scheduleRecord
	if err := json.Unmarshal(set.Doc, &rec); err != nil {
		return nil, fmt.Errorf("read the backup schedule of %s: %w", name, err)
	}
	return &rec, nil
}

// updateSchedule changes the installation's stored record with fn.
func (e *Engine) updateSchedule(ctx context.Context, name string, fn func(*scheduleRecord)) error {
	e.sched.recMu.Lock()
	defer e.sched.recMu.Unlock()
	rec, err := e.loadSchedule(ctx, name)
	if err != nil {
		return err
	}
	fn(rec)
	if rec.Own == nil && rec.LastRun == nil {
		if err := e.deps.Store.DeleteSet(ctx, scheduleKind, e.cfg.Namespace, name); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("clear the backup schedule of %s: %w", name, err)
		}
		return nil
	}
	doc, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store the backup schedule of %s: %w", name, err)
	}
	if err := e.deps.Store.PutSet(ctx, &SetRecord{Kind: scheduleKind, Namespace: e.cfg.Namespace, Name: name, Doc: doc}); err != nil {
		return fmt.Errorf("store the backup schedule of %s: %w", name, err)
	}
	return nil
}

// effective is the schedule rec and the server's default give an
// installation: its spec and source.
func (e *Engine) effective(rec *scheduleRecord) (BackupScheduleSpec, string) {
	switch {
	case rec.Own != nil && rec.Own.Off:
		return BackupScheduleSpec{Off: true}, ScheduleOff
	case rec.Own != nil:
		return *rec.Own, ScheduleOwn
	case e.cfg.BackupSchedule != "":
		return BackupScheduleSpec{Cron: e.cfg.BackupSchedule, Keep: e.cfg.BackupKeep}, ScheduleServer
	}
	return BackupScheduleSpec{}, ScheduleNone
}

// BackupScheduleOf returns an installation's effective schedule, its next
// slot and the outcome of its last scheduled run.
func (e *Engine) BackupScheduleOf(ctx context.Context, name string) (*BackupSchedule, error) {
	if err := ValidateName("installation name", name); err != nil {
		return nil, err
	}
	inst, err := e.installed(ctx, name)
	if err != nil {
		return nil, err
	}
	rec, err := e.loadSchedule(ctx, name)
	if err != nil {
		return nil, err
	}
	spec, source := e.effective(rec)
	out := &BackupSchedule{Installation: name, Source: source, Cron: spec.Cron, Keep: spec.Keep, Server: e.cfg.BackupSchedule,
		LastRun: rec.LastRun, LastJob: rec.LastJob, LastResult: rec.LastResult, LastReason: rec.LastReason}
	if spec.Cron == "" || e.deps.Backups == nil {
		return out, nil
	}
	// The next slot stays unknown when the spec does not parse (it was
	// checked when set) or the target cannot be listed.
	sched, err := parseSchedule(spec.Cron)
	if err != nil {
		return out, nil
	}
	from, ok := e.sched.get(name)
	if !ok {
		if from, err = e.scheduleFrom(ctx, inst, rec); err != nil {
			e.log.Warn("backup schedule: list backups", "installation", name, "err", err)
			return out, nil
		}
	}
	next := sched.Next(from)
	out.Next = &next
	return out, nil
}

// SetBackupSchedule gives an installation its own schedule (or turns its
// scheduled backups off) and returns the effective one.
func (e *Engine) SetBackupSchedule(ctx context.Context, name string, spec BackupScheduleSpec) (*BackupSchedule, error) {
	if err := ValidateName("installation name", name); err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if _, _, err := e.backupDeps(); err != nil {
		return nil, err
	}
	if _, err := e.installed(ctx, name); err != nil {
		return nil, err
	}
	if err := e.updateSchedule(ctx, name, func(r *scheduleRecord) { r.Own = &spec }); err != nil {
		return nil, err
	}
	e.log.Info("backup schedule set", "installation", name, "cron", spec.Cron, "off", spec.Off)
	return e.BackupScheduleOf(ctx, name)
}

// ClearBackupSchedule drops an installation's own schedule: it follows
// the server's default again. It returns the effective schedule.
func (e *Engine) ClearBackupSchedule(ctx context.Context, name string) (*BackupSchedule, error) {
	if err := ValidateName("installation name", name); err != nil {
		return nil, err
	}
	if _, err := e.installed(ctx, name); err != nil {
		return nil, err
	}
	if err := e.updateSchedule(ctx, name, func(r *scheduleRecord) { r.Own = nil }); err != nil {
		return nil, err
	}
	e.log.Info("backup schedule cleared", "installation", name)
	return e.BackupScheduleOf(ctx, name)
}

// dropSchedule forgets a deleted installation's schedule.
func (e *Engine) dropSchedule(ctx context.Context, name string) {
	if err := e.deps.Store.DeleteSet(ctx, scheduleKind, e.cfg.Namespace, name); err != nil && !errors.Is(err, ErrNotFound) {
		e.log.Warn("drop the backup schedule of a deleted installation", "installation", name, "err", err)
	}
}

// scheduleFrom is the time inst's next slot counts from: its newest
// backup, or its last scheduled run if later, or its install.
func (e *Engine) scheduleFrom(ctx context.Context, inst *Installation, rec *scheduleRecord) (time.Time, error) {
	list, err := e.Backups(ctx, inst.Name)
	if err != nil {
		return time.Time{}, err
	}
	t := *inst.Installed
	if len(list) > 0 {
		t = list[0].Created
	}
	if rec.LastRun != nil && rec.LastRun.After(t) {
		t = *rec.LastRun
	}
	return t, nil
}

// runSchedule queues the scheduled backups until ctx ends.
func (e *Engine) runSchedule(ctx context.Context) {
	for {
		e.scheduledBackups(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-time.After(scheduleTick):
		}
	}
}

// scheduledBackups queues a backup of every settled installation whose
// next slot has come.
func (e *Engine) scheduledBackups(ctx context.Context, now time.Time) {
	insts, err := e.deps.Store.ListInstallations(ctx, e.cfg.Namespace)
	if err != nil {
		e.log.Warn("scheduled backups: list installations", "err", err)
		return
	}
	recs := map[string]*scheduleRecord{}
	sets, err := e.deps.Store.ListSets(ctx, scheduleKind, e.cfg.Namespace)
	if err != nil {
		e.log.Warn("scheduled backups: list schedules", "err", err)
		return
	}
	for _, s := range sets {
		var r scheduleRecord
		if json.Unmarshal(s.Doc, &r) == nil {
			recs[s.Name] = &r
		}
	}
	for _, inst := range insts {
		if inst.Installed == nil || inst.Status == StatusUninstalled || settled(inst, "back up") != nil {
			continue
		}
		rec := recs[inst.Name]
		if rec == nil {
			rec = &scheduleRecord{}
		}
		spec, _ := e.effective(rec)
		if spec.Cron == "" {
			continue
		}
		sched, err := parseSchedule(spec.Cron)
		if err != nil {
			continue
		}
		t, ok := e.sched.get(inst.Name)
		if !ok {
			t, err = e.scheduleFrom(ctx, inst, rec)
			if err != nil {
				e.log.Warn("scheduled backups: list backups", "installation", inst.Name, "err", err)
				continue
			}
			e.sched.set(inst.Name, t)
		}
		if sched.Next(t).After(now) {
			continue
		}
		// The next slot counts from now, whether this run succeeds or
		// not: a failing target is retried at the next slot, not every
		// tick.
		e.sched.set(inst.Name, now)
		job, err := e.scheduledBackupJob(ctx, inst.Name, spec.Keep, now)
		if err != nil {
			e.log.Warn("scheduled backup not queued", "installation", inst.Name, "err", err)
			continue
		}
		e.log.Info("scheduled backup queued", "installation", inst.Name, "job", job.ID)
	}
}

// scheduledBackupJob queues a backup job of name and records its outcome
// with the installation's schedule.
func (e *Engine) scheduledBackupJob(ctx context.Context, name string, keep KeepPolicy, now time.Time) (*Job, error) {
	var jobID string
	var idMu sync.Mutex
	idMu.Lock()
	job, err := e.queueJob(ctx, name, "backup", func(ctx context.Context) error {
		err := e.backupAndPrune(ctx, name, keep)
		idMu.Lock()
		id := jobID
		idMu.Unlock()
		result, reason := ScheduleRunOK, ""
		if err != nil {
			result, reason = ScheduleRunFailed, err.Error()
		}
		if uerr := e.updateSchedule(context.WithoutCancel(ctx), name, func(r *scheduleRecord) {
			r.LastRun, r.LastJob, r.LastResult, r.LastReason = &now, id, result, reason
		}); uerr != nil {
			e.log.Warn("record the scheduled backup's outcome", "installation", name, "err", uerr)
		}
		return err
	})
	if job != nil {
		jobID = job.ID
	}
	idMu.Unlock()
	return job, err
}
