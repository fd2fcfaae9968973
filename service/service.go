// Package service is StackHub's HTTP face: a fiber app serving the product
// document's endpoints (/installApp, /getAppInfo, ...) with their
// {"code","message","data"} envelope, a REST API under /api/v1, login,
// sessions and API tokens. Handlers bind a request, make one call on the
// Engine interface declared here, and map the result to a response DTO.
//
// It must not import Docker, database/sql or cnab-go: the engine and its
// adapters own those, and reach this package only through the Engine and
// Users interfaces.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/porter"
)

// Environment variables cmd/ reads into Config.
const (
	// EnvAdminPassword sets the password of the admin user created on first
	// start. Without it the first start logs a one-time setup link.
	EnvAdminPassword = "STACKHUB_ADMIN_PASSWORD"
	// EnvToken, if set when the server starts, is accepted as an admin API
	// token (Authorization: Bearer <token>) for as long as it stays set;
	// meant for scripts, CI and tests. It is kept in memory, never stored.
	// The CLI sends the same variable, so one export serves both.
	EnvToken = "STACKHUB_TOKEN"
	// EnvAPIToken is EnvToken's older name, still read when EnvToken is
	// unset.
	EnvAPIToken = "STACKHUB_API_TOKEN"
)

// TokenFrom returns the token of EnvToken, else of its alias EnvAPIToken.
func TokenFrom(getenv func(string) string) string {
	if v := getenv(EnvToken); v != "" {
		return v
	}
	return getenv(EnvAPIToken)
}

// Config is the service's resolved configuration; zero fields take the
// defaults given.
type Config struct {
	// DataDir is StackHub's data directory.
	DataDir string
	// AdminPassword is the first admin's password (from EnvAdminPassword).
	AdminPassword string
	// APIToken is a bootstrap admin token (from EnvToken); at least 16
	// characters, else it is ignored with an error in the log.
	APIToken string
	// BodyLimit caps request bodies in bytes (default 64 KiB); larger ones
	// get 413.
	BodyLimit int
	// RequestTimeout bounds one request's work (default 5 minutes: the
	// synchronous uninstalls wait for Docker).
	RequestTimeout time.Duration
	// ShutdownTimeout is how long Listen waits for in-flight requests when
	// its context ends (default 30 seconds).
	ShutdownTimeout time.Duration
	// SessionTTL is how long a login lasts (default 24 hours).
	SessionTTL time.Duration
	// SecureCookies marks the session cookie Secure; set it when StackHub
	// is served over TLS (directly or behind a proxy). Requests that arrive
	// over TLS get Secure cookies regardless.
	SecureCookies bool
	// BehindLoopbackProxy trusts X-Forwarded-For and X-Forwarded-Proto
	// from 127.0.0.1 and ::1 only (the built-in reverse proxy), so that
	// login throttling and the audit log see the real client address.
	BehindLoopbackProxy bool
	// DomainStatus says where a domain's certificate stands (the proxy's
	// Status); nil: the domain answers carry none.
	DomainStatus func(domain string) string
	// ProxyCheck says what keeps the reverse proxy from serving a new
	// domain (its ports held by another program, or the proxy off); the
	// answer of adding a domain carries it as warnings. Nil: no check.
	ProxyCheck func() []string
	// GateKey signs the passes of the proxy's login gate (GET
	// /api/v1/gate); the proxy checks them with the same key. Empty: the
	// route answers 503.
	GateKey []byte
	// LoginFailures is how many failed logins a user at one client
	// address may make before each further try waits, one second at first
	// and twice as long after each failure, up to LoginMaxDelay (default 5
	// and 15 minutes). A client address alone may fail four times as
	// often, whatever the users.
	LoginFailures int
	LoginMaxDelay time.Duration
	// Lang is the language ("en" or "zh") of the /api/v1 messages when the
	// request states no preference (default "en"). The product document's
	// endpoints keep its Chinese wording unless the request asks for
	// English.
	Lang string
	// ImportDir is the folder whose bundle archives admins may install by
	// file name; empty: none.
	ImportDir string
	// UploadLimit caps an uploaded bundle archive in bytes (default 4 GiB).
	UploadLimit int64
}

func (c *Config) setDefaults() {
	if c.BodyLimit <= 0 {
		c.BodyLimit = 64 << 10
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Minute
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 24 * time.Hour
	}
	if c.LoginFailures <= 0 {
		c.LoginFailures = 5
	}
	if c.LoginMaxDelay <= 0 {
		c.LoginMaxDelay = 15 * time.Minute
	}
	if c.UploadLimit <= 0 {
		c.UploadLimit = 4 << 30
	}
}

// Engine is what the handlers need of *engine.Engine.
type Engine interface {
	Install(ctx context.Context, opts engine.InstallOptions) (*engine.Installation, error)
	Uninstall(ctx context.Context, opts engine.UninstallOptions) error
	UninstallAll(ctx context.Context) ([]engine.UninstallOutcome, error)
	Get(ctx context.Context, name string) (*engine.Installation, error)
	List(ctx context.Context) ([]*engine.Installation, error)
	Server(ctx context.Context) (*engine.ServerStatus, error)
	Apps(ctx context.Context) ([]engine.App, error)
	SearchApps(ctx context.Context, q catalog.Query) (*catalog.Result, error)
	AppDetail(ctx context.Context, name, source string) (*engine.AppDetail, error)
	AppIcon(ctx context.Context, name string) (*engine.AppIcon, error)
	Preflight(ctx context.Context, opts engine.InstallOptions) (*engine.PreflightReport, error)
	CatalogSources(ctx context.Context) ([]engine.CatalogSource, error)
	Domains(ctx context.Context) ([]*engine.Domain, error)
	AddDomain(ctx context.Context, opts engine.DomainOptions) (*engine.Domain, error)
	RemoveDomain(ctx context.Context, name string) error
	AddCatalogSource(ctx context.Context, name, path string) (*engine.CatalogSource, error)
	RemoveCatalogSource(ctx context.Context, name string) error
	RefreshCatalog(ctx context.Context) ([]engine.CatalogSource, error)
	Job(ctx context.Context, id string) (*engine.Job, error)
	Upgrade(ctx context.Context, opts engine.UpgradeOptions) (*engine.Installation, error)
	Action(ctx context.Context, opts engine.ActionOptions) (*engine.Job, error)
	UninstallJob(ctx context.Context, opts engine.UninstallOptions) (*engine.Job, error)
	Logs(ctx context.Context, opts engine.LogsOptions) (io.ReadCloser, error)
	Jobs(ctx context.Context, limit int) ([]*engine.Job, error)
	JobEvents(ctx context.Context, id string) (past []engine.JobEvent, next <-chan engine.JobEvent, stop func(), err error)
	JobProgress(job *engine.Job) (progress int, step string)
	Unmanaged(ctx context.Context) ([]string, error)
	// PorterDocument builds Porter's installation document of inst
	// (porter-compat.md 7.3).
	PorterDocument(ctx context.Context, inst *engine.Installation, opts porter.DocOptions) (*porter.Installation, error)
	// Outputs, ServerHistory and PortRange feed the web console.
	Outputs(ctx context.Context, name string) ([]engine.OutputValue, error)
	ServerHistory(ctx context.Context) ([]engine.ServerPoint, error)
	PortRange() (lowest, highest int)
	// The swarm cluster's nodes.
	Nodes(ctx context.Context) ([]engine.Node, error)
	NodeJoin(ctx context.Context, manager bool) (*engine.JoinInfo, error)
	SetNodeAvailability(ctx context.Context, node, availability string) (*engine.Node, error)
	RemoveNode(ctx context.Context, node string, force bool) error
	SwarmServices(ctx context.Context, name string) ([]engine.SwarmService, error)
	// Backups (engine/backup.go).
	CreateBackup(ctx context.Context, name string) (*engine.Job, error)
	Backups(ctx context.Context, name string) ([]engine.Backup, error)
	GetBackup(ctx context.Context, name, id string) (*engine.Backup, *engine.BackupRecord, error)
	DeleteBackup(ctx context.Context, name, id string) error
	RestoreJob(ctx context.Context, opts engine.RestoreOptions) (*engine.Job, error)
	VerifyJob(ctx context.Context, name, id string) (*engine.Job, error)
	ExportServer(ctx context.Context) (*engine.ServerExport, error)
	ImportServer(ctx context.Context, doc *engine.ServerExport) ([]engine.ImportOutcome, error)
	PruneBackups(ctx context.Context, name string, keep engine.KeepPolicy) ([]string, error)
	BackupScheduleOf(ctx context.Context, name string) (*engine.BackupSchedule, error)
	SetBackupSchedule(ctx context.Context, name string, spec engine.BackupScheduleSpec) (*engine.BackupSchedule, error)
	ClearBackupSchedule(ctx context.Context, name string) (*engine.BackupSchedule, error)
}

// Users keeps accounts; *sqlite.Store implements it. Only hashes cross this
// interface: passwords as argon2id PHC strings, session ids, CSRF tokens and
// API tokens as SHA-256 hex digests. Lookups of absent or expired records
// return errors wrapping engine.ErrNotFound.
type Users interface {
	// CreateUser fails with ErrConflict if the username is taken.
	CreateUser(ctx context.Context, username, passwordHash string) error
	PasswordHash(ctx context.Context, username string) (string, error)
	CreateSession(ctx context.Context, idHash, username, csrfHash string, expires time.Time) error
	SessionUser(ctx context.Context, idHash string, now time.Time) (username, csrfHash string, err error)
	DeleteSession(ctx context.Context, idHash string) error
	CreateToken(ctx context.Context, tokenHash, username, name string) error
	TokenUser(ctx context.Context, tokenHash string) (string, error)
}

// Server is the HTTP service.
type Server struct {
	cfg   Config
	eng   Engine
	users Users
	log   *slog.Logger
	app   *fiber.App

	// base is the context request contexts derive from; Listen replaces it
	// with one that outlives its own context by the shutdown grace period.
	base atomic.Pointer[context.Context]
	// lastRequest is when the last request arrived (unix nanoseconds).
	lastRequest atomic.Int64
	// bootstrapHash is the SHA-256 of Config.APIToken, or "".
	bootstrapHash string
	limiter       *loginLimiter
	ipLimiter     *loginLimiter
	now           func() time.Time
	// clientIP is the caller's address (a test can pretend others).
	clientIP func(c *fiber.Ctx) string
	// setup is the one-time admin setup link, when one is offered.
	setup setupState
	// needSetup is set by EnsureAdmin when no admin exists and no
	// password was given: Listen then offers a setup link.
	needSetup bool
}

// New builds the service and its routes. Call EnsureAdmin (Listen does)
// before serving.
func New(cfg Config, eng Engine, users Users, log *slog.Logger) *Server {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, eng: eng, users: users, log: log, now: time.Now,
		clientIP: func(c *fiber.Ctx) string { return c.IP() }}
	base := context.Background()
	s.base.Store(&base)
	s.limiter = newLoginLimiter(cfg.LoginFailures, cfg.LoginMaxDelay)
	s.ipLimiter = newLoginLimiter(4*cfg.LoginFailures, cfg.LoginMaxDelay)
	switch {
	case cfg.APIToken == "":
	case len(cfg.APIToken) < 16:
		log.Error("ignoring the bootstrap API token: it is shorter than 16 characters", "env", EnvToken)
	default:
		s.bootstrapHash = hashSecret(cfg.APIToken)
	}

	fcfg := fiber.Config{
		ErrorHandler: s.handleError,
		// fasthttp drops bodies past this hard cap while reading, before any
		// handler runs; the bodyLimit middleware enforces cfg.BodyLimit with
		// a proper answer.
		BodyLimit: max(cfg.BodyLimit, 1<<20),
		// Larger bodies are streamed: archive uploads are copied to disk as
		// they arrive, every other route gets at most BodyLimit bytes
		// (bodyLimit), and no multipart form is parsed into memory or
		// temporary files before a handler decides.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		// Request lines and headers up to 16 KiB are read whole, so that a
		// long query string (the product document's endpoints take GET
		// parameters) gets the handler's clear 400, not fasthttp's 431 and a
		// connection closed under a client still writing (4 KiB by default).
		ReadBufferSize: 16 << 10,
		// Handlers pass strings from the request on to install jobs that
		// outlive the request; fiber would otherwise reuse their bytes.
		Immutable:             true,
		CaseSensitive:         true,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		AppName:               "stackhub",
	}
	if cfg.BehindLoopbackProxy {
		// Only the built-in proxy on this host may say who the client is.
		fcfg.ProxyHeader = fiber.HeaderXForwardedFor
		fcfg.EnableTrustedProxyCheck = true
		fcfg.TrustedProxies = []string{"127.0.0.1", "::1"}
	}
	s.app = fiber.New(fcfg)
	s.app.Use(s.requestID, s.recoverPanic, s.bodyLimit, s.userContext)
	for _, r := range s.routes() {
		chain := []fiber.Handler{r.handler}
		if !r.public {
			chain = []fiber.Handler{s.authenticate(r), r.handler}
			if r.loginRedirect {
				chain[0] = s.toLogin(chain[0])
			}
		}
		s.app.Add(r.method, r.path, chain...)
	}
	return s
}

// idleRelease is how long the service must go without a request before it
// hands the memory it no longer uses back to the system.
const idleRelease = 10 * time.Second

// releaseWhenIdle returns unused heap to the system once requests have
// stopped for idle, once per quiet spell. The runtime would keep the peak
// of the last busy minute for several more: a server that sits idle most
// of the day on a small VPS should not.
func (s *Server) releaseWhenIdle(ctx context.Context, idle time.Duration) {
	s.releaseWhenIdleWith(ctx, idle, func() {
		// The first collection only moves what sync.Pools hold (request
		// and response buffers) to their victim caches; the second frees it.
		runtime.GC()
		debug.FreeOSMemory()
	})
}

func (s *Server) releaseWhenIdleWith(ctx context.Context, idle time.Duration, release func()) {
	t := time.NewTicker(idle / 4)
	defer t.Stop()
	var released int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last := s.lastRequest.Load()
		if last == released || time.Since(time.Unix(0, last)) < idle {
			continue
		}
		release()
		released = last
	}
}

// App returns the fiber app, for tests (app.Test) and for mounting.
func (s *Server) App() *fiber.App { return s.app }

// Listen makes sure the admin user exists, then serves on addr until ctx
// ends. In-flight requests then get ShutdownTimeout to finish before their
// contexts are cancelled.
func (s *Server) Listen(ctx context.Context, addr string) error {
	if err := s.EnsureAdmin(ctx); err != nil {
		return err
	}
	// Hashing the admin password took argon2id's 19 MiB; an idle server
	// would otherwise keep that garbage resident until its next GC.
	debug.FreeOSMemory()
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	s.base.Store(&base)

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.log.Info("serving HTTP", "addr", ln.Addr().String())
	if s.needSetup {
		s.log.Warn("no admin user yet: open this one-time link within an hour to choose its password, then log in as admin with `stackhub login --server http://"+ln.Addr().String()+"`",
			"url", "http://"+ln.Addr().String()+"/setup?token="+s.offerSetup())
	}
	served := make(chan error, 1)
	go func() { served <- s.app.Listener(ln) }()
	s.lastRequest.Store(time.Now().UnixNano())
	go s.releaseWhenIdle(base, idleRelease)

	select {
	case err := <-served:
		if err != nil {
			return fmt.Errorf("serve on %s: %w", addr, err)
		}
		return nil
	case <-ctx.Done():
	}
	s.log.Info("shutting down HTTP", "grace", s.cfg.ShutdownTimeout)
	shutCtx, cancel := context.WithTimeout(base, s.cfg.ShutdownTimeout)
	defer cancel()
	err = s.app.ShutdownWithContext(shutCtx)
	cancelBase()
	if serveErr := <-served; serveErr != nil && err == nil {
		err = serveErr
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down HTTP: %w", err)
	}
	return nil
}

// hashSecret is how session ids, CSRF tokens and API tokens are stored:
// they are random and long, so a plain SHA-256 is enough.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
