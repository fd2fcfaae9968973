package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/cnab"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/host"
	"github.com/stackhub/stackhub/engine/registry"
	"github.com/stackhub/stackhub/engine/restic"
	"github.com/stackhub/stackhub/engine/signing"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/engine/swarm"
	"github.com/stackhub/stackhub/porter"
)

// This file is the one place that builds an engine from its adapters:
// `stackhub serve` and the local `stackhub bundle` commands both come
// here, so they open the same store the same way (two processes on one
// data folder share it safely: SQLite's locks span processes, and port
// leases are unique in the store).

// wireOptions says what kind of engine a command needs.
type wireOptions struct {
	// Serve builds the service's engine: the configured catalog sources,
	// the host probe, the job settings. Otherwise it is the authoring
	// engine of the bundle commands, which install from bundle folders.
	Serve bool
	// DebianBase is the base image of exec and dockerfile bundles.
	DebianBase string
	// ClassicBuilder builds dockerfile templates with the Engine's classic
	// builder even where it offers BuildKit.
	ClassicBuilder bool
	// SignatureKeys are the public keys (PEM) whose signatures the
	// registries named require (serve only).
	SignatureKeys map[string][]byte
}

// wiring is an engine and the adapters it was built from.
type wiring struct {
	Engine *engine.Engine
	// Authoring is Porter's authoring surface over Engine (bundle
	// commands only).
	Authoring *porter.Authoring
	Store     *sqlite.Store
	Docker    *docker.Client
	Host      *host.Probe
	closers   []func()
}

// Close closes the engine, then its adapters.
func (w *wiring) Close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

// wireEngine opens the store in the data folder and the local Docker
// Engine and builds an engine over them.
func wireEngine(ctx context.Context, cfg *Config, log *slog.Logger, o wireOptions) (*wiring, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, &engine.UserError{Msg: fmt.Sprintf("create data folder %s: %v", cfg.DataDir, err), Hint: "pass a writable folder with --data", Err: err}
	}
	var catalog engine.Catalog = engine.NewDirCatalog(os.DirFS(os.TempDir()))
	var sources *engine.Sources
	if o.Serve {
		base, err := openCatalog(cfg.Catalog)
		if err != nil {
			return nil, err
		}
		if sources, err = engine.NewSources(base, cfg.DataDir); err != nil {
			return nil, err
		}
		catalog = sources
	}
	w := &wiring{}
	store, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "stackhub.db"), log)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	w.Store = store
	w.closers = append(w.closers, func() { _ = store.Close() })
	dk, err := docker.New()
	if err != nil {
		w.Close()
		return nil, err
	}
	w.Docker = dk
	w.closers = append(w.closers, func() { _ = dk.Close() })
	if o.ClassicBuilder {
		dk.DisableBuildKit("asked for with --builder classic")
	}
	if err := dk.Ping(ctx); err != nil {
		w.Close()
		return nil, err
	}
	invoker := cnab.NewRuntime(dk.SocketPath())
	w.closers = append(w.closers, func() { _ = invoker.Close() })

	ecfg := engine.Config{
		Prefix: cfg.Prefix, PortMin: cfg.PortMin, PortMax: cfg.PortMax, RuntimeBinary: cfg.RuntimeBinary,
		Version: Version, RegistryMirror: cfg.RegistryMirror, DebianBase: o.DebianBase, DefaultTarget: cfg.DefaultTarget,
		SwarmPublishMode: cfg.SwarmPublishMode,
	}
	if !o.Serve {
		// The bundle commands' --experimental (the service enables none).
		ecfg.Experimental = cfg.Experimental
	}
	deps := engine.Deps{
		Store: store, Docker: dk, Runtime: invoker, Converter: cnab.Converter{}, Catalog: catalog,
		Ports: engine.BindProber{}, Registry: registry.New(dk.API(), log), Signer: signing.Signer{}, Logger: log,
		Swarm: swarm.New(dk.API()),
	}
	if o.Serve {
		ecfg.JobConcurrency, ecfg.History, ecfg.WaitTimeout = cfg.Jobs, cfg.History, cfg.WaitTimeout
		ecfg.PublicHost = publicHost(cfg.PublicHost)
		if cfg.ProxyHTTP != "off" && cfg.ProxyHTTPS != "off" {
			ecfg.DNSProvider = cfg.DNSProvider
			ecfg.LoginGate = cfg.ConsoleDomain != "" || cfg.ConsoleURL != ""
		}
		// The service reaches only the registries an admin allowed; the
		// bundle commands are the host owner's own and are not limited.
		ecfg.RestrictRegistries, ecfg.AllowedRegistries, ecfg.SignatureKeys = true, cfg.AllowedRegistries, o.SignatureKeys
		backups, err := restic.New(restic.Options{Dir: filepath.Join(cfg.DataDir, "backups"), Repository: cfg.BackupTarget, Extended: cfg.BackupOptions}, log)
		if err != nil {
			w.Close()
			return nil, err
		}
		deps.Backups = backups
		ecfg.BackupBeforeUpgrade = cfg.BackupBeforeUpgrade
		ecfg.BackupSchedule, ecfg.BackupKeep = cfg.BackupSchedule, cfg.BackupKeep
		w.Host = host.New(log, host.Options{DataDir: cfg.DataDir, ListenAddr: cfg.Addr, Containers: dk.ManagedContainers, DockerInfo: dk.Info})
		deps.Host = w.Host
	}
	eng, err := engine.New(ecfg, deps)
	if err != nil {
		w.Close()
		return nil, err
	}
	w.Engine = eng
	w.closers = append(w.closers, eng.Close)
	if !o.Serve {
		w.Authoring = porter.New(eng, log)
	}
	if sources != nil {
		// Registry sources read the index catalog publish pushed.
		sources.UseIndexFetcher(eng.FetchCatalogIndex)
	}
	return w, nil
}
