package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
)

// CatalogPublishOptions are the inputs of `stackhub catalog publish`.
type CatalogPublishOptions struct {
	Dir      string
	Registry string
	IndexTag string
	Force    bool
	Insecure bool
	Output   string
}

func newCatalogPublishCmd(f *Factory, runF func(context.Context, *cobra.Command, *CatalogPublishOptions) error) *cobra.Command {
	opts := &CatalogPublishOptions{}
	cmd := &cobra.Command{
		Use:   "publish DIR --registry HOST[:PORT][/PATH]",
		Short: "Build and publish every bundle of a folder and the catalog index to an OCI registry",
		Long: "Build each bundle folder of DIR (one porter.yaml per folder) and publish it as\n" +
			"<registry>/<name>:v<version>, then push the catalog index, a JSON document listing every bundle\n" +
			"with its digest and catalog metadata, as an OCI artifact to <registry>/stackhub-catalog:<index-tag>.\n" +
			"A bundle whose tag already exists is kept as published (and listed) unless --force is given.\n" +
			"Only invocation images are pushed: the apps' own images stay where their compose files say.",
		Example: "  stackhub catalog publish bundles --registry localhost:5000\n" +
			"  stackhub catalog publish bundles --registry ghcr.io/stackhub --index-tag v1.2.0",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if opts.Registry == "" {
				return &FlagError{Err: fmt.Errorf("--registry is required")}
			}
			if opts.Output != "" && opts.Output != "json" && opts.Output != "table" {
				return &FlagError{Err: fmt.Errorf("--output must be json or table, not %q", opts.Output)}
			}
			if runF != nil {
				return runF(cmd.Context(), cmd, opts)
			}
			return runCatalogPublish(cmd.Context(), f, cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Registry, "registry", "", "where to publish: HOST[:PORT][/PATH]")
	fl.StringVar(&opts.IndexTag, "index-tag", "latest", "tag of the catalog index (<registry>/stackhub-catalog:TAG)")
	fl.BoolVar(&opts.Force, "force", false, "republish bundles whose tag already exists")
	fl.BoolVar(&opts.Insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS")
	fl.StringVarP(&opts.Output, "output", "o", "table", "json prints the published index")
	addLocalFlags(cmd)
	return cmd
}

func runCatalogPublish(ctx context.Context, f *Factory, cmd *cobra.Command, opts *CatalogPublishOptions) error {
	st, err := os.Stat(opts.Dir)
	if err != nil || !st.IsDir() {
		return &engine.UserError{Msg: fmt.Sprintf("%s is not a folder", opts.Dir), Hint: "pass the folder of bundle folders, for example bundles", Err: engine.ErrInvalid}
	}
	eng, closeEng, err := registryEngine(ctx, f, cmd)
	if err != nil {
		return err
	}
	defer closeEng()
	res, err := eng.PublishCatalog(ctx, engine.CatalogPublishOptions{
		Dir: os.DirFS(opts.Dir), Registry: opts.Registry, IndexTag: opts.IndexTag, Force: opts.Force, Insecure: opts.Insecure,
		Progress: func(line string) { fmt.Fprintln(f.IO.ErrOut, line) },
	})
	if err != nil {
		return err
	}
	if opts.Output == "json" {
		return writeJSON(f.IO.Out, res)
	}
	for _, b := range res.Index.Bundles {
		fmt.Fprintf(f.IO.Out, "%s\t%s@%s\n", b.Name, b.Reference, b.Digest)
	}
	fmt.Fprintf(f.IO.Out, "Catalog index %s pushed, with digest %q (%d bundles)\n", res.IndexReference, res.IndexDigest, len(res.Index.Bundles))
	return nil
}

func newCatalogIndexCmd(f *Factory) *cobra.Command {
	var insecure bool
	cmd := &cobra.Command{
		Use:   "index REF",
		Short: "Print a published catalog index (<registry>/stackhub-catalog:TAG) as JSON",
		Example: "  stackhub catalog index localhost:5000/stackhub-catalog:latest\n" +
			"  stackhub catalog index localhost:5000    # the latest index of that registry",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := args[0]
			if !containsTagOrDigest(ref) {
				ref = engine.CatalogIndexReference(ref, "")
			}
			eng, closeEng, err := registryEngine(cmd.Context(), f, cmd)
			if err != nil {
				return err
			}
			defer closeEng()
			idx, _, err := eng.FetchCatalogIndex(cmd.Context(), ref, insecure)
			if err != nil {
				return err
			}
			return writeJSON(f.IO.Out, idx)
		},
	}
	cmd.Flags().BoolVar(&insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS")
	addLocalFlags(cmd)
	return cmd
}

// containsTagOrDigest reports whether ref names a repository with a tag
// or digest, rather than a bare registry.
func containsTagOrDigest(ref string) bool {
	i := strings.LastIndex(ref, "/")
	return i >= 0 && (strings.Contains(ref[i+1:], ":") || strings.Contains(ref, "@"))
}
