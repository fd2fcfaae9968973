// Package cli is the stackhub command tree (cobra): serve, the client
// commands that talk to the service, and the bundle authoring commands. Main
// also dispatches to the in-image runtime and mixins when the binary is
// called by their names.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
)

// Version is StackHub's version, set at link time.
var Version = "dev"

// IOStreams are a command's input and outputs: results go to Out, logs and
// errors to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Factory carries what commands share.
type Factory struct {
	IO     IOStreams
	Getenv func(string) string
	// configFile is the --config flag.
	configFile string
}

// Config resolves the configuration for cmd.
func (f *Factory) Config(cmd *cobra.Command) (*Config, error) {
	return loadConfig(cmd.Flags(), f.configFile, f.Getenv)
}

// FlagError is a usage error: the command prints its usage and exits 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// SilentError means the command already printed what went wrong.
var SilentError = errors.New("silent error") //nolint:staticcheck // ST1012: named after gh's SilentError, which readers know

// Main runs the command line and returns the exit code: 0 ok, 1 error,
// 2 usage error, 130 interrupted.
func Main() int {
	if run := role(os.Args[0]); run != nil {
		return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills the process
	}()
	f := &Factory{IO: IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, Getenv: os.Getenv}
	return Run(ctx, f, os.Args[1:])
}

// Run executes args against a fresh command tree.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if errors.Is(err, SilentError) {
		return 1
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(f.IO.ErrOut, "Error: interrupted")
		return 130
	}
	fmt.Fprintf(f.IO.ErrOut, "Error: %v\n", err)
	if hint := engine.HintOf(err); hint != "" {
		fmt.Fprintf(f.IO.ErrOut, "Hint: %s\n", hint)
	}
	var fe *FlagError
	if errors.As(err, &fe) || isUsageError(err) {
		return 2
	}
	return 1
}

// isUsageError recognises cobra's own argument and flag errors.
func isUsageError(err error) bool {
	var ue *usageErr
	return errors.As(err, &ue)
}

type usageErr struct{ error }

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "stackhub",
		Short:         "Install self-hosted apps as Docker containers",
		Long:          "StackHub installs open-source apps on your server as Docker containers, from Porter bundles,\nthrough a web page, this command line and an HTTP API.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &FlagError{Err: fmt.Errorf("%w\nRun '%s --help' for usage", err, cmd.CommandPath())}
	})
	root.PersistentFlags().StringVar(&f.configFile, "config", "", "config file (env STACKHUB_CONFIG; default $XDG_CONFIG_HOME/stackhub/config.yaml)")
	root.AddCommand(newServeCmd(f, nil))
	root.AddCommand(newVersionCmd(f))
	root.AddCommand(newBundleCmd(f))
	root.AddCommand(newCatalogCmd(f))
	root.AddCommand(newDomainCmd(f))
	root.AddCommand(newLoginCmd(f), newLogoutCmd(f), newInstallCmd(f), newUpgradeCmd(f), newUninstallCmd(f),
		newActionCmd(f, "start", "Start a stopped installation"),
		newActionCmd(f, "stop", "Stop an installation (its data is kept)"),
		newActionCmd(f, "restart", "Restart an installation"),
		newLogsCmd(f), newListCmd(f), newShowCmd(f), newServerCmd(f), newTokenCmd(f), newUserCmd(f), newNodeCmd(f), newBackupCmd(f))
	return root
}

func newVersionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print StackHub's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(f.IO.Out, "stackhub %s\n", Version)
			return nil
		},
	}
}

// exactArgs is cobra.ExactArgs whose error is a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &FlagError{Err: err}
		}
		return nil
	}
}

// maxArgs is cobra.MaximumNArgs with a usage error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MaximumNArgs(n)(cmd, args); err != nil {
			return &FlagError{Err: err}
		}
		return nil
	}
}

// rangeArgs is cobra.RangeArgs with a usage error.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.RangeArgs(lo, hi)(cmd, args); err != nil {
			return &FlagError{Err: err}
		}
		return nil
	}
}
