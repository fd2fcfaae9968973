package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/porter/sets"
)

// BundleActionOptions are the inputs of stackhub bundle install, upgrade,
// invoke and uninstall.
type BundleActionOptions struct {
	Action          string
	File            string
	Params          []string
	ParamSets       []string
	Creds           []string
	CredSets        []string
	Force           bool
	AllowDockerHost bool
	// Debug sets PORTER_DEBUG in this one invocation (the runtime prints
	// each step's template); it is not remembered.
	Debug bool
	// ForceUpgrade (upgrade only) upgrades an installation that is not
	// installed, for example after a failed install.
	ForceUpgrade bool
	// Delete and ForceDelete (uninstall only) remove the records after
	// the uninstall.
	Delete      bool
	ForceDelete bool
	// VersionStrategy picks dependency versions.
	VersionStrategy string
	Output          string
	// Reference, Insecure and Archive (install only) install a published
	// bundle or a bundle archive as an app, instead of the -f folder.
	Reference string
	Insecure  bool
	Archive   string
}

func newBundleActionCmd(f *Factory, verb string) *cobra.Command {
	o := &BundleActionOptions{}
	cmd := &cobra.Command{
		Use:   verb + " [NAME]",
		Short: fmt.Sprintf("Run %s on a local bundle, like porter %s", verb, verb),
		Example: fmt.Sprintf("  stackhub bundle %s\n  stackhub bundle %s myapp -f porter.yaml --param log-level=3 --param-set params.yaml --cred token=abc --cred-set creds.yaml",
			verb, verb),
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if o.Reference != "" || o.Archive != "" {
				if o.Reference != "" && o.Archive != "" {
					return &FlagError{Err: errors.New("--reference and --archive are mutually exclusive")}
				}
				if cmd.Flags().Changed("file") {
					return &FlagError{Err: errors.New("--file cannot be combined with --reference or --archive")}
				}
				return runBundleInstallSource(cmd, f, o, name)
			}
			action := verb
			if verb == "invoke" {
				if o.Action == "" {
					return &FlagError{Err: fmt.Errorf("--action is required")}
				}
				action = o.Action
			}
			return runBundleAction(cmd, f, o, verb, action, name)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.File, "file", "f", "porter.yaml", "path to the bundle's manifest")
	fl.StringArrayVar(&o.Params, "param", nil, "parameter value NAME=VALUE (repeatable; @file reads an object parameter from a file)")
	fl.StringArrayVarP(&o.ParamSets, "param-set", "p", nil, "parameter set file in Porter's format (repeatable; later sets win)")
	fl.StringArrayVar(&o.Creds, "cred", nil, "credential value NAME=VALUE (repeatable)")
	fl.StringArrayVarP(&o.CredSets, "cred-set", "c", nil, "credential set file in Porter's format (repeatable; later sets win)")
	fl.BoolVar(&o.AllowDockerHost, "allow-docker-host-access", false, "let bundles that require the docker extension use the host's Docker")
	fl.StringVarP(&o.Output, "output", "o", "", "print the result as json or yaml")
	fl.BoolVar(&o.Insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS when pulling the bundle or its dependencies")
	fl.BoolVar(&o.Debug, "debug", false, "run the bundle with PORTER_DEBUG=true for this invocation only: the runtime prints each step's template")
	fl.StringVar(&o.VersionStrategy, "dependencies-version-strategy", engine.StrategyExact,
		"how dependency versions are picked: exact (the reference's tag), max-patch, max-minor or min (from the repository's tags, within bundle.version)")
	switch verb {
	case manifest.ActionInstall:
		fl.BoolVar(&o.Force, "force", false, "install again even if the installation succeeded before")
		fl.StringVar(&o.Reference, "reference", "", "install the bundle published at this OCI reference instead of -f")
		fl.StringVar(&o.Archive, "archive", "", "install from a thick bundle archive file on this machine instead of -f")
	case manifest.ActionUpgrade:
		fl.BoolVar(&o.ForceUpgrade, "force-upgrade", false, "upgrade even if the installation is not installed (for example after a failed install)")
	case "invoke":
		fl.StringVar(&o.Action, "action", "", "the custom action to run (required)")
	case manifest.ActionUninstall:
		fl.BoolVar(&o.Delete, "delete", false, "delete the installation's records (and its dependencies') after a successful uninstall")
		fl.BoolVar(&o.ForceDelete, "force-delete", false, "delete the records even if the uninstall fails")
	}
	addFileDownloadsFlag(cmd)
	addLocalFlags(cmd)
	return cmd
}

func runBundleAction(cmd *cobra.Command, f *Factory, o *BundleActionOptions, verb, action, name string) error {
	ctx := cmd.Context()
	src, err := loadBundle(o.File, manifestOverrides{})
	if err != nil {
		return err
	}
	m := src.Manifest
	if err := validateBundle(f, cmd, m); err != nil {
		return err
	}
	params := map[string]string{}
	for _, kv := range o.Params {
		k, v, err := sets.ParseAssignment(kv)
		if err != nil {
			return &FlagError{Err: fmt.Errorf("--param: %w", err)}
		}
		if p, ok := m.Parameter(k); ok && strings.HasPrefix(v, "@") {
			switch {
			case p.Type == "object":
				if v, err = sets.ReadObjectFile(k, v[1:]); err != nil {
					return &engine.UserError{Msg: err.Error(), Kind: engine.ErrInvalid, Err: err}
				}
			case p.IsFile():
				v = v[1:] // the path; the file is read and encoded later
			}
		}
		params[k] = v
	}
	creds := map[string]string{}
	for _, kv := range o.Creds {
		k, v, err := sets.ParseAssignment(kv)
		if err != nil {
			return &FlagError{Err: fmt.Errorf("--cred: %w", err)}
		}
		creds[k] = v
	}
	fileParams := map[string]bool{}
	atFile := map[string]string{}
	for _, p := range m.Parameters {
		switch {
		case p.IsFile():
			fileParams[p.Name] = true
			atFile[p.Name] = "file"
		case p.Type == "object":
			atFile[p.Name] = "object"
		}
	}
	// A --param overriding a set entry means that entry is never resolved.
	skip := map[string]bool{}
	for k := range params {
		skip[k] = true
	}
	dir, cleanup, err := bundleFiles(ctx, f, cmd, src)
	if err != nil {
		return err
	}
	defer cleanup()
	opts := engine.BundleRunOptions{
		Dir: os.DirFS(dir), Manifest: m, Name: name, Params: params, Creds: creds,
		Force: o.Force, AllowDockerHost: o.AllowDockerHost, Out: f.IO.Out, Debug: o.Debug, ForceUpgrade: o.ForceUpgrade,
		Insecure: o.Insecure, Delete: o.Delete, ForceDelete: o.ForceDelete, VersionStrategy: o.VersionStrategy,
	}
	eng, closeEng, err := localEngine(ctx, f, cmd)
	if err != nil {
		return err
	}
	defer closeEng()
	resolver := setResolver{store: eng.Records(), ns: eng.Config().Namespace}
	paramSets, credSets := o.ParamSets, o.CredSets
	// Sets omitted on this command: the installation's last ones, as porter
	// does, when they are stored sets.
	if prev, err := eng.Records().GetInstallation(ctx, eng.Config().Namespace, cmp.Or(name, m.Name)); err == nil {
		if len(paramSets) == 0 {
			paramSets = storedSetNames(ctx, f, resolver, prev.ParameterSets, sets.TypeParameterSet)
		}
		if len(credSets) == 0 {
			credSets = storedSetNames(ctx, f, resolver, prev.CredentialSets, sets.TypeCredentialSet)
		}
	}
	for _, ref := range paramSets {
		setName, vals, err := resolver.resolve(ctx, ref, sets.TypeParameterSet, sets.ResolveOptions{PathAsValue: fileParams, Skip: skip, AtFile: atFile})
		if err != nil {
			return err
		}
		opts.ParamSets = append(opts.ParamSets, vals)
		opts.ParamSetNames = append(opts.ParamSetNames, setName)
	}
	for _, ref := range credSets {
		setName, vals, err := resolver.resolve(ctx, ref, sets.TypeCredentialSet, sets.ResolveOptions{})
		if err != nil {
			return err
		}
		opts.CredSets = append(opts.CredSets, vals)
		opts.CredSetNames = append(opts.CredSetNames, setName)
	}
	if o.Output != "" {
		opts.Out = f.IO.ErrOut // keep stdout for the document
	}
	var res *engine.BundleRunResult
	switch verb {
	case manifest.ActionInstall:
		res, err = eng.InstallBundle(ctx, opts)
	case manifest.ActionUpgrade:
		res, err = eng.UpgradeBundle(ctx, opts)
	case manifest.ActionUninstall:
		res, err = eng.UninstallBundle(ctx, opts)
	default:
		opts.Action = action
		res, err = eng.InvokeBundle(ctx, opts)
	}
	if err != nil {
		return err
	}
	if o.Output != "" && res != nil && res.Installation != nil {
		doc, derr := installationDoc(ctx, eng, res.Installation, true)
		if derr != nil {
			return derr
		}
		return writeStructured(f.IO.Out, o.Output, doc)
	}
	return nil
}

// storedSetNames keeps the names of sets an installation used last time
// that are stored sets; the others (set files) are named in a note, since
// they must be passed again.
func storedSetNames(ctx context.Context, f *Factory, resolver setResolver, names []string, kind string) []string {
	var out []string
	for _, n := range names {
		if _, err := resolver.store.GetSet(ctx, kind, resolver.ns, n); err == nil {
			out = append(out, n)
			continue
		}
		_, noun := setWords(kind)
		fmt.Fprintf(f.IO.ErrOut, "note: the %s %s used last time is not stored; pass it again if it still applies\n", noun, n)
	}
	return out
}

// runBundleInstallSource installs a published bundle or an archive as an
// app, with the local engine, and follows its job to the end.
func runBundleInstallSource(cmd *cobra.Command, f *Factory, o *BundleActionOptions, name string) error {
	ctx := cmd.Context()
	params := map[string]string{}
	for _, kv := range o.Params {
		k, v, err := sets.ParseAssignment(kv)
		if err != nil {
			return &FlagError{Err: fmt.Errorf("--param: %w", err)}
		}
		params[k] = v
	}
	eng, closeEng, err := localEngine(ctx, f, cmd)
	if err != nil {
		return err
	}
	defer closeEng()
	inst, err := eng.Install(ctx, engine.InstallOptions{Name: name, Parameters: params,
		Reference: o.Reference, Insecure: o.Insecure, Archive: o.Archive})
	if err != nil {
		return err
	}
	out := f.IO.Out
	if o.Output != "" {
		out = f.IO.ErrOut // keep stdout for the document
	}
	past, next, stop, err := eng.JobEvents(ctx, inst.JobID)
	if err != nil {
		return err
	}
	defer stop()
	for _, ev := range past {
		printJobLine(out, ev)
	}
	if next != nil {
		for ev := range next {
			printJobLine(out, ev)
		}
	}
	job, err := eng.Job(ctx, inst.JobID)
	if err != nil {
		return err
	}
	if job.Status != engine.JobSucceeded {
		return fmt.Errorf("install %s failed: %s", inst.Name, job.Message)
	}
	got, err := eng.Get(ctx, inst.Name)
	if err != nil {
		return err
	}
	if o.Output != "" {
		doc, err := installationDoc(ctx, eng, got, true)
		if err != nil {
			return err
		}
		return writeStructured(f.IO.Out, o.Output, doc)
	}
	fmt.Fprintf(out, "installed %s (%s %s) from %s\n", got.Name, got.App, got.BundleVersion, got.Reference)
	return nil
}

// printJobLine prints a job's log lines and steps.
func printJobLine(w io.Writer, ev engine.JobEvent) {
	switch ev.Type {
	case engine.JobEventLog:
		fmt.Fprintln(w, ev.Line)
	case engine.JobEventStep:
		fmt.Fprintln(w, "==> "+ev.Step)
	}
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
