package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Scheduled backups: Config.BackupSchedule (cron syntax) backs every
// installation up when a slot has passed since its newest backup, so a
// slot missed while StackHub was down runs at the next start. Each run is
// a backup job (a failure is a failed job, with the reason); Config.
// BackupKeep then prunes the installation's backups.

// scheduleTick is how often the schedule is looked at.
var scheduleTick = 30 * time.Second

// parseSchedule reads a five-field cron expression (or @daily ...).
func parseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("backup schedule %q: %v", spec, err),
			"use cron syntax: minute hour day-of-month month day-of-week, for example \"0 3 * * *\", or @daily")
	}
	return s, nil
}

// runSchedule queues the scheduled backups until ctx ends.
func (e *Engine) runSchedule(ctx context.Context, sched cron.Schedule) {
	last := map[string]time.Time{}
	for {
		e.scheduledBackups(ctx, sched, last, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-time.After(scheduleTick):
		}
	}
}

// scheduledBackups queues a backup of every settled installation whose
// next slot after its newest backup (or its install) has come. last
// remembers those times between calls.
func (e *Engine) scheduledBackups(ctx context.Context, sched cron.Schedule, last map[string]time.Time, now time.Time) {
	insts, err := e.deps.Store.ListInstallations(ctx, e.cfg.Namespace)
	if err != nil {
		e.log.Warn("scheduled backups: list installations", "err", err)
		return
	}
	for _, inst := range insts {
		if inst.Installed == nil || inst.Status == StatusUninstalled || settled(inst, "back up") != nil {
			continue
		}
		t, ok := last[inst.Name]
		if !ok {
			list, err := e.Backups(ctx, inst.Name)
			if err != nil {
				e.log.Warn("scheduled backups: list backups", "installation", inst.Name, "err", err)
				continue
			}
			t = *inst.Installed
			if len(list) > 0 {
				t = list[0].Created
			}
			last[inst.Name] = t
		}
		if sched.Next(t).After(now) {
			continue
		}
		// The next slot counts from now, whether this run succeeds or
		// not: a failing target is retried at the next slot, not every
		// tick.
		last[inst.Name] = now
		job, err := e.backupJob(ctx, inst.Name, e.cfg.BackupKeep)
		if err != nil {
			e.log.Warn("scheduled backup not queued", "installation", inst.Name, "err", err)
			continue
		}
		e.log.Info("scheduled backup queued", "installation", inst.Name, "job", job.ID)
	}
}
