package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// verificationKind is the kind of the stored records (engine Store sets)
// that say when a backup was last verified and how it went; the record's
// name is the backup's id.
const verificationKind = "BackupVerification"

// BackupVerification is the outcome of restoring a backup into a scratch
// installation.
type BackupVerification struct {
	Backup       string    `json:"backup"`
	Installation string    `json:"installation"`
	Verified     time.Time `json:"verified"`
	OK           bool      `json:"ok"`
	// Reason says why the verification failed ("" when OK).
	Reason string `json:"reason,omitempty"`
	// Scratch is the name of the installation the backup was restored
	// into (removed again, with its volumes).
	Scratch string `json:"scratch"`
	// Seconds is how long the verification took.
	Seconds float64 `json:"seconds"`
}

// VerifyJob queues VerifyBackup as a job of the installation.
func (e *Engine) VerifyJob(ctx context.Context, name, id string) (*Job, error) {
	if err := (&RestoreOptions{Name: name, ID: id}).Validate(); err != nil {
		return nil, err
	}
	if _, _, err := e.backupDeps(); err != nil {
		return nil, err
	}
	return e.queueJob(ctx, name, "verify", func(ctx context.Context) error {
		v, err := e.VerifyBackup(ctx, name, id)
		if err != nil {
			return err
		}
		if !v.OK {
			return NewUserError(ErrUnavailable, fmt.Sprintf("backup %s of %s did not verify: %s", v.Backup, name, v.Reason),
				"see the job's steps; the backup may be incomplete, or the app may need more time to start")
		}
		e.step(ctx, fmt.Sprintf("backup %s of %s verified in %.1f s", v.Backup, name, v.Seconds), 99)
		return nil
	})
}

// VerifyBackup restores a backup into a scratch installation (a clone
// under a generated name, on its own ports), waits for it to run and be
// healthy, then removes it with its volumes, whatever happened. The
// outcome is recorded on the backup (see Backup.Verified) and returned;
// the error is for failures to look the backup up or record the outcome,
// a backup that does not restore is a result with OK false.
func (e *Engine) VerifyBackup(ctx context.Context, name, id string) (*BackupVerification, error) {
	if err := (&RestoreOptions{Name: name, ID: id}).Validate(); err != nil {
		return nil, err
	}
	b, _, err := e.GetBackup(ctx, name, id)
	if err != nil {
		return nil, err
	}
	suffix := make([]byte, 2)
	_, _ = rand.Read(suffix)
	short := b.ID
	if len(short) > 8 {
		short = short[:8]
	}
	scratch := "verify-" + short + "-" + hex.EncodeToString(suffix)
	start := time.Now()
	e.step(ctx, fmt.Sprintf("restore backup %s of %s into scratch installation %s", b.ID, name, scratch), 5)
	restoreErr := e.Restore(ctx, RestoreOptions{Name: name, ID: b.ID, As: scratch})
	v := &BackupVerification{Backup: b.ID, Installation: name, OK: restoreErr == nil, Scratch: scratch}
	if restoreErr != nil {
		v.Reason = restoreErr.Error()
	}
	// The scratch installation goes, failure or not, and also when the
	// caller went away.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.WaitTimeout+2*time.Minute)
	defer cancel()
	e.step(ctx, "remove scratch installation "+scratch+" and its volumes", 90)
	removeErr := e.removeScratch(wctx, scratch)
	v.Verified = time.Now().UTC()
	v.Seconds = time.Since(start).Seconds()
	if err := e.recordVerification(wctx, v); err != nil {
		return v, errors.Join(err, removeErr)
	}
	e.log.Info("backup verified", "installation", name, "backup", b.ID, "ok", v.OK, "reason", v.Reason)
	if removeErr != nil {
		return v, &UserError{Msg: fmt.Sprintf("verify backup %s: removing scratch installation %s failed: %v", b.ID, scratch, removeErr),
			Hint: "remove it with `stackhub uninstall --purge " + scratch + "`", Err: removeErr}
	}
	return v, nil
}

// removeScratch uninstalls a scratch installation with its volumes and
// drops its record; without a record (the install never started) it
// removes whatever Docker holds of its project.
func (e *Engine) removeScratch(ctx context.Context, scratch string) error {
	inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, scratch)
	if errors.Is(err, ErrNotFound) {
		return e.deps.Docker.RemoveProject(ctx, e.Project(scratch), true)
	}
	if err != nil {
		return err
	}
	if inst.Status != StatusUninstalled {
		if err := e.Uninstall(ctx, UninstallOptions{Name: scratch, Purge: true}); err != nil {
			// The bundle's uninstall failed: remove the project directly.
			rerr := e.deps.Docker.RemoveProject(ctx, e.Project(scratch), true)
			if rerr != nil {
				return errors.Join(err, rerr)
			}
			_ = e.deps.Store.ReleasePorts(ctx, scratch)
		}
	}
	if err := e.deps.Store.DeleteInstallation(ctx, e.cfg.Namespace, scratch); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

func (e *Engine) recordVerification(ctx context.Context, v *BackupVerification) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := e.deps.Store.PutSet(ctx, &SetRecord{Kind: verificationKind, Namespace: e.cfg.Namespace, Name: v.Backup, Doc: doc}); err != nil {
		return fmt.Errorf("record the verification of backup %s: %w", v.Backup, err)
	}
	return nil
}

// verifications returns the recorded verifications by backup id.
func (e *Engine) verifications(ctx context.Context) map[string]*BackupVerification {
	sets, err := e.deps.Store.ListSets(ctx, verificationKind, e.cfg.Namespace)
	if err != nil {
		e.log.Warn("list backup verifications", "err", err)
		return nil
	}
	out := make(map[string]*BackupVerification, len(sets))
	for _, s := range sets {
		var v BackupVerification
		if json.Unmarshal(s.Doc, &v) == nil {
			out[s.Name] = &v
		}
	}
	return out
}

// dropVerifications forgets the recorded verifications of deleted
// backups.
func (e *Engine) dropVerifications(ctx context.Context, ids ...string) {
	for _, id := range ids {
		err := e.deps.Store.DeleteSet(ctx, verificationKind, e.cfg.Namespace, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			e.log.Warn("drop the verification of a deleted backup", "backup", id, "err", err)
		}
	}
}
