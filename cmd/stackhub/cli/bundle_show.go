package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/porter"
)

// installationDoc is porter show -o json's document (porter-compat.md 7.3)
// of an installation of the local engine, sensitive values masked.
func installationDoc(ctx context.Context, eng *engine.Engine, inst *engine.Installation, resolve bool) (*porter.Installation, error) {
	return porter.NewDocs(eng.Records()).Document(ctx, inst, porter.DocOptions{Resolve: resolve})
}

func newBundleShowCmd(f *Factory) *cobra.Command {
	var output string
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show an installation made with stackhub bundle install, like porter show",
		Long: "Show an installation made with stackhub bundle install, like porter show. -o json and -o yaml print\n" +
			"Porter's installation document.\n\n" +
			"Unlike porter, sensitive parameter values are printed as " + porter.MaskedValue + " unless --show-secrets is given.",
		Example: "  stackhub bundle show hello -o json\n  stackhub bundle show hello -o json --show-secrets",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var doc *porter.Installation
			if err := withLocalInstallation(cmd, f, args[0], func(ctx context.Context, eng *engine.Engine, inst *engine.Installation) (err error) {
				doc, err = porter.NewDocs(eng.Records()).Document(ctx, inst, porter.DocOptions{Resolve: true, Reveal: showSecrets})
				return err
			}); err != nil {
				return err
			}
			if output == "plaintext" || output == "" {
				w := f.IO.Out
				fmt.Fprintf(w, "Name: %s\nNamespace: %s\nCreated: %s\nModified: %s\n\n", doc.Name, doc.Namespace, doc.Status.Created.Format(time.RFC3339), doc.Status.Modified.Format(time.RFC3339))
				fmt.Fprintln(w, "Parameters:")
				tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
				fmt.Fprintln(tw, "Name\tValue")
				for _, p := range doc.Calculated.ResolvedParameters {
					v := fmt.Sprint(p.Value)
					if p.Sensitive && !showSecrets {
						v = "******"
					}
					fmt.Fprintf(tw, "%s\t%s\n", p.Name, v)
				}
				tw.Flush()
				fmt.Fprintf(w, "\nStatus:\n  Version: %s\n  Last Action: %s\n  Status: %s\n  Digest: %s\n", doc.Status.BundleVersion, doc.Status.Action, doc.Status.ResultStatus, doc.Status.BundleDigest)
				return nil
			}
			return writeStructured(f.IO.Out, output, doc)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "plaintext", "output format: plaintext, json or yaml")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print sensitive values in plaintext, as porter does")
	addLocalFlags(cmd)
	return cmd
}

func getInstallation(ctx context.Context, eng *engine.Engine, name string) (*engine.Installation, error) {
	inst, err := eng.Records().GetInstallation(ctx, eng.Config().Namespace, name)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, &engine.UserError{Msg: fmt.Sprintf("could not find installation %s/%s: Installation not found", eng.Config().Namespace, name), Kind: engine.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("get installation %s: %w", name, err)
	}
	return inst, nil
}

func newBundleListCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List installations, like porter list",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, closeEng, err := localEngine(ctx, f, cmd)
			if err != nil {
				return err
			}
			defer closeEng()
			list, err := eng.Records().ListInstallations(ctx, eng.Config().Namespace)
			if err != nil {
				return fmt.Errorf("list installations: %w", err)
			}
			docs, err := porter.NewDocs(eng.Records()).Documents(ctx, list, porter.DocOptions{})
			if err != nil {
				return err
			}
			if output == "plaintext" || output == "" {
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 3, ' ', 0)
				fmt.Fprintln(tw, "NAMESPACE\tNAME\tVERSION\tSTATE\tSTATUS\tMODIFIED")
				for _, d := range docs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Namespace, d.Name, d.Status.BundleVersion, d.Calculated.DisplayInstallationState,
						d.Calculated.DisplayInstallationStatus, d.Status.Modified.Format(time.RFC3339))
				}
				return tw.Flush()
			}
			return writeStructured(f.IO.Out, output, docs)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "plaintext", "output format: plaintext, json or yaml")
	addLocalFlags(cmd)
	return cmd
}

type outputJSON struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Sensitive bool   `json:"sensitive"`
	Value     string `json:"value"`
}

// localInstallationOutputs opens the local engine, finds the installation
// and returns its outputs: the shared start of `outputs list` and `outputs
// show`.
func localInstallationOutputs(cmd *cobra.Command, f *Factory, name string) (outs []outputJSON, err error) {
	err = withLocalInstallation(cmd, f, name, func(ctx context.Context, eng *engine.Engine, inst *engine.Installation) (err error) {
		outs, err = installationOutputs(ctx, eng, inst)
		return err
	})
	return outs, err
}

// withLocalInstallation opens the local engine, finds installation name
// and calls fn with both.
func withLocalInstallation(cmd *cobra.Command, f *Factory, name string, fn func(context.Context, *engine.Engine, *engine.Installation) error) error {
	ctx := cmd.Context()
	eng, closeEng, err := localEngine(ctx, f, cmd)
	if err != nil {
		return err
	}
	defer closeEng()
	inst, err := getInstallation(ctx, eng, name)
	if err != nil {
		return err
	}
	return fn(ctx, eng, inst)
}

// installationOutputs lists the latest value of every output the bundle
// defines, internal ones hidden.
func installationOutputs(ctx context.Context, eng *engine.Engine, inst *engine.Installation) ([]outputJSON, error) {
	st := eng.Records()
	outs, err := st.ListOutputs(ctx, inst.Namespace, inst.Name)
	if err != nil {
		return nil, fmt.Errorf("list outputs: %w", err)
	}
	var defs map[string]engine.FieldDef
	if inst.LastRunID != "" {
		if run, err := st.GetRun(ctx, inst.LastRunID); err == nil {
			defs = engine.BundleOutputs(run.Bundle)
		}
	}
	list := []outputJSON{}
	for _, o := range outs {
		def, ok := defs[o.Name]
		if !ok || def.Internal || strings.HasPrefix(o.Name, "porter-") {
			continue
		}
		list = append(list, outputJSON{Name: o.Name, Type: def.Type, Sensitive: def.Sensitive || o.Sensitive, Value: string(o.Value)})
	}
	return list, nil
}

func newBundleOutputsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "outputs", Short: "List or show an installation's outputs"}
	var output, inst string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List an installation's outputs, like porter installation outputs list",
		Example: "  stackhub bundle outputs list -i hello -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			outs, err := localInstallationOutputs(cmd, f, inst)
			if err != nil {
				return err
			}
			if output == "plaintext" || output == "" {
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 3, ' ', 0)
				fmt.Fprintln(tw, "Name\tType\tValue")
				for _, o := range outs {
					v := o.Value
					if o.Sensitive {
						v = "******"
					} else if len(v) > 60 {
						v = v[:57] + "..."
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Name, o.Type, strings.ReplaceAll(v, "\n", " "))
				}
				return tw.Flush()
			}
			return writeStructured(f.IO.Out, output, outs)
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "plaintext", "output format: plaintext, json or yaml")
	list.Flags().StringVarP(&inst, "installation", "i", "", "the installation (required)")
	addLocalFlags(list)
	var showInst string
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Print one output's raw value, like porter installation outputs show",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			outs, err := localInstallationOutputs(cmd, f, showInst)
			if err != nil {
				return err
			}
			for _, o := range outs {
				if o.Name == args[0] {
					_, err := fmt.Fprint(f.IO.Out, o.Value)
					return err
				}
			}
			return &engine.UserError{Msg: fmt.Sprintf("output %s not found for installation %s", args[0], showInst), Kind: engine.ErrNotFound}
		},
	}
	show.Flags().StringVarP(&showInst, "installation", "i", "", "the installation (required)")
	addLocalFlags(show)
	cmd.AddCommand(list, show)
	return cmd
}

func newBundleLogsCmd(f *Factory) *cobra.Command {
	var inst, runID string
	cmd := &cobra.Command{
		Use:     "logs",
		Short:   "Print the invocation container's log of a run, like porter logs",
		Example: "  stackhub bundle logs -i hello\n  stackhub bundle logs -r 01H...",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, closeEng, err := localEngine(ctx, f, cmd)
			if err != nil {
				return err
			}
			defer closeEng()
			if runID == "" {
				in, err := getInstallation(ctx, eng, inst)
				if err != nil {
					return err
				}
				runs, err := eng.Records().ListRuns(ctx, in.Namespace, in.Name)
				if err != nil || len(runs) == 0 {
					return &engine.UserError{Msg: "no logs found", Kind: engine.ErrNotFound}
				}
				runID = runs[0].ID
			}
			outs, err := eng.Records().ListRunOutputs(ctx, runID)
			if err != nil {
				return fmt.Errorf("list run outputs: %w", err)
			}
			for _, o := range outs {
				if o.Name == engine.LogsOutput {
					_, err := f.IO.Out.Write(o.Value)
					return err
				}
			}
			return &engine.UserError{Msg: "no logs found", Kind: engine.ErrNotFound}
		},
	}
	cmd.Flags().StringVarP(&inst, "installation", "i", "", "the installation")
	cmd.Flags().StringVarP(&runID, "run", "r", "", "the run")
	addLocalFlags(cmd)
	return cmd
}

func newBundleInstallationCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "installation", Short: "Manage installation records"}
	var force bool
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an installation's records, like porter installation delete",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, closeEng, err := localEngine(ctx, f, cmd)
			if err != nil {
				return err
			}
			defer closeEng()
			return eng.DeleteInstallation(ctx, args[0], force)
		},
	}
	del.Flags().BoolVar(&force, "force", false, "delete even when the last action was not a successful uninstall")
	addLocalFlags(del)
	cmd.AddCommand(del, newBundleRunsCmd(f), newBundleApplyCmd(f))
	return cmd
}

func newBundleRunsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "List an installation's runs"}
	var output string
	var showSecrets bool
	list := &cobra.Command{
		Use:   "list NAME",
		Short: "List an installation's runs, like porter installation runs list",
		Long: "List an installation's runs, newest first, like porter installation runs list. -o json and -o yaml print\n" +
			"Porter's entries: id, bundle, version, action, parameters, started, stopped (null while the run is\n" +
			"running) and status.\n\n" +
			"Unlike porter, sensitive parameter values are printed as " + porter.MaskedValue + " unless --show-secrets is given.",
		Example: "  stackhub bundle installation runs list hello\n  stackhub bundle installation runs list hello -o json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var runs []porter.Run
			if err := withLocalInstallation(cmd, f, args[0], func(ctx context.Context, eng *engine.Engine, inst *engine.Installation) (err error) {
				runs, err = porter.NewDocs(eng.Records()).Runs(ctx, inst, showSecrets)
				return err
			}); err != nil {
				return err
			}
			if output == "plaintext" || output == "" {
				return printRuns(f.IO.Out, runs)
			}
			return writeStructured(f.IO.Out, output, runs)
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "plaintext", "output format: plaintext, json or yaml")
	list.Flags().BoolVar(&showSecrets, "show-secrets", false, "print sensitive parameter values in plaintext, as porter does")
	addLocalFlags(list)
	cmd.AddCommand(list)
	return cmd
}

// printRuns prints porter installation runs list's plaintext table.
func printRuns(w io.Writer, runs []porter.Run) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "Run ID\tAction\tStarted\tStopped\tStatus")
	for _, r := range runs {
		stopped := ""
		if r.Stopped != nil {
			stopped = r.Stopped.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Action, r.Started.Format(time.RFC3339), stopped, r.Status)
	}
	return tw.Flush()
}
