package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
)

// PublishOptions are the inputs of `stackhub bundle publish`.
type PublishOptions struct {
	File      string
	Dir       string
	Archive   string
	Reference string
	Registry  string
	Tag       string
	Force     bool
	Insecure  bool
}

func newBundlePublishCmd(f *Factory, runF func(context.Context, *cobra.Command, *PublishOptions) error) *cobra.Command {
	opts := &PublishOptions{}
	cmd := &cobra.Command{
		Use:   "publish [DIR]",
		Short: "Push a bundle to an OCI registry",
		Long: "Build the bundle if it is stale, push its invocation image and push bundle.json as an OCI index\n" +
			"(porter publish). With -a, push the images and bundle of a thick archive instead, for a registry\n" +
			"reached from a machine without internet access. Loopback registries may use plain HTTP; other\n" +
			"plain-HTTP or self-signed registries need --insecure-registry.",
		Example: "  stackhub bundle publish --reference localhost:5000/hello:v0.1.0\n" +
			"  stackhub bundle publish -f bundles/hello/porter.yaml --registry registry.lan:5000 --insecure-registry\n" +
			"  stackhub bundle publish -a hello.tgz --reference registry.lan:5000/hello:v0.1.0",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if opts.Dir != "" && opts.File != "" {
				return &FlagError{Err: fmt.Errorf("pass a folder or -f, not both")}
			}
			if opts.Reference != "" && (opts.Registry != "" || opts.Tag != "") {
				return &FlagError{Err: fmt.Errorf("--reference cannot be combined with --registry or --tag")}
			}
			if opts.Archive != "" && (opts.Dir != "" || opts.File != "") {
				return &FlagError{Err: fmt.Errorf("-a publishes an archive: do not pass a bundle folder too")}
			}
			if opts.Archive != "" && opts.Reference == "" {
				return &FlagError{Err: fmt.Errorf("-a needs --reference")}
			}
			if runF != nil {
				return runF(cmd.Context(), cmd, opts)
			}
			return runPublish(cmd.Context(), f, cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.File, "file", "f", "", "path to the porter manifest (default ./porter.yaml)")
	fl.StringVarP(&opts.Archive, "archive", "a", "", "publish this thick bundle archive instead of a bundle folder")
	fl.StringVarP(&opts.Reference, "reference", "r", "", "where to push: REGISTRY/REPOSITORY:TAG (default the manifest's)")
	fl.StringVar(&opts.Registry, "registry", "", "override the registry part of the manifest's reference")
	fl.StringVar(&opts.Tag, "tag", "", "override the tag of the manifest's reference")
	fl.BoolVar(&opts.Force, "force", false, "overwrite the tag if it already exists")
	fl.BoolVar(&opts.Insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS for every registry involved")
	addLocalFlags(cmd)
	return cmd
}

// registryEngine opens the local engine, which has the registry adapter.
func registryEngine(ctx context.Context, f *Factory, cmd *cobra.Command) (*engine.Engine, func(), error) {
	return localEngine(ctx, f, cmd)
}

func runPublish(ctx context.Context, f *Factory, cmd *cobra.Command, opts *PublishOptions) error {
	po := engine.PublishOptions{Archive: opts.Archive, Reference: opts.Reference, Registry: opts.Registry,
		Tag: opts.Tag, Force: opts.Force, Insecure: opts.Insecure}
	if opts.Archive == "" {
		dir := opts.Dir
		if opts.File != "" {
			if filepath.Base(opts.File) != "porter.yaml" {
				return &FlagError{Err: fmt.Errorf("-f must name a porter.yaml file, got %s", opts.File)}
			}
			dir = filepath.Dir(opts.File)
		}
		if dir == "" {
			dir = "."
		}
		if _, err := os.Stat(filepath.Join(dir, "porter.yaml")); err != nil {
			return &engine.UserError{Msg: fmt.Sprintf("no porter.yaml in %s", dir), Hint: "run this in a bundle folder, or pass the folder or -f path/to/porter.yaml", Kind: engine.ErrInvalid}
		}
		po.Dir = os.DirFS(dir)
	}
	eng, closeEng, err := registryEngine(ctx, f, cmd)
	if err != nil {
		return err
	}
	defer closeEng()
	res, err := eng.Publish(ctx, po)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(f.IO.ErrOut, "WARNING: %s\n", w)
	}
	fmt.Fprintf(f.IO.Out, "Bundle %s pushed successfully, with digest %q\n", res.Reference, res.Digest)
	return nil
}
