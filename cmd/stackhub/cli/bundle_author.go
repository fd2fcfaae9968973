package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/engine/registry"
)

func newBundleLintCmd(f *Factory) *cobra.Command {
	var file, output string
	cmd := &cobra.Command{
		Use:     "lint",
		Short:   "Check a bundle for problems, like porter lint",
		Example: "  stackhub bundle lint\n  stackhub bundle lint -f path/to/porter.yaml -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := loadBundle(file, manifestOverrides{})
			if err != nil {
				return err
			}
			results, err := lintBundle(cmd.Context(), f, cmd, src.Manifest)
			if err != nil {
				return err
			}
			switch output {
			case "json":
				if err := writeJSON(f.IO.Out, porterLintJSON(results)); err != nil {
					return err
				}
			case "plaintext", "":
				if len(results) == 0 {
					fmt.Fprintln(f.IO.Out, "✨ Bundle validation was successful!")
				} else {
					fmt.Fprint(f.IO.Out, results.String())
				}
			default:
				return &FlagError{Err: fmt.Errorf("invalid --output %q: use plaintext or json", output)}
			}
			if results.HasErrors() {
				return SilentError
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "porter.yaml", "path to the bundle's manifest")
	cmd.Flags().StringVarP(&output, "output", "o", "plaintext", "output format: plaintext or json")
	return cmd
}

// lintBundle validates then lints a manifest; validation errors are errors.
// Dependencies given parameters are pulled from their registry to check
// those parameters.
func lintBundle(ctx context.Context, f *Factory, cmd *cobra.Command, m *manifest.Manifest) (manifest.LintResults, error) {
	if err := validateBundle(f, cmd, m); err != nil {
		return nil, err
	}
	results := manifest.Lint(m)
	return append(results, manifest.LintDependencies(m, func(ref string) ([]string, error) {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		b, err := registry.New(nil, nil).PullBundle(ctx, ref, false)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Parameters map[string]json.RawMessage `json:"parameters"`
		}
		if err := json.Unmarshal(b.BundleJSON, &doc); err != nil {
			return nil, fmt.Errorf("read bundle.json of %s: %w", ref, err)
		}
		names := make([]string, 0, len(doc.Parameters))
		for name := range doc.Parameters {
			names = append(names, name)
		}
		return names, nil
	})...), nil
}

// porterLintJSON is porter lint -o json's shape: Go field names, Level 0
// for errors and 2 for warnings.
func porterLintJSON(rs manifest.LintResults) []map[string]any {
	out := make([]map[string]any, 0, len(rs))
	for _, r := range rs {
		level := 0
		if r.Level == manifest.LintWarning {
			level = 2
		}
		out = append(out, map[string]any{
			"Level": level,
			"Location": map[string]any{"Action": r.Location.Action, "Mixin": r.Location.Mixin,
				"StepNumber": r.Location.StepNumber, "StepDescription": r.Location.StepDescription},
			"Code": r.Code, "Title": r.Title, "Message": r.Message, "URL": r.URL,
		})
	}
	return out
}

// BuildOptions are the inputs of `stackhub bundle build`.
type BuildOptions struct {
	File      string
	NoLint    bool
	Overrides manifestOverrides
	BuildArgs []string
}

func newBundleBuildCmd(f *Factory) *cobra.Command {
	var o BuildOptions
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build a bundle's image and .cnab/bundle.json, like porter build",
		Example: "  stackhub bundle build\n  stackhub bundle build --version 0.2.0 --custom app.version=1.2\n" +
			"  stackhub bundle build --build-arg HTTP_PROXY=http://proxy:3128",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBundleBuild(cmd, f, o)
		},
	}
	cmd.Flags().StringVarP(&o.File, "file", "f", "porter.yaml", "path to the bundle's manifest")
	cmd.Flags().BoolVar(&o.NoLint, "no-lint", false, "build even when lint finds errors")
	cmd.Flags().StringVar(&o.Overrides.Name, "name", "", "override the bundle's name")
	cmd.Flags().StringVar(&o.Overrides.Version, "version", "", "override the bundle's version")
	cmd.Flags().StringArrayVar(&o.Overrides.Custom, "custom", nil, "set custom.KEY (a.b.c) to VALUE: KEY=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(&o.BuildArgs, "build-arg", nil, "build argument for a dockerfile template: NAME=VALUE (repeatable)")
	addFileDownloadsFlag(cmd)
	addLocalFlags(cmd)
	return cmd
}

func runBundleBuild(cmd *cobra.Command, f *Factory, o BuildOptions) error {
	ctx := cmd.Context()
	src, err := loadBundle(o.File, o.Overrides)
	if err != nil {
		return err
	}
	m := src.Manifest
	args := map[string]string{}
	for _, kv := range o.BuildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return &FlagError{Err: fmt.Errorf("invalid --build-arg %q: use NAME=VALUE", kv)}
		}
		args[k] = v
	}
	if !o.NoLint {
		results, err := lintBundle(ctx, f, cmd, m)
		if err != nil {
			return err
		}
		if results.HasErrors() {
			fmt.Fprint(f.IO.ErrOut, results.String())
			return &engine.UserError{Msg: manifest.ErrLint, Kind: engine.ErrInvalid}
		}
	} else if err := validateBundle(f, cmd, m); err != nil {
		return err
	}
	eng, closeEng, err := localEngine(ctx, f, cmd)
	if err != nil {
		return err
	}
	defer closeEng()
	dir, cleanup, err := bundleFiles(ctx, f, cmd, src)
	if err != nil {
		return err
	}
	defer cleanup()
	bundleJSON, _, built, err := eng.BuildLocalBundle(ctx, os.DirFS(dir), m, args, f.IO.Out)
	if err != nil {
		return err
	}
	if err := writeCNABDir(src.Dir, m.Raw, bundleJSON); err != nil {
		return err
	}
	if !built {
		fmt.Fprintln(f.IO.Out, "Bundle is up-to-date!")
		return nil
	}
	fmt.Fprintln(f.IO.Out, "Building bundle ===>")
	fmt.Fprintf(f.IO.Out, "Built bundle %s (invocation image %s)\n", engine.BundleReference(m), engine.InvocationImageFor(engine.BundleReference(m)))
	return nil
}

// writeCNABDir writes .cnab/bundle.json and the canonical manifest
// .cnab/app/porter.yaml, after removing the previous .cnab, as porter build does.
func writeCNABDir(dir string, canonical, bundleJSON []byte) error {
	cnabDir := filepath.Join(dir, ".cnab")
	if err := os.RemoveAll(cnabDir); err != nil {
		return fmt.Errorf("clean %s: %w", cnabDir, err)
	}
	if err := os.MkdirAll(filepath.Join(cnabDir, "app"), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", cnabDir, err)
	}
	var pretty json.RawMessage = bundleJSON
	if err := os.WriteFile(filepath.Join(cnabDir, "bundle.json"), pretty, 0o644); err != nil {
		return fmt.Errorf("write bundle.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cnabDir, "app", "porter.yaml"), canonical, 0o644); err != nil {
		return fmt.Errorf("write canonical manifest: %w", err)
	}
	return nil
}

// explainDoc is porter explain -o json's shape.
type explainDoc struct {
	Name          string           `json:"name"`
	Description   string           `json:"description,omitempty"`
	Version       string           `json:"version"`
	PorterVersion string           `json:"porterVersion,omitempty"`
	Credentials   []explainCred    `json:"credentials,omitempty"`
	Parameters    []explainParam   `json:"parameters,omitempty"`
	Outputs       []explainOutput  `json:"outputs,omitempty"`
	Actions       []explainAction  `json:"customActions,omitempty"`
	Dependencies  []map[string]any `json:"dependencies,omitempty"`
	Mixins        []string         `json:"mixins"`
}

type explainCred struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required"`
	ApplyTo     string `json:"applyTo"`
}

type explainParam struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type"`
	Default     any    `json:"default,omitempty"`
	Required    bool   `json:"required"`
	Sensitive   bool   `json:"sensitive"`
	ApplyTo     string `json:"applyTo"`
}

type explainOutput struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type"`
	Sensitive   bool   `json:"sensitive"`
	ApplyTo     string `json:"applyTo"`
}

type explainAction struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Modifies    bool   `json:"modifies"`
	Stateless   bool   `json:"stateless"`
}

func applyToText(a []string) string {
	if len(a) == 0 {
		return "All Actions"
	}
	return strings.Join(a, ",")
}

func explain(m *manifest.Manifest) explainDoc {
	d := explainDoc{Name: m.Name, Description: m.Description, Version: strings.TrimPrefix(m.Version, "v"), PorterVersion: Version}
	for _, c := range m.Credentials {
		d.Credentials = append(d.Credentials, explainCred{c.Name, c.Description, c.Required, applyToText(c.ApplyTo)})
	}
	for _, p := range m.Parameters {
		if strings.HasPrefix(p.Name, "porter-") || p.Name == contract.ContextParameter {
			continue
		}
		ep := explainParam{Name: p.Name, Description: p.Description, Type: p.Type, Required: p.Required(), Sensitive: p.Sensitive, ApplyTo: applyToText(p.ApplyTo)}
		if p.HasDefault {
			ep.Default = p.Default
		}
		d.Parameters = append(d.Parameters, ep)
	}
	for _, o := range m.Outputs {
		d.Outputs = append(d.Outputs, explainOutput{o.Name, o.Description, o.Type, o.Sensitive, applyToText(o.ApplyTo)})
	}
	for _, a := range m.CustomActionNames() {
		ca := m.CustomAction(a)
		d.Actions = append(d.Actions, explainAction{a, ca.Description, ca.Modifies, ca.Stateless})
	}
	if m.Dependencies != nil {
		for _, r := range m.Dependencies.Requires {
			d.Dependencies = append(d.Dependencies, map[string]any{"alias": r.Name, "reference": r.Bundle.Reference})
		}
	}
	d.Mixins = []string{}
	for _, mx := range m.Mixins {
		d.Mixins = append(d.Mixins, mx.Name)
	}
	return d
}

func newBundleExplainCmd(f *Factory) *cobra.Command {
	var file, output, action string
	cmd := &cobra.Command{
		Use:     "explain",
		Short:   "Show a bundle's parameters, credentials, outputs and actions, like porter explain",
		Example: "  stackhub bundle explain\n  stackhub bundle explain -o json\n  stackhub bundle explain --action upgrade",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := loadBundle(file, manifestOverrides{})
			if err != nil {
				return err
			}
			d := explain(src.Manifest)
			if action != "" {
				d = filterExplain(d, src.Manifest, action)
			}
			if output == "plaintext" || output == "" {
				printExplain(f, d)
				return nil
			}
			return writeStructured(f.IO.Out, output, d)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "porter.yaml", "path to the bundle's manifest")
	cmd.Flags().StringVarP(&output, "output", "o", "plaintext", "output format: plaintext, json or yaml")
	cmd.Flags().StringVar(&action, "action", "", "show only what applies to this action")
	return cmd
}

func filterExplain(d explainDoc, m *manifest.Manifest, action string) explainDoc {
	keep := func(applyTo string) bool {
		return applyTo == "All Actions" || manifest.AppliesTo(strings.Split(applyTo, ","), action)
	}
	var ps []explainParam
	for _, p := range d.Parameters {
		if keep(p.ApplyTo) {
			ps = append(ps, p)
		}
	}
	var cs []explainCred
	for _, c := range d.Credentials {
		if keep(c.ApplyTo) {
			cs = append(cs, c)
		}
	}
	var os []explainOutput
	for _, o := range d.Outputs {
		if keep(o.ApplyTo) {
			os = append(os, o)
		}
	}
	d.Parameters, d.Credentials, d.Outputs = ps, cs, os
	return d
}

func printExplain(f *Factory, d explainDoc) {
	w := f.IO.Out
	fmt.Fprintf(w, "Name: %s\nDescription: %s\nVersion: %s\nStackHub Version: %s\n\n", d.Name, d.Description, d.Version, d.PorterVersion)
	table := func(title string, empty string, header []string, rows [][]string) {
		if len(rows) == 0 {
			fmt.Fprintf(w, "%s\n\n", empty)
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	var rows [][]string
	for _, c := range d.Credentials {
		rows = append(rows, []string{c.Name, c.Description, fmt.Sprint(c.Required), c.ApplyTo})
	}
	table("Credentials", "No credentials defined", []string{"Name", "Description", "Required", "Applies To"}, rows)
	rows = nil
	for _, p := range d.Parameters {
		def := ""
		if p.Default != nil {
			def = fmt.Sprint(p.Default)
			if p.Sensitive {
				def = "******"
			}
		}
		rows = append(rows, []string{p.Name, p.Description, p.Type, def, fmt.Sprint(p.Required), p.ApplyTo})
	}
	table("Parameters", "No parameters defined", []string{"Name", "Description", "Type", "Default", "Required", "Applies To"}, rows)
	rows = nil
	for _, o := range d.Outputs {
		rows = append(rows, []string{o.Name, o.Description, o.Type, o.ApplyTo})
	}
	table("Outputs", "No outputs defined", []string{"Name", "Description", "Type", "Applies To"}, rows)
	rows = nil
	for _, a := range d.Actions {
		rows = append(rows, []string{a.Name, a.Description, fmt.Sprint(a.Modifies), fmt.Sprint(a.Stateless)})
	}
	table("Actions", "No custom actions defined", []string{"Name", "Description", "Modifies Installation", "Stateless"}, rows)
	rows = nil
	for _, dep := range d.Dependencies {
		rows = append(rows, []string{fmt.Sprint(dep["alias"]), fmt.Sprint(dep["reference"])})
	}
	table("Dependencies", "No dependencies defined", []string{"Alias", "Reference"}, rows)
	mixins := append([]string(nil), d.Mixins...)
	sort.Strings(mixins)
	fmt.Fprintf(w, "This bundle uses the following tools: %s.\n", strings.Join(d.Mixins, ", "))
}
