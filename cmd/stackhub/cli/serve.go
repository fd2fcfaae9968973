package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/bundles"
	"github.com/stackhub/stackhub/engine"
)

// ServeOptions are the inputs of `stackhub serve`.
type ServeOptions struct {
	Config *Config
}

func newServeCmd(f *Factory, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the StackHub service (HTTP API and jobs)",
		Long: "Start the StackHub service. It keeps its state in an embedded SQLite file in the data folder,\n" +
			"talks to the local Docker Engine, and serves the HTTP API on --addr.",
		Example: "  stackhub serve\n  stackhub serve --addr 127.0.0.1:9000 --data /var/lib/stackhub --catalog ./bundles",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config(cmd)
			if err != nil {
				return err
			}
			opts := &ServeOptions{Config: cfg}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runServe(cmd.Context(), f, opts)
		},
	}
	addConfigFlags(cmd.Flags(), "addr", "data", "catalog", "prefix", "port-min", "port-max", "jobs", "history", "wait-timeout", "lang", "log-level", "runtime-binary", "public-host", "registry-mirror",
		"allowed-registries", "import-dir", "upload-limit", "signature-keys", "backup-target", "backup-options", "backup-before-upgrade", "backup-schedule", "backup-keep")
	return cmd
}

func newLogger(f *Factory, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, &FlagError{Err: fmt.Errorf("log level %q: use debug, info, warn or error", level)}
	}
	return slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: l})), nil
}

// openCatalog opens the base catalog: the built-in apps, or the folder
// given with --catalog (source "local").
func openCatalog(dir string) (*engine.DirCatalog, error) {
	if dir == "" {
		return engine.NewDirCatalog(bundles.FS), nil
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, &engine.UserError{Msg: fmt.Sprintf("catalog folder %s is not readable", dir), Hint: "pass a folder of bundle folders with --catalog", Kind: engine.ErrInvalid}
	}
	return engine.NewDirCatalog(os.DirFS(dir)).WithSource("local"), nil
}

// publicHost is the address put into the apps' url outputs: the setting,
// else the address this host reaches other networks from (a UDP "connect"
// sends nothing), else localhost.
func publicHost(setting string) string {
	if setting != "" {
		return setting
	}
	conn, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		return "localhost"
	}
	defer conn.Close()
	addr, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok || addr.IP.IsLoopback() || addr.IP.IsUnspecified() {
		return "localhost"
	}
	return addr.IP.String()
}

func runServe(ctx context.Context, f *Factory, opts *ServeOptions) error {
	cfg := opts.Config
	log, err := newLogger(f, cfg.LogLevel)
	if err != nil {
		return err
	}
	keys, err := readSignatureKeys(cfg.SignatureKeys)
	if err != nil {
		return err
	}
	w, err := wireEngine(ctx, cfg, log, wireOptions{Serve: true, SignatureKeys: keys})
	if err != nil {
		return err
	}
	defer w.Close()
	go w.Host.Start(ctx)
	eng, store := w.Engine, w.Store
	if err := eng.Start(ctx); err != nil {
		return err
	}
	if !strings.HasPrefix(cfg.Addr, "127.") && !strings.HasPrefix(cfg.Addr, "localhost:") && !strings.HasPrefix(cfg.Addr, "[::1]") {
		log.Warn("StackHub listens on a non-loopback address without TLS; put it behind a TLS proxy", "addr", cfg.Addr)
	}
	return serveHTTP(ctx, f, cfg, eng, store, log)
}
