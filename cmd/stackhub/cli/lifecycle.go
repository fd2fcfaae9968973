package cli

import (
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
		Use:   "uninstall NAME",
		Short: "Uninstall an app; its data is kept unless --purge",
		Example: "  stackhub uninstall blog2 --yes\n" +
			"  stackhub uninstall blog2 --purge --yes   # also delete its data volumes",
		Args:              exactArgs(1),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
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
	addJobFlags(cmd, opts)
	return cmd
}
