package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/service/apitype"
	"github.com/stackhub/stackhub/service/client"
)

// stackhub backup create|list|show|restore|delete: through the service,
// which runs backups and restores as jobs.

func newBackupCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Back up an app's data and record, list its backups, restore one in place or as a new app",
		Long: "Backups hold an app's volumes and bind-mounted folders and its installation record (bundle,\n" +
			"version, parameter values, outputs with generated secrets), in a restic repository that is\n" +
			"encrypted and deduplicated: a second backup stores only what changed. The repository is the\n" +
			"server's --backup-target (default: backups/repository in its data folder); its key is\n" +
			"backups/backup.key in the data folder, kept apart from the repository: without it the\n" +
			"backups cannot be read. Unless the app's bundle declares a backup action, its containers are\n" +
			"stopped for the copy and started again, failure or not.",
	}
	cmd.AddCommand(newBackupCreateCmd(f), newBackupListCmd(f), newBackupShowCmd(f), newBackupRestoreCmd(f), newBackupVerifyCmd(f), newBackupDeleteCmd(f), newBackupPruneCmd(f), newBackupScheduleCmd(f))
	return cmd
}

func newBackupCreateCmd(f *Factory) *cobra.Command {
	opts := &jobOptions{}
	cmd := &cobra.Command{
		Use:               "create APP",
		Short:             "Back an app up now",
		Example:           "  stackhub backup create blog\n  stackhub backup create blog -v     # with the job's steps (how the app was quiesced)",
		Args:              exactArgs(1),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			job, err := c.CreateBackup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := finishJob(cmd, f, job.ID, "backup "+args[0], opts); err != nil {
				return err
			}
			if opts.NoWait || opts.Output == "json" {
				return nil
			}
			// The job's last steps say how the app was quiesced and what
			// the backup holds.
			return printJobSteps(cmd, f, c, job.ID)
		},
	}
	addJobFlags(cmd, opts)
	return cmd
}

// printJobSteps prints the steps a finished job recorded after its copy.
func printJobSteps(cmd *cobra.Command, f *Factory, c *client.Client, jobID string) error {
	// The steps are a courtesy: the job itself succeeded, so a failure to
	// read them back is not reported.
	_, _ = c.Follow(cmd.Context(), jobID, func(ev client.JobEvent) error {
		if ev.Type == "step" && ev.Progress >= 95 {
			fmt.Fprintln(f.IO.Out, "  "+ev.Step)
		}
		return nil
	})
	return nil
}

func newBackupListCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:               "list APP",
		Short:             "List an app's backups, newest first",
		Example:           "  stackhub backup list blog\n  stackhub backup list blog -o json",
		Args:              exactArgs(1),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			list, err := c.Backups(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, list)
			}
			if len(list) == 0 {
				fmt.Fprintf(f.IO.Out, "%s has no backups; make one with `stackhub backup create %s`\n", args[0], args[0])
				return nil
			}
			tw := newTable(f.IO.Out)
			fmt.Fprintln(tw, "ID\tCREATED\tVERSION\tSIZE\tADDED\tQUIESCE\tVERIFIED")
			for _, b := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", shortBackupID(b.ID), b.Created.Local().Format("2006-01-02 15:04:05"),
					b.Version, byteSize(b.Size), byteSize(b.Added), b.Quiesce, verifiedShort(b.Verified))
			}
			return tw.Flush()
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}

// verifiedShort says in a word or two how a backup's last verification
// went.
func verifiedShort(v *apitype.BackupVerification) string {
	switch {
	case v == nil:
		return "never"
	case v.OK:
		return "ok " + v.Verified.Local().Format("2006-01-02")
	default:
		return "FAILED " + v.Verified.Local().Format("2006-01-02")
	}
}

func shortBackupID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// byteSize writes n bytes in KiB, MiB, GiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func newBackupShowCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:               "show APP [ID]",
		Short:             "Show one backup (default the newest): what it holds",
		Example:           "  stackhub backup show blog\n  stackhub backup show blog 3f2a9c1d -o json",
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			id := "latest"
			if len(args) == 2 {
				id = args[1]
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			b, err := c.Backup(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, b)
			}
			w := f.IO.Out
			fmt.Fprintf(w, "Backup:     %s\n", b.ID)
			fmt.Fprintf(w, "Of:         %s (%s %s)\n", b.Installation, b.App, b.Version)
			fmt.Fprintf(w, "Created:    %s\n", b.Created.Local().Format("2006-01-02 15:04:05"))
			fmt.Fprintf(w, "Size:       %s (%d files), %s added to the repository\n", byteSize(b.Size), b.Files, byteSize(b.Added))
			fmt.Fprintf(w, "Quiesce:    %s\n", b.Quiesce)
			fmt.Fprintf(w, "Target:     %s\n", b.Target)
			fmt.Fprintf(w, "Verified:   %s\n", verifiedLong(b.Verified))
			fmt.Fprintf(w, "Parameters: %s\n", strings.Join(b.Parameters, ", "))
			fmt.Fprintf(w, "Outputs:    %s (values kept encrypted in the backup)\n", strings.Join(b.Outputs, ", "))
			for _, m := range b.Mounts {
				kind := "volume " + m.Name
				if m.Bind {
					kind = "bind mount"
				}
				fmt.Fprintf(w, "Data:       %s (%s) %s\n", m.Key, kind, m.Path)
			}
			return nil
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}

func newBackupRestoreCmd(f *Factory) *cobra.Command {
	opts := &jobOptions{}
	var as string
	cmd := &cobra.Command{
		Use:   "restore APP [ID]",
		Short: "Restore a backup (default the newest): in place, or as a new app with --as",
		Long: "In place, the app is stopped, its data replaced by the backup's, started and waited for; the\n" +
			"backup is first restored beside the data, so a restore that fails before the swap leaves the\n" +
			"data as it was. With --as NAME, a new installation NAME of the backup's app is made with the\n" +
			"backup's parameter values and secrets, on ports of its own, and given the backup's data.",
		Example:           "  stackhub backup restore blog --yes\n  stackhub backup restore blog 3f2a9c1d --as blog-copy",
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			id := "latest"
			if len(args) == 2 {
				id = args[1]
			}
			if as == "" {
				if err := confirm(f, opts.Yes, "Replace the data of "+args[0]+" with backup "+id+"?"); err != nil {
					return err
				}
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			job, err := c.RestoreBackup(cmd.Context(), args[0], id, as)
			if err != nil {
				return err
			}
			what := "restore " + args[0]
			if as != "" {
				what += " as " + as
			}
			return finishJob(cmd, f, job.ID, what, opts)
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "restore into a new installation of this name instead of in place")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	addJobFlags(cmd, opts)
	return cmd
}

func verifiedLong(v *apitype.BackupVerification) string {
	if v == nil {
		return "never (check it with `stackhub backup verify`)"
	}
	at := v.Verified.Local().Format("2006-01-02 15:04:05")
	if v.OK {
		return fmt.Sprintf("ok at %s (restored into %s and healthy in %.0f s)", at, v.Scratch, v.Seconds)
	}
	return fmt.Sprintf("FAILED at %s: %s", at, v.Reason)
}

func newBackupVerifyCmd(f *Factory) *cobra.Command {
	opts := &jobOptions{}
	cmd := &cobra.Command{
		Use:   "verify APP [ID]",
		Short: "Check that a backup (default the newest) restores: into a scratch app that is removed again",
		Long: "The backup is restored as a new installation under a generated name (verify-ID-XXXX), on ports\n" +
			"of its own, and waited for until it runs and is healthy; then that installation is removed with\n" +
			"its volumes, also when the verification fails. The app itself is not touched. The outcome\n" +
			"(when, ok or the reason) is kept with the backup: see `stackhub backup list` and `show`.",
		Example:           "  stackhub backup verify blog\n  stackhub backup verify blog 3f2a9c1d -v",
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			id := "latest"
			if len(args) == 2 {
				id = args[1]
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			job, err := c.VerifyBackup(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			return finishJob(cmd, f, job.ID, "verify backup "+id+" of "+args[0], opts)
		},
	}
	addJobFlags(cmd, opts)
	return cmd
}

func newBackupDeleteCmd(f *Factory) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:               "delete APP ID",
		Short:             "Delete one backup (admins)",
		Example:           "  stackhub backup delete blog 3f2a9c1d --yes",
		Args:              exactArgs(2),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := confirm(f, yes, "Delete backup "+args[1]+" of "+args[0]+"?"); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteBackup(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "deleted backup %s of %s\n", args[1], args[0])
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	addClientFlags(cmd, new(string))
	return cmd
}

func newBackupPruneCmd(f *Factory) *cobra.Command {
	var keep apitype.PruneRequest
	var yes bool
	var output string
	cmd := &cobra.Command{
		Use:   "prune APP",
		Short: "Delete the backups a retention policy does not keep (admins)",
		Long: "Keep the newest --keep-last backups, and the newest of each of the last --keep-daily days,\n" +
			"--keep-weekly weeks and --keep-monthly months; delete the others and the data only they used.",
		Example:           "  stackhub backup prune blog --keep-last 3 --keep-daily 7 --keep-weekly 4 --yes",
		Args:              exactArgs(1),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if keep.KeepLast+keep.KeepDaily+keep.KeepWeekly+keep.KeepMonthly <= 0 {
				return &FlagError{Err: fmt.Errorf("say what to keep: --keep-last, --keep-daily, --keep-weekly or --keep-monthly")}
			}
			if err := confirm(f, yes, "Delete the backups of "+args[0]+" this policy does not keep?"); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			removed, err := c.PruneBackups(cmd.Context(), args[0], keep)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, removed)
			}
			for _, id := range removed {
				fmt.Fprintf(f.IO.Out, "deleted backup %s\n", shortBackupID(id))
			}
			fmt.Fprintf(f.IO.Out, "%d backup(s) of %s deleted\n", len(removed), args[0])
			return nil
		},
	}
	cmd.Flags().IntVar(&keep.KeepLast, "keep-last", 0, "keep the newest N backups")
	cmd.Flags().IntVar(&keep.KeepDaily, "keep-daily", 0, "keep the newest backup of each of the last N days")
	cmd.Flags().IntVar(&keep.KeepWeekly, "keep-weekly", 0, "keep the newest backup of each of the last N weeks")
	cmd.Flags().IntVar(&keep.KeepMonthly, "keep-monthly", 0, "keep the newest backup of each of the last N months")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	addClientFlags(cmd, &output)
	return cmd
}

func newBackupScheduleCmd(f *Factory) *cobra.Command {
	var req apitype.BackupScheduleRequest
	var useDefault bool
	var output string
	cmd := &cobra.Command{
		Use:   "schedule APP",
		Short: "Show or set an app's own backup schedule and retention (setting: admins)",
		Long: "Without flags, show the app's schedule: its own, or the server's default (serve\n" +
			"--backup-schedule), the next run and how the last scheduled run went (with the reason of a\n" +
			"failure). --cron gives the app its own schedule (cron: minute hour day-of-month month\n" +
			"day-of-week, or @daily ...), with the --keep-* counts pruning its backups after each scheduled\n" +
			"run (none: no pruning). --off stops scheduled backups of the app, the server's default\n" +
			"included; --default drops its own schedule so that it follows the server's default again.\n" +
			"A run missed while the server was down runs when it starts.",
		Example: "  stackhub backup schedule blog\n" +
			"  stackhub backup schedule blog --cron \"0 3 * * *\" --keep-last 7 --keep-daily 7 --keep-weekly 4 --keep-monthly 6\n" +
			"  stackhub backup schedule blog --off\n  stackhub backup schedule blog --default",
		Args:              exactArgs(1),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			keeps := req.KeepLast + req.KeepDaily + req.KeepWeekly + req.KeepMonthly
			setting := req.Cron != "" || keeps > 0
			switch {
			case useDefault && (req.Off || setting):
				return &FlagError{Err: fmt.Errorf("--default takes no other flag: it drops the app's own schedule")}
			case req.Off && setting:
				return &FlagError{Err: fmt.Errorf("--off takes no --cron or --keep-* flag")}
			case keeps > 0 && req.Cron == "":
				return &FlagError{Err: fmt.Errorf("--keep-* counts go with --cron (for example --cron \"0 3 * * *\")")}
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			var sched *apitype.BackupSchedule
			switch {
			case useDefault:
				sched, err = c.ClearBackupSchedule(cmd.Context(), args[0])
			case req.Off || setting:
				sched, err = c.SetBackupSchedule(cmd.Context(), args[0], req)
			default:
				sched, err = c.BackupSchedule(cmd.Context(), args[0])
			}
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, sched)
			}
			printSchedule(f, sched)
			return nil
		},
	}
	cmd.Flags().StringVar(&req.Cron, "cron", "", "the app's own schedule, in cron syntax (\"0 3 * * *\", @daily)")
	cmd.Flags().IntVar(&req.KeepLast, "keep-last", 0, "after each scheduled run keep the newest N backups")
	cmd.Flags().IntVar(&req.KeepDaily, "keep-daily", 0, "... and the newest of each of the last N days")
	cmd.Flags().IntVar(&req.KeepWeekly, "keep-weekly", 0, "... and the newest of each of the last N weeks")
	cmd.Flags().IntVar(&req.KeepMonthly, "keep-monthly", 0, "... and the newest of each of the last N months")
	cmd.Flags().BoolVar(&req.Off, "off", false, "no scheduled backups of this app, not even the server's default")
	cmd.Flags().BoolVar(&useDefault, "default", false, "drop the app's own schedule: follow the server's default")
	addClientFlags(cmd, &output)
	return cmd
}

// printSchedule prints an app's backup schedule for people.
func printSchedule(f *Factory, s *apitype.BackupSchedule) {
	out := f.IO.Out
	switch s.Source {
	case "installation":
		fmt.Fprintf(out, "schedule:    %s (its own)\n", s.Cron)
	case "server":
		fmt.Fprintf(out, "schedule:    %s (the server's default)\n", s.Cron)
	case "off":
		fmt.Fprintln(out, "schedule:    off (no scheduled backups)")
	default:
		fmt.Fprintf(out, "schedule:    none (set one with `stackhub backup schedule %s --cron \"0 3 * * *\"`)\n", s.Installation)
	}
	if s.Cron != "" {
		var keep []string
		for _, k := range []struct {
			n    int
			what string
		}{{s.KeepLast, "last"}, {s.KeepDaily, "daily"}, {s.KeepWeekly, "weekly"}, {s.KeepMonthly, "monthly"}} {
			if k.n > 0 {
				keep = append(keep, fmt.Sprintf("%s %d", k.what, k.n))
			}
		}
		if len(keep) == 0 {
			keep = []string{"every backup (no pruning)"}
		}
		fmt.Fprintf(out, "keep:        %s\n", strings.Join(keep, ", "))
	}
	if s.Next != nil {
		fmt.Fprintf(out, "next run:    %s\n", s.Next.Local().Format(time.DateTime))
	}
	if s.LastRun == nil {
		fmt.Fprintln(out, "last run:    never")
		return
	}
	res := s.LastResult
	if s.LastReason != "" {
		res += ": " + s.LastReason
	}
	fmt.Fprintf(out, "last run:    %s %s (job %s)\n", s.LastRun.Local().Format(time.DateTime), res, s.LastJob)
}
