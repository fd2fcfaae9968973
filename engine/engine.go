// Package engine is StackHub's core: installations, jobs, port leases, the
// catalog and reconciliation with Docker. It declares the interfaces it needs
// (Store, Docker, BundleRuntime, HostProbe) and never imports Docker, cnab-go
// or database/sql itself; the adapters under engine/ do.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Config is the engine's resolved configuration.
type Config struct {
	// Namespace of every installation this engine manages ("" = global).
	Namespace string
	// Prefix names containers: <prefix>-<installation>.
	Prefix string
	// PortMin and PortMax bound the host ports StackHub hands out.
	PortMin, PortMax int
	// RuntimeBinary is the static linux binary placed in invocation images.
	RuntimeBinary string
	// JobConcurrency bounds how many jobs run at once.
	JobConcurrency int
	// WaitTimeout bounds how long an install waits for healthy containers.
	WaitTimeout time.Duration
}

// Deps are the engine's adapters.
type Deps struct {
	Store   Store
	Docker  Docker
	Runtime BundleRuntime
	Host    HostProbe
	Catalog Catalog
	Ports   PortProber
	Logger  *slog.Logger
}

// Engine orchestrates installs, upgrades and uninstalls.
type Engine struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
}

// New builds an engine.
func New(cfg Config, deps Deps) (*Engine, error) {
	if deps.Store == nil || deps.Docker == nil || deps.Runtime == nil || deps.Catalog == nil {
		return nil, errors.New("engine: store, docker, runtime and catalog are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "stackhub"
	}
	if cfg.PortMin == 0 {
		cfg.PortMin = 9001
	}
	if cfg.PortMax == 0 {
		cfg.PortMax = 9999
	}
	if cfg.JobConcurrency <= 0 {
		cfg.JobConcurrency = 4
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 2 * time.Minute
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, deps: deps, log: log}, nil
}

// ContainerName is the main container's name for an installation.
func (e *Engine) ContainerName(installation string) string {
	return e.cfg.Prefix + "-" + installation
}

// Install validates, reserves ports, records the installation and queues
// the install job. It returns at once with the installation (ports known).
func (e *Engine) Install(ctx context.Context, opts InstallOptions) (*Installation, error) {
	return nil, errors.New("not implemented")
}

// Uninstall removes an installation's containers and networks (and volumes
// with Purge) and frees its ports. It waits for the work to finish.
func (e *Engine) Uninstall(ctx context.Context, opts UninstallOptions) error {
	return errors.New("not implemented")
}

// UninstallAll uninstalls every installation.
func (e *Engine) UninstallAll(ctx context.Context) ([]UninstallOutcome, error) {
	return nil, errors.New("not implemented")
}

// Get returns one installation with its live status.
func (e *Engine) Get(ctx context.Context, name string) (*Installation, error) {
	return nil, errors.New("not implemented")
}

// List returns every installation (uninstalled ones excluded).
func (e *Engine) List(ctx context.Context) ([]*Installation, error) {
	return nil, errors.New("not implemented")
}

// Server returns the host's latest health sample.
func (e *Engine) Server(ctx context.Context) (*ServerStatus, error) {
	return nil, errors.New("not implemented")
}

// Apps lists the catalog.
func (e *Engine) Apps(ctx context.Context) ([]App, error) {
	return e.deps.Catalog.List(ctx)
}

// Job returns one job.
func (e *Engine) Job(ctx context.Context, id string) (*Job, error) {
	return e.deps.Store.GetJob(ctx, id)
}
