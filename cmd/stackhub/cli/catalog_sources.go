package cli

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/service/client"
)

func printSources(f *Factory, output string, list []client.CatalogSource) error {
	if output == "json" {
		return printJSON(f.IO.Out, list)
	}
	tw := newTable(f.IO.Out)
	fmt.Fprintln(tw, "SOURCE\tKIND\tAPPS\tPATH")
	for _, s := range list {
		apps := strconv.Itoa(s.Apps)
		if s.Error != "" {
			apps = "error: " + s.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Kind, apps, s.Path)
	}
	return tw.Flush()
}

func newCatalogListCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the catalog's sources",
		Long: "List where the catalog's apps come from: the built-in apps (or the --catalog folder the server\n" +
			"was started with), the stores imported under the server's data folder (catalogs/<name>), and the\n" +
			"folders added with stackhub catalog add. Two sources may offer an app of the same name; the\n" +
			"catalog lists both, by source.",
		Example: "  stackhub catalog list\n  stackhub catalog list -o json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			list, err := c.CatalogSources(cmd.Context())
			if err != nil {
				return err
			}
			return printSources(f, output, list)
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}

func newCatalogAddCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "add NAME PATH|oci://REGISTRY",
		Short: "Add a folder of bundle folders, or a registry's published catalog, as a catalog source",
		Long: "Add a folder of bundle folders (each holding a porter.yaml) as the catalog source NAME. PATH is\n" +
			"read by the server, so it must be a folder on the server's machine; a relative PATH is taken from\n" +
			"the current folder. oci://HOST[:PORT][/PATH] adds the catalog that `stackhub catalog publish`\n" +
			"pushed to that registry: its apps are listed from the registry's index and install from their\n" +
			"published bundles. Admins only. The server remembers the source; its apps show at once.",
		Example: "  stackhub catalog add team /srv/stackhub/team-bundles\n  stackhub catalog add published oci://registry.example.com/stackhub",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			path := args[1]
			if !strings.HasPrefix(path, "oci://") {
				abs, err := filepath.Abs(path)
				if err != nil {
					return fmt.Errorf("source path %s: %w", path, err)
				}
				path = abs
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			src, err := c.AddCatalogSource(cmd.Context(), args[0], path)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, src)
			}
			fmt.Fprintf(f.IO.Out, "Added catalog source %s: %d apps from %s\n", src.Name, src.Apps, src.Path)
			return nil
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}

func newCatalogRemoveCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm"},
		Short:   "Remove a catalog source added with catalog add (its folder is kept)",
		Example: "  stackhub catalog remove team",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			if err := c.RemoveCatalogSource(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Removed catalog source %s\n", args[0])
			return nil
		},
	}
	addClientFlags(cmd, nil)
	return cmd
}

func newCatalogRefreshCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "refresh",
		Short:   "Make the server read every catalog source again",
		Long:    "Make the server read every catalog source again. It does so by itself every 30 seconds.",
		Example: "  stackhub catalog refresh",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			list, err := c.RefreshCatalog(cmd.Context())
			if err != nil {
				return err
			}
			return printSources(f, output, list)
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}
