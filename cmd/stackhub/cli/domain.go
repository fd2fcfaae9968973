package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/service/client"
)

func newDomainCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "domain",
		Short: "Reach apps at their own domain over HTTPS, through the server's reverse proxy",
		Long: "Give an installed app a domain: the server's reverse proxy (ports 80 and 443 unless\n" +
			"serve --proxy-http/--proxy-https say otherwise) routes the name to the app, redirects HTTP\n" +
			"to HTTPS and gets a certificate from Let's Encrypt (ACME) by itself. The name's DNS must\n" +
			"point at the server. LAN names (nas.lan, app.local, one label) get a certificate from\n" +
			"StackHub's own CA instead (<data>/certs/local/ca.crt is the root to trust).",
	}
	cmd.AddCommand(newDomainAddCmd(f), newDomainListCmd(f), newDomainRemoveCmd(f))
	return cmd
}

func newDomainAddCmd(f *Factory) *cobra.Command {
	var (
		output string
		req    client.DomainRequest
	)
	cmd := &cobra.Command{
		Use:   "add APP DOMAIN",
		Short: "Route a domain to an installed app",
		Long: "Route DOMAIN to the installed app APP. The proxy sends requests to the app's web entry\n" +
			"point (custom.stackhub.web in its bundle), or its only TCP port; --service and --port pick\n" +
			"another. --tls acme (default for public names), self-signed (default for LAN names) or custom\n" +
			"(a certificate you supply: <data>/certs/custom/DOMAIN/cert.pem and key.pem on the server).\n" +
			"A wildcard '*.example.org' routes every one-label name under example.org to the app; its\n" +
			"ACME certificate needs serve --dns-provider (DNS-01 challenges).",
		Example: "  stackhub domain add blog blog.example.org\n  stackhub domain add wiki '*.wiki.example.org'\n  stackhub domain add gitea git.example.org --port port\n  stackhub domain add nas nas.lan",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			req.App, req.Domain = args[0], args[1]
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			d, err := c.AddDomain(cmd.Context(), req)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, d)
			}
			gate := ""
			if d.Login {
				gate = ", login required"
			}
			fmt.Fprintf(f.IO.Out, "Routed %s to %s (port %s, tls %s%s): %s\n", d.Name, d.Installation, d.Port, d.TLS, gate, d.URL)
			for _, w := range d.Warnings {
				fmt.Fprintf(f.IO.ErrOut, "Warning: %s\n", w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&req.Service, "service", "", "compose service of the port (default: the bundle's web entry point)")
	cmd.Flags().StringVar(&req.Port, "port", "", "the bundle's port name (default: its web entry point, or its only TCP port)")
	cmd.Flags().StringVar(&req.TLS, "tls", "", "acme, self-signed or custom (your PEM files in <data>/certs/custom/DOMAIN/cert.pem and key.pem); default: by the name")
	cmd.Flags().BoolVar(&req.Login, "login", false, "let only StackHub users (viewer or above) reach the app: the proxy asks them to log in to the console first (needs serve --console-domain or --console-url)")
	addClientFlags(cmd, &output)
	return cmd
}

func newDomainListCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the routed domains",
		Example: "  stackhub domain list\n  stackhub domain list -o json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			list, err := c.Domains(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, list)
			}
			tw := newTable(f.IO.Out)
			fmt.Fprintln(tw, "DOMAIN\tAPP\tSERVICE\tPORT\tTLS\tLOGIN\tCERTIFICATE")
			for _, d := range list {
				login := "-"
				if d.Login {
					login = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Installation, d.Service, d.Port, d.TLS, login, d.Certificate)
			}
			return tw.Flush()
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}

func newDomainRemoveCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "remove DOMAIN",
		Aliases: []string{"rm"},
		Short:   "Stop routing a domain (its certificate is deleted)",
		Example: "  stackhub domain remove blog.example.org",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			if err := c.RemoveDomain(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Removed domain %s\n", args[0])
			return nil
		},
	}
	addClientFlags(cmd, nil)
	return cmd
}
