package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
)

// ArchiveOptions are the inputs of `stackhub bundle archive`.
type ArchiveOptions struct {
	File        string
	Reference   string
	Compression string
	Insecure    bool
	WithImages  bool
}

func newBundleArchiveCmd(f *Factory, runF func(context.Context, *cobra.Command, *ArchiveOptions) error) *cobra.Command {
	opts := &ArchiveOptions{}
	cmd := &cobra.Command{
		Use:   "archive FILE --reference REF",
		Short: "Write a published bundle and all its images to a .tgz for machines without registry access",
		Long: "Pull a bundle from a registry and write it, with its invocation image and every image it references,\n" +
			"to a thick archive (porter archive): bundle.json, relocation-mapping.json and an OCI image layout.\n" +
			"The same bundle always gives the same bytes. Install it offline with `install --archive FILE`, or\n" +
			"push it to another registry with `stackhub bundle publish -a FILE --reference REF`.\n" +
			"--with-images also packs the app's own images (those its compose files name), taken from this host's\n" +
			"Docker Engine and pulled first, through registry-mirror if set, when missing: the archive then\n" +
			"installs on a host with no registry at all.",
		Example: "  stackhub bundle archive hello.tgz --reference localhost:5000/hello:v0.1.0\n" +
			"  stackhub bundle archive hello.tgz -r registry.lan:5000/hello:v0.1.0 --compression BestSpeed --insecure-registry\n" +
			"  stackhub bundle archive wordpress-offline.tgz -r registry.lan:5000/wordpress:v6.5.0 --with-images",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Reference == "" {
				return &FlagError{Err: fmt.Errorf("--reference is required")}
			}
			if _, err := engine.CompressionLevel(opts.Compression); err != nil {
				return &FlagError{Err: err}
			}
			if runF != nil {
				return runF(cmd.Context(), cmd, opts)
			}
			return runArchive(cmd.Context(), f, cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Reference, "reference", "r", "", "the published bundle: REGISTRY/REPOSITORY:TAG or @sha256:DIGEST")
	fl.StringVar(&opts.Compression, "compression", "DefaultCompression", "gzip level: NoCompression, BestSpeed, BestCompression, DefaultCompression or HuffmanOnly")
	fl.BoolVar(&opts.WithImages, "with-images", false, "also pack the app's images (from its compose files), for hosts with no registry")
	fl.BoolVar(&opts.Insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS for every registry involved")
	addLocalFlags(cmd)
	return cmd
}

func runArchive(ctx context.Context, f *Factory, cmd *cobra.Command, opts *ArchiveOptions) error {
	eng, closeEng, err := registryEngine(ctx, f, cmd)
	if err != nil {
		return err
	}
	defer closeEng()
	dir := filepath.Dir(opts.File)
	tmp, err := os.CreateTemp(dir, ".stackhub-archive-*")
	if err != nil {
		return &engine.UserError{Msg: fmt.Sprintf("create %s: %v", opts.File, err), Hint: "pass a path in a writable folder", Err: err}
	}
	defer os.Remove(tmp.Name())
	_, err = eng.Archive(ctx, tmp, engine.ArchiveOptions{Reference: opts.Reference, Compression: opts.Compression, Insecure: opts.Insecure, WithImages: opts.WithImages})
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", opts.File, err)
	}
	if err := os.Rename(tmp.Name(), opts.File); err != nil {
		return fmt.Errorf("write %s: %w", opts.File, err)
	}
	fmt.Fprintf(f.IO.Out, "Archived %s to %s\n", opts.Reference, opts.File)
	return nil
}
