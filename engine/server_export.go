package engine

import (
	"context"
	"fmt"
	"time"
)

// ServerExportFormat names the layout of a server export.
const ServerExportFormat = "stackhub-server-export/1"

// ServerExport is what `stackhub server export` writes: every
// installation with its newest backup, and where the backups are. It
// holds no secrets: parameter values and generated secrets are in the
// backups' records, encrypted with the repository key, which is not in
// the export (it is moved by hand: DATA/backups/backup.key).
type ServerExport struct {
	Format     string    `json:"format"`
	Exported   time.Time `json:"exported"`
	StackHub   string    `json:"stackhub"`
	Repository string    `json:"repository"`
	// Installations are in the order they were installed.
	Installations []ExportedInstallation `json:"installations"`
}

// ExportedInstallation is one installation in a server export.
type ExportedInstallation struct {
	Name      string         `json:"name"`
	App       string         `json:"app"`
	Version   string         `json:"version"`
	Reference string         `json:"reference,omitempty"`
	Status    string         `json:"status"`
	Ports     map[string]int `json:"ports,omitempty"`
	// Backup is the id of its newest backup ("": it has none, and an
	// import cannot bring it back).
	Backup        string     `json:"backup,omitempty"`
	BackupCreated *time.Time `json:"backupCreated,omitempty"`
}

// ImportOutcome is what an import did with one installation: a restore
// job, or the reason it was skipped.
type ImportOutcome struct {
	Name    string `json:"name"`
	Job     *Job   `json:"job,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// ExportServer lists every installation with its newest backup.
func (e *Engine) ExportServer(ctx context.Context) (*ServerExport, error) {
	be, _, err := e.backupDeps()
	if err != nil {
		return nil, err
	}
	list, err := e.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	out := &ServerExport{Format: ServerExportFormat, Exported: time.Now().UTC(), StackHub: e.cfg.Version,
		Repository: be.Target(), Installations: []ExportedInstallation{}}
	for _, inst := range list {
		if inst.Status == StatusUninstalled {
			continue
		}
		x := ExportedInstallation{Name: inst.Name, App: inst.App, Version: inst.BundleVersion, Reference: inst.Reference,
			Status: string(inst.Status), Ports: inst.Ports}
		backups, err := e.Backups(ctx, inst.Name)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if len(backups) > 0 {
			created := backups[0].Created
			x.Backup, x.BackupCreated = backups[0].ID, &created
		}
		out.Installations = append(out.Installations, x)
	}
	return out, nil
}

// ImportServer reinstalls every installation of an export from its
// newest backup (as `backup restore NAME ID --as NAME`: installed with
// the backup's parameters and secrets, then given its data), each as a
// job of its own. The server must use the export's repository and its
// key. Installations that exist already or have no backup are skipped,
// with the reason.
func (e *Engine) ImportServer(ctx context.Context, doc *ServerExport) ([]ImportOutcome, error) {
	if doc == nil || doc.Format != ServerExportFormat {
		return nil, NewUserError(ErrInvalid, "not a StackHub server export",
			"give the file `stackhub server export FILE` wrote (format "+ServerExportFormat+")")
	}
	be, _, err := e.backupDeps()
	if err != nil {
		return nil, err
	}
	if doc.Repository != be.Target() {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("the export's backups are in %s, this server's in %s", doc.Repository, be.Target()),
			"start this server with --backup-target "+doc.Repository+" and the old server's backups/backup.key in its data folder")
	}
	outcomes := make([]ImportOutcome, 0, len(doc.Installations))
	for _, x := range doc.Installations {
		o := ImportOutcome{Name: x.Name}
		if err := ValidateName("installation name", x.Name); err != nil {
			o.Skipped = err.Error()
			outcomes = append(outcomes, o)
			continue
		}
		if inst, err := e.deps.Store.GetInstallation(ctx, e.cfg.Namespace, x.Name); err == nil && inst.Status != StatusUninstalled {
			o.Skipped = "already installed here"
			outcomes = append(outcomes, o)
			continue
		}
		if x.Backup == "" {
			o.Skipped = "it had no backup: install it again (stackhub install " + x.App + " --name " + x.Name + ")"
			outcomes = append(outcomes, o)
			continue
		}
		if err := validBackupID(x.Backup); err != nil {
			o.Skipped = err.Error()
			outcomes = append(outcomes, o)
			continue
		}
		opts := RestoreOptions{Name: x.Name, ID: x.Backup, As: x.Name}
		job, err := e.queueJob(ctx, x.Name, "import", func(ctx context.Context) error {
			return e.restore(ctx, opts)
		})
		if err != nil {
			return outcomes, err
		}
		o.Job = job
		outcomes = append(outcomes, o)
	}
	return outcomes, nil
}
