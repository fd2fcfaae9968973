package cli

import "github.com/spf13/cobra"

func newCatalogCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Work with app catalogs (import apps of other app stores)",
	}
	cmd.AddCommand(newCatalogListCmd(f), newCatalogAddCmd(f), newCatalogRemoveCmd(f), newCatalogRefreshCmd(f), newCatalogImportCmd(f))
	return cmd
}
