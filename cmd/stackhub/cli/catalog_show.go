package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/service/client"
)

func newCatalogShowCmd(f *Factory) *cobra.Command {
	var output, source string
	cmd := &cobra.Command{
		Use:   "show APP",
		Short: "Show a catalog app and what its bundle asks of the host",
		Long: "Show a catalog app: its version and description, and the permissions its bundle asks of the\n" +
			"host, derived from its porter.yaml and compose files: the Docker socket its invocation image gets\n" +
			"(root on the host), privileged containers, host namespaces (network, pid), host paths it mounts,\n" +
			"the ports it publishes, devices and added capabilities. An app with privileged requests installs\n" +
			"only when an admin passes --allow privileged to stackhub install.",
		Example: "  stackhub catalog show wordpress\n  stackhub catalog show wordpress -o json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			d, err := c.AppDetail(cmd.Context(), args[0], source)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, d)
			}
			return printAppDetail(f.IO.Out, d)
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "the source to take the app from, when several offer it")
	addClientFlags(cmd, &output)
	return cmd
}

func printAppDetail(w io.Writer, d *client.AppDetail) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "Name:\t%s\n", d.Name)
	fmt.Fprintf(tw, "Title:\t%s\n", d.Title)
	fmt.Fprintf(tw, "Version:\t%s\n", d.Version)
	if d.Description != "" {
		fmt.Fprintf(tw, "Description:\t%s\n", d.Description)
	}
	if d.Source != "" {
		fmt.Fprintf(tw, "Source:\t%s\n", d.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	p := d.Permissions
	if p == nil {
		return nil
	}
	fmt.Fprintln(w, "\nPermissions on the host:")
	tw = newTable(w)
	yesNo := map[bool]string{true: "yes (root on the host: install only bundles you trust)", false: "no"}
	fmt.Fprintf(tw, "  Docker socket:\t%s\n", yesNo[p.DockerSocket])
	fmt.Fprintf(tw, "  Privileged:\t%s\n", listOrNone(p.Privileged))
	fmt.Fprintf(tw, "  Host namespaces:\t%s\n", listOrNone(p.HostNamespaces))
	var paths []string
	for _, h := range p.HostPaths {
		s := fmt.Sprintf("%s -> %s:%s", h.Source, h.Service, h.Target)
		if h.ReadOnly {
			s += " (read-only)"
		}
		paths = append(paths, s)
	}
	fmt.Fprintf(tw, "  Host paths:\t%s\n", listOrNone(paths))
	var ports []string
	for _, pp := range p.Ports {
		host := "a free port"
		if pp.Host != 0 {
			host = fmt.Sprint(pp.Host)
		}
		if pp.HostIP != "" {
			host += " on " + pp.HostIP
		}
		ports = append(ports, fmt.Sprintf("%s %d/%s <- %s", pp.Service, pp.Target, pp.Protocol, host))
	}
	fmt.Fprintf(tw, "  Published ports:\t%s\n", listOrNone(ports))
	fmt.Fprintf(tw, "  Devices:\t%s\n", listOrNone(p.Devices))
	fmt.Fprintf(tw, "  Capabilities:\t%s\n", listOrNone(p.Capabilities))
	if p.Incomplete != "" {
		fmt.Fprintf(tw, "  Not known:\t%s\n", p.Incomplete)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.PrivilegedRequests) > 0 {
		fmt.Fprintf(w, "\nPrivileged requests (an admin must install with --allow privileged):\n  %s\n", strings.Join(p.PrivilegedRequests, "\n  "))
	} else {
		fmt.Fprintln(w, "\nNo privileged requests: operators may install it.")
	}
	return nil
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, "; ")
}
