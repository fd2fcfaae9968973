package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes of Main.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// flagError marks command-line usage errors (exit code 2).
type flagError struct{ err error }

func (e flagError) Error() string { return e.err.Error() }
func (e flagError) Unwrap() error { return e.err }

// Main runs the exec mixin's command line (args exclude the program name)
// and returns the process exit code. The stackhub binary dispatches to it
// when invoked as "exec" or "exec-runtime".
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := New(stdin, stdout, stderr)
	if strings.EqualFold(os.Getenv("PORTER_VERBOSITY"), "debug") {
		m.Debug = true
	}
	root := NewCommand(m)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "Error: %s\n", err)
	var fe flagError
	if errors.As(err, &fe) {
		return exitUsage
	}
	return exitError
}

// NewCommand builds the mixin's cobra tree over m.
func NewCommand(m *Mixin) *cobra.Command {
	root := &cobra.Command{
		Use:           Name,
		Short:         "Run commands and scripts in a bundle",
		Long:          "The exec mixin runs a command per step of a Porter bundle and captures its outputs.",
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			m.In = cmd.InOrStdin()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })
	root.PersistentFlags().BoolVar(&m.Debug, "debug", m.Debug, "print the commands run and error handling decisions")

	root.AddCommand(
		newVersionCmd(m),
		newSchemaCmd(m),
		newBuildCmd(m),
		newLintCmd(m),
		newActionCmd(m, ActionInstall, "Run the install step"),
		newActionCmd(m, ActionUpgrade, "Run the upgrade step"),
		newActionCmd(m, ActionUninstall, "Run the uninstall step"),
		newInvokeCmd(m),
	)
	return root
}

func newVersionCmd(m *Mixin) *cobra.Command {
	var opts VersionOptions
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the mixin version",
		Example: "  exec version --output json",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return flagError{err}
			}
			return m.PrintVersion(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "output", "o", FormatPlaintext, "output format: json or plaintext")
	return cmd
}

func newSchemaCmd(m *Mixin) *cobra.Command {
	return &cobra.Command{
		Use:     "schema",
		Short:   "Print the JSON schema of exec steps",
		Example: "  exec schema",
		Args:    cobra.NoArgs,
		RunE:    func(_ *cobra.Command, _ []string) error { return m.PrintSchema() },
	}
}

func newBuildCmd(m *Mixin) *cobra.Command {
	return &cobra.Command{
		Use:     "build",
		Short:   "Print the Dockerfile lines the mixin needs",
		Example: "  exec build < build-input.yaml",
		Args:    cobra.NoArgs,
		RunE:    func(_ *cobra.Command, _ []string) error { return m.Build() },
	}
}

func newLintCmd(m *Mixin) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:     "lint",
		Short:   "Check exec steps for common mistakes",
		Example: "  exec lint < build-input.yaml",
		Args:    cobra.NoArgs,
		RunE:    func(_ *cobra.Command, _ []string) error { return m.PrintLintResults(file) },
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the build input from this file instead of stdin")
	return cmd
}

func newActionCmd(m *Mixin, action, short string) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:     action,
		Short:   short,
		Example: fmt.Sprintf("  exec %s < %s-input.yaml", action, action),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.Execute(cmd.Context(), ExecuteOptions{Action: action, File: file})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the step from this file instead of stdin")
	return cmd
}

func newInvokeCmd(m *Mixin) *cobra.Command {
	var file, action string
	cmd := &cobra.Command{
		Use:     "invoke",
		Short:   "Run the step of a custom action",
		Example: "  exec invoke --action status < status-input.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if action == "" {
				return flagError{errors.New("--action is required")}
			}
			return m.Invoke(cmd.Context(), action, file)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the step from this file instead of stdin")
	cmd.Flags().StringVar(&action, "action", "", "the custom action to run")
	return cmd
}
