package cli

import "github.com/spf13/cobra"

// CatalogSubcommands are the `stackhub catalog` subcommands, registered by
// the files that define them from their init functions.
var CatalogSubcommands []func(f *Factory) *cobra.Command

func newCatalogCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Work with app catalogs (import apps of other app stores)",
	}
	for _, sub := range CatalogSubcommands {
		cmd.AddCommand(sub(f))
	}
	return cmd
}
