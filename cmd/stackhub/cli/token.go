package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newTokenCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "token",
		Short:   "Manage API tokens for scripts",
		Example: "  stackhub token create --name ci",
		Args:    cobra.NoArgs,
	}
	var name, output string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API token; it is printed once, use it as Authorization: Bearer",
		Example: "  stackhub token create --name ci\n" +
			"  curl -H \"Authorization: Bearer $(stackhub token create --name ci)\" http://127.0.0.1:9000/getAllAppInfo",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			tok, err := c.CreateToken(cmd.Context(), nil, name)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, tok)
			}
			fmt.Fprintln(f.IO.Out, tok.Token)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "a name to recognise the token by")
	addClientFlags(create, &output)
	cmd.AddCommand(create)
	return cmd
}
