package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// LoginOptions are the inputs of `stackhub login`.
type LoginOptions struct {
	Username      string
	PasswordStdin bool
}

func newLoginCmd(f *Factory) *cobra.Command {
	opts := &LoginOptions{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a StackHub service and keep an API token for the other commands",
		Long: "Log in with a username and password; StackHub makes an API token for this command line and\n" +
			"keeps it, with the server's URL, in $XDG_CONFIG_HOME/stackhub/credentials.json (mode 0600).",
		Example: "  stackhub login --username admin\n  echo \"$PW\" | stackhub login --username admin --password-stdin --server http://10.0.0.5:9000",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			password := f.Getenv("STACKHUB_PASSWORD")
			if opts.PasswordStdin || password == "" {
				if !opts.PasswordStdin {
					if in, ok := f.IO.In.(*os.File); !ok || !isTTY(in) {
						return &FlagError{Err: errors.New("no terminal to ask the password on: pass --password-stdin or set STACKHUB_PASSWORD")}
					}
					fmt.Fprint(f.IO.ErrOut, "Password: ")
				}
				line, err := bufio.NewReader(f.IO.In).ReadString('\n')
				if err != nil && line == "" {
					return &FlagError{Err: errors.New("no password given on standard input")}
				}
				password = strings.TrimRight(line, "\r\n")
			}
			ctx := cmd.Context()
			l, err := c.Login(ctx, opts.Username, password)
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			tok, err := c.CreateToken(ctx, l, "cli-"+sanitize(host))
			if err != nil {
				return err
			}
			if err := saveCredentials(f.Getenv, &savedLogin{Server: c.BaseURL, User: l.Username, Token: tok.Token}); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Logged in to %s as %s\n", c.BaseURL, l.Username)
			return nil
		},
	}
	cmd.Flags().StringVarP(&opts.Username, "username", "u", "admin", "user to log in as")
	cmd.Flags().BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password from standard input")
	addClientFlags(cmd, nil)
	return cmd
}

func newLogoutCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "logout",
		Short:   "Forget the API token kept by `stackhub login`",
		Example: "  stackhub logout",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := os.Remove(credentialsPath(f.Getenv))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("log out: %w", err)
			}
			fmt.Fprintln(f.IO.Out, "Logged out")
			return nil
		},
	}
}

// sanitize keeps what a token name may hold.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "host"
	}
	return b.String()
}
