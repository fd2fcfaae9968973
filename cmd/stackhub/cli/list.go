package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/porter"
	"github.com/stackhub/stackhub/service/client"
)

func newListCmd(f *Factory) *cobra.Command {
	var output string
	var apps bool
	var appQuery client.AppQuery
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List installations (or, with --apps, the catalog)",
		Long: "List installations (or, with --apps, the catalog).\n\n" +
			"-o json prints what `porter list -o json` prints: an array of Porter installation documents\n" +
			"(schemaType, schemaVersion, id, name, namespace, bundle, status, _calculated, ...), newest modified\n" +
			"first, without parameters. StackHub's own facts (app, live status, ports) are under the extra key\n" +
			"\"stackhub\" of each document. Compose projects that carry StackHub's labels but have no installation\n" +
			"are reported on stderr.",
		Example: "  stackhub list\n  stackhub list -o json\n  stackhub list --apps\n  stackhub list --apps --search 博客\n  stackhub list --apps --category database",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if !apps && (appQuery.Q != "" || appQuery.Category != "") {
				return &FlagError{Err: errors.New("--search and --category need --apps")}
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if apps {
				list, err := c.SearchApps(ctx, appQuery)
				if err != nil {
					return err
				}
				if output == "json" {
					return printJSON(f.IO.Out, list)
				}
				tw := newTable(f.IO.Out)
				fmt.Fprintln(tw, "APP\tVERSION\tCATEGORY\tTITLE\tDESCRIPTION")
				for _, a := range list {
					title := a.Title
					if zh := a.Titles.Zh; zh != "" && zh != title {
						title += " / " + zh
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, a.Version, a.Category, title, a.Description)
				}
				return tw.Flush()
			}
			if output == "json" {
				docs, err := c.PorterInstallations(ctx)
				if err != nil {
					return err
				}
				unmanaged, err := c.Unmanaged(ctx)
				if err != nil {
					return err
				}
				if err := printJSON(f.IO.Out, docs); err != nil {
					return err
				}
				warnUnmanaged(f, unmanaged)
				return nil
			}
			list, err := c.List(ctx)
			if err != nil {
				return err
			}
			unmanaged, err := c.Unmanaged(ctx)
			if err != nil {
				return err
			}
			tw := newTable(f.IO.Out)
			fmt.Fprintln(tw, "NAME\tAPP\tVERSION\tSTATUS\tPORTS")
			for _, i := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Name, i.App, i.Version, i.Status, formatPorts(i.Ports))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			warnUnmanaged(f, unmanaged)
			return nil
		},
	}
	cmd.Flags().BoolVar(&apps, "apps", false, "list the catalog's apps instead")
	cmd.Flags().StringVar(&appQuery.Q, "search", "", "with --apps, only apps whose name, title, description or keywords hold these words (English or Chinese)")
	cmd.Flags().StringVar(&appQuery.Category, "category", "", "with --apps, only apps of this category")
	addClientFlags(cmd, &output)
	return cmd
}

// warnUnmanaged reports on stderr the compose projects that carry
// StackHub's labels but have no installation: stdout keeps the listing.
func warnUnmanaged(f *Factory, projects []string) {
	for _, p := range projects {
		fmt.Fprintf(f.IO.ErrOut, "unmanaged: compose project %s carries StackHub's labels but has no installation\n", p)
	}
}

func newShowCmd(f *Factory) *cobra.Command {
	var output string
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show one installation",
		Long: "Show one installation.\n\n" +
			"-o json prints what `porter show -o json` prints: Porter's installation document (schemaType,\n" +
			"schemaVersion, id, name, namespace, bundle, parameters, status, _calculated, ...), with StackHub's own\n" +
			"facts (app, live status, ports) under the extra key \"stackhub\".\n\n" +
			"Unlike porter, sensitive values (parameters and resolved parameters of sensitive bundle parameters,\n" +
			"and any value whose definition is unknown) are printed as " + porter.MaskedValue + ". --show-secrets prints\n" +
			"them in plaintext, as porter does; the server allows it to admins only.",
		Example:           "  stackhub show blog2\n  stackhub show blog2 -o json\n  stackhub show blog2 -o json --show-secrets",
		Args:              exactArgs(1),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if showSecrets && output != "json" {
				return &FlagError{Err: errors.New("--show-secrets needs -o json")}
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			if output == "json" {
				doc, err := c.PorterInstallation(cmd.Context(), args[0], showSecrets)
				if err != nil {
					return err
				}
				return printJSON(f.IO.Out, doc)
			}
			inst, err := c.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			printInstallation(f, inst)
			return nil
		},
	}
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "with -o json, print sensitive values in plaintext (admins only)")
	addClientFlags(cmd, &output)
	return cmd
}
