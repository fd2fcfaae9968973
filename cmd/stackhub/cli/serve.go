package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/bundles"
	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/cnab"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/host"
	"github.com/stackhub/stackhub/engine/registry"
	"github.com/stackhub/stackhub/engine/signing"
	"github.com/stackhub/stackhub/engine/sqlite"
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
		"allowed-registries", "import-dir", "upload-limit", "signature-keys")
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
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return &engine.UserError{Msg: fmt.Sprintf("create data folder %s: %v", cfg.DataDir, err), Hint: "pass a writable folder with --data", Err: err}
	}
	base, err := openCatalog(cfg.Catalog)
	if err != nil {
		return err
	}
	catalog, err := engine.NewSources(base, cfg.DataDir)
	if err != nil {
		return err
	}
	store, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "stackhub.db"), log)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	dk, err := docker.New()
	if err != nil {
		return err
	}
	defer dk.Close()
	if err := dk.Ping(ctx); err != nil {
		return err
	}
	probe := host.New(log, host.Options{DataDir: cfg.DataDir, ListenAddr: cfg.Addr, Containers: dk.ManagedContainers, DockerInfo: dk.Info})
	go probe.Start(ctx)

	keys, err := readSignatureKeys(cfg.SignatureKeys)
	if err != nil {
		return err
	}
	invoker := cnab.NewRuntime(dk.SocketPath())
	defer invoker.Close()
	eng, err := engine.New(engine.Config{
		Prefix: cfg.Prefix, PortMin: cfg.PortMin, PortMax: cfg.PortMax, RuntimeBinary: cfg.RuntimeBinary,
		JobConcurrency: cfg.Jobs, History: cfg.History, WaitTimeout: cfg.WaitTimeout, Version: Version, PublicHost: publicHost(cfg.PublicHost),
		RegistryMirror: cfg.RegistryMirror, RestrictRegistries: true, AllowedRegistries: cfg.AllowedRegistries,
		SignatureKeys: keys,
	}, engine.Deps{
		Store: store, Docker: dk, Runtime: invoker, Converter: cnab.Converter{},
		Host: probe, Catalog: catalog, Ports: engine.BindProber{}, Registry: registry.New(dk.API(), log), Signer: signing.Signer{}, Logger: log,
	})
	if err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer eng.Close()
	if !strings.HasPrefix(cfg.Addr, "127.") && !strings.HasPrefix(cfg.Addr, "localhost:") && !strings.HasPrefix(cfg.Addr, "[::1]") {
		log.Warn("StackHub listens on a non-loopback address without TLS; put it behind a TLS proxy", "addr", cfg.Addr)
	}
	return serveHTTP(ctx, f, cfg, eng, store, log)
}
