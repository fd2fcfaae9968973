package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine/contract"
)

// flagError marks usage errors (exit code 2).
type flagError struct{ err error }

func (e flagError) Error() string { return e.err.Error() }
func (e flagError) Unwrap() error { return e.err }

// Main runs the runtime's command line (args exclude the program name) and
// returns the exit code. With no arguments it behaves as
// "run -f /cnab/app/porter.yaml", since the image's entrypoint
// /cnab/app/run is a link to the binary.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rt := New(stdout, stderr)
	if len(args) == 0 {
		args = []string{"run", "-f", rt.Paths.Manifest()}
	}
	root := NewCommand(rt)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "Error: %s\n", rt.maskError(err))
	var fe flagError
	if errors.As(err, &fe) {
		return 2
	}
	// A mixin's typed outcome becomes the bundle's (engine/contract).
	var xe *osexec.ExitError
	if errors.As(err, &xe) && contract.OutcomeOf(xe.ExitCode()) == contract.OutcomeUpgradeUndone {
		return contract.ExitUpgradeUndone
	}
	return 1
}

// NewCommand builds the runtime's cobra tree over rt.
func NewCommand(rt *Runtime) *cobra.Command {
	root := &cobra.Command{
		Use:           "stackhub-bundle-runtime",
		Short:         "Run a bundle action inside its invocation image",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })

	var opts RunOptions
	run := &cobra.Command{
		Use:   "run",
		Short: "Execute the steps of an action of porter.yaml",
		Example: "  stackhub-bundle-runtime run -f /cnab/app/porter.yaml --action install\n" +
			"  CNAB_ACTION=install /cnab/app/run",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rt.Run(cmd.Context(), opts)
		},
	}
	run.Flags().StringVarP(&opts.File, "file", "f", "", "the manifest (default /cnab/app/porter.yaml)")
	run.Flags().StringVar(&opts.Action, "action", "", "the action to run (default $CNAB_ACTION)")
	run.Flags().BoolVar(&opts.Debug, "debug", false, "print each step's template (also PORTER_DEBUG=true)")
	root.AddCommand(run)
	return root
}
