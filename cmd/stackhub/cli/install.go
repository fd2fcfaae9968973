package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/apitype"
	"github.com/stackhub/stackhub/service/client"
)

// InstallOptions are the inputs of `stackhub install` and `stackhub upgrade`.
type InstallOptions struct {
	App  string
	Name string
	// Reference, Insecure and Archive install a published bundle or a
	// bundle archive instead of a catalog app.
	Reference string
	Insecure  bool
	Archive   string
	// Import names an archive in the server's import folder; Allow lists
	// what the bundle may do beyond the ordinary (privileged).
	Import string
	Allow  []string
	// Target is compose or swarm (empty: the server's default).
	Target  string
	Params  []string
	NoWait  bool
	Verbose bool
	Output  string
	// DryRun prints the preflight report instead of installing;
	// SkipPreflight installs even when the host looks too small.
	DryRun        bool
	SkipPreflight bool
}

func newInstallCmd(f *Factory) *cobra.Command {
	opts := &InstallOptions{}
	cmd := &cobra.Command{
		Use:   "install [APP]",
		Short: "Install an app from the catalog, a registry or an archive",
		Long: "Install an app from the catalog, with a progress bar until it runs. Install one app several\n" +
			"times under different names with --name.\n\n" +
			"Admins may install from other sources: --reference installs a bundle published to an OCI registry\n" +
			"on the server's allow-list (--allowed-registries); --archive uploads a thick bundle archive\n" +
			"(stackhub bundle archive) from this machine and installs it; --import installs an archive from the\n" +
			"server's import folder (--import-dir) by its file name. For an archive on this machine with no\n" +
			"server, use stackhub bundle install --archive FILE. With any of them, --name defaults to the\n" +
			"bundle's name.\n\n" +
			"A bundle that asks for privileged containers, host networking, devices or the Docker socket for its\n" +
			"apps (see stackhub app show APP) installs only when an admin passes --allow privileged.\n\n" +
			"Before anything is pulled, the install checks the host against the app: its CPU, memory and disk\n" +
			"needs, the architectures of its images, the name and free ports. It refuses with every reason at\n" +
			"once. --dry-run prints that report and installs nothing (exit 1 if an install would be refused);\n" +
			"--skip-preflight installs on a host that looks too small all the same.",
		Example: "  stackhub install wordpress\n  stackhub install wordpress --name blog2 --param title=Blog\n  stackhub install hello --no-wait -o json\n" +
			"  stackhub install --reference localhost:5000/hello:v0.1.0 --insecure-registry\n  stackhub install --archive ./hello.tgz --name hello2\n" +
			"  stackhub install --import hello.tgz\n  stackhub install portainer --allow privileged\n" +
			"  stackhub install gitlab --dry-run",
		Args: maxArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			c, err := f.Client(cmd)
			if err != nil || len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			apps, err := c.Apps(cmd.Context())
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			var names []string
			for _, a := range apps {
				names = append(names, a.Name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.App = args[0]
			}
			if err := checkInstallSource(opts); err != nil {
				return err
			}
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			params, err := parseParams(opts.Params)
			if err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			if opts.DryRun {
				return runPreflight(cmd, f, c, opts, params)
			}
			req := client.InstallRequest{App: opts.App, Name: opts.Name, Parameters: params, Reference: opts.Reference,
				InsecureRegistry: opts.Insecure, Archive: opts.Import, SkipPreflight: opts.SkipPreflight, Allow: opts.Allow}
			if opts.Archive != "" {
				up, err := uploadArchive(cmd, f, c, opts.Archive)
				if err != nil {
					return err
				}
				req.Upload = up.ID
			}
			inst, err := c.InstallFrom(cmd.Context(), req)
			if err != nil {
				return err
			}
			return finishInstall(cmd, f, c, inst, opts, "install "+inst.Name)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "installation name (default: the app's or bundle's name)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "check the host against the app (preflight) and print the report; install nothing")
	cmd.Flags().BoolVar(&opts.SkipPreflight, "skip-preflight", false, "install even when the host looks too small for the app")
	cmd.Flags().StringVar(&opts.Import, "import", "", "install the archive of this file name in the server's import folder (admins)")
	cmd.Flags().StringSliceVar(&opts.Allow, "allow", nil, "allow the bundle's privileged requests: privileged (admins; recorded in the audit log)")
	addSourceFlags(cmd, opts)
	addInstallFlags(cmd, opts)
	return cmd
}

// runPreflight prints what installing the catalog app would run into.
func runPreflight(cmd *cobra.Command, f *Factory, c *client.Client, opts *InstallOptions, params map[string]string) error {
	if opts.App == "" {
		return &FlagError{Err: errors.New("--dry-run checks catalog apps: pass an APP")}
	}
	if opts.SkipPreflight {
		return &FlagError{Err: errors.New("--dry-run and --skip-preflight are mutually exclusive")}
	}
	r, err := c.Preflight(cmd.Context(), opts.App, opts.Name, params)
	if err != nil {
		return err
	}
	if opts.Output == "json" {
		if err := printJSON(f.IO.Out, r); err != nil {
			return err
		}
	} else {
		tw := newTable(f.IO.Out)
		fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
		for _, ch := range r.Checks {
			detail := ch.Message
			if ch.Hint != "" {
				detail += " (" + ch.Hint + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", ch.Check, ch.Status, detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if r.OK {
			fmt.Fprintf(f.IO.Out, "%s can be installed as %s.\n", r.App, r.Name)
		} else {
			fmt.Fprintf(f.IO.Out, "Installing %s as %s would be refused.\n", r.App, r.Name)
		}
	}
	if !r.OK {
		return SilentError
	}
	return nil
}

// addSourceFlags adds --reference, --insecure-registry and --archive.
func addSourceFlags(cmd *cobra.Command, opts *InstallOptions) {
	cmd.Flags().StringVar(&opts.Reference, "reference", "", "install the bundle published at this OCI reference (REGISTRY/REPOSITORY:TAG)")
	cmd.Flags().BoolVar(&opts.Insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS for --reference")
	cmd.Flags().StringVar(&opts.Archive, "archive", "", "install from a thick bundle archive file")
}

// uploadArchive sends the archive file on this machine to the server.
func uploadArchive(cmd *cobra.Command, f *Factory, c *client.Client, file string) (*client.Upload, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, &engine.UserError{Msg: fmt.Sprintf("archive %s cannot be read: %v", file, err), Kind: engine.ErrInvalid,
			Hint: "pass the path of a file made by stackhub bundle archive"}
	}
	defer fh.Close()
	fmt.Fprintf(f.IO.ErrOut, "Uploading %s\n", file)
	return c.UploadArchive(cmd.Context(), filepath.Base(file), fh)
}

// checkInstallSource checks that exactly one of APP, --reference and
// --archive is given.
func checkInstallSource(opts *InstallOptions) error {
	n := 0
	for _, v := range []string{opts.App, opts.Reference, opts.Archive, opts.Import} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return &FlagError{Err: errors.New("pass an APP, --reference REF, --archive FILE or --import NAME")}
	case n > 1:
		return &FlagError{Err: errors.New("APP, --reference, --archive and --import are mutually exclusive")}
	case opts.Insecure && opts.Reference == "":
		return &FlagError{Err: errors.New("--insecure-registry needs --reference")}
	}
	return nil
}

func addInstallFlags(cmd *cobra.Command, opts *InstallOptions) {
	cmd.Flags().StringArrayVarP(&opts.Params, "param", "p", nil, "bundle parameter NAME=VALUE (repeatable)")
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "return once the job is queued")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "show the job's log lines")
	addClientFlags(cmd, &opts.Output)
}

// finishInstall follows the job (unless --no-wait) and prints the
// installation.
func finishInstall(cmd *cobra.Command, f *Factory, c *client.Client, inst *client.Installation, opts *InstallOptions, what string) error {
	ctx := cmd.Context()
	if !opts.NoWait && inst.JobID != "" {
		if err := waitJob(ctx, f, c, inst.JobID, what, opts.Verbose); err != nil {
			return err
		}
		got, err := c.Get(ctx, inst.Name)
		if err != nil {
			return err
		}
		inst = got
	}
	if opts.Output == "json" {
		return printJSON(f.IO.Out, inst)
	}
	printInstallation(f, inst)
	return nil
}

func printInstallation(f *Factory, inst *client.Installation) {
	tw := newTable(f.IO.Out)
	fmt.Fprintf(tw, "Name:\t%s\n", inst.Name)
	fmt.Fprintf(tw, "App:\t%s %s\n", inst.App, inst.Version)
	fmt.Fprintf(tw, "Status:\t%s\n", inst.Status)
	if inst.Reason != "" {
		fmt.Fprintf(tw, "Reason:\t%s\n", inst.Reason)
	}
	fmt.Fprintf(tw, "Container:\t%s\n", inst.ContainerName)
	fmt.Fprintf(tw, "Ports:\t%s\n", formatPorts(inst.Ports))
	if inst.Target != "" {
		fmt.Fprintf(tw, "Target:\t%s\n", inst.Target)
	}
	for _, sv := range inst.Swarm {
		nodes := strings.Join(sv.Nodes, ", ")
		if nodes == "" {
			nodes = "-"
		}
		fmt.Fprintf(tw, "Service %s:\t%d/%d running on %s\n", sv.Service, sv.Running, sv.Replicas, nodes)
	}
	if inst.JobID != "" {
		fmt.Fprintf(tw, "Job:\t%s\n", inst.JobID)
	}
	_ = tw.Flush()
}

func formatPorts(ports map[string]int) string {
	if len(ports) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, ports[k]))
	}
	return strings.Join(parts, ",")
}

func newUpgradeCmd(f *Factory) *cobra.Command {
	opts := &InstallOptions{}
	var restoreOnFailure, noBackup bool
	cmd := &cobra.Command{
		Use:   "upgrade NAME",
		Short: "Upgrade an installation to the catalog's version of its app",
		Long: "Upgrade an installation; its ports, data and generated secrets are kept. When the catalog's\n" +
			"version asks for privileged access to the host, an admin must pass --allow privileged.\n" +
			"With --restore-on-failure the app is backed up first (stackhub backup); if the upgrade fails\n" +
			"and its containers were rolled back to the previous version, that backup's data is put back\n" +
			"and the app started again. If the backup fails, the upgrade does not start.\n" +
			"The server also backs an app that keeps data up before each upgrade (its --backup-before-upgrade,\n" +
			"on by default); --no-backup skips that backup for this upgrade.",
		Example:           "  stackhub upgrade blog2\n  stackhub upgrade blog2 --param title=News\n  stackhub upgrade blog2 --restore-on-failure\n  stackhub upgrade blog2 --no-backup",
		Args:              exactArgs(1),
		ValidArgsFunction: completeInstallations(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			params, err := parseParams(opts.Params)
			if err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			inst, err := c.UpgradeWith(cmd.Context(), args[0], apitype.UpgradeRequest{Parameters: params, Allow: opts.Allow, RestoreOnFailure: restoreOnFailure, NoBackup: noBackup})
			if err != nil {
				return err
			}
			return finishInstall(cmd, f, c, inst, opts, "upgrade "+args[0])
		},
	}
	cmd.Flags().StringSliceVar(&opts.Allow, "allow", nil, "allow the new version's privileged requests: privileged (admins; recorded in the audit log)")
	cmd.Flags().BoolVar(&restoreOnFailure, "restore-on-failure", false, "back the app up first and put its data back if the upgrade fails and is rolled back")
	cmd.Flags().BoolVar(&noBackup, "no-backup", false, "do not back the app up before this upgrade (the server does by default)")
	cmd.MarkFlagsMutuallyExclusive("restore-on-failure", "no-backup")
	addInstallFlags(cmd, opts)
	return cmd
}
