package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newServerCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "server",
		Short:   "Show the server's health: cpu, memory, disks, load and risks found",
		Example: "  stackhub server\n  stackhub server -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			st, err := c.Server(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, st)
			}
			tw := newTable(f.IO.Out)
			fmt.Fprintf(tw, "Host:\t%s (%s %s)\n", st.Hostname, st.OS, st.Kernel)
			fmt.Fprintf(tw, "Uptime:\t%s\n", time.Duration(st.UptimeSeconds)*time.Second)
			fmt.Fprintf(tw, "CPU:\t%.0f%%\n", st.CPUPercent)
			fmt.Fprintf(tw, "Memory:\t%.0f%% of %d MiB\n", st.MemoryPercent, st.MemoryTotal>>20)
			for _, d := range st.Disks {
				fmt.Fprintf(tw, "Disk %s:\t%.0f%% of %d GiB\n", d.Mount, d.Percent, d.Total>>30)
			}
			if len(st.Load) == 3 {
				fmt.Fprintf(tw, "Load:\t%.2f %.2f %.2f\n", st.Load[0], st.Load[1], st.Load[2])
			}
			fmt.Fprintf(tw, "Risks:\t%d\n", len(st.Risks))
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, r := range st.Risks {
				fmt.Fprintf(f.IO.Out, "  [%s] %s: %s\n      fix: %s\n", r.Severity, r.ID, r.What, r.Fix)
			}
			return nil
		},
	}
	addClientFlags(cmd, &output)
	cmd.AddCommand(newServerExportCmd(f), newServerImportCmd(f))
	return cmd
}
