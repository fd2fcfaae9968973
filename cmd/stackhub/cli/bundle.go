package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/build"
	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/porter/sets"
)

func newBundleCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Author and run Porter bundles locally (create, lint, build, explain, install, ...)",
		Long: "Work on a Porter bundle (porter.yaml) the way the porter CLI does: scaffold, lint, build and explain it,\n" +
			"and install, upgrade, invoke and uninstall it on the local Docker Engine. State is kept in the data folder.",
	}
	addConfigFlags(cmd.PersistentFlags(), "experimental")
	cmd.AddCommand(newBundleCreateCmd(f), newBundleLintCmd(f), newBundleBuildCmd(f), newBundleExplainCmd(f), newBundleSchemaCmd(f))
	for _, a := range []string{manifest.ActionInstall, manifest.ActionUpgrade, "invoke", manifest.ActionUninstall} {
		cmd.AddCommand(newBundleActionCmd(f, a))
	}
	cmd.AddCommand(newBundleShowCmd(f), newBundleListCmd(f), newBundleOutputsCmd(f), newBundleLogsCmd(f), newBundleInstallationCmd(f))
	cmd.AddCommand(newBundleKeygenCmd(f), newBundleSignCmd(f), newBundleVerifyCmd(f))
	cmd.AddCommand(newBundlePublishCmd(f, nil), newBundleArchiveCmd(f, nil), newBundleCopyCmd(f),
		newBundleSetsCmd(f, sets.TypeCredentialSet), newBundleSetsCmd(f, sets.TypeParameterSet))
	return cmd
}

// localFlags are the settings of commands that run the local engine.
func addLocalFlags(cmd *cobra.Command) {
	addConfigFlags(cmd.Flags(), "data", "runtime-binary", "log-level", "registry-mirror")
	cmd.Flags().String("debian-base", "", "Debian image that exec and dockerfile-template bundles are built on (env STACKHUB_DEBIAN_BASE; default "+build.DefaultDebianBase+")")
	cmd.Flags().String("builder", "", "builder of dockerfile-template bundles: auto (the Engine's BuildKit where it offers it) or classic (env STACKHUB_BUILDER; default auto)")
}

// localEngine opens the local engine: SQLite in the data folder and the
// local Docker Engine, as porter does on the author's machine.
func localEngine(ctx context.Context, f *Factory, cmd *cobra.Command) (*engine.Engine, func(), error) {
	w, err := localWiring(ctx, f, cmd)
	if err != nil {
		return nil, nil, err
	}
	return w.Engine, w.Close, nil
}

// localWiring opens the local engine with its adapters and its Porter
// authoring surface (installation apply, copy).
func localWiring(ctx context.Context, f *Factory, cmd *cobra.Command) (*wiring, error) {
	cfg, log, err := localConfig(f, cmd)
	if err != nil {
		return nil, err
	}
	debian, _ := cmd.Flags().GetString("debian-base")
	if debian == "" {
		debian = f.Getenv("STACKHUB_DEBIAN_BASE")
	}
	builder, _ := cmd.Flags().GetString("builder")
	if builder == "" {
		builder = f.Getenv("STACKHUB_BUILDER")
	}
	switch builder {
	case "", "auto", "classic":
	default:
		return nil, &FlagError{Err: fmt.Errorf("invalid --builder %q: use auto or classic", builder)}
	}
	return wireEngine(ctx, cfg, log, wireOptions{DebianBase: debian, ClassicBuilder: builder == "classic"})
}

// localConfig is the configuration and logger of the local commands:
// quiet (warn) unless a log level is asked for.
func localConfig(f *Factory, cmd *cobra.Command) (*Config, *slog.Logger, error) {
	cfg, err := f.Config(cmd)
	if err != nil {
		return nil, nil, err
	}
	level := cfg.LogLevel
	if !cmd.Flags().Changed("log-level") && f.Getenv("STACKHUB_LOG_LEVEL") == "" {
		level = "warn"
	}
	log, err := newLogger(f, level)
	if err != nil {
		return nil, nil, err
	}
	return cfg, log, nil
}

// openLocalStore opens the SQLite store in the data folder, for commands
// that need no Docker (stored sets), and the logger local commands use.
func openLocalStore(ctx context.Context, f *Factory, cmd *cobra.Command) (*Config, *slog.Logger, *sqlite.Store, error) {
	cfg, log, err := localConfig(f, cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, nil, &engine.UserError{Msg: fmt.Sprintf("create data folder %s: %v", cfg.DataDir, err), Hint: "pass a writable folder with --data", Err: err}
	}
	store, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "stackhub.db"), log)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open store: %w", err)
	}
	return cfg, log, store, nil
}

// bundleSource is a bundle folder and its parsed manifest.
type bundleSource struct {
	Dir      string
	File     string
	Manifest *manifest.Manifest
}

// manifestOverrides are porter build's --name, --version and --custom.
type manifestOverrides struct {
	Name    string
	Version string
	Custom  []string
}

// loadBundle reads -f (default ./porter.yaml), applies the overrides and
// returns the canonical manifest.
func loadBundle(file string, o manifestOverrides) (*bundleSource, error) {
	if file == "" {
		file = "porter.yaml"
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &engine.UserError{Msg: fmt.Sprintf("read manifest %s: %v", file, err), Hint: "run this in a bundle folder, pass -f path/to/porter.yaml, or create one with stackhub bundle create NAME", Kind: engine.ErrInvalid, Err: err}
	}
	if o.Name != "" || o.Version != "" || len(o.Custom) > 0 {
		if data, err = applyOverrides(data, o); err != nil {
			return nil, err
		}
	}
	m, err := manifest.Parse(data, file)
	if err != nil {
		return nil, &engine.UserError{Msg: err.Error(), Kind: engine.ErrInvalid, Err: err}
	}
	abs, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return nil, fmt.Errorf("resolve bundle folder: %w", err)
	}
	return &bundleSource{Dir: abs, File: file, Manifest: m}, nil
}

// validateBundle checks a manifest as lint, build and the lifecycle
// commands all do: schema versions 1.1.0 to 1.3.0 only with their
// experimental feature enabled (--experimental, PORTER_EXPERIMENTAL or the
// config file's experimental list).
func validateBundle(f *Factory, cmd *cobra.Command, m *manifest.Manifest) error {
	cfg, err := f.Config(cmd)
	if err != nil {
		return err
	}
	if err := m.Validate(manifest.ValidateOptions{Experimental: cfg.Experimental}); err != nil {
		return &engine.UserError{Msg: err.Error(), Kind: engine.ErrInvalid, Err: err}
	}
	return nil
}

// addFileDownloadsFlag declares --allow-file-downloads.
func addFileDownloadsFlag(cmd *cobra.Command) {
	cmd.Flags().Bool("allow-file-downloads", false,
		"download the manifest's files: section at build time (schema 1.3.0, experimental file-sources; env PORTER_ALLOW_FILE_DOWNLOADS=true)")
}

// bundleFiles is the folder a bundle is built from: its own, or, when the
// manifest has a files: section (schema 1.3.0), a temporary copy with
// those files downloaded into it, which needs --allow-file-downloads (or
// PORTER_ALLOW_FILE_DOWNLOADS=true). cleanup removes the copy.
func bundleFiles(ctx context.Context, f *Factory, cmd *cobra.Command, src *bundleSource) (dir string, cleanup func(), err error) {
	m := src.Manifest
	if len(m.Files) == 0 {
		return src.Dir, func() {}, nil
	}
	allow, _ := cmd.Flags().GetBool("allow-file-downloads")
	for _, env := range []string{"STACKHUB_ALLOW_FILE_DOWNLOADS", "PORTER_ALLOW_FILE_DOWNLOADS"} {
		if v, err := strconv.ParseBool(f.Getenv(env)); err == nil && v {
			allow = true
		}
	}
	if !allow {
		return "", nil, &engine.UserError{Kind: engine.ErrInvalid,
			Msg:  fmt.Sprintf("bundle %s downloads %d file(s) at build time (files:) and file downloads are not allowed", m.Name, len(m.Files)),
			Hint: "pass --allow-file-downloads, or set PORTER_ALLOW_FILE_DOWNLOADS=true, if you trust those URLs"}
	}
	downloads := make([]build.Download, 0, len(m.Files))
	for _, d := range m.Files {
		downloads = append(downloads, build.Download{URL: d.URL, Destination: d.Destination})
		fmt.Fprintf(f.IO.ErrOut, "downloading %s to %s\n", d.URL, d.Destination)
	}
	staged, cleanup, err := build.StageDownloads(ctx, nil, src.Dir, downloads)
	if err != nil {
		return "", nil, &engine.UserError{Msg: err.Error(), Kind: engine.ErrInvalid, Err: err}
	}
	return staged, cleanup, nil
}

// applyOverrides sets name, version and custom.<path> in the manifest text.
func applyOverrides(data []byte, o manifestOverrides) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("parse manifest for overrides: %w", err)
	}
	root := doc.Content[0]
	set := func(parent *yaml.Node, key string, val *yaml.Node) {
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == key {
				parent.Content[i+1] = val
				return
			}
		}
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, val)
	}
	child := func(parent *yaml.Node, key string) *yaml.Node {
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == key && parent.Content[i+1].Kind == yaml.MappingNode {
				return parent.Content[i+1]
			}
		}
		n := &yaml.Node{Kind: yaml.MappingNode}
		set(parent, key, n)
		return n
	}
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	if o.Name != "" {
		set(root, "name", str(o.Name))
	}
	if o.Version != "" {
		set(root, "version", str(o.Version))
	}
	for _, kv := range o.Custom {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, &FlagError{Err: fmt.Errorf("invalid --custom %q: use KEY=VALUE (KEY may be a.b.c)", kv)}
		}
		parts := strings.Split(k, ".")
		n := child(root, "custom")
		for _, p := range parts[:len(parts)-1] {
			n = child(n, p)
		}
		set(n, parts[len(parts)-1], str(v))
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	return out, nil
}

// printJSONOrYAML writes v in the chosen format.
func writeStructured(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		return writeJSON(w, v)
	case "yaml":
		b, err := yaml.Marshal(jsonRoundTrip(v))
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return &FlagError{Err: fmt.Errorf("unsupported output format %q", format)}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// jsonRoundTrip turns v into plain maps and slices, so YAML output uses
// the JSON field names.
func jsonRoundTrip(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

// discardLogger is a logger that drops everything (used by bundle
// subcommands that keep stderr for their own output).
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
