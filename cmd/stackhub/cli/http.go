package cli

import (
	"context"
	"log/slog"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/porter"
	"github.com/stackhub/stackhub/service"
)

// The store keeps roles, settings and the audit log for the service.
var (
	_ service.Accounts = (*sqlite.Store)(nil)
	_ service.Auditor  = (*sqlite.Store)(nil)
)

var _ service.Engine = porter.Engine{}

// serveHTTP serves the API until ctx ends.
func serveHTTP(ctx context.Context, f *Factory, cfg *Config, eng *engine.Engine, store *sqlite.Store, log *slog.Logger, px *runningProxy, gateKey []byte) error {
	srv := service.New(service.Config{
		DataDir:       cfg.DataDir,
		AdminPassword: f.Getenv(service.EnvAdminPassword),
		APIToken:      service.TokenFrom(f.Getenv),
		Lang:          cfg.Lang,
		ImportDir:     cfg.ImportDir,
		UploadLimit:   cfg.UploadLimit,
		// Served on its own domain, the console is reached over HTTPS
		// through the proxy on this host.
		SecureCookies:       cfg.ConsoleDomain != "",
		BehindLoopbackProxy: cfg.ConsoleDomain != "",
		DomainStatus:        px.status,
		ProxyCheck:          px.check,
		GateKey:             gateKey,
	}, porter.WithDocs(eng), store, log)
	log.Info("StackHub is serving", "addr", "http://"+cfg.Addr, "data", cfg.DataDir, "version", Version)
	return srv.Listen(ctx, cfg.Addr)
}
