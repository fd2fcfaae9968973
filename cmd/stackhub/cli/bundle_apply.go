package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/porter"
	"github.com/stackhub/stackhub/porter/sets"
)

// ApplyOptions are the inputs of `stackhub bundle installation apply`.
type ApplyOptions struct {
	DryRun, Force, Insecure, AllowDockerHost bool
}

func newBundleApplyCmd(f *Factory) *cobra.Command {
	var o ApplyOptions
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Bring an installation to the state an installation file describes, like porter installation apply",
		Long: "Bring an installation to the state an installation file describes, like porter installation apply:\n" +
			"install it, upgrade it when its bundle or parameters changed, uninstall it when uninstalled is true,\n" +
			"or leave it alone when it is up to date. Label changes are saved but run nothing.\n\n" +
			"Each name under parameterSets and credentialSets is a stored set (stackhub bundle parameters|credentials\n" +
			"apply), else a set file next to FILE (NAME, NAME.yaml, NAME.yml or NAME.json).",
		Example: "  stackhub bundle installation apply mydb.yaml --dry-run\n  stackhub bundle installation apply mydb.yaml",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd, f, args[0], o)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the decision and run nothing")
	fl.BoolVar(&o.Force, "force", false, "re-apply the installation even when it is up to date")
	fl.BoolVar(&o.Insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS when pulling the bundle")
	fl.BoolVar(&o.AllowDockerHost, "allow-docker-host-access", false, "let bundles that require the docker extension use the host's Docker")
	addLocalFlags(cmd)
	return cmd
}

func runApply(cmd *cobra.Command, f *Factory, file string, o ApplyOptions) error {
	ctx := cmd.Context()
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read installation file: %w", err)
	}
	var doc porter.DesiredInstallation
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &engine.UserError{Msg: fmt.Sprintf("invalid installation: %s: %v", file, err), Kind: engine.ErrInvalid, Err: err,
			Hint: "write it as Porter's installation file: schemaType: Installation, name, bundle: {repository, version|tag|digest}, parameters"}
	}
	opts := porter.ApplyOptions{DryRun: o.DryRun, Force: o.Force, Insecure: o.Insecure, AllowDockerHost: o.AllowDockerHost, Out: f.IO.Out}
	w, err := localWiring(ctx, f, cmd)
	if err != nil {
		return err
	}
	defer w.Close()
	resolver := setResolver{store: w.Engine.Records(), ns: w.Engine.Config().Namespace}
	dir := filepath.Dir(file)
	for _, name := range doc.ParameterSets {
		vals, err := loadNamedSet(ctx, resolver, dir, name, sets.TypeParameterSet)
		if err != nil {
			return err
		}
		opts.ParamSets = append(opts.ParamSets, vals)
	}
	for _, name := range doc.CredentialSets {
		vals, err := loadNamedSet(ctx, resolver, dir, name, sets.TypeCredentialSet)
		if err != nil {
			return err
		}
		opts.CredSets = append(opts.CredSets, vals)
	}
	_, err = w.Authoring.Apply(ctx, &doc, opts)
	return err
}

// loadNamedSet resolves a set an installation file names: the stored set
// of that name, else a set file next to the installation file.
func loadNamedSet(ctx context.Context, resolver setResolver, dir, name, kind string) (map[string]string, error) {
	_, what := setWords(kind)
	if _, err := resolver.store.GetSet(ctx, kind, resolver.ns, name); err == nil {
		_, vals, err := resolver.resolve(ctx, name, kind, sets.ResolveOptions{})
		return vals, err
	}
	if name == "" || strings.Contains(name, "..") || filepath.IsAbs(name) {
		return nil, &engine.UserError{Msg: fmt.Sprintf("invalid %s: %q is not a set name", what, name), Kind: engine.ErrInvalid}
	}
	for _, candidate := range []string{name, name + ".yaml", name + ".yml", name + ".json"} {
		path := filepath.Join(dir, candidate)
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("read %s %s: %w", what, path, err)
			}
			continue
		}
		s, err := sets.Load(path, kind)
		if err != nil {
			return nil, err
		}
		return s.Resolve(ctx, sets.ResolveOptions{})
	}
	return nil, &engine.UserError{Msg: fmt.Sprintf("invalid %s: no file for %s %q in %s", what, what, name, dir), Kind: engine.ErrInvalid,
		Hint: fmt.Sprintf("store it with stackhub bundle %s apply FILE, or put it at %s", map[string]string{
			sets.TypeParameterSet: "parameters", sets.TypeCredentialSet: "credentials"}[kind], filepath.Join(dir, name+".yaml"))}
}
