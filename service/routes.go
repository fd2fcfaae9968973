package service

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// route is one entry of the route table.
type route struct {
	method  string
	path    string
	handler fiber.Handler
	// public routes answer without authentication: login, health, the
	// one-time setup and the web console's files (which hold no data).
	public bool
	// role is the least role the route needs; empty means viewer for
	// reads and operator for changes.
	role string
	// mutates marks routes that change state, whatever their method (the
	// product document's endpoints change state over GET): callers
	// authenticated by session cookie must send the CSRF token.
	mutates bool
	// loginRedirect sends a browser that is not logged in to the
	// console's login page, and back here after it, instead of a 401.
	loginRedirect bool
}

// uploadRoute takes bundle archive uploads; its body streams past
// Config.BodyLimit.
const uploadRoute = "/api/v1/uploads"

// prdPaths are the product document's endpoints; they answer the
// {"code","message","data"} envelope, errors included.
var prdPaths = map[string]bool{
	"/installApp":      true,
	"/uninstallApp":    true,
	"/getAppInfo":      true,
	"/getAllAppInfo":   true,
	"/uninstallAllApp": true,
	"/searchServer":    true,
}

// isPRD reports whether path is one of the product document's endpoints.
func isPRD(path string) bool {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return prdPaths[path]
}

// routes is every route the service serves.
func (s *Server) routes() []route {
	rs := []route{
		{method: fiber.MethodGet, path: "/health", handler: s.health, public: true},
		{method: fiber.MethodPost, path: "/api/v1/login", handler: s.login, public: true},
		// The web console's files hold no data: the page asks the API,
		// which checks who asks.
		{method: fiber.MethodGet, path: "/", handler: s.consoleIndex, public: true},
		{method: fiber.MethodGet, path: "/setup", handler: s.consoleIndex, public: true},
		{method: fiber.MethodGet, path: "/ui/*", handler: s.consoleFile, public: true},
		{method: fiber.MethodPost, path: "/api/v1/setup", handler: s.setupAdmin, public: true},
		{method: fiber.MethodPost, path: "/api/v1/logout", handler: s.logout, mutates: true, role: RoleViewer},
		{method: fiber.MethodPost, path: "/api/v1/tokens", handler: s.createToken, mutates: true, role: RoleViewer},
		{method: fiber.MethodPost, path: "/api/v1/register", handler: s.register, public: true},
		{method: fiber.MethodGet, path: "/api/v1/me", handler: s.me},
		{method: fiber.MethodPut, path: "/api/v1/me", handler: s.updateMe, mutates: true, role: RoleViewer},
		{method: fiber.MethodGet, path: "/api/v1/tokens", handler: s.listTokens},
		{method: fiber.MethodDelete, path: "/api/v1/tokens/:id", handler: s.deleteToken, mutates: true, role: RoleViewer},
		{method: fiber.MethodGet, path: "/api/v1/users", handler: s.listUsers, role: RoleAdmin},
		{method: fiber.MethodPost, path: "/api/v1/users", handler: s.createUser, mutates: true, role: RoleAdmin},
		{method: fiber.MethodPatch, path: "/api/v1/users/:user", handler: s.updateUser, mutates: true, role: RoleAdmin},
		{method: fiber.MethodDelete, path: "/api/v1/users/:user", handler: s.deleteUser, mutates: true, role: RoleAdmin},
		{method: fiber.MethodGet, path: "/api/v1/settings", handler: s.getSettings, role: RoleAdmin},
		{method: fiber.MethodPut, path: "/api/v1/settings", handler: s.putSettings, mutates: true, role: RoleAdmin},
		{method: fiber.MethodGet, path: "/api/v1/audit", handler: s.listAudit, role: RoleAdmin},

		{method: fiber.MethodGet, path: "/api/v1/apps", handler: s.listApps},
		{method: fiber.MethodGet, path: "/api/v1/apps/:name", handler: s.getApp},
		{method: fiber.MethodGet, path: "/api/v1/apps/:name/icon", handler: s.appIcon},
		// Preflight changes nothing; POST carries the install's parameters.
		{method: fiber.MethodPost, path: "/api/v1/apps/:name/preflight", handler: s.preflightApp, role: RoleViewer},
		{method: fiber.MethodGet, path: "/api/v1/domains", handler: s.listDomains},
		{method: fiber.MethodPost, path: "/api/v1/domains", handler: s.addDomain, mutates: true},
		{method: fiber.MethodDelete, path: "/api/v1/domains/:domain", handler: s.removeDomain, mutates: true},
		// The proxy's login gate sends browsers here; any user may pass.
		{method: fiber.MethodGet, path: gateRoute, handler: s.gate, role: RoleViewer, loginRedirect: true},
		{method: fiber.MethodGet, path: "/api/v1/catalog/sources", handler: s.listSources},
		// Adding a source reads a folder on the server: admins only.
		{method: fiber.MethodPost, path: "/api/v1/catalog/sources", handler: s.addSource, mutates: true, role: RoleAdmin},
		{method: fiber.MethodDelete, path: "/api/v1/catalog/sources/:name", handler: s.removeSource, mutates: true, role: RoleAdmin},
		{method: fiber.MethodPost, path: "/api/v1/catalog/refresh", handler: s.refreshCatalog, mutates: true},
		{method: fiber.MethodGet, path: "/api/v1/installations", handler: s.listInstallations},
		// Operators install catalog apps; by reference, archive or upload
		// is for admins (createInstallation checks).
		{method: fiber.MethodPost, path: "/api/v1/installations", handler: s.createInstallation, mutates: true},
		{method: fiber.MethodPost, path: uploadRoute, handler: s.uploadArchive, mutates: true, role: RoleAdmin},
		{method: fiber.MethodGet, path: "/api/v1/installations/:name", handler: s.getInstallation},
		{method: fiber.MethodDelete, path: "/api/v1/installations/:name", handler: s.deleteInstallation, mutates: true},
		{method: fiber.MethodPost, path: "/api/v1/installations/:name/upgrade", handler: s.upgradeInstallation, mutates: true},
		{method: fiber.MethodPost, path: "/api/v1/installations/:name/actions/:action", handler: s.installationAction, mutates: true},
		{method: fiber.MethodGet, path: "/api/v1/installations/:name/logs", handler: s.installationLogs},
		{method: fiber.MethodGet, path: "/api/v1/installations/:name/outputs", handler: s.installationOutputs},
		{method: fiber.MethodGet, path: "/api/v1/installations/:name/backups", handler: s.listBackups},
		{method: fiber.MethodPost, path: "/api/v1/installations/:name/backups", handler: s.createBackup, mutates: true},
		// Pruning deletes backups: admins only, as delete.
		{method: fiber.MethodPost, path: "/api/v1/installations/:name/backups/prune", handler: s.pruneBackups, mutates: true, role: RoleAdmin},
		// A schedule's keep policy deletes backups: setting or clearing it
		// is for admins, as prune.
		{method: fiber.MethodGet, path: "/api/v1/installations/:name/backups/schedule", handler: s.getBackupSchedule},
		{method: fiber.MethodPut, path: "/api/v1/installations/:name/backups/schedule", handler: s.putBackupSchedule, mutates: true, role: RoleAdmin},
		{method: fiber.MethodDelete, path: "/api/v1/installations/:name/backups/schedule", handler: s.deleteBackupSchedule, mutates: true, role: RoleAdmin},
		{method: fiber.MethodGet, path: "/api/v1/installations/:name/backups/:id", handler: s.getBackup},
		{method: fiber.MethodPost, path: "/api/v1/installations/:name/backups/:id/restore", handler: s.restoreBackup, mutates: true},
		{method: fiber.MethodPost, path: "/api/v1/installations/:name/backups/:id/verify", handler: s.verifyBackup, mutates: true},
		// Deleting a backup cannot be undone: admins only.
		{method: fiber.MethodDelete, path: "/api/v1/installations/:name/backups/:id", handler: s.deleteBackup, mutates: true, role: RoleAdmin},
		{method: fiber.MethodGet, path: "/api/v1/unmanaged", handler: s.listUnmanaged},
		{method: fiber.MethodGet, path: "/api/v1/jobs", handler: s.listJobs},
		{method: fiber.MethodGet, path: "/api/v1/jobs/:id", handler: s.getJob},
		{method: fiber.MethodGet, path: "/api/v1/jobs/:id/events", handler: s.jobEvents},
		{method: fiber.MethodGet, path: "/api/v1/openapi.json", handler: s.openAPI},
		{method: fiber.MethodGet, path: "/api/v1/server", handler: s.getServer},
		// Export and import move every installation: admins only.
		{method: fiber.MethodGet, path: "/api/v1/server/export", handler: s.exportServer, role: RoleAdmin},
		{method: fiber.MethodPost, path: "/api/v1/server/import", handler: s.importServer, mutates: true, role: RoleAdmin},
		{method: fiber.MethodGet, path: "/api/v1/server/history", handler: s.serverHistory},
		// The swarm cluster's nodes: anyone logged in sees them; the join
		// token (a secret) and changes to the cluster are for admins.
		{method: fiber.MethodGet, path: "/api/v1/nodes", handler: s.listNodes},
		{method: fiber.MethodPost, path: "/api/v1/nodes/join", handler: s.nodeJoin, mutates: true, role: RoleAdmin},
		{method: fiber.MethodPost, path: "/api/v1/nodes/:id/availability", handler: s.setNodeAvailability, mutates: true, role: RoleAdmin},
		{method: fiber.MethodDelete, path: "/api/v1/nodes/:id", handler: s.removeNode, mutates: true, role: RoleAdmin},
		{method: fiber.MethodGet, path: "/debug/pprof/:profile", handler: s.debugProfile, role: RoleAdmin},
	}
	// The product document's endpoints answer GET (query parameters) and
	// POST (JSON or form body) alike.
	prd := []struct {
		path    string
		handler fiber.Handler
		mutates bool
	}{
		{"/installApp", s.installApp, true},
		{"/uninstallApp", s.uninstallApp, true},
		{"/getAppInfo", s.getAppInfo, false},
		{"/getAllAppInfo", s.getAllAppInfo, false},
		{"/uninstallAllApp", s.uninstallAllApp, true},
		{"/searchServer", s.searchServer, false},
	}
	for _, p := range prd {
		for _, m := range []string{fiber.MethodGet, fiber.MethodPost} {
			r := route{method: m, path: p.path, handler: p.handler, mutates: p.mutates}
			if !p.mutates {
				r.role = RoleViewer // a read, by POST too
			}
			rs = append(rs, r)
		}
	}
	return rs
}
