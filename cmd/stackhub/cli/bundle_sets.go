package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/porter/sets"
)

// setWords names a set kind in commands and messages.
func setWords(kind string) (command, noun string) {
	if kind == sets.TypeParameterSet {
		return "parameters", "parameter set"
	}
	return "credentials", "credential set"
}

// newBundleSetsCmd is `stackhub bundle credentials|parameters
// apply|list|show|delete`: named sets kept in the store, like porter's.
func newBundleSetsCmd(f *Factory, kind string) *cobra.Command {
	command, noun := setWords(kind)
	cmd := &cobra.Command{
		Use:   command,
		Short: fmt.Sprintf("Keep named %ss, like porter %s", noun, command),
		Long: fmt.Sprintf("Keep named %ss in StackHub's store, like porter %s. A stored set keeps the sources of its\n"+
			"values (value, env, path, command), resolved each time it is used, and is encrypted at rest.\n"+
			"Use it by name wherever a set file is accepted: --%s NAME, or parameterSets/credentialSets of an\n"+
			"installation file.", noun, command, map[string]string{sets.TypeParameterSet: "param-set", sets.TypeCredentialSet: "cred-set"}[kind]),
	}
	apply := &cobra.Command{
		Use:     "apply FILE",
		Short:   fmt.Sprintf("Store the %s a file describes, replacing one of the same name", noun),
		Example: fmt.Sprintf("  stackhub bundle %s apply mycreds.yaml", command),
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := sets.Load(args[0], kind)
			if err != nil {
				return &engine.UserError{Msg: err.Error(), Kind: engine.ErrInvalid, Err: err}
			}
			if set.Name == "" {
				return &engine.UserError{Msg: fmt.Sprintf("invalid %s: %s has no name", noun, args[0]), Kind: engine.ErrInvalid, Hint: "add name: to the file"}
			}
			if err := engine.ValidateName(noun, set.Name); err != nil {
				return err
			}
			doc, err := json.Marshal(set)
			if err != nil {
				return fmt.Errorf("encode %s: %w", noun, err)
			}
			return withSetStore(cmd, f, func(ctx context.Context, st engine.Store, ns string) error {
				if set.Namespace != "" && set.Namespace != ns {
					return &engine.UserError{Msg: fmt.Sprintf("invalid %s: namespace is %q, but this StackHub keeps sets in %q", noun, set.Namespace, ns), Kind: engine.ErrInvalid}
				}
				if err := st.PutSet(ctx, &engine.SetRecord{Kind: kind, Namespace: ns, Name: set.Name, Doc: doc}); err != nil {
					return err
				}
				fmt.Fprintf(f.IO.Out, "Applied %s/%s %s\n", ns, set.Name, noun)
				return nil
			})
		},
	}
	var output string
	list := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   fmt.Sprintf("List the stored %ss", noun),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSetStore(cmd, f, func(ctx context.Context, st engine.Store, ns string) error {
				recs, err := st.ListSets(ctx, kind, ns)
				if err != nil {
					return err
				}
				if output != "plaintext" && output != "" {
					docs := make([]*setDoc, 0, len(recs))
					for _, r := range recs {
						d, err := newSetDoc(r)
						if err != nil {
							return err
						}
						docs = append(docs, d)
					}
					return writeStructured(f.IO.Out, output, docs)
				}
				tw := newTable(f.IO.Out)
				fmt.Fprintln(tw, "NAMESPACE\tNAME\tMODIFIED")
				for _, r := range recs {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Namespace, r.Name, r.Modified.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "plaintext", "output format: plaintext, json or yaml")
	var showOutput string
	show := &cobra.Command{
		Use:   "show NAME",
		Short: fmt.Sprintf("Show a stored %s: its sources, not their values", noun),
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSetStore(cmd, f, func(ctx context.Context, st engine.Store, ns string) error {
				rec, err := st.GetSet(ctx, kind, ns, args[0])
				if err != nil {
					return err
				}
				d, err := newSetDoc(rec)
				if err != nil {
					return err
				}
				if showOutput != "plaintext" && showOutput != "" {
					return writeStructured(f.IO.Out, showOutput, d)
				}
				return printSetDoc(f.IO.Out, d)
			})
		},
	}
	show.Flags().StringVarP(&showOutput, "output", "o", "plaintext", "output format: plaintext, json or yaml")
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: fmt.Sprintf("Delete a stored %s", noun),
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSetStore(cmd, f, func(ctx context.Context, st engine.Store, ns string) error {
				if err := st.DeleteSet(ctx, kind, ns, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(f.IO.Out, "Deleted %s/%s %s\n", ns, args[0], noun)
				return nil
			})
		},
	}
	for _, c := range []*cobra.Command{apply, list, show, del} {
		addLocalFlags(c)
		cmd.AddCommand(c)
	}
	return cmd
}

// withSetStore opens the local store, without Docker, and calls fn with
// it and the namespace sets live in.
func withSetStore(cmd *cobra.Command, f *Factory, fn func(context.Context, engine.Store, string) error) error {
	ctx := cmd.Context()
	_, _, st, err := openLocalStore(ctx, f, cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, st, "")
}

// setDoc is porter's stored set document: the set with its status.
type setDoc struct {
	SchemaType    string            `json:"schemaType"`
	SchemaVersion string            `json:"schemaVersion"`
	Namespace     string            `json:"namespace"`
	Name          string            `json:"name"`
	Labels        map[string]string `json:"labels,omitempty"`
	Credentials   []sets.Strategy   `json:"credentials,omitempty"`
	Parameters    []sets.Strategy   `json:"parameters,omitempty"`
	Status        struct {
		Created  time.Time `json:"created"`
		Modified time.Time `json:"modified"`
	} `json:"status"`
}

func newSetDoc(rec *engine.SetRecord) (*setDoc, error) {
	var s sets.Set
	if err := json.Unmarshal(rec.Doc, &s); err != nil {
		return nil, fmt.Errorf("read stored %s %s: %w", rec.Kind, rec.Name, err)
	}
	d := &setDoc{SchemaType: rec.Kind, SchemaVersion: s.SchemaVersion, Namespace: rec.Namespace, Name: rec.Name,
		Labels: s.Labels, Credentials: s.Credentials, Parameters: s.Parameters}
	if d.SchemaVersion == "" {
		d.SchemaVersion = "1.0.1"
	}
	d.Status.Created, d.Status.Modified = rec.Created, rec.Modified
	return d, nil
}

func printSetDoc(w io.Writer, d *setDoc) error {
	fmt.Fprintf(w, "Name: %s\nNamespace: %s\nCreated: %s\nModified: %s\n\n", d.Name, d.Namespace,
		d.Status.Created.Format(time.RFC3339), d.Status.Modified.Format(time.RFC3339))
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tSOURCE\tFROM")
	entries := d.Credentials
	if d.SchemaType == sets.TypeParameterSet {
		entries = d.Parameters
	}
	for _, e := range entries {
		src, from := "value", "******"
		switch {
		case e.Source.Env != "":
			src, from = "env", e.Source.Env
		case e.Source.Path != "":
			src, from = "path", e.Source.Path
		case e.Source.Command != "":
			src, from = "command", e.Source.Command
		case e.Source.Secret != "":
			src, from = "secret", e.Source.Secret
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, src, from)
	}
	return tw.Flush()
}

// setResolver resolves the sets a command names: a set file, else a
// stored set of that name.
type setResolver struct {
	store engine.Records
	ns    string
}

// resolve returns the set's name and its resolved values.
func (r setResolver) resolve(ctx context.Context, ref, kind string, opts sets.ResolveOptions) (string, map[string]string, error) {
	_, noun := setWords(kind)
	var set *sets.Set
	if fi, err := os.Stat(ref); err == nil && !fi.IsDir() {
		if set, err = sets.Load(ref, kind); err != nil {
			return "", nil, err
		}
	} else {
		rec, gerr := r.store.GetSet(ctx, kind, r.ns, ref)
		if errors.Is(gerr, engine.ErrNotFound) {
			command, _ := setWords(kind)
			return "", nil, &engine.UserError{Msg: fmt.Sprintf("no %s file and no stored %s named %q", noun, noun, ref), Kind: engine.ErrNotFound,
				Hint: fmt.Sprintf("pass a file path, or store the set first: stackhub bundle %s apply FILE", command)}
		}
		if gerr != nil {
			return "", nil, gerr
		}
		if set, err = sets.Parse(rec.Doc, "stored "+noun+" "+ref, kind); err != nil {
			return "", nil, err
		}
	}
	vals, err := set.Resolve(ctx, opts)
	if err != nil {
		return "", nil, err
	}
	name := set.Name
	if name == "" {
		name = strings.TrimSuffix(ref, ".yaml")
	}
	return name, vals, nil
}
