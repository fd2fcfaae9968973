package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service"
	"github.com/stackhub/stackhub/service/client"
)

// What the client commands share: the service's URL and token, output
// formats and the progress display.

// savedLogin is what `stackhub login` keeps in the config folder.
type savedLogin struct {
	Server string `json:"server"`
	User   string `json:"user"`
	Token  string `json:"token"`
}

func credentialsPath(getenv func(string) string) string {
	return filepath.Join(configDir(getenv), "credentials.json")
}

func loadCredentials(getenv func(string) string) (*savedLogin, error) {
	data, err := os.ReadFile(credentialsPath(getenv))
	if errors.Is(err, fs.ErrNotExist) {
		return &savedLogin{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	var c savedLogin
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, &engine.UserError{Msg: fmt.Sprintf("credentials file %s is broken: %v", credentialsPath(getenv), err),
			Hint: "log in again with `stackhub login`", Kind: engine.ErrInvalid}
	}
	return &c, nil
}

func saveCredentials(getenv func(string) string, c *savedLogin) error {
	p := credentialsPath(getenv)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	data, _ := json.MarshalIndent(c, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

// Client returns a client of the configured service: --server or
// STACKHUB_SERVER (else the server saved at login, else the default), with
// STACKHUB_TOKEN (or its older name STACKHUB_API_TOKEN) or the token saved
// at login.
func (f *Factory) Client(cmd *cobra.Command) (*client.Client, error) {
	cfg, err := f.Config(cmd)
	if err != nil {
		return nil, err
	}
	creds, err := loadCredentials(f.Getenv)
	if err != nil {
		return nil, err
	}
	server := cfg.Server
	explicit := cmd.Flags().Changed("server") || f.Getenv("STACKHUB_SERVER") != ""
	if !explicit && creds.Server != "" {
		server = creds.Server
	}
	token := service.TokenFrom(f.Getenv)
	if token == "" && strings.TrimRight(creds.Server, "/") == strings.TrimRight(server, "/") {
		token = creds.Token
	}
	c := client.New(server, token)
	if lang := f.Getenv("STACKHUB_LANG"); lang != "" {
		c.Lang = lang
	}
	return c, nil
}

// addClientFlags declares --server and, when output is not nil, -o.
func addClientFlags(cmd *cobra.Command, output *string) {
	addConfigFlags(cmd.Flags(), "server")
	if output != nil {
		cmd.Flags().StringVarP(output, "output", "o", "table", "output format: table or json")
		_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp
		})
	}
}

func checkOutput(o string) error {
	if o != "table" && o != "json" {
		return &FlagError{Err: fmt.Errorf("output %q: use table or json", o)}
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// parseParams turns KEY=VALUE flags into a map.
func parseParams(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, &FlagError{Err: fmt.Errorf("--param %q: use NAME=VALUE", kv)}
		}
		out[k] = v
	}
	return out, nil
}

// completeInstallations completes installation names from the service.
func completeInstallations(f *Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.Client(cmd)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		list, err := c.List(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		names := make([]string, 0, len(list))
		for _, i := range list {
			names = append(names, i.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// confirm asks before destructive work: --yes skips it; without a
// terminal it is required.
func confirm(f *Factory, yes bool, question string) error {
	if yes {
		return nil
	}
	in, ok := f.IO.In.(*os.File)
	if !ok || !isTTY(in) {
		return &FlagError{Err: errors.New("refusing to do this without confirmation: pass --yes")}
	}
	fmt.Fprintf(f.IO.ErrOut, "%s [y/N] ", question)
	var answer string
	_, _ = fmt.Fscanln(f.IO.In, &answer)
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return &engine.UserError{Msg: "cancelled", Kind: engine.ErrInvalid}
	}
	return nil
}
