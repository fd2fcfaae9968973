package cli

import (
	"io"

	"github.com/spf13/cobra"
)

// LogsOptions are the inputs of `stackhub logs`.
type LogsOptions struct {
	Tail    int
	Follow  bool
	Service string
}

func newLogsCmd(f *Factory) *cobra.Command {
	opts := &LogsOptions{}
	cmd := &cobra.Command{
		Use:               "logs NAME",
		Short:             "Show an installation's container log",
		Example:           "  stackhub logs blog2\n  stackhub logs blog2 -f --tail 20\n  stackhub logs blog2 --service db",
		Args:              exactArgs(1),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			rc, err := c.Logs(cmd.Context(), args[0], opts.Service, opts.Tail, opts.Follow)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(f.IO.Out, rc)
			if cmd.Context().Err() != nil {
				return nil // Ctrl-C ends a follow
			}
			return err
		},
	}
	cmd.Flags().IntVarP(&opts.Tail, "tail", "n", 100, "last lines to show (0: all)")
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep showing new lines")
	cmd.Flags().StringVar(&opts.Service, "service", "", "compose service (default: the main container)")
	addClientFlags(cmd, nil)
	return cmd
}
