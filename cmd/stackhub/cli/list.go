package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newListCmd(f *Factory) *cobra.Command {
	var output string
	var apps bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List installations (or, with --apps, the catalog)",
		Example: "  stackhub list\n  stackhub list -o json\n  stackhub list --apps",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if apps {
				list, err := c.Apps(ctx)
				if err != nil {
					return err
				}
				if output == "json" {
					return printJSON(f.IO.Out, list)
				}
				tw := newTable(f.IO.Out)
				fmt.Fprintln(tw, "APP\tVERSION\tCATEGORY\tDESCRIPTION")
				for _, a := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.Version, a.Category, a.Description)
				}
				return tw.Flush()
			}
			list, err := c.List(ctx)
			if err != nil {
				return err
			}
			unmanaged, err := c.Unmanaged(ctx)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, map[string]any{"installations": list, "unmanaged": unmanaged})
			}
			tw := newTable(f.IO.Out)
			fmt.Fprintln(tw, "NAME\tAPP\tVERSION\tSTATUS\tPORTS")
			for _, i := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Name, i.App, i.Version, i.Status, formatPorts(i.Ports))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, p := range unmanaged {
				fmt.Fprintf(f.IO.ErrOut, "unmanaged: compose project %s carries StackHub's labels but has no installation\n", p)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&apps, "apps", false, "list the catalog's apps instead")
	addClientFlags(cmd, &output)
	return cmd
}

func newShowCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:               "show NAME",
		Short:             "Show one installation",
		Example:           "  stackhub show blog2\n  stackhub show blog2 -o json",
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
			inst, err := c.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, inst)
			}
			printInstallation(f, inst)
			return nil
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}
