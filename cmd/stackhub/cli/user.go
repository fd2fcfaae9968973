package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newUserCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "user",
		Short:   "Manage StackHub's users (admin)",
		Example: "  stackhub user list\n  echo \"$PW\" | stackhub user create alice --role operator --password-stdin\n  stackhub user delete alice --yes",
		Args:    cobra.NoArgs,
	}
	var output string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List users and their roles",
		Example: "  stackhub user list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			users, err := c.Users(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, users)
			}
			tw := newTable(f.IO.Out)
			fmt.Fprintln(tw, "USER\tROLE")
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\n", u.Username, u.Role)
			}
			return tw.Flush()
		},
	}
	addClientFlags(list, &output)

	var role string
	var pwStdin bool
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a user; the password is read from standard input",
		Example: "  echo \"$PW\" | stackhub user create alice --role operator --password-stdin",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !pwStdin {
				return &FlagError{Err: errors.New("pass --password-stdin and the password on standard input")}
			}
			line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
			password := strings.TrimRight(line, "\r\n")
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			u, err := c.CreateUser(cmd.Context(), args[0], password, role)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Created user %s (%s)\n", u.Username, u.Role)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "viewer", "admin, operator or viewer")
	create.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	addClientFlags(create, nil)

	var newRole string
	setRole := &cobra.Command{
		Use:     "set-role NAME",
		Short:   "Change a user's role",
		Example: "  stackhub user set-role alice --role admin",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if newRole == "" {
				return &FlagError{Err: errors.New("pass --role admin|operator|viewer")}
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			if err := c.SetRole(cmd.Context(), args[0], newRole); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "%s is now %s\n", args[0], newRole)
			return nil
		},
	}
	setRole.Flags().StringVar(&newRole, "role", "", "admin, operator or viewer")
	addClientFlags(setRole, nil)

	var yes bool
	del := &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a user with their sessions and tokens",
		Example: "  stackhub user delete alice --yes",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := confirm(f, yes, "Delete user "+args[0]+"?"); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Deleted user %s\n", args[0])
			return nil
		},
	}
	del.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	addClientFlags(del, nil)

	cmd.AddCommand(list, create, setRole, del)
	return cmd
}
