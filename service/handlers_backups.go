package service

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/apitype"
)

// The backup routes: an installation's backups, taking one (a job),
// restoring one in place or as a new installation (a job), deleting one.

func toBackupDTO(b *engine.Backup) apitype.Backup {
	return apitype.Backup{
		ID: b.ID, Installation: b.Installation, App: b.Tags[engine.TagApp], Version: b.Tags[engine.TagVersion],
		Created: b.Created, Size: b.Size, Added: b.Added, Files: b.Files, Quiesce: b.Tags[engine.TagQuiesce], Target: b.Target,
		Verified: toVerificationDTO(b.Verified),
	}
}

func toVerificationDTO(v *engine.BackupVerification) *apitype.BackupVerification {
	if v == nil {
		return nil
	}
	return &apitype.BackupVerification{Verified: v.Verified, OK: v.OK, Reason: v.Reason, Scratch: v.Scratch, Seconds: v.Seconds}
}

// backupParams reads :name and :id.
func backupParams(c *fiber.Ctx) (string, string, error) {
	name, err := nameParam(c)
	if err != nil {
		return "", "", err
	}
	id := c.Params("id")
	if err := (&engine.RestoreOptions{Name: name, ID: id}).Validate(); err != nil {
		return "", "", err
	}
	return name, id, nil
}

// listBackups answers an installation's backups, newest first (the
// installation need not exist any more).
func (s *Server) listBackups(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	list, err := s.eng.Backups(c.UserContext(), name)
	if err != nil {
		return fmt.Errorf("backups of %q: %w", name, err)
	}
	out := apitype.BackupList{Backups: make([]apitype.Backup, 0, len(list))}
	for i := range list {
		out.Backups = append(out.Backups, toBackupDTO(&list[i]))
	}
	return c.JSON(out)
}

// createBackup backs an installation up as a job: 202 with the job.
func (s *Server) createBackup(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	job, err := s.eng.CreateBackup(c.UserContext(), name)
	if err != nil {
		return fmt.Errorf("back up %q: %w", name, err)
	}
	s.audit(c, "backup", name, job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(s.toJobDTO(job))
}

// getBackup answers one backup (id "latest" is the newest) and the names,
// not the values, of what its record holds.
func (s *Server) getBackup(c *fiber.Ctx) error {
	name, id, err := backupParams(c)
	if err != nil {
		return err
	}
	b, rec, err := s.eng.GetBackup(c.UserContext(), name, id)
	if err != nil {
		return fmt.Errorf("backup %q of %q: %w", id, name, err)
	}
	out := apitype.BackupDetail{Backup: toBackupDTO(b), Reference: rec.Reference, Ports: rec.Ports,
		Parameters: []string{}, Outputs: []string{}, Mounts: []apitype.BackupMount{}}
	if out.Version == "" {
		out.Version = rec.BundleVersion
	}
	for k := range rec.Parameters {
		out.Parameters = append(out.Parameters, k)
	}
	for k := range rec.Outputs {
		out.Outputs = append(out.Outputs, k)
	}
	slices.Sort(out.Parameters)
	slices.Sort(out.Outputs)
	for _, m := range rec.Mounts {
		out.Mounts = append(out.Mounts, apitype.BackupMount{Key: m.Key, Name: m.Name, Path: m.Path, Bind: m.Bind})
	}
	return c.JSON(out)
}

// restoreBackup restores a backup as a job: body {"as": NAME} (optional)
// makes a new installation instead of replacing the data in place. 202
// with the job.
func (s *Server) restoreBackup(c *fiber.Ctx) error {
	name, id, err := backupParams(c)
	if err != nil {
		return err
	}
	var req apitype.RestoreRequest
	kind, err := bodyKindOf(c)
	if err != nil {
		return err
	}
	if kind == bodyJSON {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	opts := engine.RestoreOptions{Name: name, ID: id, As: strings.TrimSpace(req.As)}
	job, err := s.eng.RestoreJob(c.UserContext(), opts)
	if err != nil {
		return fmt.Errorf("restore %q of %q: %w", id, name, err)
	}
	what := name + " " + id
	if opts.As != "" {
		what += " as " + opts.As
	}
	s.audit(c, "restore", what, job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(s.toJobDTO(job))
}

// verifyBackup verifies a backup as a job (restored into a scratch
// installation, waited for, removed): 202 with the job.
func (s *Server) verifyBackup(c *fiber.Ctx) error {
	name, id, err := backupParams(c)
	if err != nil {
		return err
	}
	job, err := s.eng.VerifyJob(c.UserContext(), name, id)
	if err != nil {
		return fmt.Errorf("verify %q of %q: %w", id, name, err)
	}
	s.audit(c, "verify-backup", name+" "+id, job.ID)
	c.Location("/api/v1/jobs/" + job.ID)
	return c.Status(fiber.StatusAccepted).JSON(s.toJobDTO(job))
}

// exportServer answers every installation with its newest backup and the
// repository (no secrets).
func (s *Server) exportServer(c *fiber.Ctx) error {
	doc, err := s.eng.ExportServer(c.UserContext())
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	out := apitype.ServerExport{Format: doc.Format, Exported: doc.Exported, StackHub: doc.StackHub, Repository: doc.Repository,
		Installations: make([]apitype.ExportedInstallation, 0, len(doc.Installations))}
	for _, x := range doc.Installations {
		out.Installations = append(out.Installations, apitype.ExportedInstallation{Name: x.Name, App: x.App, Version: x.Version,
			Reference: x.Reference, Status: x.Status, Ports: x.Ports, Backup: x.Backup, BackupCreated: x.BackupCreated})
	}
	s.audit(c, "export-server", fmt.Sprintf("%d installation(s)", len(out.Installations)), "")
	return c.JSON(out)
}

// importServer reinstalls every installation of an export from its
// backup, a job each: 202 with the jobs and what was skipped.
func (s *Server) importServer(c *fiber.Ctx) error {
	var req apitype.ServerExport
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	doc := &engine.ServerExport{Format: req.Format, Exported: req.Exported, StackHub: req.StackHub, Repository: req.Repository}
	for _, x := range req.Installations {
		doc.Installations = append(doc.Installations, engine.ExportedInstallation{Name: x.Name, App: x.App, Version: x.Version,
			Reference: x.Reference, Status: x.Status, Ports: x.Ports, Backup: x.Backup, BackupCreated: x.BackupCreated})
	}
	outcomes, err := s.eng.ImportServer(c.UserContext(), doc)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	out := apitype.ServerImportResult{Installations: make([]apitype.ImportOutcome, 0, len(outcomes))}
	for _, o := range outcomes {
		x := apitype.ImportOutcome{Name: o.Name, Skipped: o.Skipped}
		if o.Job != nil {
			j := s.toJobDTO(o.Job)
			x.Job = &j
			s.audit(c, "import", o.Name, o.Job.ID)
		}
		out.Installations = append(out.Installations, x)
	}
	return c.Status(fiber.StatusAccepted).JSON(out)
}

// deleteBackup removes one backup: 204.
func (s *Server) deleteBackup(c *fiber.Ctx) error {
	name, id, err := backupParams(c)
	if err != nil {
		return err
	}
	if err := s.eng.DeleteBackup(c.UserContext(), name, id); err != nil {
		return fmt.Errorf("delete backup %q of %q: %w", id, name, err)
	}
	s.audit(c, "delete-backup", name+" "+id, "")
	return c.SendStatus(fiber.StatusNoContent)
}

// pruneBackups deletes the backups a retention policy does not keep:
// body {"keepLast","keepDaily","keepWeekly","keepMonthly"}; 200 with the
// deleted ids.
func (s *Server) pruneBackups(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	var req apitype.PruneRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	keep := engine.KeepPolicy{Last: req.KeepLast, Daily: req.KeepDaily, Weekly: req.KeepWeekly, Monthly: req.KeepMonthly}
	removed, err := s.eng.PruneBackups(c.UserContext(), name, keep)
	if err != nil {
		return fmt.Errorf("prune backups of %q: %w", name, err)
	}
	s.audit(c, "prune-backups", fmt.Sprintf("%s (%d removed)", name, len(removed)), "")
	return c.JSON(apitype.PruneResult{Removed: removed})
}

func toScheduleDTO(s *engine.BackupSchedule) apitype.BackupSchedule {
	return apitype.BackupSchedule{Installation: s.Installation, Source: s.Source, Cron: s.Cron,
		KeepLast: s.Keep.Last, KeepDaily: s.Keep.Daily, KeepWeekly: s.Keep.Weekly, KeepMonthly: s.Keep.Monthly,
		Server: s.Server, Next: s.Next, LastRun: s.LastRun, LastJob: s.LastJob, LastResult: s.LastResult, LastReason: s.LastReason}
}

// getBackupSchedule answers an installation's effective backup schedule.
func (s *Server) getBackupSchedule(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	sched, err := s.eng.BackupScheduleOf(c.UserContext(), name)
	if err != nil {
		return fmt.Errorf("backup schedule of %q: %w", name, err)
	}
	return c.JSON(toScheduleDTO(sched))
}

// putBackupSchedule gives an installation its own schedule (or turns it
// off): body {"cron","keepLast","keepDaily","keepWeekly","keepMonthly"}
// or {"off": true}; 200 with the effective schedule.
func (s *Server) putBackupSchedule(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	var req apitype.BackupScheduleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	spec := engine.BackupScheduleSpec{Cron: req.Cron, Off: req.Off,
		Keep: engine.KeepPolicy{Last: req.KeepLast, Daily: req.KeepDaily, Weekly: req.KeepWeekly, Monthly: req.KeepMonthly}}
	sched, err := s.eng.SetBackupSchedule(c.UserContext(), name, spec)
	if err != nil {
		return fmt.Errorf("set the backup schedule of %q: %w", name, err)
	}
	what := name + " off"
	if !spec.Off {
		what = name + " " + sched.Cron
	}
	s.audit(c, "backup-schedule", what, "")
	return c.JSON(toScheduleDTO(sched))
}

// deleteBackupSchedule drops an installation's own schedule (it follows
// the server's default again): 200 with the effective schedule.
func (s *Server) deleteBackupSchedule(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	sched, err := s.eng.ClearBackupSchedule(c.UserContext(), name)
	if err != nil {
		return fmt.Errorf("clear the backup schedule of %q: %w", name, err)
	}
	s.audit(c, "backup-schedule", name+" default", "")
	return c.JSON(toScheduleDTO(sched))
}
