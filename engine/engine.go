// Package engine is StackHub's core: installations, jobs, port leases, the
// catalog and reconciliation with Docker. It declares the interfaces it needs
// (Store, Docker, BundleRuntime, BundleConverter, HostProbe) and never
// imports Docker, cnab-go or database/sql itself; the adapters under engine/
// do.
package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/oklog/ulid"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/mirror"
)

// Config is the engine's resolved configuration.
type Config struct {
	// Experimental lists Porter's experimental features the bundle
	// commands enabled (manifest.FlagXxx): the schema versions they allow
	// are accepted wherever a manifest is read. The service enables none.
	Experimental []string
	// PublicHost is the address users reach the apps at; the stackhub
	// mixin puts it into url outputs ($STACKHUB_HOST). Empty: localhost.
	PublicHost string
	// DNSProvider names the proxy's DNS provider for ACME DNS-01 ("rfc2136",
	// "exec"); empty: none, and wildcard domains with ACME are refused.
	DNSProvider string
	// LoginGate says the proxy's login gate has a console to send
	// browsers to (serve --console-domain or --console-url); without it
	// domains with Login are refused.
	LoginGate bool
	// Namespace of every installation this engine manages ("" = global).
	Namespace string
	// Prefix names containers: <prefix>-<installation>.
	Prefix string
	// PortMin and PortMax bound the host ports StackHub hands out.
	PortMin, PortMax int
	// RuntimeBinary is the static linux binary placed in invocation images
	// (default: this executable).
	RuntimeBinary string
	// JobConcurrency bounds how many jobs run at once.
	JobConcurrency int
	// WaitTimeout bounds how long an install waits for healthy containers.
	WaitTimeout time.Duration
	// Version is StackHub's version, stamped into bundles.
	Version string
	// DebianBase is the base image of bundles that use exec or a dockerfile
	// template (default stackhub/debian-base:bookworm, see `make base-images`).
	DebianBase string
	// History is how many runs and jobs of each installation are kept
	// (default DefaultHistory); older ones are deleted as new ones end, so
	// that the database does not grow with every action ever run.
	History int
	// RegistryMirror is the registry-mirror setting (see mirror.Parse): app
	// images are pulled through it, then tagged with their own names.
	RegistryMirror string
	// RestrictRegistries makes installs by reference, and every image they
	// pull, resolve only against AllowedRegistries and the mirrors of
	// RegistryMirror; anything else is refused before a connection is made.
	// The service sets it; a local CLI run by the host's owner need not.
	RestrictRegistries bool
	// AllowedRegistries are HOST[:PORT] entries (the allowed-registries
	// setting).
	AllowedRegistries []string
	// SignatureKeys maps a registry (HOST[:PORT]) to the PEM public key
	// its bundles must be signed with: an install by reference from it is
	// refused unless the signature published beside the bundle verifies.
	SignatureKeys map[string][]byte
	// DefaultTarget is the deploy target of installs that name none:
	// "compose" (default) or "swarm".
	DefaultTarget string
	// SwarmPublishMode is how swarm installs publish their ports:
	// "ingress" (default: the routing mesh, every node) or "host" (the
	// node a task runs on; for kernels without IPVS).
	SwarmPublishMode string
	// BackupBeforeUpgrade backs an installation up before each upgrade
	// (when backups are set up); a failed backup stops the upgrade.
	BackupBeforeUpgrade bool
	// BackupSchedule (cron syntax) backs every installation without a
	// schedule of its own up on a schedule; empty: never. BackupKeep
	// prunes after each such scheduled backup (when it keeps something).
	BackupSchedule string
	BackupKeep     KeepPolicy
}

// DefaultHistory is Config.History's default.
const DefaultHistory = 50

// Deps are the engine's adapters.
type Deps struct {
	Store     Store
	Docker    Docker
	Runtime   BundleRuntime
	Converter BundleConverter
	Host      HostProbe
	Catalog   Catalog
	Ports     PortProber
	Logger    *slog.Logger
	// Registry publishes and pulls bundles (optional: nil disables
	// publish, install by reference and archives).
	Registry Registry
	// Signer signs and verifies bundles (optional: nil disables signing,
	// and installs from registries that require signatures).
	Signer Signer
	// Swarm is the swarm cluster the Docker host manages (optional: nil
	// disables nodes and the swarm target).
	Swarm Swarm
	// LookupHost resolves a domain for its preflight (default the
	// system's resolver).
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// Backups stores and restores backups (optional: nil disables
	// backups); Docker must then implement VolumeDocker too.
	Backups BackupEngine
}

// Engine orchestrates installs, upgrades and uninstalls.
type Engine struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	// base is the lifetime context jobs run on; Close cancels it.
	base   context.Context
	cancel context.CancelFunc
	jobs   sync.WaitGroup
	sem    chan struct{}

	// leaseMu makes choosing and recording ports atomic within the process.
	leaseMu sync.Mutex
	// opMu serialises lifecycle changes per installation.
	opMu    sync.Mutex
	opLocks map[string]*sync.Mutex

	images  *imageCache
	secrets defaultSecrets
	live    *liveState
	hub     *jobHub
	// apps caches the catalog's search index.
	apps appIndex
	// domainsChanged is signalled when a domain is added or removed.
	domainsChanged chan struct{}
	// sched is the backup scheduler's memory.
	sched scheduleState
}

// New builds an engine. Call Start to begin background work and Close to
// stop it.
func New(cfg Config, deps Deps) (*Engine, error) {
	if deps.Store == nil || deps.Docker == nil || deps.Runtime == nil || deps.Catalog == nil || deps.Converter == nil {
		return nil, errors.New("new engine: store, docker, runtime, converter and catalog are required")
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
	if cfg.PortMin > cfg.PortMax || cfg.PortMin < 1 || cfg.PortMax > 65535 {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("port range %d-%d is not valid", cfg.PortMin, cfg.PortMax),
			"choose 1 <= port-min <= port-max <= 65535")
	}
	if cfg.BackupSchedule != "" {
		if _, err := parseSchedule(cfg.BackupSchedule); err != nil {
			return nil, err
		}
	}
	if _, err := mirror.Parse(cfg.RegistryMirror); err != nil {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("registry-mirror setting: %v", err), mirror.Hint)
	}
	if m := cfg.SwarmPublishMode; m != "" && m != contract.PublishIngress && m != contract.PublishHost {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("swarm publish mode %q is not ingress or host", m), "")
	}
	if !contract.ValidTarget(cfg.DefaultTarget) {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("default target %q is not a deploy target", cfg.DefaultTarget), "use compose or swarm")
	}
	if cfg.JobConcurrency <= 0 {
		cfg.JobConcurrency = 4
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 2 * time.Minute
	}
	if cfg.RuntimeBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("new engine: find runtime binary: %w", err)
		}
		cfg.RuntimeBinary = exe
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg: cfg, deps: deps, log: log,
		base: base, cancel: cancel,
		sem:     make(chan struct{}, cfg.JobConcurrency),
		opLocks: map[string]*sync.Mutex{},
		images:  newImageCache(),
		live:    newLiveState(),
		hub:     newJobHub(),

		domainsChanged: make(chan struct{}, 1),
	}
	e.deps.Runtime = jobRuntime{e: e, next: deps.Runtime}
	return e, nil
}

// Start recovers from an earlier crash and begins watching Docker.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.recover(ctx); err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	e.jobs.Add(2)
	go func() {
		defer e.jobs.Done()
		e.watch(e.base)
	}()
	go func() {
		defer e.jobs.Done()
		if _, err := e.PruneImages(e.base); err != nil && e.base.Err() == nil {
			e.log.Warn("could not remove images of earlier StackHub versions", "err", err)
		}
	}()
	if e.deps.Backups != nil {
		e.jobs.Add(1)
		go func() {
			defer e.jobs.Done()
			e.runSchedule(e.base)
		}()
	}
	return nil
}

// Close stops background work and waits for running jobs to notice.
func (e *Engine) Close() {
	e.cancel()
	e.jobs.Wait()
}

// Config returns the engine's resolved configuration.
func (e *Engine) Config() Config { return e.cfg }

// ContainerName is the main container's name for an installation.
func (e *Engine) ContainerName(installation string) string {
	return e.cfg.Prefix + "-" + installation
}

// Project is the compose project name of an installation.
func (e *Engine) Project(installation string) string {
	return e.cfg.Prefix + "-" + installation
}

func (e *Engine) lockInstallation(name string) *sync.Mutex {
	e.opMu.Lock()
	defer e.opMu.Unlock()
	m, ok := e.opLocks[name]
	if !ok {
		m = &sync.Mutex{}
		e.opLocks[name] = m
	}
	return m
}

// lockContext locks mu, giving up when ctx ends. sync.Mutex cannot wait
// on a channel, so it polls; the locks it waits for are held briefly.
func lockContext(ctx context.Context, mu *sync.Mutex) error {
	if mu.TryLock() {
		return nil
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the installation's lock: %w", context.Cause(ctx))
		case <-t.C:
			if mu.TryLock() {
				return nil
			}
		}
	}
}

// Apps lists the catalog.
func (e *Engine) Apps(ctx context.Context) ([]App, error) {
	return e.deps.Catalog.List(ctx)
}

// Job returns one job.
func (e *Engine) Job(ctx context.Context, id string) (*Job, error) {
	j, err := e.deps.Store.GetJob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// Server returns the host's latest health sample, with the findings of the
// audit of StackHub's containers.
func (e *Engine) Server(ctx context.Context) (*ServerStatus, error) {
	if e.deps.Host == nil {
		return nil, NewUserError(ErrUnavailable, "server status is not available", "")
	}
	st, err := e.deps.Host.Sample(ctx)
	if err != nil {
		return nil, fmt.Errorf("sample host: %w", err)
	}
	st.Risks = append(st.Risks, e.credentialRisks(ctx)...)
	return st, nil
}

var entropy = struct {
	sync.Mutex
	r io.Reader
}{r: ulid.Monotonic(rand.Reader, 0)}

// NewID returns a new ULID.
func NewID() string {
	entropy.Lock()
	defer entropy.Unlock()
	return ulid.MustNew(ulid.Timestamp(time.Now()), entropy.r).String()
}
