package cli

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog/importers"
	"github.com/stackhub/stackhub/engine/catalog/importers/casaos"
	"github.com/stackhub/stackhub/engine/catalog/importers/runtipi"
	"github.com/stackhub/stackhub/engine/catalog/importers/umbrel"
)

// storeImporters reads each store format.
var storeImporters = map[string]func(ctx context.Context, root string) (*importers.Report, error){
	casaos.Store:  casaos.Import,
	runtipi.Store: runtipi.Import,
	umbrel.Store:  umbrel.Import,
}

// CatalogImportOptions are the inputs of `stackhub catalog import`.
type CatalogImportOptions struct {
	Store   string
	Path    string
	Out     string
	Replace bool
	Output  string
}

func newCatalogImportCmd(f *Factory) *cobra.Command {
	opts := &CatalogImportOptions{}
	cmd := &cobra.Command{
		Use:   "import casaos|runtipi|umbrel PATH",
		Short: "Turn the apps of a CasaOS, Runtipi or Umbrel store checkout into StackHub bundles",
		Long: "Convert a store checkout (or one app's folder) into bundle folders: porter.yaml using the stackhub\n" +
			"mixin, docker-compose.yml, README.md and the icon. Published ports become ports StackHub leases,\n" +
			"the store's generated values become generated secrets, its data folders named volumes. Apps that\n" +
			"cannot be converted faithfully (host networking, host devices, ...) are listed with the reason.\n\n" +
			"Without --out the bundles go to <data folder>/catalogs/<store>-<name>, to serve with --catalog.",
		Example: "  stackhub catalog import casaos ./CasaOS-AppStore\n" +
			"  stackhub catalog import umbrel ./umbrel-apps/nextcloud --out ./bundles\n" +
			"  stackhub catalog import runtipi ./runtipi-appstore -o json",
		Args: exactArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return slices.Sorted(maps.Keys(storeImporters)), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveDefault
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Store, opts.Path = args[0], args[1]
			if _, ok := storeImporters[opts.Store]; !ok {
				return &FlagError{Err: fmt.Errorf("unknown store format %q: use %s", opts.Store, strings.Join(slices.Sorted(maps.Keys(storeImporters)), ", "))}
			}
			if opts.Output != "table" && opts.Output != "json" {
				return &FlagError{Err: fmt.Errorf("invalid --output %q: use table or json", opts.Output)}
			}
			if opts.Out == "" {
				cfg, err := f.Config(cmd)
				if err != nil {
					return err
				}
				opts.Out = defaultImportDir(cfg.DataDir, opts.Store, opts.Path)
			}
			return runCatalogImport(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "folder to write the bundle folders to (default <data folder>/catalogs/<store>-<name>)")
	cmd.Flags().BoolVar(&opts.Replace, "replace", false, "replace bundle folders that already exist in the output folder")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	addConfigFlags(cmd.Flags(), "data")
	return cmd
}

// defaultImportDir is where an import without --out goes: a catalog
// folder per store checkout under the data folder.
func defaultImportDir(dataDir, store, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	name := importers.BundleName(filepath.Base(abs))
	if name == "" {
		name = "apps"
	}
	return filepath.Join(dataDir, "catalogs", store+"-"+name)
}

func runCatalogImport(ctx context.Context, f *Factory, opts *CatalogImportOptions) error {
	r, err := storeImporters[opts.Store](ctx, opts.Path)
	if err != nil {
		return err
	}
	if r.Converted() > 0 {
		if err := importers.Write(r, importers.WriteOptions{Dir: opts.Out, Replace: opts.Replace}); err != nil {
			return err
		}
	}
	if opts.Output == "json" {
		if err := writeJSON(f.IO.Out, struct {
			*importers.Report
			Out       string `json:"out"`
			Converted int    `json:"converted"`
		}{r, opts.Out, r.Converted()}); err != nil {
			return err
		}
	} else {
		r.Print(f.IO.Out)
	}
	if r.Converted() == 0 {
		return &engine.UserError{Msg: fmt.Sprintf("no app of %s could be converted", opts.Path),
			Hint: "the reasons are listed above", Kind: engine.ErrInvalid}
	}
	if opts.Output != "json" {
		fmt.Fprintf(f.IO.Out, "Bundles written to %s\nServe them with: stackhub serve --catalog %s\n", opts.Out, opts.Out)
	}
	return nil
}
