package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/porter"
)

func newBundleCopyCmd(f *Factory) *cobra.Command {
	var opts porter.CopyOptions
	cmd := &cobra.Command{
		Use:   "copy --source REF --destination DEST",
		Short: "Copy a published bundle and all its images to another registry, like porter copy",
		Long: "Copy a published bundle, its invocation image and every image it references to another registry\n" +
			"or repository (porter copy). DEST is a full tagged reference, or a REGISTRY[/PATH] prefix that gets\n" +
			"the bundle's name and tag. The copy references only the destination, so copying a copy works with the\n" +
			"first registry gone.",
		Example: "  stackhub bundle copy --source localhost:5000/hello:v0.1.0 --destination registry.lan:5000/mirror\n" +
			"  stackhub bundle copy --source localhost:5000/hello:v0.1.0 --destination registry.lan:5000/hello:stable --force",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Source == "" || opts.Destination == "" {
				return &FlagError{Err: fmt.Errorf("--source and --destination are required")}
			}
			ctx := cmd.Context()
			w, err := localWiring(ctx, f, cmd)
			if err != nil {
				return err
			}
			defer w.Close()
			res, err := w.Authoring.Copy(ctx, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Bundle %s copied successfully, with digest %q\n", res.Reference, res.Digest)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Source, "source", "", "the published bundle: REGISTRY/REPOSITORY:TAG or @sha256:DIGEST")
	fl.StringVar(&opts.Destination, "destination", "", "where to copy it: REGISTRY/REPOSITORY:TAG, or a REGISTRY[/PATH] prefix")
	fl.BoolVar(&opts.Force, "force", false, "overwrite the destination tag if it exists")
	fl.BoolVar(&opts.Insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS for every registry involved")
	addLocalFlags(cmd)
	return cmd
}
