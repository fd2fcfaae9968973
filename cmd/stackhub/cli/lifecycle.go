package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// jobOptions are the inputs of the verbs that run one job.
type jobOptions struct {
	NoWait  bool
	Verbose bool
	Output  string
	Purge   bool
	Yes     bool
	All     bool
}

// newActionCmd builds start, stop and restart: each runs the bundle's
// custom action of that name.
func newActionCmd(f *Factory, action, short string) *cobra.Command {
	opts := &jobOptions{}
	cmd := &cobra.Command{
		Use:               action + " NAME",
		Short:             short,
		Example:           fmt.Sprintf("  stackhub %s blog2\n  stackhub %s blog2 --no-wait -o json", action, action),
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
			job, err := c.Action(cmd.Context(), args[0], action)
			if err != nil {
				return err
			}
			return finishJob(cmd, f, job.ID, action+" "+args[0], opts)
		},
	}
	addJobFlags(cmd, opts)
	return cmd
}

func addJobFlags(cmd *cobra.Command, opts *jobOptions) {
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "return once the job is queued")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "show the job's log lines")
	addClientFlags(cmd, &opts.Output)
}

// finishJob follows the job (unless --no-wait) and prints it.
func finishJob(cmd *cobra.Command, f *Factory, jobID, what string, opts *jobOptions) error {
	c, err := f.Client(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if !opts.NoWait {
		if err := waitJob(ctx, f, c, jobID, what, opts.Verbose); err != nil {
			return err
		}
	}
	job, err := c.Job(ctx, jobID)
	if err != nil {
		return err
	}
	if opts.Output == "json" {
		return printJSON(f.IO.Out, job)
	}
	fmt.Fprintf(f.IO.Out, "%s: %s (job %s)\n", what, job.Status, job.ID)
	return nil
}

func newUninstallCmd(f *Factory) *cobra.Command {
	opts := &jobOptions{}
	cmd := &cobra.Command{
		Use:   "uninstall NAME | --all",
		Short: "Uninstall an app; its data is kept unless --purge",
		Example: "  stackhub uninstall blog2 --yes\n" +
			"  stackhub uninstall blog2 --purge --yes   # also delete its data volumes\n" +
			"  stackhub uninstall --all --yes           # every app; lists what was removed and what failed",
		Args:              maxArgs(1),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			if opts.All {
				if len(args) > 0 {
					return &FlagError{Err: errors.New("NAME and --all are mutually exclusive")}
				}
				return runUninstallAll(cmd, f, opts)
			}
			if len(args) == 0 {
				return &FlagError{Err: errors.New("pass an installation NAME, or --all")}
			}
			q := "Uninstall " + args[0] + " (its data is kept)?"
			if opts.Purge {
				q = "Uninstall " + args[0] + " and DELETE its data?"
			}
			if err := confirm(f, opts.Yes, q); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			job, err := c.Uninstall(cmd.Context(), args[0], opts.Purge)
			if err != nil {
				return err
			}
			return finishJob(cmd, f, job.ID, "uninstall "+args[0], opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Purge, "purge", false, "also delete the app's data volumes")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.All, "all", false, "uninstall every installed app (the PRD's uninstallAllApp)")
	addJobFlags(cmd, opts)
	return cmd
}

// uninstallOutcome is one row of `stackhub uninstall --all`.
type uninstallOutcome struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}

// runUninstallAll uninstalls every installation one by one, carrying on
// past failures as uninstallAllApp does, and prints what was removed and
// what failed. It fails (exit 1) if anything failed.
func runUninstallAll(cmd *cobra.Command, f *Factory, opts *jobOptions) error {
	q := "Uninstall EVERY app (their data is kept)?"
	if opts.Purge {
		q = "Uninstall EVERY app and DELETE their data?"
	}
	if err := confirm(f, opts.Yes, q); err != nil {
		return err
	}
	ctx := cmd.Context()
	c, err := f.Client(cmd)
	if err != nil {
		return err
	}
	list, err := c.List(ctx)
	if err != nil {
		return err
	}
	out := []uninstallOutcome{}
	failed := 0
	for _, inst := range list {
		o := uninstallOutcome{Name: inst.Name}
		job, err := c.Uninstall(ctx, inst.Name, opts.Purge)
		if err == nil {
			err = waitJob(ctx, f, c, job.ID, "uninstall "+inst.Name, opts.Verbose)
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			o.Error = err.Error()
			failed++
		}
		out = append(out, o)
	}
	if opts.Output == "json" {
		if err := printJSON(f.IO.Out, out); err != nil {
			return err
		}
	} else {
		tw := newTable(f.IO.Out)
		fmt.Fprintln(tw, "NAME\tRESULT")
		for _, o := range out {
			res := "removed"
			if o.Error != "" {
				res = "failed: " + o.Error
			}
			fmt.Fprintf(tw, "%s\t%s\n", o.Name, res)
		}
		_ = tw.Flush()
		if len(out) == 0 {
			fmt.Fprintln(f.IO.Out, "nothing is installed")
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d uninstalls failed", failed, len(out))
	}
	return nil
}
