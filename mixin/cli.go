package mixin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine/contract"
)

// usageError marks errors in flags or arguments (exit code 2).
type usageError struct{ error }

// Main runs the mixin's command line with args (without the program name)
// and returns the process exit code: 0, 1 on errors, 2 on usage errors.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := signalContext()
	defer cancel()
	m := New(stdin, stdout, stderr)
	return m.Run(ctx, args)
}

// Run is Main over an existing Mixin and context.
func (m *Mixin) Run(ctx context.Context, args []string) int {
	root := m.command()
	root.SetArgs(args)
	root.SetIn(m.In)
	root.SetOut(m.Out)
	root.SetErr(m.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	printError(m.Err, err)
	return exitStatus(err)
}

// exitStatus is the mixin's exit status for a failure: 2 for usage errors,
// contract.ExitUpgradeUndone when a failed upgrade brought the previous
// version back, 1 otherwise.
func exitStatus(err error) int {
	var undone *restoredError
	if errors.As(err, &undone) {
		return contract.ExitUpgradeUndone
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return 2
	}
	return 1
}

func (m *Mixin) command() *cobra.Command {
	var file string
	var debug bool
	root := &cobra.Command{
		Use:           Name,
		Short:         "StackHub's Porter mixin: free host ports and compose projects over the Docker Engine API",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.PersistentFlags().BoolVar(&debug, "debug", false, "accepted for compatibility with Porter")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	withFile := func(c *cobra.Command) *cobra.Command {
		c.Flags().StringVarP(&file, "file", "f", "", "read the step from this file instead of stdin")
		c.Args = cobra.NoArgs
		return c
	}
	input := func() (io.Reader, func(), error) {
		if file == "" {
			return m.In, func() {}, nil
		}
		f, err := os.Open(file)
		if err != nil {
			return nil, nil, usageError{fmt.Errorf("open %s: %w", file, err)}
		}
		return f, func() { _ = f.Close() }, nil
	}
	run := func(fn func(ctx context.Context, in io.Reader) error) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, _ []string) error {
			in, done, err := input()
			if err != nil {
				return err
			}
			defer done()
			return fn(c.Context(), in)
		}
	}

	var output string
	version := &cobra.Command{
		Use:   "version",
		Short: "Print the mixin's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return m.PrintVersion(output)
		},
	}
	version.Flags().StringVarP(&output, "output", "o", "plaintext", "output format: plaintext or json")

	schema := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON schema of the mixin's steps",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return m.PrintSchema() },
	}
	build := withFile(&cobra.Command{
		Use:   "build",
		Short: "Print the Dockerfile lines the mixin needs in the bundle image",
		RunE:  run(m.Build),
	})
	lint := withFile(&cobra.Command{
		Use:   "lint",
		Short: "Check the mixin's steps of a manifest (JSON results)",
		RunE:  run(m.Lint),
	})
	install := withFile(&cobra.Command{
		Use:   "install",
		Short: "Assign ports, generate secrets and deploy the compose project",
		RunE:  run(func(ctx context.Context, in io.Reader) error { return m.Execute(ctx, "install", in) }),
	})
	upgrade := withFile(&cobra.Command{
		Use:   "upgrade",
		Short: "Redeploy changed services, keeping ports, volumes and secrets",
		RunE:  run(func(ctx context.Context, in io.Reader) error { return m.Execute(ctx, "upgrade", in) }),
	})
	uninstall := withFile(&cobra.Command{
		Use:   "uninstall",
		Short: "Remove the project's containers and networks (and volumes with purge)",
		RunE:  run(func(ctx context.Context, in io.Reader) error { return m.Execute(ctx, "uninstall", in) }),
	})
	var action string
	invoke := withFile(&cobra.Command{
		Use:   "invoke",
		Short: "Run a custom action: start, stop, restart, logs or status",
		RunE: run(func(ctx context.Context, in io.Reader) error {
			if action == "" {
				return usageError{errors.New("invoke needs --action")}
			}
			return m.Execute(ctx, action, in)
		}),
	})
	invoke.Flags().StringVar(&action, "action", "", "custom action to run")
	root.AddCommand(version, schema, build, lint, install, upgrade, uninstall, invoke)
	return root
}
