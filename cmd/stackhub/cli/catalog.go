package cli

import "github.com/spf13/cobra"

func newCatalogCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Work with app catalogs: sources, import from other app stores, publish to a registry",
	}
	cmd.AddCommand(newCatalogListCmd(f), newCatalogAddCmd(f), newCatalogRemoveCmd(f), newCatalogRefreshCmd(f), newCatalogImportCmd(f),
		newCatalogPublishCmd(f, nil), newCatalogIndexCmd(f), newCatalogShowCmd(f))
	return cmd
}
