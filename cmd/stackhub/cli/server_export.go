package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/service/apitype"
)

// stackhub server export FILE / server import FILE: move every
// installation to another server through the backup repository.

const serverMoveHelp = "The export file lists every installation (name, app, version, ports) with the id of its newest\n" +
	"backup, and the backup repository (--backup-target). It holds no secret: parameter values and\n" +
	"generated secrets travel in the backups, encrypted with the repository key. The key is NOT in\n" +
	"the file: copy DATA/backups/backup.key of the old server (mode 0600) into the new server's data\n" +
	"folder before its first start, and start it with the same --backup-target (and credentials)."

func newServerExportCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export FILE",
		Short: "Write every installation and its newest backup to FILE, for `server import` on another server (admins)",
		Long: serverMoveHelp + "\n\nBack the apps up first (stackhub backup create APP) so the export points at fresh data:\n" +
			"an app without a backup is listed but cannot be imported.",
		Example: "  stackhub backup create blog && stackhub backup create wiki\n  stackhub server export /root/stackhub-export.json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			doc, err := c.ExportServer(cmd.Context())
			if err != nil {
				return err
			}
			raw, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(args[0], append(raw, '\n'), 0o600); err != nil {
				return fmt.Errorf("write the export: %w", err)
			}
			if output == "json" {
				return printJSON(f.IO.Out, doc)
			}
			tw := newTable(f.IO.Out)
			fmt.Fprintln(tw, "NAME\tAPP\tVERSION\tBACKUP")
			for _, x := range doc.Installations {
				b := shortBackupID(x.Backup)
				if b == "" {
					b = "none (cannot be imported)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.Name, x.App, x.Version, b)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "%d installation(s) written to %s; backups in %s.\n"+
				"Copy the repository key (backups/backup.key in the data folder) to the new server yourself: it is not in the file.\n",
				len(doc.Installations), args[0], doc.Repository)
			return nil
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}

func newServerImportCmd(f *Factory) *cobra.Command {
	opts := &jobOptions{}
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Reinstall every installation of a `server export` file from its backup (admins)",
		Long: serverMoveHelp + "\n\nEach installation not here yet is installed again under its name with its backup's\n" +
			"parameters and secrets (on ports this server hands out), then given the backup's data,\n" +
			"as `stackhub backup restore NAME ID --as NAME` would; one job each. Installations that exist\n" +
			"here or have no backup are skipped, with the reason. Bind-mounted host folders are not restored.",
		Example: "  stackhub server import /root/stackhub-export.json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read the export: %w", err)
			}
			var doc apitype.ServerExport
			if err := json.Unmarshal(raw, &doc); err != nil {
				return fmt.Errorf("read the export %s: %w", args[0], err)
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			res, err := c.ImportServer(cmd.Context(), &doc)
			if err != nil {
				return err
			}
			if opts.Output == "json" && opts.NoWait {
				return printJSON(f.IO.Out, res)
			}
			var errs []error
			for _, o := range res.Installations {
				if o.Job == nil {
					fmt.Fprintf(f.IO.Out, "%s: skipped: %s\n", o.Name, o.Skipped)
					continue
				}
				if err := finishJob(cmd, f, o.Job.ID, "import "+o.Name, opts); err != nil {
					errs = append(errs, fmt.Errorf("import %s: %w", o.Name, err))
				}
			}
			return errors.Join(errs...)
		},
	}
	addJobFlags(cmd, opts)
	return cmd
}
